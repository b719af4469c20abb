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
from gis.models import ROLES


def _create_app():
    from app import create_app

    return create_app()


main = FlaskGroup(
    name="gridwatch",
    create_app=_create_app,
    help="GridWatch grid management. `make run` and `make test` use these commands.",
)


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
        raise click.ClickException(
            "DATABASE_URL is set: GridWatch uses that server and manages no embedded cluster"
        )
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
    from gis.cases.categories import sync_categories

    eng = create_engine(current_app.config["DATABASE_URL"])
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
    """Load the demo city: a district, streets, communities, grids, buildings, users, reports,
    street lines and a day of patrols."""
    from gis.demo import DEMO_PASSWORD, is_empty, load_demo

    with session_scope() as session:
        if not is_empty(session):
            if if_empty:
                click.echo("the database already has data: demo not loaded")
                return
            raise click.ClickException("the database already has areas: the demo needs an empty one")
        summary = load_demo(session, seed=seed)
    click.echo(
        f"demo city: {summary.areas} areas, {summary.buildings} buildings, "
        f"{summary.reports} reports, {summary.streets} streets, {summary.patrols} patrols"
    )
    click.echo(f"demo logins (password {DEMO_PASSWORD}):")
    for username, role in summary.logins:
        click.echo(f"  {username:<12} {role}")


# -- users ----------------------------------------------------------------------------------------
@main.group()
def users():
    """People and their roles."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--grid", "grids", multiple=True, help="Grid code this user works (repeatable).")
@click.option("--department", help="Department code, for the department role.")
@click.option(
    "--area",
    help="District, street or community code a supervisor or dispatcher works in (default: all).",
)
@click.option("--display-name")
@click.option("--password", help="Default: ask (or generate one when there is no terminal).")
def users_add(name, role, grids, department, area, display_name, password):
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
        user = create_user(session, name, role, password, display_name, tuple(grids), department, area)
        token = issue_token(user)
    click.echo(f"user {name} ({role}) added")
    if generated:
        click.echo(f"password: {password}")
    click.echo(f"API token: {token}")


@users.command("password")
@click.argument("name")
@click.option("--password", help="Default: ask (or generate one when there is no terminal).")
def users_password(name, password):
    """Set a user's password; every session of theirs ends."""
    import secrets

    from sqlalchemy import select

    from gis.accounts import change_password
    from gis.models import User

    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
        else:
            password, generated = secrets.token_urlsafe(12), True
    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == name))
        if user is None:
            raise click.ClickException(f"no user named {name}")
        change_password(session, user, password)
    click.echo(f"password of {name} changed; their sessions have ended")
    if generated:
        click.echo(f"password: {password}")


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
@click.option(
    "--threads",
    default=4,
    show_default=True,
    help="per worker: a request waiting on the database (a commit) lets another run",
)
def serve(port, host, workers, threads):
    """Serve with gunicorn (what `make run` does)."""
    click.echo(f"GridWatch on http://{host}:{port}/")
    argv = [*gunicorn_command(f"{host}:{port}", workers, threads), "--access-logfile", "-"]
    os.execvp(argv[0], argv)


def gunicorn_command(bind: str, workers: int = 2, threads: int = 4) -> list[str]:
    """How GridWatch is served (``serve`` and the benchmarks): threaded workers, since most of a
    request is spent waiting for PostgreSQL (README: "Measured design choices")."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--bind",
        bind,
        "app:create_app()",
    ]


# -- imports --------------------------------------------------------------------------------------
@main.group("import")
def import_group():
    """Planners' files: grids and buildings from shapefiles, zips, GeoPackages, GeoJSON."""


def _common_import_options(f):
    for option in reversed(
        [
            click.option("--crs", help="Coordinate system when the file has no .prj (e.g. EPSG:4547)."),
            click.option("--encoding", help="Text encoding of the .dbf (default: detected)."),
            click.option("--layer", help="Layer of a GeoPackage with several."),
            click.option("--replace", is_flag=True, help="Swap the whole layer in one transaction."),
            click.option("--dry-run", is_flag=True, help="Validate and print the report; write nothing."),
            click.option("--json", "as_json", is_flag=True, help="Print the full report as JSON."),
        ]
    ):
        f = option(f)
    return f


def _run_import(run, dry_run: bool, as_json: bool):
    import json

    from gis.areas.importer import ImportRefused

    def progress(stage, fraction):
        if not as_json:
            click.echo(f"  {fraction:>4.0%} {stage}", err=True)

    session = current_app.extensions["gridwatch.sessions"]()
    try:
        result = run(session, progress)
        if dry_run:
            session.rollback()
            result.report["written"] = 0
        else:
            session.commit()
    except ImportRefused as exc:
        session.rollback()
        click.echo(
            json.dumps(exc.report, ensure_ascii=False, indent=1) if as_json else _report_text(exc.report)
        )
        raise click.ClickException(exc.message + " — nothing was written") from None
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(exc.message + " — nothing was written") from None
    finally:
        session.close()
    if as_json:
        click.echo(json.dumps(result.report, ensure_ascii=False, indent=1))
    else:
        click.echo(_report_text(result.report))
        click.echo("dry run: nothing written" if dry_run else f"imported {result.written} features")


def _report_text(report: dict) -> str:
    lines = [
        f"{report['file']} (layer {report['layer']}): {report['features_read']} features, "
        f"{report['crs']}{' (assumed)' if report['crs_assumed'] else ''}"
        + (f", text {report['encoding']} ({report['encoding_source']})" if report.get("encoding") else "")
    ]
    lines += [f"  warning: {w}" for w in report["warnings"]]
    lines += [
        f"  repaired row {r['row']}{' (' + r['id'] + ')' if r.get('id') else ''}: {r['problem']}"
        for r in report["repaired"]
    ]
    lines += [
        f"  rejected row {r['row']}{' (' + r['id'] + ')' if r.get('id') else ''}: {r['reason']}"
        for r in report["rejected"]
    ]
    topo = report.get("topology") or {}
    lines += [f"  overlap {o['a']} × {o['b']}: {o['area_m2']} m²" for o in topo.get("overlaps", [])]
    lines += [
        f"  gap in {g['parent']}: {g['area_m2']} m² in {g['parts']} part(s)" for g in topo.get("gaps", [])
    ]
    lines += [
        f"  {o['code']} sticks out of {o['parent']} by {o['area_m2']} m²"
        for o in topo.get("outside_parent", [])
    ]
    lines += [f"  error: {e}" for e in report["errors"]]
    if report.get("reassigned"):
        lines.append(f"  re-assigned: {report['reassigned']}")
    if "assigned_to_grid" in report:
        lines.append(
            f"  {report['assigned_to_grid']} buildings in a grid, "
            f"{report['outside_every_grid']} outside every grid"
        )
    return "\n".join(lines)


@import_group.command("grids")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option(
    "--level",
    type=click.Choice(["district", "street", "community", "grid"]),
    default="grid",
    show_default=True,
)
@click.option("--code-field")
@click.option("--name-field")
@click.option("--parent-field", help="Field holding the parent's code (else: largest overlap).")
@_common_import_options
def import_grids(
    path, level, code_field, name_field, parent_field, crs, encoding, layer, replace, dry_run, as_json
):
    """Import an area layer (grids by default) with validation and a topology report."""
    from gis.areas.importer import import_areas

    _run_import(
        lambda session, progress: import_areas(
            session,
            path,
            level,
            code_field=code_field,
            name_field=name_field,
            parent_field=parent_field,
            nearest_grid_m=current_app.config["NEAREST_GRID_M"],
            crs=crs,
            encoding=encoding,
            layer=layer,
            replace=replace,
            progress=progress,
        ),
        dry_run,
        as_json,
    )


@import_group.command("buildings")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--name-field")
@click.option("--households-field")
@click.option("--floors-field")
@_common_import_options
def import_buildings_command(
    path, name_field, households_field, floors_field, crs, encoding, layer, replace, dry_run, as_json
):
    """Import building footprints; each goes to the grid holding most of it."""
    from gis.areas.importer import import_buildings

    _run_import(
        lambda session, progress: import_buildings(
            session,
            path,
            name_field=name_field,
            households_field=households_field,
            floors_field=floors_field,
            nearest_building_m=current_app.config["NEAREST_BUILDING_M"],
            crs=crs,
            encoding=encoding,
            layer=layer,
            replace=replace,
            progress=progress,
        ),
        dry_run,
        as_json,
    )


@import_group.command("streets")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--name-field")
@_common_import_options
def import_streets_command(path, name_field, crs, encoding, layer, replace, dry_run, as_json):
    """Import street centre lines: patrol coverage measures the share of them walked."""
    from gis.areas.importer import import_streets

    _run_import(
        lambda session, progress: import_streets(
            session,
            path,
            name_field=name_field,
            crs=crs,
            encoding=encoding,
            layer=layer,
            replace=replace,
            progress=progress,
        ),
        dry_run,
        as_json,
    )


@import_group.command("tracks")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--user", "username", required=True, help="Who walked it (a username).")
@click.option("--name", help="Name of the patrol (default: the GPX's own name).")
@click.option(
    "--max-accuracy",
    type=float,
    default=50,
    show_default=True,
    help="Drop fixes less accurate than this many metres (GPX HDOP × 5 m).",
)
@click.option(
    "--max-speed",
    type=float,
    default=15,
    show_default=True,
    help="Drop fixes implying a faster speed, in m/s (GPS jumps).",
)
@click.option(
    "--gap-minutes",
    type=float,
    default=5,
    show_default=True,
    help="Split the track where fixes are further apart in time.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the cleaning report as JSON.")
def import_tracks(path, username, name, max_accuracy, max_speed, gap_minutes, as_json):
    """Import a patrol track from a GPX file (1.0 or 1.1), cleaned; prints what was dropped."""
    import datetime as dt
    import json
    from pathlib import Path

    from sqlalchemy import select

    from gis.models import User
    from gis.patrols.coverage import grids_near_track
    from gis.patrols.tracks import CleaningRules, import_gpx

    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == username))
        if user is None:
            raise click.ClickException(f"no user {username!r} (see `gridwatch users list`)")
        rules = CleaningRules(max_accuracy, max_speed, dt.timedelta(minutes=gap_minutes))
        track = import_gpx(session, Path(path).read_bytes(), user, name=name, rules=rules)
        grids = len(grids_near_track(session, track.id))
        summary = {**track.cleaning, "track": track.id, "grids_passed": grids}
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    click.echo(
        f"track {summary['track']}: {summary['fixes_kept']} of {summary['fixes_read']} fixes kept "
        f"in {summary['segments']} segment(s), passing {grids} grid(s)"
    )
    for info in summary["dropped"].values():
        click.echo(f"  dropped {info['count']}: {info['why']}")
    if summary["split_at_gaps"]:
        click.echo(f"  split at {summary['split_at_gaps']} gap(s) longer than {gap_minutes:g} min")
    for warning in summary["warnings"]:
        click.echo(f"  warning: {warning}")


@main.group("patrols")
def patrols_group():
    """Patrol tracks and their coverage."""


@patrols_group.command("store-reach")
def patrols_store_reach():
    """Store the per-grid reach of finished tracks that have none: after a grid import made it
    stale, coverage recomputes those tracks from their fixes until this runs."""
    import time

    from gis.patrols.coverage import store_missing_reach

    started = time.perf_counter()
    with session_scope() as session:
        stored, left = store_missing_reach(session)
    click.echo(
        f"stored the reach of {stored} track(s) in {time.perf_counter() - started:.1f} s"
        + (f"; {left} left to compute live (fixes outside their recorded span)" if left else "")
    )


@main.group("categories")
def categories_group():
    """The category tree and who may read each category's cases."""


@categories_group.command("privacy")
@click.argument("code")
@click.argument("privacy", type=click.Choice(["public", "internal", "personal"]))
def categories_privacy(code, privacy):
    """Set who may read a category's cases (a group's applies to its sub-categories)."""
    from gis.cases.categories import set_privacy

    with session_scope() as session:
        category = set_privacy(session, code, privacy)
        click.echo(f"{category.code} {category.name}: {privacy}")
