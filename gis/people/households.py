"""Households: imported from a spreadsheet with a match report, edited on the building's page.

An import reads every row first and writes only when every row found its one building: a row
matched to no building, to several, or holding a bad value refuses the whole file, with each row's
fate in the report — so a planner fixes the file and sends it again, and nothing is half written.
A row for a room already known updates that household (sending a file twice changes nothing).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.cases.policy import people_handled_by
from gis.errors import Forbidden, Invalid, NotFound
from gis.i18n import Message, _
from gis.limits import clean_text
from gis.models import HOUSEHOLD_FLAG_NAMES, HOUSEHOLD_FLAGS, Building, BuildingUnit, Household, Person

MAX_ROWS = 50_000
# A column's accepted headings (Chinese as the field writes them, English), lower-cased.
COLUMNS = {
    "building_id": ("building_id", "楼栋编号", "楼栋id"),
    "building": ("building", "楼栋", "楼栋名称", "楼栋名", "楼号"),
    "address": ("address", "地址", "住址"),
    "unit": ("unit", "单元"),
    "room": ("room", "门牌", "门牌号", "房号", "户号"),
    "size": ("size", "人数", "户人数", "家庭人数"),
    "flags": ("flags", "标记", "标签", "类别"),
    "contact": ("contact", "联系人", "户主", "姓名"),
    "phone": ("phone", "电话", "联系电话", "手机"),
    "notes": ("notes", "备注"),
}
FLAG_WORDS = {
    **{f: f for f in HOUSEHOLD_FLAGS},
    "独居老人": "elderly_alone",
    "独居": "elderly_alone",
    "重点关爱": "special_care",
    "低保户": "low_income",
    "低保": "low_income",
    "出租户": "rented",
    "出租": "rented",
}
OUTCOMES = ("matched", "ambiguous", "unmatched", "invalid")


@dataclass
class MatchReport:
    """What an import found for each row: ``rows`` [{row, outcome, building, reason, values}]."""

    file: str
    rows: list[dict] = field(default_factory=list)
    written: int = 0

    def count(self, outcome: str) -> int:
        return sum(1 for r in self.rows if r["outcome"] == outcome)

    @property
    def refused(self) -> bool:
        return any(r["outcome"] != "matched" for r in self.rows) or not self.rows

    def as_dict(self) -> dict:
        return {
            "file": self.file,
            "counts": {o: self.count(o) for o in OUTCOMES},
            "written": self.written,
            "rows": self.rows,
        }


class HouseholdsRefused(Invalid):
    """An import that wrote nothing, with its report."""

    def __init__(self, message: Message, report: MatchReport):
        super().__init__(message)
        self.report = report


# -- reading a file --------------------------------------------------------------------------------
def _decoded(data: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Invalid(_("the file is neither UTF-8 nor GBK text"))


def read_rows(name: str, data: bytes) -> list[dict]:
    """A CSV (UTF-8 or GBK) or XLSX file as rows of known columns (by their headings)."""
    if name.lower().endswith(".xlsx"):
        raw = _xlsx_rows(data)
    elif name.lower().endswith((".csv", ".txt")):
        raw = list(csv.reader(io.StringIO(_decoded(data))))
    else:
        raise Invalid(_("households come in a .csv or .xlsx file, not %(name)s", name=name))
    raw = [r for r in raw if any(str(c).strip() for c in r if c is not None)]
    if not raw:
        raise Invalid(_("the file has no rows"))
    if len(raw) > MAX_ROWS + 1:
        raise Invalid(_("at most %(count)s households a file", count=MAX_ROWS))
    headings = [str(h or "").strip().lower() for h in raw[0]]
    where: dict[str, int] = {}
    for column, names in COLUMNS.items():
        for i, heading in enumerate(headings):
            if heading in names:
                where.setdefault(column, i)
    if "room" not in where or not ({"building", "building_id", "address"} & set(where)):
        raise Invalid(
            _(
                "the first row must name the columns: a room (门牌) and a building (楼栋), its address "
                "(地址) or building_id; found %(headings)s",
                headings=", ".join(h for h in headings if h) or "—",
            )
        )
    return [{c: _cell(r[i] if i < len(r) else None) for c, i in where.items()} for r in raw[1:]]


def _cell(value) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() or None


def _xlsx_rows(data: bytes) -> list[list]:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not a workbook
        raise Invalid(_("this is not an .xlsx workbook (%(problem)s)", problem=str(exc)[:200])) from None
    try:
        return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()


# -- matching and writing ----------------------------------------------------------------------------
def _flags(value: str | None) -> list[str]:
    words = [
        w.strip() for w in (value or "").replace("，", ",").replace("、", ",").replace(";", ",").split(",")
    ]
    flags = []
    for word in filter(None, words):
        flag = FLAG_WORDS.get(word) or FLAG_WORDS.get(word.lower())
        if flag is None:
            raise Invalid(
                _(
                    "unknown flag %(word)s: one of %(flags)s",
                    word=repr(word),
                    flags=", ".join(str(n) for n in HOUSEHOLD_FLAG_NAMES.values()),
                )
            )
        if flag not in flags:
            flags.append(flag)
    return sorted(flags, key=HOUSEHOLD_FLAGS.index)


def _size(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        size = int(value)
    except ValueError:
        raise Invalid(_("size %(value)s is not a whole number", value=repr(value))) from None
    if not 0 <= size <= 99:
        raise Invalid(_("size %(value)s is not between 0 and 99", value=size))
    return size


def _values(row: dict) -> dict:
    """A row's values as stored, or Invalid saying which is wrong."""
    room = clean_text(row.get("room"), "room")
    if not room:
        raise Invalid(_("no room (门牌)"))
    return {
        "room": room,
        "unit": clean_text(row.get("unit"), "room"),
        "address": clean_text(row.get("address"), "address"),
        "size": _size(row.get("size")),
        "flags": _flags(row.get("flags")),
        "contact": clean_text(row.get("contact"), "contact"),
        "phone": clean_text(row.get("phone"), "phone"),
        "notes": clean_text(row.get("notes"), "note"),
    }


def _buildings_by(session: Session, column, keys: set[str]) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    if keys:
        for key, building_id in session.execute(
            select(func.btrim(column), Building.id).where(func.btrim(column).in_(keys)).order_by(Building.id)
        ):
            found.setdefault(key, []).append(building_id)
    return found


def match_rows(session: Session, name: str, rows: list[dict]) -> tuple[MatchReport, list[tuple[int, dict]]]:
    """Each row's building — by building_id, else by the building's name, else by its address —
    and its values; the report says what became of every row."""
    report = MatchReport(name)
    ids = {int(r["building_id"]) for r in rows if (r.get("building_id") or "").isdigit()}
    known_ids = set(session.scalars(select(Building.id).where(Building.id.in_(ids)))) if ids else set()
    by_name = _buildings_by(session, Building.name, {r["building"] for r in rows if r.get("building")})
    by_address = _buildings_by(session, Building.address, {r["address"] for r in rows if r.get("address")})
    matched = []
    for n, row in enumerate(rows, start=2):  # the spreadsheet's row numbers: 1 is the headings
        entry = {"row": n, "values": {k: v for k, v in row.items() if v is not None}}
        try:
            values = _values(row)
        except Invalid as exc:
            report.rows.append({**entry, "outcome": "invalid", "reason": exc.text})
            continue
        if row.get("building_id"):
            key = row["building_id"]
            candidates = [int(key)] if key.isdigit() and int(key) in known_ids else []
        elif row.get("building"):
            key = row["building"]
            candidates = by_name.get(key, [])
        else:
            key = row.get("address") or ""
            candidates = by_address.get(key, [])
        if len(candidates) == 1:
            report.rows.append({**entry, "outcome": "matched", "building": candidates[0]})
            matched.append((candidates[0], values))
        elif candidates:
            report.rows.append(
                {
                    **entry,
                    "outcome": "ambiguous",
                    "candidates": candidates[:10],
                    "reason": _(
                        "%(count)s buildings are called %(key)s: give the building_id",
                        count=len(candidates),
                        key=repr(key),
                    ),
                }
            )
        else:
            report.rows.append(
                {**entry, "outcome": "unmatched", "reason": _("no building %(key)s", key=repr(key))}
            )
    return report, matched


def _unit_id(session: Session, building_id: int, name: str | None, units: dict) -> int | None:
    if not name:
        return None
    key = (building_id, name)
    if key not in units:
        unit = session.scalar(
            select(BuildingUnit).where(BuildingUnit.building_id == building_id, BuildingUnit.name == name)
        )
        if unit is None:
            unit = BuildingUnit(building_id=building_id, name=name)
            session.add(unit)
            session.flush()
        units[key] = unit.id
    return units[key]


def write_household(session: Session, building_id: int, values: dict, units: dict | None = None) -> Household:
    """The household at ``values``' room (and unit) of the building, created or updated; its contact
    (a resident) replaced by the one given."""
    units = {} if units is None else units
    unit_id = _unit_id(session, building_id, values.get("unit"), units)
    household = session.scalar(
        select(Household).where(
            Household.building_id == building_id,
            func.coalesce(Household.unit_id, 0) == (unit_id or 0),
            Household.room == values["room"],
        )
    )
    if household is None:
        household = Household(building_id=building_id, unit_id=unit_id, room=values["room"])
        session.add(household)
    household.address = values.get("address")
    household.size = values.get("size")
    household.flags = values.get("flags") or []
    household.notes = values.get("notes")
    household.updated_at = func.now()
    session.flush()
    if values.get("contact") or values.get("phone"):
        contact = session.scalar(
            select(Person)
            .where(Person.household_id == household.id, Person.kind == "resident", Person.erased_at.is_(None))
            .order_by(Person.id)
            .limit(1)
        )
        if contact is None:
            contact = Person(
                kind="resident", household_id=household.id, building_id=building_id, unit_id=unit_id
            )
            session.add(contact)
        contact.name, contact.phone = values.get("contact"), values.get("phone")
        session.flush()
    return household


def import_households(session: Session, name: str, data: bytes, dry_run: bool = False) -> MatchReport:
    """A planner's or worker's spreadsheet of households: every row matched, or nothing written
    (``HouseholdsRefused`` with the report). The caller commits."""
    report, matched = match_rows(session, name, read_rows(name, data))
    if report.refused:
        raise HouseholdsRefused(
            _(
                "%(unmatched)s row(s) matched no building, %(ambiguous)s several, %(invalid)s hold a bad "
                "value: nothing was written",
                unmatched=report.count("unmatched"),
                ambiguous=report.count("ambiguous"),
                invalid=report.count("invalid"),
            )
            if report.rows
            else _("the file has no households"),
            report,
        )
    if not dry_run:
        units: dict = {}
        for building_id, values in matched:
            write_household(session, building_id, values, units)
        report.written = len(matched)
    return report


def read_file(path: str | Path) -> tuple[str, bytes]:
    path = Path(path)
    if not path.is_file():
        raise NotFound(_("no file %(path)s", path=str(path)))
    return path.name, path.read_bytes()


# -- editing on the building's page -------------------------------------------------------------------
def handled_building(session: Session, viewer, building_id: int) -> Building:
    """The building, if ``viewer`` handles its grid (its worker, the community's staff, an admin):
    they alone record visits and edit its households and heads."""
    handled = people_handled_by(viewer)
    row = session.execute(select(Building, handled.flag("handled")).where(Building.id == building_id)).first()
    if row is None:
        raise NotFound(_("no building %(id)s", id=building_id))
    if not row.handled:
        raise Forbidden(_("a building's households are kept by the grid's worker and the community's staff"))
    return row.Building


def save_household(session: Session, viewer, building_id: int, form: dict) -> Household:
    handled_building(session, viewer, building_id)
    return write_household(session, building_id, household_values(form))


def household_values(form: dict) -> dict:
    """A household form's values as stored (Invalid naming the field that is wrong)."""
    flags = form.get("flags") or []
    if isinstance(flags, str):
        flags = [flags]
    unknown = [f for f in flags if f not in HOUSEHOLD_FLAGS]
    if unknown:
        raise Invalid(_("unknown flag %(word)s", word=repr(unknown[0])), fields={"flags": _("unknown flag")})
    try:
        values = _values(
            {k: form.get(k) for k in ("room", "unit", "address", "size", "contact", "phone", "notes")}
        )
    except Invalid as exc:
        raise Invalid(exc.message, fields={"household": exc.message}) from None
    values["flags"] = sorted(set(flags), key=HOUSEHOLD_FLAGS.index)
    return values


def delete_household(session: Session, viewer, building_id: int, household_id: int) -> None:
    handled_building(session, viewer, building_id)
    household = session.get(Household, household_id)
    if household is None or household.building_id != building_id:
        raise NotFound(_("no household %(id)s in this building", id=household_id))
    session.delete(household)  # its visits stay, counted for the building (household_id SET NULL)
    session.flush()


def add_head(
    session: Session, viewer, building_id: int, kind: str, name: str, phone: str | None, unit: str | None
) -> Person:
    """A building head (楼栋长) or, with ``unit``, a unit head (单元长), with a contact phone."""
    handled_building(session, viewer, building_id)
    head_name = clean_text(name, "contact", required=True)
    head_phone = clean_text(phone, "phone")
    if kind not in ("building_head", "unit_head"):
        raise Invalid(_("a head is a building head or a unit head"))
    unit_id = None
    if kind == "unit_head":
        if not unit:
            raise Invalid(_("a unit head needs a unit"), fields={"unit": _("is required")})
        unit_id = _unit_id(session, building_id, clean_text(unit, "room"), {})
    head = Person(kind=kind, name=head_name, phone=head_phone, building_id=building_id, unit_id=unit_id)
    session.add(head)
    session.flush()
    return head


def flag_priority_sql(h: str = "households") -> str:
    """A household's place in a care list (its first flag's, flagless last), as SQL."""
    flags = ", ".join(repr(f) for f in HOUSEHOLD_FLAGS)
    return f"COALESCE(array_position(ARRAY[{flags}]::text[], {h}.flags[1]), 99)"
