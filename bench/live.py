"""The live map: from a report's commit to its pin on connected maps, with 50 maps open (Server-
Sent Events, /api/v1/live, fed by PostgreSQL LISTEN/NOTIFY), over a city of 1,000,000 reports
(bench/city.py), next to a plain indexed lookup (GET /api/v1/reports/<id>) measured in the same
run, in turns (A B B A …), served by gunicorn as `gridwatch serve` serves it.

Each report is posted as a phone posts it (JSON, a token); its time starts when the request is
sent — before the commit, so the figure is an upper bound of commit → pin — and ends when each
map's stream has delivered its pin. Every map is a district supervisor's (every case reaches it).
Target: commit → pin p95 < 1 s with 50 connected maps.
Run: make bench-live  (or .venv/bin/python -m bench.live [--side 100] [--maps 50] [--reports 100] [--reuse])
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import socket
import statistics
import subprocess
import threading
import time

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench.city import city_database
from bench.common import p95, spread, start_gunicorn
from gis.accounts import create_user, issue_token
from gis.models import Report, User


def _token(session: Session, username: str, role: str) -> str:
    user = session.scalar(select(User).where(User.username == username)) or create_user(
        session, username, role, "bench-password"
    )
    token = issue_token(user)
    session.commit()
    return token


class Map:
    """One connected map: its stream read in a thread, each pin's arrival time by case id."""

    def __init__(self, port: int, token: str):
        self.arrived: dict[int, float] = {}
        self.ready = threading.Event()
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.connection.request("GET", "/api/v1/live", headers={"Authorization": f"Bearer {token}"})
        self.response = self.connection.getresponse()
        assert self.response.status == 200, self.response.status
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            self._events()
        except (OSError, AttributeError, ValueError):  # closed at the end of the run
            return

    def _events(self) -> None:
        event = None
        while True:
            line = self.response.readline()
            if not line:
                return
            self.ready.set()
            line = line.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "report":
                self.arrived.setdefault(json.loads(line[6:])["id"], time.perf_counter())

    def close(self) -> None:
        """Shut the socket first: its reader thread holds the response's buffer while it waits."""
        if self.connection.sock is not None:
            self.connection.sock.shutdown(socket.SHUT_RDWR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=100, help="grids a side (100: 10,000 grids)")
    parser.add_argument("--reports", type=int, default=100, help="reports per grid in the city")
    parser.add_argument("--maps", type=int, default=50, help="connected maps")
    parser.add_argument("--pins", type=int, default=100, help="reports posted and followed")
    parser.add_argument("--rounds", type=int, default=4, help="turns each side takes (A B B A …)")
    parser.add_argument("--reuse", action="store_true", help="keep the city of the last run")
    args = parser.parse_args()
    engine, city = city_database(
        f"bench_cases_{args.side}_{args.reports}", args.side, args.reuse, buildings=0, reports=args.reports
    )
    with Session(engine) as session:
        watcher = _token(session, "bench-live-supervisor", "supervisor")
        phone = _token(session, "bench-live-worker", "grid_worker")
        minx, miny, maxx, maxy = session.execute(
            text(
                "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
                " FROM (SELECT ST_Extent(geom) AS e FROM areas WHERE level = 'grid') s"
            )
        ).one()
        top = session.scalar(select(Report.id).order_by(Report.id.desc()).limit(1)) or 1
    server, port = start_gunicorn(engine.url.render_as_string(hide_password=False))
    rng = random.Random(25)
    maps: list[Map] = []
    try:
        maps = [Map(port, watcher) for _ in range(args.maps)]
        for m in maps:
            m.ready.wait(10)
        # each side's keep-alive connection, opened afresh at its turn (gunicorn closes one idle 2 s)
        conns: dict[str, http.client.HTTPConnection] = {}
        sent: dict[int, float] = {}
        turn_of: dict[int, int] = {}
        lookups: list[float] = []
        per_turn = max(1, args.pins // args.rounds)

        def post_one() -> None:
            body = json.dumps(
                {
                    "lon": rng.uniform(minx, maxx),
                    "lat": rng.uniform(miny, maxy),
                    "category": "0101",
                    "description": "实时上图测试",
                }
            )
            started = time.perf_counter()
            conns["pin"].request(
                "POST",
                "/api/v1/reports",
                body=body,
                headers={"Authorization": f"Bearer {phone}", "Content-Type": "application/json"},
            )
            answer = conns["pin"].getresponse()
            payload = json.loads(answer.read())
            assert answer.status == 201, payload
            sent[payload["id"]] = started
            turn_of[payload["id"]] = len(turn_of) // per_turn
            time.sleep(0.05)  # a city's pace, not a flood: each pin followed on its own

        def lookup_one() -> None:
            started = time.perf_counter()
            conns["lookup"].request(
                "GET",
                f"/api/v1/reports/{rng.randint(1, top)}",
                headers={"Authorization": f"Bearer {watcher}"},
            )
            answer = conns["lookup"].getresponse()
            answer.read()
            assert answer.status in (200, 404)
            lookups.append(1000 * (time.perf_counter() - started))

        kinds = {"pin": post_one, "lookup": lookup_one}
        conns["lookup"] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        lookup_one()
        lookups.clear()  # warm
        for turn in range(args.rounds):
            for name in kinds if turn % 2 == 0 else reversed(list(kinds)):
                conns[name] = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                for _ in range(per_turn):
                    kinds[name]()
        deadline = time.perf_counter() + 10
        while time.perf_counter() < deadline and any(len(m.arrived) < len(sent) for m in maps):
            time.sleep(0.05)
    finally:
        for m in maps:
            m.close()
        server.terminate()  # the streams hold gunicorn's graceful stop: a few seconds, then for good
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        engine.dispose()
    delays = [1000 * (m.arrived[i] - t) for i, t in sent.items() for m in maps if i in m.arrived]
    missing = sum(1 for i in sent for m in maps if i not in m.arrived)
    slowest = [max(1000 * (m.arrived.get(i, float("inf")) - t) for m in maps) for i, t in sent.items()]
    per_turn_p95 = [p95(delays[k :: args.rounds]) for k in range(args.rounds)]
    print(
        f"live map, {city['reports']:,} reports in {city['grids']:,} grids; {args.maps} maps connected, "
        f"{len(sent)} reports posted in {args.rounds} turns (A B B A) with lookups"
    )
    print(f"{'':<44}{'p50 ms':>9}{'p95 ms':>9}")
    print(f"{'a case by its id (the reference)':<44}{statistics.median(lookups):>9.1f}{p95(lookups):>9.1f}")
    print(
        f"{'post sent → pin on each map':<44}{statistics.median(delays):>9.1f}{p95(delays):>9.1f}"
        f"   spread of the turns' p95: {spread(per_turn_p95, 'ms', 1)}"
    )
    print(f"{'post sent → pin on the slowest map':<44}{statistics.median(slowest):>9.1f}{p95(slowest):>9.1f}")
    print(f"  pins delivered {len(delays):,} of {len(delays) + missing:,}")
    met = missing == 0 and p95(delays) < 1000
    print(
        f"pin p95 / lookup p95 = {p95(delays) / p95(lookups):.1f}×; "
        f"target commit → pin p95 < 1 s with {args.maps} maps → {'MET' if met else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
