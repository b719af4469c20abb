"""Indicators for the whole district for a year, at city scale: 10,000 grids, 300,000 buildings,
1,000,000 reports (bench/city.py; ``--side 180``: 32,400 grids, 3,240,000 reports), next to the
floor of any such query measured in the same run — one plain pass over the year's reports (count
and the sum of hours to close) — and beside the same figures found by judging every report
instead of reading the ended cases of whole months from final_case_counts (``rolled_up=False``).
Each is run in turns with the others (A B … B A), ``--rounds`` times: median and spread.
Target: < 1 s per level.
Run: make bench-indicators  (or .venv/bin/python -m bench.indicators [--side 100] [--rounds 2] [--reuse])
"""

from __future__ import annotations

import argparse
import statistics
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.city import city_database
from bench.common import spread
from gis.indicators import indicators, parse_period, trend

LEVELS = ("district", "street", "community", "grid", "department")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=100, help="grids per side (100: 10,000 grids)")
    parser.add_argument("--rounds", type=int, default=2, help="turns each query takes (A B … B A)")
    parser.add_argument("--reuse", action="store_true", help="keep the city of the last run")
    args = parser.parse_args()
    engine, _counts = city_database(f"bench_city_{args.side}_30_100", args.side, args.reuse)
    period = parse_period("last365")
    with Session(engine) as session:
        reports = session.scalar(text("SELECT count(*) FROM reports"))

        def floor():
            session.execute(
                text("""
                SELECT count(*), sum(extract(epoch FROM closed_at - created_at)) FROM reports
                WHERE created_at >= :s AND created_at < :e"""),
                {"s": period.start, "e": period.end},
            ).one()

        def dashboard():  # what GET /api/v1/stats?level=grid&trend=1 computes
            result = indicators(session, "grid", period)
            trend(session, period, totals=result["total"])

        queries = {"floor": floor}
        for level in LEVELS:
            queries[level] = lambda level=level: indicators(session, level, period)
            queries[f"{level} judged"] = lambda level=level: indicators(
                session, level, period, rolled_up=False
            )
        queries["weekly trend"] = lambda: trend(session, period)
        queries["dashboard"] = dashboard
        times: dict[str, list[float]] = {name: [] for name in queries}
        for run in queries.values():  # warm: plans, caches
            run()
            session.rollback()
        for turn in range(args.rounds):
            for name in queries if turn % 2 == 0 else reversed(list(queries)):
                t = time.perf_counter()
                queries[name]()
                times[name].append(time.perf_counter() - t)
                session.rollback()
    engine.dispose()
    base = statistics.median(times["floor"])
    print(
        f"{reports:,} reports, {args.side * args.side:,} grids; {args.rounds} runs each in turns "
        f"(median, min–max); one plain pass over the year's reports: {spread(times['floor'])}"
    )
    print(f"{'indicators per':<16}{'seconds':>24}{'× floor':>9}{'judging every report':>30}")
    for level in LEVELS:
        ours, judged = times[level], times[f"{level} judged"]
        print(f"{level:<16}{spread(ours):>24}{statistics.median(ours) / base:>9.1f}{spread(judged):>30}")
    for name in ("weekly trend", "dashboard"):
        print(f"{name:<16}{spread(times[name]):>24}{statistics.median(times[name]) / base:>9.1f}")
    print("  (dashboard: the grid level, then the trend given its total)")
    worst = max(statistics.median(times[level]) for level in LEVELS)
    print(f"slowest level {worst:.2f} s; target < 1 s: {'MET' if worst < 1 else 'NOT MET'}")


if __name__ == "__main__":
    main()
