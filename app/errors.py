"""Errors to HTTP, in one place: JSON for the APIs, a page for people. Domain errors keep their
status; a database that cannot be reached is a 503 with Retry-After (the pool reconnects by
itself once it is back); a stale version that lost a race is a 409."""

from __future__ import annotations

import psycopg
from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy import exc as sa
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from gis.errors import DomainError

RETRY_AFTER_S = 5
UNAVAILABLE = "the database cannot be reached just now: try again in a few seconds (nothing was lost)"


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/open311/")) or request.is_json


def database_unreachable(exc: BaseException) -> bool:
    """Whether ``exc`` means the database is down or restarting (not a bad statement)."""
    if isinstance(exc, (sa.TimeoutError, psycopg.OperationalError)):
        return True
    if isinstance(exc, sa.DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (sa.OperationalError, sa.InterfaceError))
    return False


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        headers = {"Retry-After": str(exc.details["retry_after"])} if "retry_after" in exc.details else {}
        return _respond(exc.status, exc.message, exc.details, headers)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = exc.description
        if exc.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
            message = f"the upload is larger than the {limit} MB this server accepts"
        return _respond(exc.code or 500, message, {})

    @app.errorhandler(StaleDataError)
    def stale(exc):
        return _respond(409, "this case changed meanwhile: reload it and try again", {})

    @app.errorhandler(sa.SQLAlchemyError)
    @app.errorhandler(psycopg.Error)
    def database_error(exc):
        if not database_unreachable(exc):
            raise exc  # a bug, not an outage: let it be one
        return unavailable()


def unavailable():
    """503 with Retry-After: JSON for the APIs, a page (that needs no database) for people."""
    return _respond(503, UNAVAILABLE, {"retry_after": RETRY_AFTER_S}, {"Retry-After": str(RETRY_AFTER_S)})


def _respond(status: int, message: str, details: dict, headers: dict | None = None):
    headers = headers or {}
    if request.path.startswith("/open311/"):
        # GeoReport v2: 404 unknown resource, 403 bad api_key, 400 for everything else
        status = status if status in (403, 404) or status >= 500 else 400
        errors = [{"code": status, "description": message}]
        if request.path.endswith(".xml"):
            from app.open311 import xml_document

            body = xml_document("errors", "error", errors)
            return Response(body, status=status, mimetype="text/xml", headers=headers)
        return jsonify(errors), status, headers
    if wants_json():
        return jsonify({"error": message, "status": status, **details}), status, headers
    if status == 503:  # the page itself must not need the database
        return render_template("unavailable.html", message=message), status, headers
    return render_template("error.html", status=status, message=message), status, headers
