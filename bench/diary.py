"""The people's diary at city scale: /diary and the households not visited (list and map layer)
for 200 random grids, over 300,000 households and 2,000,000 visits, next to a plain indexed
lookup — the grid's newest 50 visits read straight from their index, no join, no mask, no
record — measured in the same run, in turns (A B B A …).

The city: bench/city.py's grids and buildings (20 × 20 grids, 30 buildings each), 25 households
a building (flags as the field has them: 5 % elderly living alone, 8 % low income, 20 % rented),
one resident each, and about 6.7 visits a household over the last year. Each query is the gis
function the page calls, as the grid's own worker asks it (names whole), the read recorded:
``find_visits`` (the grid's diary, first page), ``not_visited`` (30 days, flags first, with the
count) and ``not_visited_geojson`` (the grid's extent, 30 days).
Target: p95 < 150 ms each.
Run: make bench-diary  (or .venv/bin/python -m bench.diary [--side 20] [--households 25] [--reuse])
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from bench.city import city_database
from bench.common import p95, spread
from gis.accounts import Viewer, create_user
from gis.models import User
from gis.people.diary import DiaryFilter, find_visits, not_visited, not_visited_geojson

TODAY = dt.date(2026, 12, 3)
HOUSEHOLDS_SQL = text("""
    INSERT INTO households (building_id, room, size, flags)
    SELECT b.id, (n / 2 + 1)::text || '0' || (n % 2 + 1)::text, 1 + (b.id * 7 + n) % 5,
           CASE WHEN r < 0.05 THEN ARRAY['elderly_alone'] WHEN r < 0.13 THEN ARRAY['low_income']
                WHEN r < 0.33 THEN ARRAY['rented'] ELSE '{}'::text[] END
    FROM buildings b, generate_series(0, CAST(:per_building AS int) - 1) n,
         LATERAL (SELECT random() + 0 * n AS r) x
""")
PEOPLE_SQL = text("""
    INSERT INTO people (kind, name, phone, household_id, building_id)
    SELECT 'resident',
           (ARRAY['王','李','张','刘','陈'])[1 + h.id % 5]
           || (ARRAY['秀英','建国','桂兰','志强'])[1 + h.id % 4],
           '138' || lpad((h.id % 100000000)::text, 8, '0'), h.id, h.building_id
    FROM households h
""")
VISITS_SQL = text("""
    INSERT INTO visits
        (household_id, building_id, grid_id, user_id, visited_on, met, discussed, needs, follow_up_on)
    SELECT h.id, h.building_id, b.grid_id, :worker, CAST(:today AS date) - (random() * 365)::int,
           '住户本人', (ARRAY['身体还好，子女每周来', '反映楼道灯不亮', '询问低保续办手续', '家里水管渗水',
                              '邻里噪音纠纷已调解'])[1 + (h.id + k) % 5],
           CASE WHEN random() < 0.2 THEN '维修' END,
           CASE WHEN random() < 0.05 THEN CAST(:today AS date) + (random() * 30)::int END
    FROM households h JOIN buildings b ON b.id = h.building_id,
         generate_series(1, CAST(:per_household AS int)) k
    WHERE random() < :keep
""")


def fill(session: Session, per_building: int, visits_per_household: float) -> None:
    """Households, residents and visits in the city's buildings (the visits' trigger off while
    they pour in, then each household's last visit set in one statement)."""
    worker = session.scalar(select(User.id).where(User.username == "bench-diary-worker"))
    session.execute(HOUSEHOLDS_SQL, {"per_building": per_building})
    session.execute(PEOPLE_SQL)
    session.execute(text("ALTER TABLE visits DISABLE TRIGGER visits_seen"))
    whole = int(visits_per_household) + 1
    session.execute(
        VISITS_SQL,
        {"worker": worker, "today": TODAY, "per_household": whole, "keep": visits_per_household / whole},
    )
    session.execute(text("ALTER TABLE visits ENABLE TRIGGER visits_seen"))
    session.execute(
        text(
            "UPDATE households h SET last_visit_on = v.last FROM (SELECT household_id,"
            " max(visited_on) AS last FROM visits GROUP BY household_id) v WHERE v.household_id = h.id"
        )
    )
    session.commit()
    session.execute(text("ANALYZE households"))
    session.execute(text("ANALYZE visits"))
    session.execute(text("ANALYZE people"))
    session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--side", type=int, default=20, help="grids a side (20: 400 grids)")
    parser.add_argument("--buildings", type=int, default=30, help="buildings a grid")
    parser.add_argument("--households", type=int, default=25, help="households a building")
    parser.add_argument("--visits", type=float, default=6.67, help="visits a household (on average)")
    parser.add_argument("--grids", type=int, default=200, help="random grids asked, of each kind")
    parser.add_argument("--rounds", type=int, default=4, help="turns each kind takes (A B B A …)")
    parser.add_argument("--reuse", action="store_true", help="keep the city of the last run")
    args = parser.parse_args()
    engine, city = city_database(
        f"bench_diary_{args.side}_{args.buildings}",
        args.side,
        args.reuse,
        buildings=args.buildings,
        reports=0,
    )
    with Session(engine) as session:
        if not session.scalar(select(User.id).where(User.username == "bench-diary-worker")):
            create_user(session, "bench-diary-worker", "grid_worker", "bench-password")
            session.commit()
        households = session.scalar(text("SELECT count(*) FROM households"))
        wanted = city["buildings"] * args.households
        if households != wanted:
            session.execute(text("TRUNCATE visits, people, households RESTART IDENTITY CASCADE"))
            started = time.perf_counter()
            fill(session, args.households, args.visits)
            print(f"households and visits made in {time.perf_counter() - started:.0f} s")
        households, visits = session.execute(
            text("SELECT (SELECT count(*) FROM households), (SELECT count(*) FROM visits)")
        ).one()
        worker = session.scalar(select(User.id).where(User.username == "bench-diary-worker"))
        grids = session.execute(
            text(
                "SELECT id, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM areas"
                " WHERE level = 'grid' ORDER BY id"
            )
        ).all()
        rng = random.Random(28)
        asked = {
            name: [rng.choice(grids) for _ in range(args.grids)]
            for name in ("lookup", "diary", "list", "layer")
        }

        def as_worker(grid) -> Viewer:
            return Viewer(worker, "grid_worker", grid_ids=(grid[0],))

        def lookup(grid):
            return session.execute(
                text("SELECT * FROM visits WHERE grid_id = :g ORDER BY visited_on DESC, id DESC LIMIT 50"),
                {"g": grid[0]},
            ).all()

        def diary(grid):
            return find_visits(session, as_worker(grid), DiaryFilter(grid_id=grid[0]), via="/diary")

        def listing(grid):
            return not_visited(session, as_worker(grid), grid[0], 30, TODAY, via="/households/unvisited")

        def layer(grid):
            return not_visited_geojson(session, as_worker(grid), grid[1:], 30, TODAY)

        kinds = {"lookup": lookup, "diary": diary, "list": listing, "layer": layer}
        for run in kinds.values():  # warm: plans, caches
            run(grids[0])
            session.rollback()
        times: dict[str, list[float]] = {name: [] for name in kinds}
        unvisited: list[int] = []
        per_turn = max(1, args.grids // args.rounds)
        for turn in range(args.rounds):
            for name in kinds if turn % 2 == 0 else reversed(list(kinds)):
                for grid in asked[name][turn * per_turn : (turn + 1) * per_turn]:
                    t = time.perf_counter()
                    result = kinds[name](grid)
                    session.commit()  # the read recorded, as a request commits it
                    times[name].append(1000 * (time.perf_counter() - t))
                    if name == "list":
                        unvisited.append(result[1])
        session.execute(text("DELETE FROM personal_reads WHERE via IN ('/diary', '/households/unvisited')"))
        session.commit()
    engine.dispose()
    print(
        f"the people's diary: {households:,} households, {visits:,} visits in {city['grids']:,} grids; "
        f"{per_turn * args.rounds} random grids of each kind in {args.rounds} turns (A B B A), "
        "the grid's worker"
    )
    print(f"{'':<44}{'p50 ms':>9}{'p95 ms':>9}   spread of the turns' p95")
    turns = {
        name: [p95(v[k * per_turn : (k + 1) * per_turn]) for k in range(args.rounds)]
        for name, v in times.items()
    }
    for name, label in (
        ("lookup", "50 visits by the index (the reference)"),
        ("diary", "/diary of a grid (first page, recorded)"),
        ("list", "not visited in 30 days (page + count)"),
        ("layer", "not-visited layer of a grid's extent"),
    ):
        print(
            f"{label:<44}{statistics.median(times[name]):>9.1f}{p95(times[name]):>9.1f}"
            f"   {spread(turns[name], 'ms', 1)}"
        )
    print(f"  a grid's households not visited in 30 days: {statistics.median(unvisited):,.0f} (median)")
    worst = max(p95(times["diary"]), p95(times["list"]), p95(times["layer"]))
    print(
        f"worst p95 / lookup p95 = {worst / p95(times['lookup']):.1f}×; "
        f"target /diary and not-visited p95 < 150 ms → {'MET' if worst < 150 else 'NOT MET'}"
    )


if __name__ == "__main__":
    main()
