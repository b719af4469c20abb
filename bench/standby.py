"""Reads on a hot standby while intake writes at full rate: does the standby keep intake's pace?

A primary and its streaming standby of their own (under var/bench-standby, so the main cluster's
benchmark cities are not copied), holding bench/city.py's city (``--side 60``: 3,600 grids,
108,000 buildings, 360,000 reports). Gunicorns (2 workers each): one with everything on the
primary, two with the reads on the standby (DATABASE_REPLICA_URL: map layers
and indicators go there; intake and the writer's own reads stay on the primary, read-your-writes
by LSN). Four loads take turns (A B C D D C B A …):
- intake alone: ``--writers`` phones posting reports as fast as they are answered;
- mixed, all on the primary: the same phones, and ``--readers`` supervisors each looping over a
  map view (reports and grids layers of a random 6 × 6-grid view) and the dashboard's request
  (GET /api/v1/stats?level=community, last 30 days);
- mixed, reads on the standby: the same, on the second server (one server for phones and
  supervisors, the reads routed to the standby);
- mixed, standby + own server: the phones on the first server, the supervisors on a third one
  reading from the standby (the command centre's own app server beside the standby).
Prints intake's req/s per load, the map's and the dashboard's p95, with the spread over the turns.
Target: with reads on the standby, intake keeps ≥ 90 % of its rate alone. Both clusters share this
machine, so with ``--pin`` (the default on 2 cores or more) it plays two: the primary and the
first two gunicorns on CPU 0 (the first machine); the standby, the third gunicorn and the load
generator on CPU 1 (the second machine, and the network's clients, at a higher priority: phones
are devices of their own, not a share of the standby's machine); ``--no-pin`` lets every process
use every core.
Run: make bench-standby  (or .venv/bin/python -m bench.standby [--side 60] [--seconds 30]
[--rounds 6] [--reuse]); the clusters are stopped at the end (their data kept for --reuse).
"""

from __future__ import annotations

import argparse
import http.client
import os
import random
import shutil
import statistics
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session

from bench.city import CELL, ORIGIN, city_counts, make_city, phone_report
from bench.common import as_json, family, p95, postmaster_pid, spread, start_gunicorn
from gis import schema
from gis.accounts import create_user, issue_token
from gis.cases.categories import sync_categories
from gis.embedded_postgres import EmbeddedPostgres, EmbeddedReplica, var_dir
from gis.models import Category

CLIENT_NICE = -10  # with --pin: the clients' priority on the CPU they share with the standby
LOADS = (
    "intake alone",
    "mixed, all on the primary",
    "mixed, reads on the standby",
    "mixed, standby + own server",
)


def _pair(root, side: int, reuse: bool) -> tuple[EmbeddedPostgres, EmbeddedReplica, dict]:
    primary = EmbeddedPostgres(root / "pg")
    standby = EmbeddedReplica(root / "pgr", primary=primary)
    primary.up()
    engine = create_engine(primary.url())
    schema.upgrade(engine)
    with Session(engine) as session:
        sync_categories(session)
        session.commit()
        counts = city_counts(session)
        if not reuse or counts["grids"] != side * side:
            if counts["grids"]:
                raise SystemExit(f"{root} holds another city: remove it (or run with the same --side)")
            started = time.perf_counter()
            counts = make_city(session, side)
            print(f"city made in {time.perf_counter() - started:.0f} s")
    engine.dispose()
    if standby.exists() and not reuse:
        standby.down()
        shutil.rmtree(standby.root)
    started = time.perf_counter()
    done = standby.up(synchronous=False)
    print(f"standby: {done} in {time.perf_counter() - started:.1f} s")
    return primary, standby, counts


def _pin(pid: int, cpu: int) -> None:
    """``pid`` and its children (a cluster's postmaster and backends, a gunicorn and its workers)
    on one CPU; backends forked later inherit it."""
    for member in family(pid):
        try:
            os.sched_setaffinity(member, {cpu})
        except ProcessLookupError:  # ended meanwhile
            continue


def _postmaster(cluster: EmbeddedPostgres) -> int:
    engine = create_engine(cluster.url())
    try:
        return postmaster_pid(engine)
    finally:
        engine.dispose()


def _tokens(primary: EmbeddedPostgres, writers: int, readers: int) -> tuple[list, list, list]:
    engine = create_engine(primary.url())
    with Session(engine) as session:
        users = [
            create_user(session, f"bench-phone-{n}-{time.time_ns()}", "grid_worker", "bench-password")
            for n in range(writers)
        ] + [
            create_user(session, f"bench-boss-{n}-{time.time_ns()}", "supervisor", "bench-password")
            for n in range(readers)
        ]
        tokens = [issue_token(u) for u in users]
        categories = list(session.scalars(select(Category.code).where(Category.parent_code.isnot(None))))
        session.commit()
    engine.dispose()
    return tokens[:writers], tokens[writers:], categories


def _view(rng: random.Random, side: int) -> str:
    x = ORIGIN[0] + rng.uniform(0, (side - 6) * CELL)
    y = ORIGIN[1] + rng.uniform(0, (side - 6) * CELL)
    return f"{x:.6f},{y:.6f},{x + 6 * CELL:.6f},{y + 6 * CELL:.6f}"


def _load(ports: tuple, seconds: float, writers: list, readers: list, categories: list, side: int) -> dict:
    """Writers post reports to ``ports[0]`` and readers loop over a map view and the dashboard on
    ``ports[1]`` (None: no readers), for ``seconds``."""
    port, read_port = ports
    readers = readers if read_port else []
    deadline = time.perf_counter() + seconds
    rng = random.Random(7)

    def phone(token):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        done, errors = 0, 0
        while time.perf_counter() < deadline:
            conn.request(
                "POST", "/api/v1/reports", body=as_json(phone_report(rng, categories, side)), headers=headers
            )
            answer = conn.getresponse()
            answer.read()
            done += 1
            errors += answer.status >= 400
        return {"intake": done, "errors": errors}

    def supervisor(token):
        conn = http.client.HTTPConnection("127.0.0.1", read_port, timeout=30)
        headers = {"Authorization": f"Bearer {token}"}
        out: dict = {"map": [], "dashboard": [], "errors": 0}
        while time.perf_counter() < deadline:
            bbox = _view(rng, side)
            started = time.perf_counter()
            for path in (
                f"/api/v1/layers/reports.geojson?bbox={bbox}",
                f"/api/v1/layers/grid.geojson?bbox={bbox}&zoom=15&auto=1",
            ):
                conn.request("GET", path, headers=headers)
                answer = conn.getresponse()
                answer.read()
                out["errors"] += answer.status >= 400
            out["map"].append(time.perf_counter() - started)
            started = time.perf_counter()
            conn.request("GET", "/api/v1/stats?level=community&period=last30", headers=headers)
            answer = conn.getresponse()
            answer.read()
            out["errors"] += answer.status >= 400
            out["dashboard"].append(time.perf_counter() - started)
        return out

    started = time.perf_counter()
    with ThreadPoolExecutor(len(writers) + len(readers)) as pool:
        phones = [pool.submit(phone, t) for t in writers]
        bosses = [pool.submit(supervisor, t) for t in readers]
        wrote = [f.result() for f in phones]
        read = [f.result() for f in bosses]
    elapsed = time.perf_counter() - started
    return {
        "intake_rps": sum(w["intake"] for w in wrote) / elapsed,
        "errors": sum(w["errors"] for w in wrote) + sum(r["errors"] for r in read),
        "map": [x for r in read for x in r["map"]],
        "dashboard": [x for r in read for x in r["dashboard"]],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=60, help="grids a side")
    parser.add_argument("--seconds", type=float, default=30, help="per load, over all its turns")
    parser.add_argument("--rounds", type=int, default=6, help="turns each load takes")
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--readers", type=int, default=4)
    parser.add_argument("--reuse", action="store_true", help="keep the clusters and city of the last run")
    parser.add_argument(
        "--pin",
        action=argparse.BooleanOptionalAction,
        default=(os.cpu_count() or 1) >= 2,
        help="play two machines: primary and servers on CPU 0, standby and clients on CPU 1",
    )
    parser.add_argument("--throwaway", action="store_true", help="remove the clusters at the end")
    parser.add_argument(
        "--root", default=str(var_dir() / "bench-standby"), help="where the two clusters live"
    )
    args = parser.parse_args()
    primary, standby, counts = _pair(Path(args.root).resolve(), args.side, args.reuse)
    writers, readers, categories = _tokens(primary, args.writers, args.readers)
    replica_env = {"DATABASE_REPLICA_URL": standby.reads_url()}
    on_primary, port_a = start_gunicorn(primary.url())
    on_standby, port_b = start_gunicorn(standby.writes_url(), env=replica_env)
    standby_server, port_c = start_gunicorn(standby.writes_url(), env=replica_env)
    servers = (on_primary, on_standby, standby_server)
    ports = {
        LOADS[0]: (port_a, None),
        LOADS[1]: (port_a, port_a),
        LOADS[2]: (port_b, port_b),
        LOADS[3]: (port_a, port_c),
    }
    if args.pin:
        for pid in (on_primary.pid, on_standby.pid, _postmaster(primary)):
            _pin(pid, 0)
        for pid in (standby_server.pid, _postmaster(standby)):
            _pin(pid, 1)
        os.sched_setaffinity(0, {1})
        # the phones and screens are devices of their own, not a share of the second machine: the
        # load generator (these threads) goes before the standby and its server on CPU 1
        try:
            os.setpriority(os.PRIO_PROCESS, 0, CLIENT_NICE)
        except PermissionError:  # not root: the clients share CPU 1 as they come
            print(f"the clients stay at nice {os.getpriority(os.PRIO_PROCESS, 0)}, not {CLIENT_NICE}")
    turns: dict = {name: [] for name in LOADS}
    try:
        for name in LOADS:  # warm-up: caches, pools, plans
            _load(ports[name], 2, writers, readers, categories, args.side)
        for turn in range(args.rounds):
            for name in LOADS if turn % 2 == 0 else reversed(LOADS):
                turns[name].append(
                    _load(ports[name], args.seconds / args.rounds, writers, readers, categories, args.side)
                )
        time.sleep(1)  # the standby's replay of the last turn's commits
        stored = {}
        for role, cluster in (("primary", primary), ("standby", standby)):
            engine = create_engine(cluster.url())
            with engine.connect() as conn:
                stored[role] = conn.scalar(text("SELECT count(*) FROM reports"))
            engine.dispose()
    finally:
        for proc in servers:
            proc.terminate()
            proc.wait()
        standby.down()  # the data stays for --reuse
        primary.down()
        if args.throwaway:
            shutil.rmtree(args.root, ignore_errors=True)
    print(
        f"reads on a hot standby, {counts['grids']:,} grids, {counts['buildings']:,} buildings, "
        f"{counts['reports']:,} reports at the start; {args.writers} phones posting, {args.readers} "
        f"supervisors on the map and the dashboard; {args.seconds:g} s per load in {args.rounds} turns "
        f"(A B C D D C B A …); "
        + (
            "two machines played by two CPUs: the primary and its servers on CPU 0; the standby, "
            f"its own server and the clients (at nice {os.getpriority(os.PRIO_PROCESS, 0)}) on CPU 1"
            if args.pin
            else "both clusters and both servers on this machine, every process on every core"
        )
    )
    print(f"{'load':<30}{'intake req/s':>22}{'map view p95 ms':>18}{'dashboard p95 ms':>18}{'errors':>8}")
    alone = statistics.median(t["intake_rps"] for t in turns[LOADS[0]])
    for name in LOADS:
        runs = turns[name]
        rps = [t["intake_rps"] for t in runs]
        maps = [x for t in runs for x in t["map"]]
        boards = [x for t in runs for x in t["dashboard"]]
        print(
            f"{name:<30}{spread(rps, '', 0):>22}"
            f"{(f'{1000 * p95(maps):.0f}' if maps else '–'):>18}"
            f"{(f'{1000 * p95(boards):.0f}' if boards else '–'):>18}{sum(t['errors'] for t in runs):>8}"
        )
    ratios = {
        name: [b["intake_rps"] / a["intake_rps"] for a, b in zip(turns[LOADS[0]], turns[name])]
        for name in LOADS[1:]
    }
    for name, values in ratios.items():
        print(f"  intake, {name} / alone, by turn: {spread([100 * v for v in values], '%', 0)}")
    kept = statistics.median(ratios[LOADS[3]])
    print(f"  reports at the end: {stored['primary']:,} on the primary, {stored['standby']:,} on the standby")
    verdict = "MET" if kept >= 0.9 else "NOT MET"
    print(
        f"intake with the reads on the standby and its own server = {kept:.0%} of intake alone "
        f"({alone:.0f} req/s; reads through the primary's server: "
        f"{statistics.median(ratios[LOADS[2]]):.0%}; all on the primary: "
        f"{statistics.median(ratios[LOADS[1]]):.0%}); target ≥ 90 % → {verdict}"
    )


if __name__ == "__main__":
    main()
