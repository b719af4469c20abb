"""A planner's import applied as a job: it runs beside the web requests, says where it stands
(stage and percent, in ``import_jobs``, polled by the page), and ends done (the batch), refused
(the report) or failed (the error) — the import and its "done" in one transaction.

``sessions`` makes a session on the database (the app's factory): the import runs in one, each
progress step is written and committed in another, so the page sees it while the import is still
uncommitted.

A running job holds an advisory lock in its import's transaction: if its server stops, the
connection closes, the transaction is rolled back (nothing written) and the lock is free — so
``reap_stale`` can tell a job that died from one still at work, without a clock.
"""

from __future__ import annotations

import datetime as dt
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from gis.areas.importer import (
    ImportRefused,
    ImportResult,
    Progress,
    checked,
    import_areas,
    import_buildings,
    import_streets,
    no_progress,
    plan_areas,
    plan_buildings,
    plan_streets,
)
from gis.areas.networks import import_network, plan_network
from gis.errors import DomainError
from gis.i18n import Words, _
from gis.models import ImportJob

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 0.5  # at most two progress writes a second
JOB_LOCK = 23  # advisory locks (JOB_LOCK, job id): held by the transaction running the job
QUEUED_GRACE_S = 60  # a job queued this long with nobody on it was never started
JOB_NICENESS = 10  # a job's CPU priority below the requests' (0)

# the options of a job (ImportForm's, already checked) as plan_areas / plan_buildings take them
AREA_OPTIONS = (
    "code_map",
    "code_field",
    "name_field",
    "parent_field",
    "allow_overlap",
    "district_code",
    "build_hierarchy",
)
BUILDING_OPTIONS = ("name_field", "households_field", "floors_field")
NETWORK_OPTIONS = ("network_name", "code_field", "name_field")
COMMON_OPTIONS = ("crs", "encoding", "layer", "replace")


def _picked(kind: str, options: dict) -> dict[str, Any]:
    """The options a ``kind`` of file is read with."""
    names = {
        "grids": AREA_OPTIONS,
        "buildings": BUILDING_OPTIONS,
        "streets": ("name_field",),
        "networks": NETWORK_OPTIONS,
    }[kind]
    return {k: options.get(k) for k in (*names, *COMMON_OPTIONS)}


def plan_import(session: Session, kind: str, path: Path, options: dict, progress: Progress = no_progress):
    """Read, validate and compare a file (``kind``: grids, buildings, streets, networks) — only reads."""
    if kind == "networks":
        return plan_network(
            session, path, options.get("network") or "", progress=progress, **_picked(kind, options)
        )
    if kind == "grids":
        return plan_areas(
            session, path, options.get("level") or "grid", progress=progress, **_picked(kind, options)
        )
    if kind == "streets":
        return plan_streets(session, path, progress=progress, **_picked(kind, options))
    return plan_buildings(session, path, progress=progress, **_picked(kind, options))


def check_import(
    session: Session, kind: str, path: Path, options: dict, progress: Progress = no_progress
) -> ImportResult:
    """The check: the plan's report and preview, nothing written."""
    return checked(plan_import(session, kind, path, options, progress))


def apply_import(session: Session, kind: str, path: Path, options: dict, user_id, progress) -> ImportResult:
    """Plan and write a file in ``session``'s transaction (the caller commits)."""
    picked = _picked(kind, options)
    if kind == "networks":
        return import_network(session, path, options.get("network") or "", progress=progress, **picked)
    if kind == "grids":
        level = options.get("level") or "grid"
        return import_areas(
            session,
            path,
            level,
            user_id=user_id,
            progress=progress,
            nearest_grid_m=options["nearest_grid_m"],
            **picked,
        )
    if kind == "buildings":
        return import_buildings(
            session,
            path,
            user_id=user_id,
            progress=progress,
            nearest_building_m=options["nearest_building_m"],
            **picked,
        )
    return import_streets(session, path, user_id=user_id, progress=progress, **picked)


def in_background(
    sessions: Callable[[], Session], job_id: int, path: Path, then: Callable[[], None] = lambda: None
) -> threading.Thread:
    """``run_job`` behind the requests, ``then`` after it: in a process of its own (its Python
    would otherwise hold the server process's GIL while the pins arriving meanwhile wait for it:
    bench/import_buildings.py), which a thread of this process waits for. A factory bound to one
    connection (tests) runs it in that thread instead."""
    url = _url_of(sessions)

    def run() -> None:
        try:
            if url is None:
                _behind_the_requests()
                run_job(sessions, job_id, path)
            else:
                process = _SPAWN.Process(target=job_process, args=(url, job_id, str(path)), daemon=True)
                process.start()
                process.join()  # a process killed midway: its job is reaped (``reap_stale``)
        finally:
            then()

    thread = threading.Thread(target=run, name=f"import-job-{job_id}", daemon=True)
    thread.start()
    return thread


_SPAWN = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of the server's threads


def _url_of(sessions) -> str | None:
    bind = getattr(sessions, "kw", {}).get("bind")
    return bind.url.render_as_string(hide_password=False) if isinstance(bind, Engine) else None


def job_process(url: str, job_id: int, path: str) -> None:
    """A job's own process (``in_background``), at the jobs' priority, on connections of its own
    (they end with it) whose backends are lowered too."""
    os.setpriority(os.PRIO_PROCESS, 0, JOB_NICENESS)
    engine = create_engine(url, poolclass=NullPool)
    event.listen(engine, "connect", _backend_behind)
    try:
        run_job(sessionmaker(engine, expire_on_commit=False), job_id, Path(path))
    finally:
        engine.dispose()


def _behind_the_requests() -> None:
    """This thread (and the threads it starts) at a lower CPU priority: on a small server an import
    would otherwise take both cores from the pins arriving meanwhile (bench/import_buildings.py:
    intake p95 162 ms while a job imported). A server's job lowers its backends too (``job_process``:
    connections of its own, a pooled one would keep the lowered priority for the requests after)."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), JOB_NICENESS)
    except OSError:  # a system without per-thread priority
        log.debug("import job: priority left as it is")


def _backend_behind(dbapi_connection, _record) -> None:
    """A job's PostgreSQL backend at the jobs' priority too, when the server is on this machine (a
    unix socket: its pid is ours to see); another user's backend keeps its own."""
    with dbapi_connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), inet_server_addr() IS NULL")
        pid, local = cursor.fetchone()
    if local:
        try:
            os.setpriority(os.PRIO_PROCESS, pid, JOB_NICENESS)
        except OSError:
            log.debug("import job: the database backend's priority left as it is")


def run_job(sessions: Callable[[], Session], job_id: int, path: Path) -> None:
    """Apply job ``job_id``'s file; never raises (how it ended is in its row)."""
    with sessions() as work:
        # taken first, so the job is never seen running without it
        work.execute(text("SELECT pg_advisory_xact_lock(:lock, :job)"), {"lock": JOB_LOCK, "job": job_id})
        with sessions() as session:
            job = session.get(ImportJob, job_id)
            if job is None or job.state != "queued":
                work.rollback()
                return
            kind, options, user_id, filename = job.kind, dict(job.options), job.user_id, job.filename
            job.state = "running"
            session.commit()
        _run(sessions, work, job_id, path, kind, options, user_id, filename)


def _run(sessions, work: Session, job_id: int, path: Path, kind, options, user_id, filename) -> None:
    last = [0.0]

    def progress(stage: Words, fraction: float) -> None:
        now = time.monotonic()
        if fraction < 1 and now - last[0] < PROGRESS_EVERY_S:
            return
        last[0] = now
        _set(sessions, job_id, stage={"text": stage}, percent=round(100 * min(fraction, 0.99), 1))

    try:
        result = apply_import(work, kind, path, options, user_id, progress)
        result.report["file"] = filename
        work.execute(
            update(ImportJob)
            .where(ImportJob.id == job_id)
            .values(
                state="done",
                stage={"text": _("done")},
                percent=100,
                report=result.report,
                batch_id=result.batch_id,
                finished_at=dt.datetime.now(dt.UTC),
            )
        )
        work.commit()
        return
    except ImportRefused as exc:
        work.rollback()
        exc.report["file"] = filename
        ended = {"state": "refused", "report": exc.report, "error": {"text": exc.message}}
    except DomainError as exc:
        work.rollback()
        ended = {"state": "refused", "error": {"text": exc.message}}
    except Exception as exc:
        work.rollback()
        log.exception("import job %s failed", job_id)
        ended = {
            "state": "failed",
            "error": {"text": _("the import failed and wrote nothing: %(error)s", error=type(exc).__name__)},
        }
    _set(sessions, job_id, finished_at=dt.datetime.now(dt.UTC), **ended)


def _set(sessions: Callable[[], Session], job_id: int, **values) -> None:
    with sessions() as session:
        session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))
        session.commit()


def reap_stale(session: Session) -> int:
    """Jobs still queued or running whose worker is gone (its server stopped: the import was rolled
    back with its connection) ended as failed; how many. Called where jobs are read."""
    candidates = session.scalars(
        text(
            "SELECT id FROM import_jobs WHERE state = 'running' OR "
            "(state = 'queued' AND created_at < now() - make_interval(secs => :grace))"
        ),
        {"grace": QUEUED_GRACE_S},
    ).all()
    dead = [
        job_id
        for job_id in candidates
        if session.scalar(
            text("SELECT pg_try_advisory_lock(:lock, :job) AND pg_advisory_unlock(:lock, :job)"),
            {"lock": JOB_LOCK, "job": job_id},
        )
    ]
    if dead:
        session.execute(
            update(ImportJob)
            .where(ImportJob.id.in_(dead), ImportJob.state.in_(("queued", "running")))
            .values(
                state="failed",
                finished_at=dt.datetime.now(dt.UTC),
                error={
                    "text": _(
                        "the server stopped during this import; nothing was written: import the file again"
                    )
                },
            )
        )
    return len(dead)
