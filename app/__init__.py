"""GridWatch web application: ``create_app`` builds it, nothing happens at import time."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from werkzeug.routing import IntegerConverter, ValidationError

ROOT = Path(__file__).resolve().parent.parent


class IdConverter(IntegerConverter):
    """A row's id in a path: 1 to 2,147,483,647 (an int4); anything else is no such row (404)."""

    regex = r"[1-9]\d{0,9}"
    MAX = 2**31 - 1

    def to_python(self, value: str) -> int:
        number = int(value)
        if number > self.MAX:
            raise ValidationError()
        return number


def create_app(config: dict | None = None) -> Flask:
    from app import (
        admin,
        api,
        auth,
        community,
        dashboard,
        database,
        delivery,
        dispatch,
        duties,
        errors,
        health,
        i18n,
        imports,
        live,
        networks,
        offline,
        ogc,
        open311,
        pages,
        params,
        patrols,
        people,
        security,
    )
    from app.config import from_environment

    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    app.url_map.converters["id"] = IdConverter
    app.config.update(from_environment())
    app.config.update(config or {})
    database.init_app(app)
    auth.init_app(app)
    i18n.init_app(app)
    offline.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    delivery.init_app(app)
    app.before_request(params.refuse_what_is_not_text)
    blueprints = (auth, health, pages, api, dispatch, live, imports, open311, patrols, dashboard, admin)
    blueprints += (people, ogc, community, networks)
    for blueprint in (module.bp for module in blueprints):
        app.register_blueprint(blueprint)
    # The API checks CSRF itself, only for calls made with the session cookie (see auth.py).
    auth.csrf.exempt(api.bp)
    auth.csrf.exempt(dispatch.bp)
    auth.csrf.exempt(imports.bp)
    for view in people.API_WRITES:  # the API's own check (a session's CSRF token, or a bearer token)
        auth.csrf.exempt(view)
    auth.csrf.exempt(patrols.bp)  # JSON only; its page's forms post to the API
    auth.csrf.exempt(open311.bp)  # api_key, not cookies
    duties.start(app)
    return app
