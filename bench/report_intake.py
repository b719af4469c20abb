"""Report intake through the real HTTP stack: gunicorn (2 workers), 10,000 grids loaded.

Prints requests/s and p95 for POST /api/v1/reports next to GET /healthz on the same server in the
same run. Target: intake ≥ 40 % of the healthz rate, p95 < 50 ms. Beside each, the CPU a request
cost in gunicorn, in PostgreSQL and in the load generator: what the rate is made of on 2 cores.
Run: make bench-intake  (or .venv/bin/python -m bench.report_intake [--seconds 10])
"""
from __future__ import annotations

import argparse
import random
import uuid

from sqlalchemy import text
from sqlalchemy.orm import Session

from bench.common import as_json, load, scratch_engine, start_gunicorn
from gis.accounts import create_user, issue_token

SIDE = 100            # 100 × 100 = 10,000 grids of 0.002° (≈ 160 m × 220 m)
CELL = 0.002
ORIGIN = (84.70, 44.20)

GRIDS_SQL = text("""
    INSERT INTO areas (code, level, name, geom, area_m2)
    SELECT '650202' || lpad((i / 1000 + 1)::text, 3, '0') || lpad((i / 100 % 10 + 1)::text, 3, '0')
                    || lpad((i % 100 + 1)::text, 3, '0'),
           'grid', 'grid ' || i,
           ST_Multi(ST_MakeEnvelope(:x0 + (i % :side) * :cell, :y0 + (i / :side) * :cell,
                                    :x0 + (i % :side + 1) * :cell, :y0 + (i / :side + 1) * :cell, 4326)),
           0
    FROM generate_series(0, :side * :side - 1) AS i
""")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args()

    engine = scratch_engine("bench_intake")
    with Session(engine) as session:
        session.execute(GRIDS_SQL, {"x0": ORIGIN[0], "y0": ORIGIN[1], "cell": CELL, "side": SIDE})
        user = create_user(session, "bench", "grid_worker", "bench-password")
        token = issue_token(user)
        session.commit()
        session.execute(text("ANALYZE"))
        grids = session.scalar(text("SELECT count(*) FROM areas"))
    url = engine.url.render_as_string(hide_password=False)
    proc, port = start_gunicorn(url)
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    rng = random.Random(1)

    def healthz(_n, _i):
        return "GET", "/healthz", None, {}

    def intake(_n, _i):
        body = {"lon": ORIGIN[0] + rng.uniform(0, SIDE * CELL), "lat": ORIGIN[1] + rng.uniform(0, SIDE * CELL),
                "category": "2301", "description": "bench", "client_id": str(uuid.uuid4())}
        return "POST", "/api/v1/reports", as_json(body), auth

    try:
        load(port, healthz, 2, args.concurrency)  # warm-up
        reference = load(port, healthz, args.seconds, args.concurrency, server_pid=proc.pid)
        ours = load(port, intake, args.seconds, args.concurrency, server_pid=proc.pid)
    finally:
        proc.terminate()
        proc.wait()
        engine.dispose()
    ratio = ours["rps"] / reference["rps"]
    print(f"report intake, {grids:,} grids, gunicorn 2 workers × 4 threads, {args.concurrency} clients, "
          f"{args.seconds:g} s each")
    print(f"{'endpoint':<24}{'req/s':>9}{'p50 ms':>9}{'p95 ms':>9}{'errors':>8}"
          f"   CPU ms per request: gunicorn / PostgreSQL / client")
    for name, r in (("GET /healthz", reference), ("POST /api/v1/reports", ours)):
        cpu = r["cpu_ms"]
        print(f"{name:<24}{r['rps']:>9.0f}{r['p50_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['errors']:>8}"
              f"   {cpu['server']:.2f} / {cpu['postgres']:.2f} / {cpu['client']:.2f}")
    print(f"intake / healthz = {ratio:.0%} (target ≥ 40 %); intake p95 = {ours['p95_ms']:.1f} ms "
          f"(target < 50 ms) → {'MET' if ratio >= 0.4 and ours['p95_ms'] < 50 else 'NOT MET'}")


if __name__ == "__main__":
    main()
