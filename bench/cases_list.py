"""/cases at city scale: searches by words and sorted lists over 1,000,000 reports (bench/city.py:
10,000 grids, each report's text one of ten phrases), next to a plain indexed lookup — one case
read by its id through the access policy — measured in the same run, in turns (A B B A …).

Each query is ``gis.cases.listing.find_cases`` as the /cases page asks it (a district
supervisor: every case, the policy's mask applied to those they do not handle; a page of 50 and
the total): a search of one or two words (2-4 Chinese characters taken from the phrases) under a
random sort, and a list under a random sort with a random status filter (or none).
A deep page: the page after a random case (the cursor an "older" link carries), under a random sort.
Target: list, deep page and search p95 < 150 ms.
Run: make bench-cases  (or .venv/bin/python -m bench.cases_list [--side 100] [--queries 200] [--reuse])
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from sqlalchemy import select
from sqlalchemy.orm import Session

from bench.city import PHRASES, city_database
from bench.common import p95, spread
from gis.accounts import create_user, viewer_of
from gis.cases.listing import SORTS, CaseFilter, cursor_of, find_cases
from gis.cases.policy import load_visible
from gis.models import REPORT_STATUSES, Report, User


def words(rng: random.Random) -> str:
    """One or two pieces of the phrases, 2-4 characters each."""
    picked = []
    for _ in range(rng.choice((1, 1, 2))):
        phrase = rng.choice(PHRASES)
        size = rng.randint(2, 4)
        start = rng.randint(0, len(phrase) - size)
        picked.append(phrase[start : start + size])
    return " ".join(picked)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=100, help="grids a side (100: 10,000 grids)")
    parser.add_argument("--reports", type=int, default=100, help="reports per grid")
    parser.add_argument("--queries", type=int, default=200, help="of each kind")
    parser.add_argument("--rounds", type=int, default=4, help="turns each kind takes (A B B A …)")
    parser.add_argument("--reuse", action="store_true", help="keep the city of the last run")
    args = parser.parse_args()
    engine, city = city_database(
        f"bench_cases_{args.side}_{args.reports}", args.side, args.reuse, buildings=0, reports=args.reports
    )
    rng = random.Random(25)
    with Session(engine) as session:
        user = session.scalar(select(User).where(User.username == "bench-supervisor")) or create_user(
            session, "bench-supervisor", "supervisor", "bench-password"
        )
        session.commit()
        viewer = viewer_of(user)
        top = session.scalar(select(Report.id).order_by(Report.id.desc()).limit(1)) or 1

        def search():
            f = CaseFilter(q=words(rng), sort=rng.choice(SORTS), descending=rng.random() < 0.7)
            return find_cases(session, viewer, f, rng.randint(1, 3))

        def listing():
            status = rng.choice((None, None, "open", *REPORT_STATUSES))
            f = CaseFilter(status=status, sort=rng.choice(SORTS), descending=rng.random() < 0.7)
            return find_cases(session, viewer, f, 1)

        def lookup():
            return load_visible(session, viewer, rng.randint(1, top))

        # a page deep in the list: after a random case (its cursor, as the "older" link carries it)
        starts = [
            (sort, session.get(Report, rng.randint(1, top)))
            for sort in rng.choices(SORTS, k=args.queries + 1)
        ]

        def deep():
            sort, report = starts.pop()
            f = CaseFilter(sort=sort, descending=rng.random() < 0.7)
            f.after = cursor_of(f, report)
            return find_cases(session, viewer, f, 5000)

        kinds = {"lookup": lookup, "search": search, "list": listing, "deep": deep}
        times: dict[str, list[float]] = {name: [] for name in kinds}
        found: list[int] = []
        for run in kinds.values():  # warm: plans, caches
            run()
            session.rollback()
        per_turn = max(1, args.queries // args.rounds)
        for turn in range(args.rounds):
            for name in kinds if turn % 2 == 0 else reversed(list(kinds)):
                for _ in range(per_turn):
                    t = time.perf_counter()
                    result = kinds[name]()
                    times[name].append(1000 * (time.perf_counter() - t))
                    if name == "search":
                        found.append(result[1])
                    session.rollback()
    engine.dispose()
    print(
        f"/cases, {city['reports']:,} reports in {city['grids']:,} grids; {per_turn * args.rounds} queries "
        f"of each kind in {args.rounds} turns (A B B A), a district supervisor"
    )
    print(f"{'':<36}{'p50 ms':>9}{'p95 ms':>9}   spread of the turns' p95")
    turns = {
        name: [p95(v[k * per_turn : (k + 1) * per_turn]) for k in range(args.rounds)]
        for name, v in times.items()
    }
    for name, label in (
        ("lookup", "a case by its id (the reference)"),
        ("search", "search by words"),
        ("list", "sorted list"),
        ("deep", "a page deep in the list (keyset)"),
    ):
        print(
            f"{label:<36}{statistics.median(times[name]):>9.1f}{p95(times[name]):>9.1f}"
            f"   {spread(turns[name], 'ms', 1)}"
        )
    print(f"  searches found {statistics.median(found):,.0f} cases (median; {min(found):,}–{max(found):,})")
    worst = max(p95(times["search"]), p95(times["list"]), p95(times["deep"]))
    print(
        f"search p95 / lookup p95 = {p95(times['search']) / p95(times['lookup']):.1f}×; "
        f"target list, deep page and search p95 < 150 ms → {'MET' if worst < 150 else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
