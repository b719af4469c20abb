"""Domain errors to HTTP, in one place: JSON for the APIs, a page for people."""

from __future__ import annotations

from flask import Flask, Response, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from gis.errors import DomainError


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/open311/")) or request.is_json


def init_app(app: Flask) -> None:
    @app.errorhandler(DomainError)
    def domain_error(exc: DomainError):
        return _respond(exc.status, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = exc.description
        if exc.code == 413:
            limit = app.config["MAX_CONTENT_LENGTH"] // (1024 * 1024)
            message = f"the upload is larger than the {limit} MB this server accepts"
        return _respond(exc.code or 500, message, {})


def _respond(status: int, message: str, details: dict):
    if request.path.startswith("/open311/"):
        # GeoReport v2: 404 unknown resource, 403 bad api_key, 400 for everything else
        status = status if status in (403, 404) or status >= 500 else 400
        errors = [{"code": status, "description": message}]
        if request.path.endswith(".xml"):
            from app.open311 import xml_document

            return Response(xml_document("errors", "error", errors), status=status, mimetype="text/xml")
        return jsonify(errors), status
    if wants_json():
        return jsonify({"error": message, "status": status, **details}), status
    return render_template("error.html", status=status, message=message), status
