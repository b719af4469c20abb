"""The category tree: GB/T 30428.2 components (部件) and events (事件), plus community governance.

Kept here as data; ``sync_categories`` upserts it, so ``gridwatch db migrate`` keeps every
database's reference list current. Time limits are handling hours from dispatch.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gis.errors import Invalid, NotFound
from gis.i18n import _
from gis.models import PRIVACY_CLASSES, Category

# (code, name, English name, handling time limit in hours); a two-digit code opens a group.
TREE: dict[str, list[tuple[str, str, str, float | None]]] = {
    "component": [
        ("01", "公用设施", "Public facilities", None),
        ("0101", "上水井盖", "Water-main cover", 4),
        ("0102", "污水井盖", "Sewer cover", 4),
        ("0103", "路灯", "Street lamp", 48),
        ("0104", "消防栓", "Fire hydrant", 24),
        ("02", "道路交通", "Road traffic", None),
        ("0201", "交通信号灯", "Traffic signal", 24),
        ("0202", "护栏", "Guardrail", 72),
        ("0203", "道路破损", "Damaged road surface", 72),
        ("03", "市容环境", "City appearance", None),
        ("0301", "垃圾桶", "Litter bin", 48),
        ("0302", "公厕", "Public toilet", 48),
        ("04", "园林绿化", "Greenery", None),
        ("0401", "行道树", "Street tree", 72),
        ("0402", "绿地", "Green space", 120),
        ("05", "房屋土地", "Buildings and land", None),
        ("0501", "房屋外立面", "Building facade", 72),
        ("06", "其他设施", "Other facilities", None),
        ("0601", "健身设施", "Fitness equipment", 72),
    ],
    "event": [
        ("11", "市容环境", "City appearance", None),
        ("1101", "暴露垃圾", "Exposed rubbish", 24),
        ("1102", "乱堆物料", "Piled materials", 48),
        ("12", "宣传广告", "Advertising", None),
        ("1201", "非法小广告", "Illegal flyers", 24),
        ("13", "施工管理", "Construction", None),
        ("1301", "施工扰民", "Construction noise", 24),
        ("1302", "道路遗撒", "Spillage on the road", 8),
        ("14", "突发事件", "Emergencies", None),
        ("1401", "路面塌陷", "Road collapse", 2),
        ("1402", "水管爆裂", "Burst water pipe", 2),
        ("15", "街面秩序", "Street order", None),
        ("1501", "占道经营", "Street vending", 8),
        ("1502", "违章停车", "Illegal parking", 8),
        ("16", "其他事件", "Other events", None),
        ("1601", "其他", "Other", 72),
    ],
    "community": [
        ("21", "矛盾纠纷", "Disputes", None),
        ("2101", "邻里纠纷", "Neighbour dispute", 72),
        ("2102", "物业纠纷", "Property-management dispute", 120),
        ("22", "治安隐患", "Security hazards", None),
        ("2201", "可疑人员", "Suspicious persons", 2),
        ("2202", "门禁损坏", "Broken entry door", 48),
        ("23", "消防隐患", "Fire hazards", None),
        ("2301", "楼道电动车充电", "E-bike charging in stairwell", 4),
        ("2302", "消防通道堵塞", "Blocked fire lane", 4),
        ("24", "环境卫生", "Sanitation", None),
        ("2401", "楼道堆物", "Clutter in stairwell", 48),
        ("2402", "垃圾未清运", "Rubbish not collected", 24),
        ("25", "民生诉求", "Resident requests", None),
        ("2501", "困难帮扶", "Hardship assistance", 120),
        ("2502", "设施报修", "Repair request", 72),
    ],
}


# Who may read a group's cases (gis/models.PRIVACY_CLASSES; its sub-categories inherit it): the
# tree's default for a new category; admins change it afterwards (``set_privacy``), and a sync
# leaves their choice alone.
PRIVACY = {"21": "personal", "22": "personal", "25": "personal", "23": "internal", "24": "internal"}
DEFAULT_PRIVACY = "public"
# The disputes (矛盾纠纷) group: its cases run the mediation path (gis/cases/mediation.py).
DISPUTES = "21"


def is_dispute(category_code: str | None) -> bool:
    return category_code is not None and category_code[:2] == DISPUTES and len(category_code) > 2


def rows() -> list[dict]:
    out, sort = [], 0
    for kind, entries in TREE.items():
        for code, name, name_en, limit in entries:
            sort += 1
            out.append(
                dict(
                    code=code,
                    parent_code=code[:2] if len(code) > 2 else None,
                    kind=kind,
                    name=name,
                    name_en=name_en,
                    time_limit_hours=limit,
                    sort=sort,
                    privacy=PRIVACY.get(code[:2], DEFAULT_PRIVACY),
                )
            )
    return out


def sync_categories(session: Session) -> int:
    """Upsert the standard tree (groups before leaves, for the parent key); a category's privacy
    is set when it is new and stays as the admins left it."""
    data = sorted(rows(), key=lambda r: len(r["code"]))
    stmt = insert(Category).values(data)
    stmt = stmt.on_conflict_do_update(
        index_elements=[Category.code],
        set_={
            c: stmt.excluded[c]
            for c in ("parent_code", "kind", "name", "name_en", "time_limit_hours", "sort")
        },
    )
    session.execute(stmt)
    session.flush()
    return len(data)


def set_privacy(session: Session, code: str, privacy: str) -> Category:
    """An admin's choice of who may read a category's cases (a group's applies to its leaves too)."""
    if privacy not in PRIVACY_CLASSES:
        raise Invalid(_("privacy must be one of %(items)s", items=", ".join(PRIVACY_CLASSES)))
    category = session.get(Category, code)
    if category is None:
        raise NotFound(_("no category %(code)s", code=code))
    session.execute(
        update(Category)
        .where((Category.code == code) | (Category.parent_code == code))
        .values(privacy=privacy)
        .execution_options(synchronize_session="fetch")
    )
    session.flush()
    return category


def leaf_codes(session: Session) -> list[str]:
    return list(
        session.scalars(
            select(Category.code).where(Category.parent_code.is_not(None)).order_by(Category.sort)
        )
    )


KIND_NAMES = {"component": _("component"), "event": _("event"), "community": _("community affairs")}


def category_name(category, locale: str) -> str:
    """A category's standard name in ``locale`` (Chinese: 名称; English: its English name)."""
    return category.name if locale.startswith("zh") else category.name_en


def display_names(categories, locale: str) -> dict[str, str]:
    """Each category's name as a list shows it: with its kind (部件 / 事件) where the same name
    stands for more than one (市容环境 is a component group and an event group)."""
    seen: dict[str, int] = {}
    for c in categories:
        seen[category_name(c, locale)] = seen.get(category_name(c, locale), 0) + 1
    return {
        c.code: category_name(c, locale)
        + (f" ({KIND_NAMES[c.kind].in_locale(locale)})" if seen[category_name(c, locale)] > 1 else "")
        for c in categories
    }
