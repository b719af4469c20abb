"""GridWatch web application: ``create_app`` builds it, nothing happens at import time."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    from app import (
        admin,
        api,
        auth,
        dashboard,
        database,
        errors,
        health,
        imports,
        open311,
        pages,
        patrols,
        security,
    )
    from app.config import from_environment

    app = Flask(__name__, static_folder=str(ROOT / "static"), static_url_path="/static")
    app.config.update(from_environment())
    app.config.update(config or {})
    database.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    security.init_app(app)
    blueprints = (auth, health, pages, api, imports, open311, patrols, dashboard, admin)
    for blueprint in (module.bp for module in blueprints):
        app.register_blueprint(blueprint)
    # The API checks CSRF itself, only for calls made with the session cookie (see auth.py).
    auth.csrf.exempt(api.bp)
    auth.csrf.exempt(imports.bp)
    auth.csrf.exempt(patrols.bp)  # JSON only; its page's forms post to the API
    auth.csrf.exempt(open311.bp)  # api_key, not cookies
    return app
