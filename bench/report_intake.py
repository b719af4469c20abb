"""Report intake through the real HTTP stack: gunicorn (2 workers), a city of 10,000 grids.

The city is bench/city.py's: by default 10,000 grids under their communities, streets and
district, 300,000 buildings (each report is matched to one) and 1,000,000 reports already in the
table (``--side 180``: 32,400 grids, 972,000 buildings, 3,240,000 reports). Each client
is a different grid worker's phone (its own token), reporting points anywhere in the city under
any sub-category.

Prints requests/s and p95 for POST /api/v1/reports next to GET /healthz on the same server in the
same run, the two taking turns (A B B A …, 10 × 2 s each) so that both see the machine at the same
speed, with the spread over the turns.
Target: intake ≥ 40 % of the healthz rate, p95 < 50 ms. Beside each, the CPU a request cost in
gunicorn, in PostgreSQL (this cluster's processes only) and in the load generator: what the rate
is made of on 2 cores.
Run: make bench-intake  (or .venv/bin/python -m bench.report_intake [--side 100] [--seconds 20]
[--rounds 10] [--reuse])
"""

from __future__ import annotations

import argparse
import random

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.cli import gunicorn_command
from bench.city import city_database, phone_report
from bench.common import alternate, as_json, postmaster_pid, spread, start_gunicorn
from gis.accounts import create_user, issue_token
from gis.models import Category, User

SIDE = 100  # 100 × 100 = 10,000 grids


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=20, help="per endpoint")
    parser.add_argument("--rounds", type=int, default=10, help="turns the two endpoints take")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--side", type=int, default=SIDE, help="grids a side (180: 32,400 grids)")
    parser.add_argument("--reports", type=int, default=100, help="reports per grid")
    parser.add_argument("--buildings", type=int, default=30, help="buildings per grid")
    parser.add_argument("--reuse", action="store_true", help="keep the city of the last run")
    args = parser.parse_args()
    side = args.side
    engine, city = city_database(
        f"bench_city_{side}_{args.buildings}_{args.reports}",
        side,
        args.reuse,
        buildings=args.buildings,
        reports=args.reports,
    )
    with Session(engine) as session:
        tokens = [issue_token(_worker(session, f"bench-{n}")) for n in range(args.concurrency)]
        categories = session.scalars(select(Category.code).where(Category.parent_code.isnot(None))).all()
        session.commit()
    url = engine.url.render_as_string(hide_password=False)
    proc, port = start_gunicorn(url)
    auths = [{"Authorization": f"Bearer {token}", "Content-Type": "application/json"} for token in tokens]
    rng = random.Random(1)

    def healthz(_n, _i):
        return "GET", "/healthz", None, {}

    def intake(n, _i):  # client n is grid worker n's phone
        return "POST", "/api/v1/reports", as_json(phone_report(rng, categories, side)), auths[n]

    try:
        alternate(port, {"healthz": healthz, "intake": intake}, 2, 1, args.concurrency)  # warm-up
        measured = alternate(
            port,
            {"healthz": healthz, "intake": intake},
            args.seconds,
            args.rounds,
            args.concurrency,
            server_pid=proc.pid,
            postgres_pid=postmaster_pid(engine),
        )
        reference, ours = measured["healthz"], measured["intake"]
    finally:
        proc.terminate()
        proc.wait()
        engine.dispose()
    ratio = ours["rps"] / reference["rps"]
    ratios = [o / r for o, r in zip(ours["rps_turns"], reference["rps_turns"])]
    print(
        f"report intake, {city['grids']:,} grids, {city['buildings']:,} buildings, "
        f"{city['reports']:,} reports, gunicorn {' '.join(gunicorn_command('-')[3:7])}, "
        f"{args.concurrency} clients, "
        f"{args.seconds:g} s each in {args.rounds} turns"
    )
    print(
        f"{'endpoint':<24}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}"
        f"   CPU ms per request: gunicorn / PostgreSQL / client"
    )
    for name, r in (("GET /healthz", reference), ("POST /api/v1/reports", ours)):
        cpu = r["cpu_ms"]
        print(
            f"{name:<24}{r['rps']:>9.0f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['errors']:>8}"
            f"   {cpu['server']:.2f} / {cpu['postgres']:.2f} / {cpu['client']:.2f}"
        )
    for name, r in (("GET /healthz", reference), ("POST /api/v1/reports", ours)):
        print(f"  {name} req/s by turn: {spread(r['rps_turns'], 'req/s', 0)}")
    print(f"  intake / healthz by turn pair: {spread([100 * x for x in ratios], '%', 0)}")
    print(
        f"intake / healthz = {ratio:.0%} (target ≥ 40 %); intake p95 = {ours['p95_ms']:.1f} ms "
        f"(target < 50 ms) → {'MET' if ratio >= 0.4 and ours['p95_ms'] < 50 else 'NOT MET'}"
    )


def _worker(session: Session, username: str) -> User:
    return session.scalar(select(User).where(User.username == username)) or create_user(
        session, username, "grid_worker", "bench-password"
    )


if __name__ == "__main__":
    main()
