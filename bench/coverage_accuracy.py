"""How far the covered area moves with the simplification and the buffer's round parts, on walking
tracks that turn often: the figure behind ``SIMPLIFY_M`` and ``QUAD_SEGS`` in
gis/patrols/coverage.py.

Tracks: patrollers meandering through a compound (a heading that drifts by ~35° a fix, a fix
every 10 s at 1.3 m/s, 4 m of GPS noise) and walking a street lattice (turning at crossings
every 125 m), 40 of each, 2 hours. For each (simplification, segments per quarter circle) the area
within r = 30 m of the tracks is set against the exact one (no simplification, 64 segments a
quarter circle), per track and for all tracks together (their union, as a grid's reach is).
Target: every area within 0.5 % of the exact one. GEOS does the buffering, as in PostGIS.
Run: .venv/bin/python -m bench.coverage_accuracy
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import shapely

RADIUS = 30.0
EVERY_S, SPEED = 10, 1.3
EXACT = (0.0, 64)
CANDIDATES = [(s, q) for s in (0.0, 1.0, 2.0, 3.0, 5.0) for q in (4, 8, 16)]


def meander(rng, fixes: int) -> np.ndarray:
    heading = rng.uniform(0, 2 * np.pi)
    xy = np.zeros((fixes, 2))
    for i in range(1, fixes):
        heading += rng.normal(0, np.radians(35))
        xy[i] = xy[i - 1] + SPEED * EVERY_S * np.array([np.cos(heading), np.sin(heading)])
        xy[i] = np.clip(xy[i], -500, 500)  # the compound's fence
    return xy + rng.normal(0, 4, xy.shape)


def lattice(rng, fixes: int, block: float = 125.0) -> np.ndarray:
    xy = np.zeros((fixes, 2))
    direction = np.array([1.0, 0.0])
    travelled = 0.0
    for i in range(1, fixes):
        xy[i] = xy[i - 1] + direction * SPEED * EVERY_S
        travelled += SPEED * EVERY_S
        if travelled >= block:
            travelled = 0.0
            xy[i] = np.round(xy[i] / block) * block
            turns = [d for d in ((1, 0), (-1, 0), (0, 1), (0, -1)) if (d[0], d[1]) != tuple(-direction)]
            direction = np.array(turns[rng.integers(len(turns))], dtype=float)
    return xy + rng.normal(0, 4, xy.shape)


def areas(lines, simplify: float, quad_segs: int) -> tuple[np.ndarray, float]:
    shapes = shapely.buffer(
        shapely.simplify(lines, simplify) if simplify else lines, RADIUS, quad_segs=quad_segs
    )
    return shapely.area(shapes), shapely.area(shapely.union_all(shapes))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tracks", type=int, default=40, help="of each kind")
    parser.add_argument("--hours", type=float, default=2)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    fixes = int(args.hours * 3600 / EVERY_S)
    kinds = {
        "meandering": shapely.linestrings([meander(rng, fixes) for _ in range(args.tracks)]),
        "street lattice": shapely.linestrings([lattice(rng, fixes) for _ in range(args.tracks)]),
    }
    print(
        f"area within {RADIUS:g} m, against no simplification and 64 segments a quarter circle; "
        f"{args.tracks} tracks of each kind, {args.hours:g} h, a fix every {EVERY_S} s"
    )
    print(
        f"{'simplify (m)':>13}{'quad_segs':>10}{'kind':>16}{'worst track':>13}{'mean track':>12}"
        f"{'union':>9}{'buffer ms':>11}"
    )
    for kind, lines in kinds.items():
        exact_each, exact_union = areas(lines, *EXACT)
        for simplify, quad in CANDIDATES:
            t = time.perf_counter()
            each, union = areas(lines, simplify, quad)
            ms = 1000 * (time.perf_counter() - t) / len(lines)
            error = (each - exact_each) / exact_each
            print(
                f"{simplify:>13g}{quad:>10}{kind:>16}{np.max(np.abs(error)):>12.2%}{np.mean(error):>+12.2%}"
                f"{(union - exact_union) / exact_union:>+9.2%}{ms:>11.1f}"
            )


if __name__ == "__main__":
    main()
