"""Shared bench plumbing: a scratch database on the same server, a gunicorn to hit, a load loop."""

from __future__ import annotations

import http.client
import json
import os
import socket
import statistics
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from app.cli import gunicorn_command
from gis import schema
from gis.cases.categories import sync_categories
from gis.embedded_postgres import EmbeddedPostgres, database_url


def scratch_engine(name: str, keep: bool = False):
    """A fresh, migrated database ``<db>_<name>`` on the server GridWatch uses (with ``keep``, the
    one already there, if any: for iterating on a benchmark without regenerating its data)."""
    if not os.environ.get("DATABASE_URL"):
        EmbeddedPostgres().up()
    url = make_url(database_url())
    url = url.set(database=f"{url.database}_{name}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": url.database})
        if not (keep and exists):
            conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    admin.dispose()
    engine = create_engine(url)
    schema.upgrade(engine)
    with Session(engine) as session:
        sync_categories(session)
        session.commit()
    return engine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    database_url: str, workers: int = 2, env: dict | None = None
) -> tuple[subprocess.Popen, int]:
    """GridWatch served as ``gridwatch serve`` serves it, on a free port (``env``: more settings)."""
    port = free_port()
    env = {**os.environ, "DATABASE_URL": database_url, **(env or {})}
    proc = subprocess.Popen(
        gunicorn_command(f"127.0.0.1:{port}", workers),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/healthz")
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


CPU_PARTS = ("server", "postgres", "client")


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the process's name (state, ppid, …, utime at 11,
    stime, cutime, cstime); None once it is gone. Linux only."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None


def family(pid: int) -> list[int]:
    """``pid`` and its children (a postmaster's backends, a gunicorn's workers)."""
    out = []
    for child in filter(str.isdigit, os.listdir("/proc")):
        fields = _stat(child)
        if fields is not None and pid in (int(child), int(fields[1])):
            out.append(int(child))
    return out


def postmaster_pid(engine) -> int:
    """The pid of the PostgreSQL server ``engine`` talks to: the parent of its backend (Linux)."""
    with engine.connect() as conn:
        backend = conn.scalar(text("SELECT pg_backend_pid()"))
    fields = _stat(backend)
    assert fields is not None, "the backend answering this connection is gone"
    return int(fields[1])


def cpu_seconds(server_pid: int, postgres_pid: int) -> dict:
    """CPU time so far (user + system) of the server (``server_pid`` and its workers), of
    PostgreSQL (``postgres_pid``, the postmaster, and its processes: this cluster's alone, not
    every ``postgres`` on the machine) and of this process (the load generator): where a
    request's cost goes. A parent's count includes its reaped children's (cutime, cstime): a
    backend or autovacuum worker that exits mid-turn keeps its share instead of leaving the sum
    (which made a turn's PostgreSQL CPU negative). Linux only: read from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    out = dict.fromkeys(CPU_PARTS, 0.0)
    for pid in filter(str.isdigit, os.listdir("/proc")):
        fields = _stat(pid)
        if fields is None:  # gone meanwhile
            continue
        ppid, used = int(fields[1]), (int(fields[11]) + int(fields[12])) / tick
        if int(pid) in (server_pid, postgres_pid):
            used += (int(fields[13]) + int(fields[14])) / tick  # its children that have ended
        if server_pid in (int(pid), ppid):
            out["server"] += used
        elif postgres_pid in (int(pid), ppid):
            out["postgres"] += used
        elif int(pid) == os.getpid():
            out["client"] += used
    return out


def alternate(
    port: int,
    makers: dict,
    seconds: float = 10.0,
    rounds: int = 10,
    concurrency: int = 8,
    server_pid: int | None = None,
    postgres_pid: int | None = None,
) -> dict:
    """Closed-loop load (``concurrency`` keep-alive clients) for each of ``makers`` ({name:
    make_request}), ``seconds`` each, taken in turns of ``seconds / rounds`` in the order A B B A
    …: on a machine whose speed drifts, each side sees the same conditions, so their ratio holds
    when the rates move. Per name: rps (overall, and per turn: ``rps_turns``), p50/p95 and errors,
    and with ``server_pid`` and ``postgres_pid`` the CPU milliseconds each request cost per part
    (``cpu_seconds``)."""
    runs = {
        name: {
            "latencies": [],
            "errors": 0,
            "elapsed": 0.0,
            "cpu": dict.fromkeys(CPU_PARTS, 0.0),
            "turns": [],
        }
        for name in makers
    }
    with_cpu = server_pid is not None and postgres_pid is not None
    for turn in range(rounds):
        order = list(makers.items())
        for name, make_request in order if turn % 2 == 0 else reversed(order):
            run = runs[name]
            cpu_before = cpu_seconds(server_pid, postgres_pid) if with_cpu else None  # type: ignore[arg-type]
            latencies, errors, elapsed = _closed_loop(port, make_request, seconds / rounds, concurrency)
            if cpu_before is not None:
                cpu_after = cpu_seconds(server_pid, postgres_pid)  # type: ignore[arg-type]
                for part in CPU_PARTS:
                    run["cpu"][part] += cpu_after[part] - cpu_before[part]
            run["latencies"] += latencies
            run["errors"] += errors
            run["elapsed"] += elapsed
            run["turns"].append(len(latencies) / elapsed)
    return {name: _summary(run, with_cpu) for name, run in runs.items()}


def spread(values: list[float], unit: str = "s", digits: int = 2) -> str:
    """Median (min–max) of repeated measurements."""
    return (
        f"{statistics.median(values):.{digits}f} {unit} ({min(values):.{digits}f}–{max(values):.{digits}f})"
    )


def p95(values: list[float]) -> float:
    """The 95th percentile of measured values (nearest rank below)."""
    ordered = sorted(values)
    return ordered[int(0.95 * (len(ordered) - 1))] if ordered else float("nan")


def _closed_loop(port: int, make_request, seconds: float, concurrency: int) -> tuple[list, int, float]:
    deadline = time.perf_counter() + seconds

    def client(n):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        latencies, errors, i = [], 0, 0
        while time.perf_counter() < deadline:
            method, path, body, headers = make_request(n, i)
            i += 1
            t = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            latencies.append(time.perf_counter() - t)
            errors += response.status >= 400
        return latencies, errors

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        results = list(pool.map(client, range(concurrency)))
    return [x for r in results for x in r[0]], sum(r[1] for r in results), time.perf_counter() - started


def _summary(run: dict, with_cpu: bool) -> dict:
    latencies = sorted(run["latencies"])
    out = {
        "requests": len(latencies),
        "errors": run["errors"],
        "rps": len(latencies) / run["elapsed"],
        "rps_turns": run["turns"],
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
    }
    if with_cpu:
        out["cpu_ms"] = {part: 1000 * used / len(latencies) for part, used in run["cpu"].items()}
    return out


def as_json(value) -> bytes:
    return json.dumps(value).encode()
