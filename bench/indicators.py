"""Indicators for the whole district for a year, at city scale: 10,000 grids, 300,000 buildings,
1,000,000 reports (bench/city.py), next to the floor of any such query measured in the same run —
one plain pass over the year's reports (count and the sum of hours to close) — and beside the same
figures found by judging every report instead of reading the ended cases of whole months from
final_case_counts (``rolled_up=False``). Target: < 1 s per level.
Run: make bench-indicators  (or .venv/bin/python -m bench.indicators [--side 100] [--reuse])
"""

from __future__ import annotations

import argparse
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.city import make_city
from bench.common import scratch_engine
from gis.indicators import indicators, parse_period, trend


def best_of(runs: int, fn) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--side", type=int, default=100, help="grids per side (100: 10,000 grids)")
    parser.add_argument("--reuse", action="store_true", help="keep the city of the last run")
    args = parser.parse_args()
    engine = scratch_engine(f"bench_map_{args.side}", keep=args.reuse)
    with Session(engine) as session:
        if not session.scalar(text("SELECT count(*) FROM reports")):
            t = time.perf_counter()
            counts = make_city(session, args.side)
            print(f"generated {counts} in {time.perf_counter() - t:.0f} s")
        reports = session.scalar(text("SELECT count(*) FROM reports"))
        period = parse_period("last365")
        floor = best_of(
            2,
            lambda: session.execute(
                text("""
            SELECT count(*), sum(extract(epoch FROM closed_at - created_at)) FROM reports
            WHERE created_at >= :s AND created_at < :e"""),
                {"s": period.start, "e": period.end},
            ).one(),
        )
        print(f"{reports:,} reports; one plain pass over the year's reports: {floor:.2f} s")
        print(f"{'indicators per':<16}{'seconds':>9}{'× floor':>9}{'judging every report':>22}")
        worst = 0.0
        for level in ("district", "street", "community", "grid", "department"):
            seconds = best_of(2, lambda level=level: indicators(session, level, period))
            judged = best_of(2, lambda level=level: indicators(session, level, period, rolled_up=False))
            worst = max(worst, seconds)
            session.rollback()
            print(f"{level:<16}{seconds:>9.2f}{seconds / floor:>9.1f}{judged:>20.2f} s")
        seconds = best_of(2, lambda: trend(session, period))
        print(f"{'weekly trend':<16}{seconds:>9.2f}{seconds / floor:>9.1f}")

        def dashboard():  # what GET /api/v1/stats?level=grid&trend=1 computes
            result = indicators(session, "grid", period)
            trend(session, period, totals=result["total"])
            session.rollback()

        seconds = best_of(2, dashboard)
        print(
            f"{'dashboard':<16}{seconds:>9.2f}{seconds / floor:>9.1f}"
            "   (grid level, then the trend given its total)"
        )
        print(f"slowest level {worst:.2f} s; target < 1 s: {'MET' if worst < 1 else 'NOT MET'}")


if __name__ == "__main__":
    main()
