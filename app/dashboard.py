"""Indicators for supervisors: the /dashboard page, its CSV/XLSX exports and GET /api/v1/stats.

The figures come from ``gis.indicators``; this module only reads the query string and picks the
format. Supervisors and dispatchers (and admins) see the figures of their area (the policy's
``stats_area``), the whole district when they have none.
"""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, jsonify, render_template, request
from openpyxl import Workbook
from openpyxl.styles import Font

from app.auth import current_viewer, roles_required
from app.database import db, reads
from app.openapi import Reply, operation, query_of
from app.params import period_arg, today
from app.schemas import Error, Stats, StatsQuery
from gis.cases.policy import stats_area
from gis.indicators import LEVEL_NAMES, LEVELS, indicators, table_rows, trend
from gis.people.diary import visits_per_worker
from gis.spreadsheets import csv_cell, looks_like_formula

bp = Blueprint("dashboard", __name__)
STAT_ROLES = ("supervisor", "dispatcher")


def _result(with_trend: bool = False) -> dict:
    level = query_of(StatsQuery).level
    within = stats_area(current_viewer(), (request.args.get("within") or "").strip() or None)
    period = period_arg()
    result = indicators(reads(), level, period, within=within)
    if with_trend:
        result["trend"] = trend(reads(), period, within, totals=result["total"])
    return result


@bp.get("/api/v1/stats")
@roles_required(*STAT_ROLES)
@operation(
    "Indicators (GB/T 30428.4) per unit of a level for a period, within the asker's area",
    query=StatsQuery,
    responses={200: Reply(Stats), "default": Reply(Error, description="refused: the error says why")},
    tags=("indicators",),
)
def stats(query: StatsQuery):
    return jsonify(_result(with_trend=query.trend == "1"))


@bp.get("/dashboard")
@roles_required(*STAT_ROLES)
def page():
    month = today().replace(day=1)
    return render_template(
        "dashboard.html",
        levels=LEVELS,
        level_names=LEVEL_NAMES,
        args=request.args,
        month=month,
        visit_workers=visits_per_worker(db(), current_viewer(), month),
    )


def _filename(result: dict, ext: str) -> str:
    label = result["period"]["label"].replace(" ", "").replace("–", "_")
    return f"gridwatch-{result['level']}-{label}.{ext}"


@bp.get("/dashboard/export.csv")
@roles_required(*STAT_ROLES)
def export_csv():
    result = _result()
    out = io.StringIO()
    csv.writer(out).writerows([csv_cell(v) for v in row] for row in table_rows(result))
    # with a BOM, Excel opens the Chinese names right
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv; charset=utf-8",
        headers={"Content-Disposition": f"attachment; filename={_filename(result, 'csv')}"},
    )


@bp.get("/dashboard/export.xlsx")
@roles_required(*STAT_ROLES)
def export_xlsx():
    result = _result()
    book = Workbook()
    sheet = book.active
    sheet.title = result["level"]
    for r, row in enumerate(table_rows(result), start=1):
        for c, value in enumerate(row, start=1):
            cell = sheet.cell(row=r, column=c, value=value)
            if looks_like_formula(value):
                cell.data_type = "s"  # kept as the text it is, never evaluated
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "C2"
    for column in ("I", "J", "K", "L"):  # the rates
        for cell in sheet[column][1:]:
            cell.number_format = "0.0%"
    out = io.BytesIO()
    book.save(out)
    return Response(
        out.getvalue(),
        headers={"Content-Disposition": f"attachment; filename={_filename(result, 'xlsx')}"},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
