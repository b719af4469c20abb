"""The ``gridwatch`` command: database, users, demo data, imports, serving.

Commands open their own session and commit once at the end: a failure writes nothing.
"""
from __future__ import annotations

import contextlib
import os
import sys

import click
from flask import current_app
from flask.cli import FlaskGroup
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from gis.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresError
from gis.errors import DomainError


def _create_app():
    from app import create_app
    return create_app()


main = FlaskGroup(name="gridwatch", create_app=_create_app,
                  help="GridWatch grid management. `make run` and `make test` use these commands.")


def engine():
    return create_engine(current_app.config["DATABASE_URL"])


@contextlib.contextmanager
def session_scope():
    """One transaction for the whole command; DomainErrors become a clear message and exit 1."""
    with current_app.extensions["gridwatch.sessions"]() as session:
        try:
            yield session
            session.commit()
        except DomainError as exc:
            session.rollback()
            raise click.ClickException(exc.message) from None


# -- database -----------------------------------------------------------------------------------
@main.group()
def db():
    """The database: the embedded PostGIS (when DATABASE_URL is unset) and its schema."""


def _embedded() -> EmbeddedPostgres:
    if os.environ.get("DATABASE_URL"):
        raise click.ClickException("DATABASE_URL is set: GridWatch uses that server and manages "
                                   "no embedded cluster")
    return EmbeddedPostgres()


@db.command()
def up():
    """Create (once) and start the embedded PostgreSQL + PostGIS cluster under var/pg."""
    if os.environ.get("DATABASE_URL"):
        click.echo("DATABASE_URL is set: using that server, nothing to start")
        return
    try:
        click.echo(f"embedded PostGIS {_embedded().up()} ({_embedded().root})")
    except EmbeddedPostgresError as exc:
        raise click.ClickException(str(exc)) from None


@db.command()
def down():
    """Stop the embedded cluster (the data stays in var/pg)."""
    click.echo(_embedded().down())


@db.command()
def status():
    """absent / stopped / running."""
    if os.environ.get("DATABASE_URL"):
        click.echo("external (DATABASE_URL)")
        return
    click.echo(_embedded().status())


@db.command()
def url():
    """The SQLAlchemy URL GridWatch uses."""
    click.echo(current_app.config["DATABASE_URL"])


@db.command()
def migrate():
    """Upgrade the schema to the newest migration and refresh the reference data (categories)."""
    from gis import schema
    from gis.categories import sync_categories

    eng = engine()
    schema.upgrade(eng)
    with Session(eng) as session:
        count = sync_categories(session)
        session.commit()
    eng.dispose()
    click.echo(f"schema at head; {count} categories")


# -- demo -----------------------------------------------------------------------------------------
@main.command()
@click.option("--if-empty", is_flag=True, help="Do nothing when the database already has areas.")
@click.option("--seed", default=2014, show_default=True)
def demo(if_empty, seed):
    """Load the demo city: a district, streets, communities, grids, buildings, users, reports."""
    from gis.demo import DEMO_PASSWORD, is_empty, load_demo

    with session_scope() as session:
        if not is_empty(session):
            if if_empty:
                click.echo("the database already has data: demo not loaded")
                return
            raise click.ClickException("the database already has areas: the demo needs an empty one")
        summary = load_demo(session, seed=seed)
    click.echo(f"demo city: {summary.areas} areas, {summary.buildings} buildings, "
               f"{summary.reports} reports")
    click.echo(f"demo logins (password {DEMO_PASSWORD}):")
    for username, role in summary.logins:
        click.echo(f"  {username:<12} {role}")


# -- users ----------------------------------------------------------------------------------------
@main.group()
def users():
    """People and their roles."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(
    ["admin", "supervisor", "dispatcher", "grid_worker", "department", "planner"]))
@click.option("--grid", "grids", multiple=True, help="Grid code this user works (repeatable).")
@click.option("--department", help="Department code, for the department role.")
@click.option("--display-name")
@click.option("--password", help="Default: ask (or generate one when there is no terminal).")
def users_add(name, role, grids, department, display_name, password):
    """Add a user; prints an API token for the JSON API."""
    import secrets

    from gis.accounts import create_user, issue_token

    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("password", hide_input=True, confirmation_prompt=True)
        else:
            password, generated = secrets.token_urlsafe(12), True
    with session_scope() as session:
        user = create_user(session, name, role, password, display_name, tuple(grids), department)
        token = issue_token(user)
    click.echo(f"user {name} ({role}) added")
    if generated:
        click.echo(f"password: {password}")
    click.echo(f"API token: {token}")


@users.command("token")
@click.argument("name")
def users_token(name):
    """Issue a new API token for a user (the old one stops working)."""
    from sqlalchemy import select

    from gis.accounts import issue_token
    from gis.models import User

    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == name))
        if user is None:
            raise click.ClickException(f"no user named {name}")
        token = issue_token(user)
    click.echo(token)


@users.command("list")
def users_list():
    from sqlalchemy import select

    from gis.models import User

    with session_scope() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            grids = ",".join(g.code for g in user.grids)
            click.echo(f"{user.username:<16} {user.role:<12} {user.display_name} {grids}")


# -- serving --------------------------------------------------------------------------------------
@main.command()
@click.option("--port", default=lambda: int(os.environ.get("PORT", 5000)), show_default="$PORT or 5000")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--workers", default=2, show_default=True)
def serve(port, host, workers):
    """Serve with gunicorn (what `make run` does)."""
    click.echo(f"GridWatch on http://{host}:{port}/")
    os.execvp(sys.executable, [sys.executable, "-m", "gunicorn", "--workers", str(workers),
                               "--bind", f"{host}:{port}", "--access-logfile", "-",
                               "app:create_app()"])
