"""Errors to HTTP, in one place: JSON for the APIs, a page for people. Domain errors keep their
status; a database that cannot be reached is a 503 with Retry-After (the pool reconnects by
itself once it is back); a stale version that lost a race is a 409."""

from __future__ import annotations

import psycopg
from flask import Flask, Response, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from gis.errors import DomainError
from gis.i18n import _

RETRY_AFTER_S = 5
UNAVAILABLE = _("the database cannot be reached just now: try again in a few seconds (nothing was lost)")
# What an HTTP error says when nobody said more (werkzeug's own words are English).
HTTP_MESSAGES = {
    400: _("the request could not be understood: check what was sent"),
    401: _("please log in first"),
    403: _("you may not do this"),
    404: _("there is nothing at this address"),
    405: _("this address does not take this kind of request"),
    409: _("this changed meanwhile: reload it and try again"),
    415: _("this kind of content is not accepted here"),
    429: _("too many attempts: wait a moment and try again"),
    500: _("something went wrong on our side; nothing was written"),
}


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/open311/", "/ogc/", "/tiles/")) or request.is_json


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
        if isinstance(exc, CSRFError):
            message = _("this form has expired or came from another site: reload the page and try again")
        elif message == type(exc).description:  # werkzeug's own words, in English
            message = HTTP_MESSAGES.get(exc.code or 500, message)
        if exc.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
            message = _("the upload is larger than the %(limit)s MB this server accepts", limit=limit)
        return _respond(exc.code or 500, message, {})

    @app.errorhandler(StaleDataError)
    def stale(exc):
        return _respond(409, _("this case changed meanwhile: reload it and try again"), {})

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
    if request.path.startswith(("/ogc/", "/tiles/")) and status == 422:
        status = 400  # OGC API – Features: a parameter it cannot use is a 400
    if wants_json():
        return jsonify({"error": message, "status": status, **details}), status, headers
    if status == 503:  # the page itself must not need the database
        return render_template("unavailable.html", message=message), status, headers
    return render_template("error.html", status=status, message=message), status, headers
