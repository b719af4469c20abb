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
- median and p90 hours from report to closure; overdue now = open cases past their deadline today
  (whenever they were reported: that is the backlog a supervisor chases).
Grade: on-time closure rate as a score out of 100 — A ≥ 90, B 75-90, C 60-75, D 40-60, E < 40.

A grid worker's figures are those of the grids they are responsible for; a department's, of the
cases dispatched to it. Everything is a few GROUP BY statements over the period's reports.
"""
from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.errors import Invalid
from gis.models import CHANNELS, OPEN_CASE_SQL

LEVELS = ("district", "street", "community", "grid", "department", "worker")
GRADES = ((90, "A"), (75, "B"), (60, "C"), (40, "D"), (0, "E"))
MAX_PERIOD = dt.timedelta(days=366 * 3)

# The unit each report belongs to at each level: (code, name) expressions over the joins below.
_UNITS = {
    "grid": ("g.code", "g.name"),
    "community": ("cm.code", "cm.name"),
    "street": ("st.code", "st.name"),
    "district": ("d.code", "d.name"),
    "department": ("dep.code", "dep.name"),
    "worker": ("u.username", "u.display_name"),
}
_JOINS = """
    LEFT JOIN areas g ON g.id = r.grid_id
    LEFT JOIN areas cm ON cm.id = g.parent_id
    LEFT JOIN areas st ON st.id = cm.parent_id
    LEFT JOIN areas d ON d.id = st.parent_id
    LEFT JOIN departments dep ON dep.id = r.department_id
"""
_WORKER_JOIN = """
    JOIN user_grids ug ON ug.area_id = r.grid_id
    JOIN users u ON u.id = ug.user_id AND u.role = 'grid_worker'
"""
_COUNTS = """
    count(*) AS reports,
    count(*) FILTER (WHERE r.status = 'voided') AS voided,
    count(*) FILTER (WHERE r.opened_at IS NOT NULL) AS opened,
    count(*) FILTER (WHERE r.status <> 'voided'
                     AND (r.closed_at IS NOT NULL OR r.deadline_at < :now)) AS due,
    count(*) FILTER (WHERE r.status = 'closed') AS closed,
    count(*) FILTER (WHERE r.status = 'closed'
                     AND (r.deadline_at IS NULL OR r.closed_at <= r.deadline_at)) AS on_time,
    count(*) FILTER (WHERE r.rework_count > 0 OR (r.dispatched_at IS NOT NULL
                     AND r.status IN ('handled', 'verified', 'closed'))) AS handled,
    count(*) FILTER (WHERE r.rework_count > 0) AS reworked,
    count(*) FILTER (WHERE r.status = 'closed' AND r.resolved_locally) AS solved_locally,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.closed_at - r.created_at))
        FILTER (WHERE r.status = 'closed') / 3600 AS median_hours,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM r.closed_at - r.created_at))
        FILTER (WHERE r.status = 'closed') / 3600 AS p90_hours
"""


@dataclass(frozen=True)
class Period:
    """[start, end) in local time; ``label`` as the person asked for it."""
    start: dt.datetime
    end: dt.datetime
    label: str


def parse_period(value: str | None, tz: str = "Asia/Shanghai", today: dt.date | None = None,
                 date_from: dt.date | None = None, date_to: dt.date | None = None) -> Period:
    """A period from ``2026``, ``2026-Q4``, ``2026-11``, ``2026-W47``, ``2026-11-20``, ``last30``
    (days up to today), or ``from``/``to`` dates (both inclusive). Default: the last 30 days."""
    zone = ZoneInfo(tz)
    today = today or dt.datetime.now(zone).date()
    value = (value or "").strip()
    if date_from or date_to:
        start = date_from or (date_to - dt.timedelta(days=29))
        end = (date_to or today) + dt.timedelta(days=1)
        label = f"{start.isoformat()} – {(end - dt.timedelta(days=1)).isoformat()}"
    elif not value or re.fullmatch(r"last\d{1,4}", value):
        days = int(value[4:]) if value else 30
        if days < 1:
            raise Invalid("last<N> needs at least one day")
        start, end, label = today - dt.timedelta(days=days - 1), today + dt.timedelta(days=1), value or "last30"
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
            raise Invalid(f"{value} is not a week of that year") from None
        end, label = start + dt.timedelta(days=7), value.upper()
    elif m := re.fullmatch(r"(\d{4})-(\d{2})", value):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise Invalid(f"{value}: there is no month {month}")
        start = dt.date(year, month, 1)
        end = start + dt.timedelta(days=calendar.monthrange(year, month)[1])
        label = value
    else:
        try:
            start = dt.date.fromisoformat(value)
        except ValueError:
            raise Invalid("period must look like 2026, 2026-Q4, 2026-11, 2026-W47, 2026-11-20 or "
                          "last30") from None
        end, label = start + dt.timedelta(days=1), value
    if end <= start:
        raise Invalid("the period must end after it starts")
    if end - start > MAX_PERIOD:
        raise Invalid("a period may be at most three years long")
    midnight = dt.time(0, tzinfo=zone)
    return Period(dt.datetime.combine(start, midnight), dt.datetime.combine(end, midnight), label)


def grade(on_time_rate: float | None) -> str | None:
    if on_time_rate is None:
        return None
    score = 100 * on_time_rate
    return next(letter for floor, letter in GRADES if score >= floor)


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def _figures(row) -> dict:
    due, closed = row["due"], row["closed"]
    out = {k: row[k] for k in ("reports", "voided", "opened", "due", "closed", "on_time", "handled",
                               "reworked", "solved_locally")}
    out.update({
        "closure_rate": _ratio(closed, due),
        "on_time_rate": _ratio(row["on_time"], due),
        "rework_rate": _ratio(row["reworked"], row["handled"]),
        "solved_locally_share": _ratio(row["solved_locally"], closed),
        "median_hours": round(row["median_hours"], 2) if row["median_hours"] is not None else None,
        "p90_hours": round(row["p90_hours"], 2) if row["p90_hours"] is not None else None,
    })
    out["grade"] = grade(out["on_time_rate"])
    return out


def _unit_sql(level: str) -> tuple[str, str, str]:
    if level not in LEVELS:
        raise Invalid(f"level must be one of {', '.join(LEVELS)}")
    code, name = _UNITS[level]
    return code, name, _JOINS + (_WORKER_JOIN if level == "worker" else "")


def indicators(session: Session, level: str, period: Period, now: dt.datetime | None = None,
               within: str | None = None) -> dict:
    """Figures per unit of ``level`` and for all of them, for the reports created in ``period``.
    ``within``: an area code; only the reports in its grids count."""
    code, name, joins = _unit_sql(level)
    now = now or dt.datetime.now(dt.timezone.utc)
    params = {"start": period.start, "end": period.end, "now": now, "within": within}
    scope = "AND (CAST(:within AS text) IS NULL OR g.code LIKE :within || '%')"
    # channels and category groups as FILTER columns: one scan of the period, not two
    groups = list(session.scalars(text("SELECT code FROM categories WHERE parent_code IS NULL ORDER BY code")))
    split = "".join(f", count(*) FILTER (WHERE r.channel = '{c}') AS \"ch:{c}\"" for c in CHANNELS) + "".join(
        f", count(*) FILTER (WHERE r.category_code LIKE '{g}%') AS \"cat:{g}\"" for g in groups if g.isalnum())
    session.execute(text("SET LOCAL work_mem = '64MB'"))   # the percentiles sort in memory
    session.execute(text("SET LOCAL jit = off"))   # compiling ~120 expressions took longer than it saved
    rows = session.execute(text(f"""
        SELECT {code} AS code, min({name}) AS name, GROUPING({code}) = 1 AS total, {_COUNTS} {split}
        FROM reports r {joins}
        WHERE r.created_at >= :start AND r.created_at < :end {scope}
        GROUP BY GROUPING SETS (({code}), ())
    """), params).mappings().all()
    total_row = next(r for r in rows if r["total"])
    if level == "worker":   # a report in a grid with two workers counts once in the total
        total_row = session.execute(text(f"""
            SELECT {_COUNTS} FROM reports r {_JOINS}
            WHERE r.created_at >= :start AND r.created_at < :end {scope}
        """), params).mappings().one()
    overdue = dict(session.execute(text(f"""
        SELECT {code}, count(*) FROM reports r {joins}
        WHERE r.{OPEN_CASE_SQL} AND r.deadline_at < :now {scope}
        GROUP BY {code}
    """), params).all())

    def split_counts(row, prefix):
        return {k[len(prefix):]: row[k] for k in row.keys() if k.startswith(prefix) and row[k]}

    units = []
    for row in rows:
        if row["total"]:
            continue
        units.append({"code": row["code"], "name": row["name"] or ("unassigned" if level in
                      ("grid", "community", "street", "district") else "none"),
                      **_figures(row), "overdue_now": overdue.get(row["code"], 0),
                      "by_channel": split_counts(row, "ch:"),
                      "by_category": split_counts(row, "cat:")})
    units.sort(key=lambda u: (u["code"] is None, u["code"] or ""))
    overdue_total = sum(overdue.values()) if level != "worker" else session.scalar(text(f"""
        SELECT count(*) FROM reports r {_JOINS}
        WHERE r.{OPEN_CASE_SQL} AND r.deadline_at < :now {scope}"""), params)
    total = {**_figures(total_row), "overdue_now": overdue_total}
    return {"level": level, "period": {"label": period.label, "from": period.start.isoformat(),
                                       "to": period.end.isoformat()},
            "within": within, "units": units, "total": total}


def trend(session: Session, period: Period, within: str | None = None) -> dict:
    """Reports, closed and on time per week, and reports per channel and category group, for
    the charts above the table."""
    params = {"start": period.start, "end": period.end, "within": within,
              "tz": str(period.start.tzinfo)}
    rows = session.execute(text("""
        SELECT date_trunc('week', r.created_at AT TIME ZONE :tz)::date AS week, r.channel,
               left(r.category_code, 2) AS grp, count(*) AS reports,
               count(*) FILTER (WHERE r.status = 'closed') AS closed,
               count(*) FILTER (WHERE r.status = 'closed'
                                AND (r.deadline_at IS NULL OR r.closed_at <= r.deadline_at)) AS on_time
        FROM reports r LEFT JOIN areas g ON g.id = r.grid_id
        WHERE r.created_at >= :start AND r.created_at < :end
          AND (CAST(:within AS text) IS NULL OR g.code LIKE :within || '%')
        GROUP BY GROUPING SETS ((1), (r.channel), (left(r.category_code, 2)))
    """), params).mappings().all()
    weeks = sorted((r for r in rows if r["week"] is not None), key=lambda r: r["week"])
    names = dict(session.execute(text("SELECT code, name FROM categories WHERE parent_code IS NULL")).all())
    return {
        "weeks": [{"week": r["week"].isoformat(), "reports": r["reports"], "closed": r["closed"],
                   "on_time": r["on_time"]} for r in weeks],
        "by_channel": {r["channel"]: r["reports"] for r in rows if r["channel"] is not None},
        "by_category": sorted(({"code": r["grp"], "name": names.get(r["grp"], r["grp"]),
                                "reports": r["reports"]} for r in rows if r["grp"] is not None),
                              key=lambda c: -c["reports"]),
    }


EXPORT_COLUMNS = ("code", "name", "reports", "voided", "opened", "due", "closed", "on_time",
                  "closure_rate", "on_time_rate", "rework_rate", "solved_locally_share",
                  "median_hours", "p90_hours", "overdue_now", "grade")


def table_rows(result: dict) -> list[list]:
    """The indicator table as rows (header first, the total last) for CSV and XLSX."""
    out = [list(EXPORT_COLUMNS)]
    for unit in result["units"]:
        out.append([unit.get(c) for c in EXPORT_COLUMNS])
    out.append(["total", "", *[result["total"].get(c) for c in EXPORT_COLUMNS[2:]]])
    return out
