"""Every benchmark runs, at a tiny size, from a fresh checkout (#24): a bench that breaks shows up
here, not on the day its figures are wanted. Nothing here is timed — each run must end well and
print its comparison with the reference; the figures themselves come from ``make bench``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from sqlalchemy import create_engine, text

from gis.embedded_postgres import var_dir
from tests.conftest import scratch_database_url

# (module, tiny arguments, what its last lines must say)
BENCHES = [
    (
        "report_intake",
        [
            "--side",
            "3",
            "--reports",
            "2",
            "--buildings",
            "2",
            "--seconds",
            "1",
            "--rounds",
            "2",
            "--concurrency",
            "2",
        ],
        "intake / healthz =",
    ),
    ("import_buildings", ["--count", "300", "--rounds", "1", "--side", "4"], "ours / ogr2ogr ="),
    ("patrol_coverage", ["--walkers", "2", "--rounds", "2"], "the reference's speed"),
    ("indicators", ["--side", "3", "--rounds", "2"], "slowest level"),
    ("map", ["--sides", "3,5", "--rounds", "2", "--views", "4"], "map targets:"),
    ("report_page", ["--rounds", "1"], "/report on a 360 px phone"),
    ("regrid", ["--side", "4", "--reports", "2", "--rounds", "1"], "ours' speed / STRtree's"),
    (
        "cases_list",
        ["--side", "4", "--reports", "5", "--queries", "8", "--rounds", "2"],
        "target list, deep page and search",
    ),
    (
        "live",
        ["--side", "4", "--reports", "5", "--maps", "3", "--pins", "6", "--rounds", "2"],
        "target commit → pin",
    ),
    (
        "diary",
        ["--side", "3", "--buildings", "2", "--households", "3", "--grids", "8", "--rounds", "2"],
        "target /diary and not-visited",
    ),
    (
        "ogc",
        ["--side", "4", "--reports", "5", "--views", "8", "--rounds", "2", "--copies", "1"],
        "full read ≤ 2× ogr2ogr",
    ),
    ("coverage_accuracy", ["--tracks", "2", "--hours", "0.2"], "quad_segs"),
    (
        "standby",
        [
            *("--side", "8", "--seconds", "3", "--rounds", "1", "--writers", "1", "--readers", "1"),
            *("--throwaway", "--root", str(var_dir() / "smoke-standby")),
        ],
        "intake with the reads on the standby and its own server = ",
    ),
]


@pytest.fixture(scope="module")
def bench_server():
    """The benches' scratch databases, ``<test db>_smoke_bench_*``, dropped afterwards."""
    url = scratch_database_url("smoke")
    yield url.render_as_string(hide_password=False)
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        names = conn.scalars(
            text("SELECT datname FROM pg_database WHERE datname LIKE :prefix"),
            {"prefix": f"{url.database}_%"},
        ).all()
        for name in names:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.parametrize(("module", "arguments", "said"), BENCHES, ids=[b[0] for b in BENCHES])
def test_the_benchmark_runs_and_prints_its_comparison(bench_server, module, arguments, said):
    ran = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *arguments],
        env={**os.environ, "DATABASE_URL": bench_server},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert said in ran.stdout, ran.stdout[-3000:]
