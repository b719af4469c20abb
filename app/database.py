"""One SQLAlchemy session per request; the request owns the transaction.

Views and operations flush, never commit: a response below 400 commits, anything else rolls back,
in one place. One exception, the hot path: a phone's report (no photos) is committed by its own
single statement (``submit_report(commit_alone=True)``), which leaves this commit nothing to do.
Tests hand in SESSION_FACTORY bound to a connection whose transaction they roll back.

With a hot standby (``DATABASE_REPLICA_URL``, or the embedded one), the reads it may serve — map
layers, indicators, exports, coverage, the GIS endpoints — take ``reads()`` instead of ``db()``:
the standby's session, unless this request wrote, or the asker's own last write has not been
replayed there yet. That last write is known by its WAL position (LSN), read after the commit of
each request that wrote: kept in the asker's session cookie, and answered in ``X-GridWatch-LSN``
for API clients to send back (read-your-writes by LSN, not by waiting). With
``SYNCHRONOUS_STANDBY`` every commit is applied on the standby before it is acknowledged, so
there is nothing to track.
"""

from __future__ import annotations

import re

import psycopg
from flask import Flask, current_app, g, request
from flask import session as cookie
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

LSN_HEADER = "X-GridWatch-LSN"
LSN = re.compile(r"^[0-9A-F]{1,8}/[0-9A-F]{1,8}$")


def init_app(app: Flask) -> None:
    factory = app.config.get("SESSION_FACTORY")
    if factory is None:
        # No pre-ping (a round trip on every request, a fifth of report intake): a connection
        # that died with a database restart fails one request, SQLAlchemy then drops the whole
        # pool, and the phone's retry (same client_id) gets a fresh connection.
        engine = create_engine(app.config["DATABASE_URL"], pool_size=5, pool_recycle=3600)
        factory = sessionmaker(engine, expire_on_commit=False)
        app.extensions["gridwatch.engine"] = engine  # for whoever stops the app to dispose of
    app.extensions["gridwatch.sessions"] = factory
    replica = app.config.get("DATABASE_REPLICA_URL")
    if replica and app.config.get("SESSION_FACTORY") is None:
        event.listen(engine, "begin", _transaction_begins)
        event.listen(engine, "before_cursor_execute", _statement_runs)
        engine = create_engine(replica, pool_size=5, pool_recycle=3600)
        app.extensions["gridwatch.replica_engine"] = engine
        app.extensions["gridwatch.replica"] = sessionmaker(engine, expire_on_commit=False)
    app.after_request(_commit_on_success)
    app.teardown_appcontext(_close)


READS = ("SELECT", "SHOW", "SET ", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def _transaction_begins(connection) -> None:
    connection.info.pop("may_have_written", None)


def _statement_runs(connection, _cursor, statement: str, *_args) -> None:
    """A statement that is not plainly a read marks its transaction as one that may have written
    (``_wrote`` then asks PostgreSQL): a read-only request pays no extra round trip."""
    if not statement.lstrip()[:9].upper().startswith(READS):
        connection.info["may_have_written"] = True


def db() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["gridwatch.sessions"]()
    return g.db


def reads() -> Session:
    """The session for a read a standby may serve: the standby's when one is configured, this
    request wrote nothing and the asker's last write is replayed there; else ``db()``."""
    replica = current_app.extensions.get("gridwatch.replica")
    if replica is None or ("db" in g and _wrote(g.db)):
        return db()  # no standby, or this request's own transaction wrote: its reads stay with it
    if "reads" not in g:
        session = replica()
        mark = _read_mark()
        if mark and not _replayed(session, mark):
            session.close()
            return db()
        g.reads = session
    return g.reads


def standby_state() -> dict | None:
    """The standby as /healthz reports it: standby or promoted, its replay lag (bytes behind the
    primary's WAL, seconds since the last commit it replayed); None without one."""
    replica = current_app.extensions.get("gridwatch.replica")
    if replica is None:
        return None
    session = replica()
    try:
        standby, replayed, seconds = session.execute(
            text(
                "SELECT pg_is_in_recovery(), CAST(pg_last_wal_replay_lsn() AS text),"
                " extract(epoch FROM now() - pg_last_xact_replay_timestamp())"
            )
        ).one()
    except (DBAPIError, psycopg.OperationalError) as exc:
        session.invalidate()
        return {"status": "unavailable", "error": str(getattr(exc, "orig", exc)).strip().splitlines()[0]}
    finally:
        session.close()
    if not standby:
        return {"status": "primary"}  # promoted (or the URL reached the primary: the standby is down)
    lag = db().scalar(
        text("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), CAST(:r AS pg_lsn))"), {"r": replayed}
    )
    return {
        "status": "streaming",
        "synchronous": bool(current_app.config.get("SYNCHRONOUS_STANDBY")),
        "replay_lag_bytes": max(int(lag), 0) if lag is not None else None,
        "since_last_replayed_commit_s": round(float(seconds), 3) if seconds is not None else None,
    }


def _read_mark() -> str | None:
    """The WAL position of the asker's last write: their cookie's, or the one their client sends."""
    mark = request.headers.get(LSN_HEADER) or cookie.get("lsn")
    return mark if isinstance(mark, str) and LSN.match(mark) else None


def _replayed(session: Session, mark: str) -> bool:
    """Whether the standby has replayed ``mark`` (a promoted one has everything it will get)."""
    try:
        done = session.scalar(
            text("SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= CAST(:mark AS pg_lsn)"),
            {"mark": mark},
        )
    except (DBAPIError, psycopg.OperationalError):
        session.invalidate()
        return False  # the standby is not answering: the primary serves
    if done and cookie.get("lsn") == mark:
        cookie.pop("lsn")  # replayed for good: later reads need not ask
    return bool(done)


def _wrote(session: Session) -> bool:
    """Whether this request wrote: a statement that committed alone said so (``session.info``), or
    its transaction ran a statement other than a read and holds an id (PostgreSQL gives one at the
    first write)."""
    if session.info.get("wrote"):
        return True
    if not session.in_transaction() or not session.connection().info.get("may_have_written"):
        return False
    return bool(session.scalar(text("SELECT pg_current_xact_id_if_assigned() IS NOT NULL")))


def _tracks_writes() -> bool:
    """Whether reads must wait for the asker's writes: a standby serves reads and commits do not
    wait for it."""
    return "gridwatch.replica" in current_app.extensions and not current_app.config.get("SYNCHRONOUS_STANDBY")


def _mark_write(session: Session, response) -> None:
    """After a commit that wrote, where the WAL stood: the asker's reads wait for the standby to
    pass it. Only for those who can use it: a session's cookie, an API client that sends marks back
    (one came with this request)."""
    session.info.pop("wrote", None)
    if "_user_id" not in cookie and LSN_HEADER not in request.headers:
        return
    mark = session.connection().exec_driver_sql("SELECT CAST(pg_current_wal_lsn() AS text)").scalar()
    session.rollback()
    response.headers[LSN_HEADER] = mark
    if "_user_id" in cookie:
        cookie["lsn"] = mark


def _commit_on_success(response):
    session = g.get("db")
    if session is None:
        return response
    try:
        if response.status_code < 400:
            wrote = _tracks_writes() and _wrote(session)
            session.commit()
            if wrote:
                _mark_write(session, response)
        else:
            session.rollback()
    except (DBAPIError, psycopg.OperationalError) as exc:
        from app.errors import database_unreachable, unavailable

        if not database_unreachable(exc):
            raise
        session.invalidate()  # the server went away mid-request: nothing of it was committed
        return current_app.make_response(unavailable())
    return response


def _close(exc):
    for name in ("db", "reads"):
        _close_one(g.pop(name, None), exc)


def _close_one(session, exc) -> None:
    if session is not None:
        try:
            if exc is not None:
                session.rollback()
            session.close()
        except (DBAPIError, psycopg.OperationalError):
            session.invalidate()
