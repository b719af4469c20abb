"""Indicators (GB/T 30428.4) per district, street, community, grid, department or grid worker.

The cases counted are the reports *created* in the period (a cohort), judged as they stand now:
- reports: every report; voided: refused at acceptance; opened (立案): given a case (``opened_at``);
- due (应结案): not voided and either closed or past their deadline — a case still inside its time
  limit is not yet due, so a department is never marked down for work it still has time for;
- closed (结案); on time (按期结案): closed by the deadline (a case solved on the spot, never
  dispatched, has no clock and is on time);
- closure rate = closed / due; on-time closure rate = on time / due;
- rework rate (返工率) = cases sent back at least once after a failed on-site check / cases that
  were handled at least once;
- solved locally = cases closed on the spot by the grid worker or supervisor / closed;
- median and p90 hours from report to closure (whole seconds, interpolated as percentile_cont
  does); overdue now = open cases past their deadline today
  (whenever they were reported: that is the backlog a supervisor chases).
Grade: on-time closure rate as a score out of 100 — A ≥ 90, B 75-90, C 60-75, D 40-60, E < 40.

A grid worker's figures are those of the grids they are responsible for; a department's, of the
cases dispatched to it. Everything is a few GROUP BY statements over the period's reports. A case
that has ended (closed or voided) counts the same for ever, so for the months of a period its
counts come from final_case_counts and its time to close from final_case_seconds, kept per grid
and department by triggers on reports: at 1,000,000 reports a year sums ~110,000 of those rows and
judges only the open cases and the reports of the days the months leave out; a month the period
cuts is read whole when most of it lies inside, its ended cases of the days outside taken back.
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.beside import beside
from gis.cases.categories import display_names
from gis.errors import Invalid
from gis.i18n import _, current_locale, texts
from gis.models import CHANNELS, ENDED_CASE_SQL, FINAL_COUNTS, OPEN_CASE_SQL
from gis.models import LEVEL_NAMES as AREA_LEVEL_NAMES

LEVELS = ("district", "street", "community", "grid", "department", "worker")
LEVEL_NAMES = {**AREA_LEVEL_NAMES, "department": _("department"), "worker": _("grid worker")}
GRADES = ((90, "A"), (75, "B"), (60, "C"), (40, "D"), (0, "E"))
MAX_PERIOD = dt.timedelta(days=366 * 3)

# Each level's units as (key, unit, code, name) rows: the key is what a report carries (its grid, or
# its department), so reports are counted once per key and the ~10,000 per-key rows are summed per
# unit (an id: sorting 860,000 closed cases by a text code took longer than the percentiles).
_UNIT_MAPS = {
    "grid": "SELECT g.id AS key, g.id AS unit, g.code, g.name FROM areas g",
    # a grid's parents from the one chain (the view grid_chain)
    **{
        level: f"SELECT grid_id AS key, {level}_id AS unit, {level}_code AS code, {level}_name AS name "
        "FROM grid_chain"
        for level in ("community", "street", "district")
    },
    "department": "SELECT id AS key, id AS unit, code, name FROM departments",
    # a grid with two workers counts for both; one without a worker for nobody
    "worker": """SELECT ug.area_id AS key, u.id AS unit, u.username AS code, u.display_name AS name
                 FROM user_grids ug JOIN users u ON u.id = ug.user_id AND u.role = 'grid_worker'""",
}
_KEYED = ("grid", "department")  # levels whose unit is the key itself
# The figures counted per unit: column → the reports it counts (on reports r, at :now). For ended
# cases the triggers keeping final_case_counts hold a copy of these conditions (its migration):
# a change here needs a migration replacing them; tests/test_final_case_counts.py compares both.
FIGURES = {
    "reports": "true",
    "voided": "r.status = 'voided'",
    "opened": "r.opened_at IS NOT NULL",
    "due": "r.status <> 'voided' AND (r.closed_at IS NOT NULL OR r.deadline_at < :now)",
    "closed": "r.status = 'closed'",
    "on_time": "r.status = 'closed' AND (r.deadline_at IS NULL OR r.closed_at <= r.deadline_at)",
    "handled": (
        "r.rework_count > 0 OR (r.dispatched_at IS NOT NULL"
        " AND r.status IN ('handled', 'verified', 'closed'))"
    ),
    "reworked": "r.rework_count > 0",
    "solved_locally": "r.status = 'closed' AND r.resolved_locally",
    "confirmed": "r.confirmations > 0",  # someone confirmed it from its place instead of reporting again
}
COUNT_COLUMNS = tuple(FIGURES)
# A closed case's whole seconds from report to closure (within int4: 68 years), as 4 bytes: what
# final_case_seconds keeps of each (the copy in migration c9d0e1f2a3b4), so a unit's
# many values travel as one bytea.
CLOSE_SECONDS_SQL = (
    "int4send(least(greatest(floor(extract(epoch FROM r.closed_at - r.created_at)), -2147483648),"
    " 2147483647)::int)"
)
PERCENTILES = (0.5, 0.9)
MONTH_ZONE = ZoneInfo("Asia/Shanghai")  # final_case_counts' months are local months of this zone


def count_columns(conditions, sign: str = "") -> str:
    """``count(*) FILTER`` columns for (column, condition) pairs: many counts in one pass. As
    integers, like final_case_counts' columns: summing them together then stays in integers
    (a bigint among them would make every sum accumulate in numeric). ``sign`` "-": taken back."""
    return ", ".join(f'({sign}count(*) FILTER (WHERE {cond}))::int AS "{name}"' for name, cond in conditions)


def _in_area(within: str | None, grid: str = "r.grid_id") -> str:
    """Only the rows whose ``grid`` is a grid of area ``:within`` (codes nest: a grid's starts
    with it)."""
    return f"AND {grid} IN (SELECT id FROM areas WHERE code LIKE :within || '%')" if within else ""


@dataclass(frozen=True)
class Period:
    """[start, end) in local time; ``label`` as the person asked for it."""

    start: dt.datetime
    end: dt.datetime
    label: str


FIRST_YEAR, LAST_YEAR = 2000, 2100  # periods lie within these years


def parse_period(
    value: str | None,
    tz: str = "Asia/Shanghai",
    today: dt.date | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
) -> Period:
    """A period from ``2026``, ``2026-Q4``, ``2026-11``, ``2026-W47``, ``2026-11-20``, ``last30``
    (days up to today), or ``from``/``to`` dates (both inclusive), within FIRST_YEAR..LAST_YEAR.
    Default: the last 30 days."""
    try:
        period = _period(value, tz, today, date_from, date_to)
    except (ValueError, OverflowError):
        raise Invalid(
            _("%(value)s: no such period", value=value or _("the dates")),
            fields={"period": _("no such period")},
        ) from None
    if not (FIRST_YEAR <= period.start.year and period.end.year <= LAST_YEAR + 1):
        raise Invalid(
            _(
                "a period lies between %(first_year)s and %(last_year)s",
                first_year=FIRST_YEAR,
                last_year=LAST_YEAR,
            ),
            fields={"period": _("must lie between %(first)s and %(last)s", first=FIRST_YEAR, last=LAST_YEAR)},
        )
    return period


def _period(value, tz, today, date_from, date_to) -> Period:
    zone = ZoneInfo(tz)
    today = today or dt.datetime.now(zone).date()
    value = (value or "").strip()
    start: dt.date
    end: dt.date
    if date_from or date_to:
        start = date_from or (date_to or today) - dt.timedelta(days=29)
        end = (date_to or today) + dt.timedelta(days=1)
        label = f"{start.isoformat()} – {(end - dt.timedelta(days=1)).isoformat()}"
    elif not value or re.fullmatch(r"last\d{1,4}", value):
        days = int(value[4:]) if value else 30
        if days < 1:
            raise Invalid(_("last<N> needs at least one day"))
        start, end, label = (
            today - dt.timedelta(days=days - 1),
            today + dt.timedelta(days=1),
            value or "last30",
        )
    elif m := re.fullmatch(r"(\d{4})", value):
        year = int(m[1])
        start, end, label = dt.date(year, 1, 1), dt.date(year + 1, 1, 1), value
    elif m := re.fullmatch(r"(\d{4})-Q([1-4])", value, re.I):
        year, q = int(m[1]), int(m[2])
        start = dt.date(year, 3 * q - 2, 1)
        end = dt.date(year + (q == 4), 1 if q == 4 else 3 * q + 1, 1)
        label = value.upper()
    elif m := re.fullmatch(r"(\d{4})-W(\d{1,2})", value, re.I):
        try:
            start = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError:
            raise Invalid(_("%(value)s is not a week of that year", value=value)) from None
        end, label = start + dt.timedelta(days=7), value.upper()
    elif m := re.fullmatch(r"(\d{4})-(\d{2})", value):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise Invalid(_("%(value)s: there is no month %(month)s", value=value, month=month))
        start = dt.date(year, month, 1)
        end = start + dt.timedelta(days=calendar.monthrange(year, month)[1])
        label = value
    else:
        try:
            start = dt.date.fromisoformat(value)
        except ValueError:
            raise Invalid(
                _("period must look like 2026, 2026-Q4, 2026-11, 2026-W47, 2026-11-20 or last30")
            ) from None
        end, label = start + dt.timedelta(days=1), value
    if end <= start:
        raise Invalid(_("the period must end after it starts"))
    if end - start > MAX_PERIOD:
        raise Invalid(_("a period may be at most three years long"))
    midnight = dt.time(0, tzinfo=zone)
    return Period(dt.datetime.combine(start, midnight), dt.datetime.combine(end, midnight), label)


def grade(on_time_rate: float | None) -> str | None:
    if on_time_rate is None:
        return None
    score = 100 * on_time_rate
    for floor, letter in GRADES:
        if score >= floor:
            return letter
    return GRADES[-1][1]


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def figures_of(counts, hours=None, into: dict | None = None) -> dict:
    """The published figures from the counts and (median, p90) hours to close, added to ``into``
    (a new dict by default: a level's 32,400 grids each build one)."""
    out = {} if into is None else into
    for name in COUNT_COLUMNS:
        out[name] = counts[name]
    due, closed = counts["due"], counts["closed"]
    median, p90 = hours or (None, None)
    out["closure_rate"] = _ratio(closed, due)
    out["on_time_rate"] = on_time_rate = _ratio(counts["on_time"], due)
    out["rework_rate"] = _ratio(counts["reworked"], counts["handled"])
    out["solved_locally_share"] = _ratio(counts["solved_locally"], closed)
    out["median_hours"] = round(median, 2) if median is not None else None
    out["p90_hours"] = round(p90, 2) if p90 is not None else None
    out["grade"] = grade(on_time_rate)
    return out


def _splits(session: Session) -> list[tuple[str, str]]:
    """(column, condition) of the per-channel and per-category-group counts."""
    groups = session.scalars(text("SELECT code FROM categories WHERE parent_code IS NULL ORDER BY code"))
    return [(f"ch:{c}", f"r.channel = '{c}'") for c in CHANNELS] + [
        (f"cat:{g}", f"r.category_code LIKE '{g}%'") for g in groups if g.isalnum()
    ]


def _month_of(instant: dt.datetime) -> dt.datetime:
    return instant.astimezone(MONTH_ZONE).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _month_after(month: dt.datetime) -> dt.datetime:
    return (month + dt.timedelta(days=32)).replace(day=1)


def whole_months(period: Period) -> tuple[dt.datetime, dt.datetime] | None:
    """[first, last) instants of the local months wholly inside ``period``, whose closed cases'
    times final_case_seconds holds; None when there is none."""
    first, last = _month_of(period.start), _month_of(period.end)
    if first < period.start:
        first = _month_after(first)
    return (first, last) if first < last else None


def kept_months(period: Period) -> tuple[dt.datetime, dt.datetime] | None:
    """[first, last) instants of the local months whose ended cases the counts read from
    final_case_counts: those wholly inside ``period``, and a month it cuts when more of the month
    lies inside than outside — the ended cases of the days outside are then taken back (judged),
    fewer than judging the days inside. None when no month is kept."""

    def mostly_inside(month: dt.datetime) -> bool:
        after = _month_after(month)
        inside = min(period.end, after) - max(period.start, month)
        return inside > (after - month) - inside

    first = _month_of(period.start)
    if first < period.start and not mostly_inside(first):
        first = _month_after(first)
    last = _month_of(period.end)
    if last < period.end and mostly_inside(last):
        last = _month_after(last)
    return (first, last) if first < last else None


def _sums(columns, alias: str) -> str:
    return ", ".join(f'coalesce(sum({alias}."{name}"), 0)::int AS "{name}"' for name, _ in columns)


def _per_key(key, columns, scope, within, kept) -> str:
    """Counts per key (grid or department) of the period's reports. Over the ``kept`` months, the
    ended cases come from final_case_counts — less those of days outside the period, taken back —
    and only the open ones from reports; the other days of the period, and everything when
    ``kept`` is None, from the reports themselves. Each part is a range of reports by created_at,
    grouped by key on its own."""

    def counted(where: str, sign: str = "") -> str:
        return f"""SELECT r.{key} AS key, {count_columns(columns, sign)} FROM reports r
                   WHERE {where} {scope} GROUP BY r.{key}"""

    if not kept:
        return counted("r.created_at >= :start AND r.created_at < :end")
    parts = [
        counted("r.created_at >= :start AND r.created_at < :kept_from"),  # days before the kept months
        counted("r.created_at >= :kept_to AND r.created_at < :end"),  # and after
        counted(f"r.created_at >= :open_from AND r.created_at < :open_to AND r.{OPEN_CASE_SQL}"),
        counted(
            f"r.created_at >= :kept_from AND r.created_at < :start AND r.{ENDED_CASE_SQL}", "-"
        ),  # taken back
        counted(f"r.created_at >= :end AND r.created_at < :kept_to AND r.{ENDED_CASE_SQL}", "-"),
        f"""SELECT f.key, {", ".join(f'f."{name}"' for name, _ in columns)} FROM final_case_counts f
            WHERE f.keyed_by = '{key}' AND f.month >= :kept_from AND f.month < :kept_to
                  {_in_area(within, "f.key")}""",
    ]
    return f"""SELECT c.key, {_sums(columns, "c")} FROM ({" UNION ALL ".join(parts)}) c GROUP BY c.key"""


def _kept_params(params: dict, kept) -> dict:
    """The bounds ``_per_key`` reads: the kept months, and the days of them inside the period."""
    if not kept:
        return params
    return {
        **params,
        "kept_from": kept[0],
        "kept_to": kept[1],
        "open_from": max(kept[0], params["start"]),
        "open_to": min(kept[1], params["end"]),
    }


def _counts(session, key, units, join, scope, params, splits, kept) -> list[dict]:
    """Counts per unit and (``total``) for every report once, whatever the level: grouped by the
    key (a parallel pass), then summed per unit."""
    columns = [*FIGURES.items(), *splits]
    sums = _sums(columns, "k")
    rows = session.execute(
        text(f"""
        WITH per_key AS ({_per_key(key, columns, scope, params["within"], kept)})
        SELECT u.unit, min(u.code) AS code, min(u.name) AS name, false AS total, {sums}
        FROM per_key k {join} ({units}) u ON u.key = k.key GROUP BY u.unit
        UNION ALL
        SELECT NULL, NULL, NULL, true, {sums} FROM per_key k
    """),
        _kept_params(params, kept),
    )
    names = list(rows.keys())
    return [dict(zip(names, row)) for row in rows]  # plain dicts: each is read 30 times


def _hours(session, level, key, units, join, scope, params, months) -> dict:
    """(median, p90) hours to close per (total?, unit): every closed case's whole seconds to close
    (CLOSE_SECONDS_SQL), gathered per unit in PostgreSQL as one bytea — over ``months`` kept in
    final_case_seconds, for the rest of the period read from the closed cases' covering index — and
    sorted per unit at once in numpy. Sorting per unit in PostgreSQL (percentile_cont) took 2.7-3.8 s
    at 3,240,000 reports."""

    def closed(where: str) -> str:  # each case's own seconds: gathered per unit once, below
        return f"""SELECT r.{key} AS key, {CLOSE_SECONDS_SQL} AS seconds
                   FROM reports r WHERE r.status = 'closed' AND {where}"""

    per_key = closed(f"r.created_at >= :start AND r.created_at < :end {scope}")
    if months:  # the days before and after the whole months as two ranges of the covering index
        per_key = f"""{closed(f"r.created_at >= :start AND r.created_at < :months_from {scope}")}
            UNION ALL {closed(f"r.created_at >= :months_to AND r.created_at < :end {scope}")}
            UNION ALL
            SELECT f.key, f.close_seconds FROM final_case_seconds f
            WHERE f.keyed_by = '{key}' AND f.month >= :months_from AND f.month < :months_to
                  {_in_area(params["within"], "f.key")}"""
    if level in _KEYED:
        unit, joined = "k.key", ""
    else:
        # OFFSET 0 keeps the key → unit map whole: flattened, the planner joined each row to its
        # grid and then again to the grid's community
        unit, joined = "u.unit", f"{join} ({units} OFFSET 0) u ON u.key = k.key"
    sql = f"""WITH per_key AS ({per_key})
              SELECT {unit}, false, string_agg(k.seconds, ''::bytea)
              FROM per_key k {joined} GROUP BY {unit}"""
    if level == "worker":  # the total counts a report in two workers' grids once
        sql += " UNION ALL SELECT NULL, true, string_agg(k.seconds, ''::bytea) FROM per_key k"
    rows = session.execute(
        text(sql), {**params, "months_from": months and months[0], "months_to": months and months[1]}
    ).all()
    per_unit = [(unit, seconds) for unit, total, seconds in rows if not total]
    hours = {
        (False, unit): values
        for (unit, _), values in zip(per_unit, percentiles([seconds for _, seconds in per_unit]))
    }
    total = next((seconds for _, is_total, seconds in rows if is_total), None)  # the worker level's
    hours[(True, None)] = percentiles_of_all(total or b"".join(seconds for _, seconds in per_unit))
    return hours


def _seconds(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, ">i4").astype(np.int64)


def percentiles(blobs: list[bytes]) -> list[tuple[float, float] | None]:
    """The median and p90 in hours of each blob's seconds (int4send one after the other), as
    PostgreSQL's percentile_cont gives them: at position q·(n − 1) of the sorted values, linear
    between the two either side; None for an empty blob. One sort of every value, by blob and then
    by value."""
    counts = np.array([len(blob) // 4 for blob in blobs], dtype=np.int64)
    blob_of = np.repeat(np.arange(len(blobs), dtype=np.int64), counts)
    keyed = (blob_of << 32) | (_seconds(b"".join(blobs)) + 2**31)
    hours = ((np.sort(keyed, kind="stable") & 0xFFFFFFFF) - 2**31) / 3600
    return _interpolated(hours, counts)


def percentiles_of_all(blob: bytes) -> tuple[float, float] | None:
    """``percentiles`` of one (big) blob: only the values at the positions are put in place, by a
    partition instead of a sort."""
    seconds = _seconds(blob)
    n = len(seconds)
    positions = [q * (n - 1) for q in PERCENTILES]
    at = sorted({math.floor(p) for p in positions} | {math.ceil(p) for p in positions})
    return _interpolated(np.partition(seconds, at) / 3600 if n else seconds, np.array([n]))[0]


def _interpolated(hours: np.ndarray, counts: np.ndarray) -> list[tuple[float, float] | None]:
    """percentile_cont's values of each run of ``counts`` values in ``hours`` (in order at least at
    the positions read): at q·(n − 1), linear between the two either side; None for a run of none."""
    if not len(hours):
        return [None] * len(counts)
    starts, last, top = np.cumsum(counts) - counts, np.maximum(counts - 1, 0), len(hours) - 1
    found = []
    for q in PERCENTILES:
        position = q * last
        low = np.floor(position)
        at_low = hours[np.minimum(starts + low.astype(np.int64), top)]  # (an empty run's: unused)
        at_high = hours[np.minimum(starts + np.ceil(position).astype(np.int64), top)]
        found.append((at_low + (at_high - at_low) * (position - low)).tolist())
    return [(found[0][i], found[1][i]) if n else None for i, n in enumerate(counts.tolist())]


def _overdue(session, level, key, units, join, scope, params) -> tuple[dict, int]:
    """Open cases past their deadline now, per unit and in all (whenever they were reported)."""
    overdue_now = f"r.{OPEN_CASE_SQL} AND r.deadline_at < :now {scope}"
    per_unit = dict(
        session.execute(
            text(f"""
        SELECT u.unit, count(*) FROM reports r {join} ({units}) u ON u.key = r.{key}
        WHERE {overdue_now} GROUP BY u.unit"""),
            params,
        ).all()
    )
    if level != "worker":
        return per_unit, sum(per_unit.values())
    return per_unit, session.scalar(text(f"SELECT count(*) FROM reports r WHERE {overdue_now}"), params)


def _tune(session: Session) -> None:
    session.execute(text("SET LOCAL work_mem = '256MB'"))  # the grouping stays in memory
    session.execute(text("SET LOCAL jit = off"))  # compiling ~120 expressions took longer than it saved


def indicators(
    session: Session,
    level: str,
    period: Period,
    now: dt.datetime | None = None,
    within: str | None = None,
    rolled_up: bool = True,
) -> dict:
    """Figures per unit of ``level`` and for all of them, for the reports created in ``period``.
    ``within``: an area code; only the reports in its grids count. ``rolled_up=False`` judges
    every report instead of reading ended cases from final_case_counts and _seconds: the same
    figures, slower (what the tests and the benchmark compare with).

    Three statements (bench/indicators.py measures them): the counts grouped by what a report
    carries (grid or department), the ended cases of the kept months read from final_case_counts
    and summed with the rest, then summed per unit; the median and p90 from every closed case's
    seconds to close (``_hours``, on a second connection beside the counts); and today's overdue
    backlog (``ix_reports_open_grid``)."""
    if level not in LEVELS:
        raise Invalid(_("level must be one of %(items)s", items=", ".join(LEVELS)))
    key = "department_id" if level == "department" else "grid_id"
    units = _UNIT_MAPS[level]
    join = "JOIN" if level == "worker" else "LEFT JOIN"  # a report in no worker's grid is nobody's
    params = {
        "start": period.start,
        "end": period.end,
        "now": now or dt.datetime.now(dt.UTC),
        "within": within,
    }
    scope = _in_area(within)
    splits = _splits(session)
    # final_case_counts and _seconds have no department's cases per area, nor the counts a column
    # for a group added since
    rolled_up = rolled_up and not (within and key == "department_id")
    months = whole_months(period) if rolled_up else None
    kept = kept_months(period) if rolled_up and all(name in FINAL_COUNTS for name, _ in splits) else None
    _tune(session)

    def hours_beside(other: Session) -> dict:  # the percentiles on one core, the counts' scan on the other
        _tune(other)
        return _hours(other, level, key, units, join, scope, params, months)

    with beside(session, hours_beside) as hours_result:
        rows = _counts(session, key, units, join, scope, params, splits, kept)
        overdue, overdue_total = _overdue(session, level, key, units, join, scope, params)
        hours = hours_result()

    labels = {
        prefix: [(name[len(prefix) :], name) for name, _ in splits if name.startswith(prefix)]
        for prefix in ("ch:", "cat:")
    }

    def split_counts(row, prefix):
        return {label: row[name] for label, name in labels[prefix] if row[name]}

    nameless = _("unassigned") if level in ("grid", "community", "street", "district") else _("none")
    result_units, total = [], None
    for row in rows:
        if row["total"]:
            figures = total = figures_of(row, hours.get((True, None)))
            total["overdue_now"] = overdue_total
        else:
            unit = {"code": row["code"], "name": row["name"] or nameless}
            figures = figures_of(row, hours.get((False, row["unit"])), into=unit)
            unit["overdue_now"] = overdue.get(row["unit"], 0)
            result_units.append(unit)
        figures["by_channel"] = split_counts(row, "ch:")
        figures["by_category"] = split_counts(row, "cat:")
    result_units.sort(key=lambda u: (u["code"] is None, u["code"] or ""))
    return {
        "level": level,
        "period": {"label": period.label, "from": period.start.isoformat(), "to": period.end.isoformat()},
        "within": within,
        "units": result_units,
        "total": total,
    }


def _mondays(period: Period) -> list[dt.datetime]:
    """Local midnights of the Mondays from the week holding the period's start to past its end."""
    day = period.start.date() - dt.timedelta(days=period.start.weekday())
    out: list[dt.datetime] = []
    while not out or out[-1] < period.end:
        out.append(dt.datetime.combine(day, dt.time(0), tzinfo=period.start.tzinfo))
        day += dt.timedelta(days=7)
    return out


_TREND_KEYS = {
    "week": "width_bucket(r.created_at, CAST(:mondays AS timestamptz[]))",
    "channel": "r.channel",
    "grp": "left(r.category_code, 2)",
}


def trend(session: Session, period: Period, within: str | None = None, totals: dict | None = None) -> dict:
    """Reports, closed and on time per week, and reports per channel and category group, for
    the charts above the table. ``totals``: the indicators' total for the same period and area,
    whose per-channel and per-group counts are taken instead of being counted again (the
    dashboard asks for both: half the trend's time). Weeks are found by ``width_bucket`` over the
    period's Mondays (a binary search per report, cheaper than ``date_trunc`` in the local time
    zone). Without ``totals``, counted per (week, channel, group) first — one parallel pass;
    grouping sets over the reports themselves cannot run in parallel — and those few thousand rows
    summed per week, channel and group after."""
    mondays = _mondays(period)
    params = {"start": period.start, "end": period.end, "within": within, "mondays": mondays}
    figures = ("reports", "closed", "on_time")
    counted = totals is not None
    keys = ("week",) if counted else ("week", "channel", "grp")
    rows = (
        session.execute(
            text(f"""
        WITH fine AS (
            SELECT {", ".join(f"{_TREND_KEYS[k]} AS {k}" for k in keys)},
                   {count_columns((name, FIGURES[name]) for name in figures)}
            FROM reports r
            WHERE r.created_at >= :start AND r.created_at < :end {_in_area(within)}
            GROUP BY {", ".join(str(i) for i in range(1, len(keys) + 1))})
        SELECT {", ".join(keys)}, {", ".join(f"sum({name})::int AS {name}" for name in figures)}
        FROM fine GROUP BY GROUPING SETS ({", ".join(f"({k})" for k in keys)})
    """),
            params,
        )
        .mappings()
        .all()
    )
    if totals is not None:
        by_channel, by_group = totals["by_channel"], totals["by_category"]
    else:
        by_channel = {r["channel"]: r["reports"] for r in rows if r["channel"] is not None}
        by_group = {r["grp"]: r["reports"] for r in rows if r["grp"] is not None}
    weeks = sorted((r for r in rows if r["week"] is not None), key=lambda r: r["week"])
    groups = text("SELECT code, name, name_en, kind FROM categories WHERE parent_code IS NULL")
    names = display_names(session.execute(groups).all(), current_locale())
    return {
        "weeks": [
            {
                "week": mondays[r["week"] - 1].date().isoformat(),
                "reports": r["reports"],
                "closed": r["closed"],
                "on_time": r["on_time"],
            }
            for r in weeks
        ],
        "by_channel": by_channel,
        "by_category": sorted(
            ({"code": code, "name": names.get(code, code), "reports": n} for code, n in by_group.items()),
            key=lambda c: -c["reports"],
        ),
    }


EXPORT_COLUMNS = (
    "code",
    "name",
    "reports",
    "voided",
    "opened",
    "due",
    "closed",
    "on_time",
    "closure_rate",
    "on_time_rate",
    "rework_rate",
    "solved_locally_share",
    "median_hours",
    "p90_hours",
    "overdue_now",
    "confirmed",
    "grade",
)


EXPORT_HEADINGS = {
    "code": _("code"),
    "name": _("name"),
    "reports": _("reports"),
    "voided": _("voided"),
    "opened": _("opened"),
    "due": _("due"),
    "closed": _("closed"),
    "on_time": _("closed on time"),
    "closure_rate": _("closure rate"),
    "on_time_rate": _("on-time rate"),
    "rework_rate": _("rework rate"),
    "solved_locally_share": _("solved on the spot"),
    "median_hours": _("median hours"),
    "p90_hours": _("p90 hours"),
    "overdue_now": _("overdue now"),
    "confirmed": _("confirmed by others"),
    "grade": _("grade"),
}


def table_rows(result: dict) -> list[list]:
    """The indicator table as rows (header first, the total last) for CSV and XLSX, as text a
    spreadsheet takes: headings and names in the reader's language."""
    out: list[list] = [[EXPORT_HEADINGS[c] for c in EXPORT_COLUMNS]]
    for unit in result["units"]:
        out.append([unit.get(c) for c in EXPORT_COLUMNS])
    out.append([_("total"), "", *[result["total"].get(c) for c in EXPORT_COLUMNS[2:]]])
    return texts(out)
