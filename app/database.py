"""One SQLAlchemy session per request; the request owns the transaction.

Views and operations flush, never commit: a response below 400 commits, anything else rolls back,
in one place. One exception, the hot path: a phone's report (no photos) is committed by its own
single statement (``submit_report(commit_alone=True)``), which leaves this commit nothing to do.
Tests hand in SESSION_FACTORY bound to a connection whose transaction they roll back.
"""

from __future__ import annotations

import psycopg
from flask import Flask, current_app, g
from sqlalchemy import create_engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker


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
    app.after_request(_commit_on_success)
    app.teardown_appcontext(_close)


def db() -> Session:
    if "db" not in g:
        g.db = current_app.extensions["gridwatch.sessions"]()
    return g.db


def _commit_on_success(response):
    session = g.get("db")
    if session is None:
        return response
    try:
        if response.status_code < 400:
            session.commit()
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
    session = g.pop("db", None)
    if session is not None:
        try:
            if exc is not None:
                session.rollback()
            session.close()
        except (DBAPIError, psycopg.OperationalError):
            session.invalidate()
