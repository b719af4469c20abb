"""/healthz: is the database there, with which PostGIS, and how far behind its standby is (for load
balancers and people)."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from app.auth import public
from app.database import db, standby_state

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    try:
        row = (
            db()
            .execute(text("SELECT current_setting('server_version') AS pg, postgis_lib_version() AS postgis"))
            .one()
        )
    except (OperationalError, ProgrammingError) as exc:
        db().rollback()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else "unreachable"
        return jsonify({"status": "unavailable", "database": reason}), 503
    out = {"status": "ok", "postgresql": row.pg, "postgis": row.postgis}
    standby = standby_state()
    if standby is not None:
        out["standby"] = standby
    return jsonify(out)
