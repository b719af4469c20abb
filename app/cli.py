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

from gis.embedded_postgres import EmbeddedPostgres, EmbeddedPostgresError, EmbeddedReplica
from gis.errors import DomainError
from gis.i18n import _, texts
from gis.models import ROLES


def _create_app():
    from app import create_app
    from gis import i18n

    app = create_app()
    i18n.set_default_locale(i18n.locale_from_environment() or app.config["LOCALE"])
    return app


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
            _("DATABASE_URL is set: GridWatch uses that server and manages no embedded cluster")
        )
    return EmbeddedPostgres()


@db.command()
def up():
    """Create (once) and start the embedded PostgreSQL + PostGIS cluster under var/pg."""
    if os.environ.get("DATABASE_URL"):
        click.echo(_("DATABASE_URL is set: using that server, nothing to start"))
        return
    try:
        click.echo(_("embedded PostGIS %(up)s (%(root)s)", up=_embedded().up(), root=_embedded().root))
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
        click.echo(_("external (DATABASE_URL)"))
        return
    click.echo(_embedded().status())


@db.group()
def replica():
    """A streaming hot standby of the embedded cluster (var/pg-replica, its own socket)."""


def _embedded_replica() -> EmbeddedReplica | None:
    if os.environ.get("DATABASE_REPLICA_URL"):
        click.echo(_("DATABASE_REPLICA_URL is set: GridWatch uses that standby and manages none"))
        return None
    _embedded()  # refuses when DATABASE_URL is set
    return EmbeddedReplica()


@replica.command("up")
def replica_up():
    """Copy the primary (pg_basebackup, once) and start the standby; SYNCHRONOUS_STANDBY=on makes
    every commit wait until the standby has applied it."""
    standby = _embedded_replica()
    if standby is None:
        return
    try:
        done = standby.up(synchronous=current_app.config["SYNCHRONOUS_STANDBY"])
    except EmbeddedPostgresError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(_("hot standby %(done)s (%(root)s)", done=done, root=standby.root))


@replica.command("down")
def replica_down():
    """Stop the standby (the primary stops waiting for it first)."""
    standby = _embedded_replica()
    if standby is not None:
        click.echo(standby.down())


@replica.command("status")
def replica_status():
    """absent / stopped / running, and how far behind the primary it is."""
    standby = _embedded_replica()
    if standby is None:
        return
    state = standby.status()
    if state != "running":
        click.echo(state)
        return
    replay = standby.replay()
    click.echo(
        _(
            "running as %(role)s; replayed %(lsn)s, %(lag)s bytes behind, "
            "last commit replayed %(seconds)s s ago",
            role=replay["role"],
            lsn=replay["replayed_lsn"],
            lag=replay["lag_bytes"],
            seconds=replay["since_last_commit_s"],
        )
    )


@db.command()
def promote():
    """Make the standby the primary (the primary is gone): GridWatch's URL names both sockets, so
    new connections find it without a restart."""
    standby = _embedded_replica()
    if standby is None:
        return
    try:
        click.echo(standby.promote())
    except EmbeddedPostgresError as exc:
        raise click.ClickException(str(exc)) from None


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
    click.echo(_("schema at head; %(count)s categories", count=count))


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
                click.echo(_("the database already has data: demo not loaded"))
                return
            raise click.ClickException(_("the database already has areas: the demo needs an empty one"))
        summary = load_demo(session, seed=seed)
    click.echo(
        _(
            "demo city: %(areas)s areas, %(buildings)s buildings, %(reports)s reports, %(streets)s "
            "streets, %(patrols)s patrols, %(households)s households, %(visits)s visits",
            areas=summary.areas,
            households=summary.households,
            visits=summary.visits,
            buildings=summary.buildings,
            reports=summary.reports,
            streets=summary.streets,
            patrols=summary.patrols,
        )
    )
    click.echo(_("demo logins (password %(demo_password)s):", demo_password=DEMO_PASSWORD))
    for username, role in summary.logins:
        click.echo(_("  %(username)s %(role)s", username=format(username, "<12"), role=role))


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
@click.option("--lead", is_flag=True, help="A department's lead: assigns its cases to its members.")
@click.option("--email", help="Where the inbox digest goes (see the account page).")
@click.option("--display-name")
@click.option("--password", help="Default: ask (or generate one when there is no terminal).")
def users_add(name, role, grids, department, area, lead, email, display_name, password):
    """Add a user; prints an API token for the JSON API."""
    import secrets

    from gis.accounts import create_user, issue_token

    generated = False
    if password is None:
        if sys.stdin.isatty():
            password = click.prompt(str(_("password")), hide_input=True, confirmation_prompt=True)
        else:
            password, generated = secrets.token_urlsafe(12), True
    with session_scope() as session:
        user = create_user(
            session, name, role, password, display_name, tuple(grids), department, area, lead, email
        )
        token = issue_token(user)
    click.echo(_("user %(name)s (%(role)s) added", name=name, role=role))
    if generated:
        click.echo(_("password: %(password)s", password=password))
    click.echo(_("API token: %(token)s", token=token))


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
            password = click.prompt(str(_("new password")), hide_input=True, confirmation_prompt=True)
        else:
            password, generated = secrets.token_urlsafe(12), True
    with session_scope() as session:
        user = session.scalar(select(User).where(User.username == name))
        if user is None:
            raise click.ClickException(_("no user named %(name)s", name=name))
        change_password(session, user, password)
    click.echo(_("password of %(name)s changed; their sessions have ended", name=name))
    if generated:
        click.echo(_("password: %(password)s", password=password))


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
            raise click.ClickException(_("no user named %(name)s", name=name))
        token = issue_token(user)
    click.echo(token)


@users.command("list")
def users_list():
    from sqlalchemy import select

    from gis.models import User

    with session_scope() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            grids = ",".join(g.code for g in user.grids)
            click.echo(
                _(
                    "%(username)s %(role)s %(display_name)s %(grids)s",
                    username=format(user.username, "<16"),
                    role=format(user.role, "<12"),
                    display_name=user.display_name,
                    grids=grids,
                )
            )


# -- serving --------------------------------------------------------------------------------------
@main.command()
@click.option("--port", default=lambda: int(os.environ.get("PORT", 5000)), show_default="$PORT or 5000")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--workers", default=2, show_default=True)
@click.option(
    "--threads",
    default=64,
    show_default=True,
    help="per worker: a request waiting on the database (a commit) lets another run, and each open "
    "live map (/api/v1/live) holds one (at most LIVE_STREAMS of them)",
)
def serve(port, host, workers, threads):
    """Serve with gunicorn (what `make run` does)."""
    click.echo(_("GridWatch on http://%(host)s:%(port)s/", host=host, port=port))
    argv = [*gunicorn_command(f"{host}:{port}", workers, threads), "--access-logfile", "-"]
    os.environ["GRIDWATCH_DUTIES"] = "1"  # escalation and digests run inside the server
    os.execvp(argv[0], argv)


def gunicorn_command(bind: str, workers: int = 2, threads: int = 64) -> list[str]:
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
            click.echo(
                _("  %(fraction)s %(stage)s", fraction=format(fraction, ">4.0%"), stage=stage), err=True
            )

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
            json.dumps(texts(exc.report), ensure_ascii=False, indent=1)
            if as_json
            else _report_text(exc.report)
        )
        raise click.ClickException(_("%(message)s — nothing was written", message=exc.text)) from None
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(_("%(message)s — nothing was written", message=exc.text)) from None
    finally:
        session.close()
    if as_json:
        click.echo(json.dumps(texts(result.report), ensure_ascii=False, indent=1))
    else:
        click.echo(_report_text(result.report))
        click.echo(
            _("dry run: nothing written")
            if dry_run
            else _("imported %(count)s features", count=result.written)
        )


def _import_file(kind, path, options, crs, encoding, layer, replace, dry_run, as_json):
    """A file checked (``--dry-run``) or imported as the web's job does it (gis.areas.jobs), with
    the configured distances, in one transaction this command commits."""
    from gis.areas.jobs import apply_import, check_import

    options = {
        **options,
        "crs": crs,
        "encoding": encoding,
        "layer": layer,
        "replace": replace,
        "nearest_grid_m": current_app.config["NEAREST_GRID_M"],
        "nearest_building_m": current_app.config["NEAREST_BUILDING_M"],
    }

    def run(session, progress):
        if dry_run:
            return check_import(session, kind, path, options, progress)
        return apply_import(session, kind, path, options, None, progress)

    _run_import(run, dry_run, as_json)


def _report_text(report: dict) -> str:
    def row(r) -> str:
        return f"{r['row']} ({r['id']})" if r.get("id") else str(r["row"])

    lines = [
        _(
            "%(file)s (layer %(layer)s): %(count)s features, %(crs)s",
            file=report["file"],
            layer=report["layer"],
            count=report["features_read"],
            crs=_("%(crs)s (assumed)", crs=report["crs"]) if report["crs_assumed"] else report["crs"],
        )
        + (
            _(
                ", text %(encoding)s (%(source)s)",
                encoding=report["encoding"],
                source=report["encoding_source"],
            )
            if report.get("encoding")
            else ""
        )
    ]
    lines += [_("  warning: %(warning)s", warning=w) for w in report["warnings"]]
    lines += [
        _("  repaired row %(row)s: %(problem)s", row=row(r), problem=r["problem"]) for r in report["repaired"]
    ]
    lines += [
        _("  rejected row %(row)s: %(reason)s", row=row(r), reason=r["reason"]) for r in report["rejected"]
    ]
    topo = report.get("topology") or {}
    lines += [
        _("  overlap %(a)s × %(b)s: %(area)s m²", a=o["a"], b=o["b"], area=o["area_m2"])
        for o in topo.get("overlaps", [])
    ]
    lines += [
        _(
            "  gap in %(parent)s: %(area)s m² in %(parts)s part(s)",
            parent=g["parent"],
            area=g["area_m2"],
            parts=g["parts"],
        )
        for g in topo.get("gaps", [])
    ]
    lines += [
        _(
            "  %(code)s sticks out of %(parent)s by %(area)s m²",
            code=o["code"],
            parent=o["parent"],
            area=o["area_m2"],
        )
        for o in topo.get("outside_parent", [])
    ]
    lines += [
        _(
            "  lies over stored %(stored)s: %(code)s, %(area)s m²",
            stored=o["stored"],
            code=o["code"],
            area=o["area_m2"],
        )
        for o in topo.get("overlaps_stored", [])
    ]
    built = report.get("hierarchy")
    if built:
        lines.append(
            _(
                "  from the grid codes: %(communities)s communities, %(streets)s streets, %(districts)s "
                "districts to build",
                communities=built["community"],
                streets=built["street"],
                districts=built["district"],
            )
        )
    counts = (report.get("diff") or {}).get("counts")
    if counts:
        lines.append(
            _(
                "  against the stored layer: %(new)s new, %(changed)s changed, %(unchanged)s unchanged, "
                "%(gone)s gone",
                new=counts.get("new", 0),
                changed=counts.get("changed", 0),
                unchanged=counts.get("unchanged", 0),
                gone=counts.get("gone", 0),
            )
        )
        lines += [
            _("  changed %(code)s: %(area)s m² moved", code=c["code"], area=c["moved_m2"])
            for c in report["diff"].get("changed", [])[:20]
        ]
    lines += [_("  error: %(error)s", error=e) for e in report["errors"]]
    if report.get("reassigned"):
        lines.append(_("  re-assigned: %(count)s", count=report["reassigned"]))
    if "assigned_to_grid" in report:
        lines.append(
            _(
                "  %(inside)s buildings in a grid, %(outside)s outside every grid",
                inside=report["assigned_to_grid"],
                outside=report["outside_every_grid"],
            )
        )
    return "\n".join(str(line) for line in lines)


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
@click.option("--allow-overlap", is_flag=True, help="Import areas that lie over stored ones of their level.")
@click.option(
    "--code-map",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV of file code,code for codes that are not the standard ones.",
)
@click.option("--district-code", help="The GB/T 2260 code of a file holding one district.")
@click.option(
    "--build-hierarchy",
    is_flag=True,
    help="Build the missing communities, streets and districts from 15-digit grid codes.",
)
@_common_import_options
def import_grids(
    path,
    level,
    code_field,
    name_field,
    parent_field,
    allow_overlap,
    code_map,
    district_code,
    build_hierarchy,
    crs,
    encoding,
    layer,
    replace,
    dry_run,
    as_json,
):
    """Import an area layer (grids by default) with validation, a topology report and a diff
    against the stored layer."""
    from gis.areas.importer import read_code_map

    options = dict(
        level=level,
        code_field=code_field,
        name_field=name_field,
        parent_field=parent_field,
        allow_overlap=allow_overlap,
        code_map=read_code_map(code_map) if code_map else None,
        district_code=district_code,
        build_hierarchy=build_hierarchy,
    )
    _import_file("grids", path, options, crs, encoding, layer, replace, dry_run, as_json)


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
    options = dict(name_field=name_field, households_field=households_field, floors_field=floors_field)
    _import_file("buildings", path, options, crs, encoding, layer, replace, dry_run, as_json)


@import_group.command("households")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Match every row and print the report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the full match report as JSON.")
def import_households_command(path, dry_run, as_json):
    """Import households (CSV or XLSX) into their buildings; a row matched to no building or to
    several refuses the whole file, with each row's fate."""
    import json

    from gis.people.households import HouseholdsRefused, import_households, read_file

    def show(report) -> None:
        if as_json:
            click.echo(json.dumps(texts(report.as_dict()), ensure_ascii=False, indent=1))
            return
        counts = report.as_dict()["counts"]
        click.echo(
            _(
                "%(file)s: %(matched)s matched, %(ambiguous)s ambiguous, %(unmatched)s unmatched, "
                "%(invalid)s with a bad value",
                file=report.file,
                **counts,
            )
        )
        for row in report.rows:
            if row["outcome"] != "matched":
                click.echo(_("  row %(row)s: %(reason)s", row=row["row"], reason=row["reason"]))

    session = current_app.extensions["gridwatch.sessions"]()
    try:
        report = import_households(session, *read_file(path), dry_run=dry_run)
        session.rollback() if dry_run else session.commit()
    except HouseholdsRefused as exc:
        session.rollback()
        show(exc.report)
        raise click.ClickException(exc.text) from None
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(_("%(message)s — nothing was written", message=exc.text)) from None
    finally:
        session.close()
    show(report)
    click.echo(
        _("dry run: nothing written") if dry_run else _("%(count)s households written", count=report.written)
    )


@import_group.command("network")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--network", "network", required=True, help="The network's code (e.g. party, security).")
@click.option("--name", "network_name", help="The network's name (e.g. 党建网格).")
@click.option("--code-field", help="Field holding each area's code.")
@click.option("--name-field", help="Field holding each area's name.")
@_common_import_options
def import_network_command(
    path, network, network_name, code_field, name_field, crs, encoding, layer, replace, dry_run, as_json
):
    """Import a grid network's areas (party grids, security grids) laid over the main grids: no two
    overlap; their managers and co-managers come from fields such as 负责人 and 协管员."""
    options = {
        "network": network,
        "network_name": network_name,
        "code_field": code_field,
        "name_field": name_field,
    }
    _import_file("networks", path, options, crs, encoding, layer, replace, dry_run, as_json)


@import_group.command("undo")
@click.argument("batch", type=int)
def import_undo(batch):
    """Undo import BATCH: the layer as it was before it, reports and buildings back in their grids."""
    from gis.areas.undo import undo_import

    session = current_app.extensions["gridwatch.sessions"]()
    try:
        counts = undo_import(session, batch, nearest_grid_m=current_app.config["NEAREST_GRID_M"])
        session.commit()
    except DomainError as exc:
        session.rollback()
        raise click.ClickException(_("%(message)s — nothing was changed", message=exc.text)) from None
    finally:
        session.close()
    click.echo(
        _(
            "import %(batch)s undone: %(removed)s removed, %(restored)s put back, %(moved)s case(s) "
            "moved back",
            batch=batch,
            removed=counts["removed"],
            restored=counts["restored"],
            moved=counts.get("reports_regridded", counts.get("reports", 0)),
        )
    )


@import_group.command("streets")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--name-field")
@_common_import_options
def import_streets_command(path, name_field, crs, encoding, layer, replace, dry_run, as_json):
    """Import street centre lines: patrol coverage measures the share of them walked."""
    _import_file("streets", path, {"name_field": name_field}, crs, encoding, layer, replace, dry_run, as_json)


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
            raise click.ClickException(
                _("no user %(username)s (see `gridwatch users list`)", username=repr(username))
            )
        rules = CleaningRules(max_accuracy, max_speed, dt.timedelta(minutes=gap_minutes))
        track = import_gpx(session, Path(path).read_bytes(), user, name=name, rules=rules)
        grids = len(grids_near_track(session, track.id))
        summary = {**track.cleaning, "track": track.id, "grids_passed": grids}
    if as_json:
        click.echo(json.dumps(summary, ensure_ascii=False, indent=1))
        return
    click.echo(
        _(
            "track %(track)s: %(fixes_kept)s of %(fixes_read)s fixes kept in %(segments)s segment(s), "
            "passing %(grids)s grid(s)",
            track=summary["track"],
            fixes_kept=summary["fixes_kept"],
            fixes_read=summary["fixes_read"],
            segments=summary["segments"],
            grids=grids,
        )
    )
    for info in summary["dropped"].values():
        click.echo(_("  dropped %(count)s: %(why)s", count=info["count"], why=info["why"]))
    if summary["split_at_gaps"]:
        click.echo(
            _(
                "  split at %(split_at_gaps)s gap(s) longer than %(gap_minutes)s min",
                split_at_gaps=summary["split_at_gaps"],
                gap_minutes=format(gap_minutes, "g"),
            )
        )
    for warning in summary["warnings"]:
        click.echo(_("  warning: %(warning)s", warning=warning))


# -- the server's duties, by hand ------------------------------------------------------------------
@main.command()
@click.option(
    "--after-hours", type=float, help="Hours past the deadline per level (default: ESCALATE_AFTER_HOURS)."
)
def escalate(after_hours):
    """Escalate the overdue cases now (the server does it every DUTIES_EVERY_S seconds)."""
    import datetime as dt

    from gis.cases.escalation import escalate_overdue

    hours = after_hours if after_hours is not None else current_app.config["ESCALATE_AFTER_HOURS"]
    if hours <= 0:
        raise click.BadParameter(str(_("must be more than 0 hours")), param_hint="--after-hours")
    with session_scope() as session:
        moved = escalate_overdue(session, dt.timedelta(hours=hours))
    for m in moved:
        click.echo(
            _(
                "case %(id)s: %(from_level)s → %(to_level)s",
                id=m.report_id,
                from_level=m.from_level,
                to_level=m.to_level,
            )
        )
    click.echo(_("%(count)s case(s) escalated", count=len(moved)))


@main.command()
def digests():
    """Mail the inbox digests that are due now (needs SMTP_URL)."""
    from gis.cases.digest import Mailer, send_digests

    if not current_app.config["SMTP_URL"]:
        raise click.ClickException(_("SMTP_URL is not set: no mail can be sent"))
    mailer = Mailer.from_url(current_app.config["SMTP_URL"], current_app.config["MAIL_FROM"])
    with session_scope() as session:
        sent = send_digests(session, mailer, current_app.config["PUBLIC_URL"])
    click.echo(_("%(count)s digest(s) sent", count=len(sent)))


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
        click.echo(
            _("%(code)s %(name)s: %(privacy)s", code=category.code, name=category.name, privacy=privacy)
        )
