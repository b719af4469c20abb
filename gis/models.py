"""The GridWatch schema: one table a domain concept, geometry in EPSG:4326 with GiST indexes.

The schema itself is made by Alembic (``migrations/``); a test checks these models equal it.
"""

from __future__ import annotations

import datetime as dt
import uuid

from geoalchemy2 import Geometry
from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from gis.i18n import LOCALES, _, restored, stored

SRID = 4326
AREA_LEVELS = ("district", "street", "community", "grid")
# Code length per level (CJ/T 213): 6-digit county code + 3 street + 3 community + 3 grid.
CODE_LENGTH = {"district": 6, "street": 9, "community": 12, "grid": 15}
EMAIL_DIGESTS = ("off", "hourly", "daily")  # how often a person's inbox is mailed to them
ROLES = ("admin", "supervisor", "dispatcher", "grid_worker", "department", "planner", "volunteer")
LEVEL_NAMES = {
    "district": _("district"),
    "street": _("street"),
    "community": _("community"),
    "grid": _("grid"),
}
ROLE_NAMES = {
    "admin": _("admin"),
    "supervisor": _("supervisor"),
    "dispatcher": _("dispatcher"),
    "grid_worker": _("grid worker"),
    "department": _("department"),
    "planner": _("planner"),
    "volunteer": _("volunteer"),
}
CHANNELS = ("app", "hotline", "patrol", "volunteer", "video", "public")
CHANNEL_NAMES = {
    "app": _("grid worker's phone"),
    "hotline": _("hotline"),
    "patrol": _("patrol"),
    "volunteer": _("volunteer"),
    "video": _("video"),
    "public": _("the public"),
}
RESPONSE_LEVEL_NAMES = {"community": _("community"), "street": _("street"), "district": _("district")}
# The loop's statuses and their kind, the one home of "open": a case is open until it has ended.
# Everything else is derived from this table — the tuples below, the SQL, and (through their
# migrations) the partial indexes on open cases and the triggers keeping the figures;
# tests/test_status_kinds.py checks the migrated database says the same.
STATUS_KINDS = {
    "reported": "open",
    "accepted": "open",
    "voided": "ended",
    "opened": "open",
    "dispatched": "open",
    "handled": "open",
    "verified": "open",
    "closed": "ended",
}
REPORT_STATUSES = tuple(STATUS_KINDS)
# How the field calls each status (数字城管): what a case's badge, list and timeline show.
STATUS_NAMES = {
    "reported": _("reported"),
    "accepted": _("accepted"),
    "voided": _("voided"),
    "opened": _("opened"),
    "dispatched": _("dispatched"),
    "handled": _("handled"),
    "verified": _("verified"),
    "closed": _("closed"),
}
RESPONSE_LEVELS = ("community", "street", "district")
# Who may read a category's cases (gis/cases/policy.py): ``public`` ones are published on Open311
# (masked), ``internal`` ones stay with staff in scope, ``personal`` ones (disputes, security,
# households' requests) are masked in lists outside their handlers and every other read recorded.
PRIVACY_CLASSES = ("public", "internal", "personal")
PHOTO_KINDS = ("report", "after", "verify", "confirm")
PRIVACY_NAMES = {"public": _("public"), "internal": _("internal"), "personal": _("personal")}
ENDED_STATUSES = tuple(sorted(s for s, kind in STATUS_KINDS.items() if kind == "ended"))
OPEN_STATUSES = frozenset(s for s, kind in STATUS_KINDS.items() if kind == "open")
# An open case in SQL, spelled literally (not a bound parameter) so that the partial indexes on
# open cases, made with this very text, apply to the queries that use it.
OPEN_CASE_SQL = "status NOT IN ({})".format(", ".join(f"'{s}'" for s in ENDED_STATUSES))
ENDED_CASE_SQL = "status IN ({})".format(", ".join(f"'{s}'" for s in ENDED_STATUSES))

# What a household is known for (the grid worker's care list): the flags, in the order lists show
# them (the first ones first); an elderly person living alone unvisited for ALONE_RED_DAYS is red.
HOUSEHOLD_FLAGS = ("elderly_alone", "special_care", "low_income", "rented")
HOUSEHOLD_FLAG_NAMES = {
    "elderly_alone": _("elderly living alone"),
    "special_care": _("special care"),
    "low_income": _("low income"),
    "rented": _("rented"),
}
# The people linked to a building: residents (a household's contacts), building heads (楼栋长) and
# unit heads (单元长).
PERSON_KINDS = ("resident", "building_head", "unit_head")
PERSON_KIND_NAMES = {
    "resident": _("resident"),
    "building_head": _("building head"),
    "unit_head": _("unit head"),
}

# The community's own organisations (gis/people/volunteers.py): its volunteer teams' kinds, the
# actions that earn points (each worth what the rule in force on its day says), the mediation
# path's levels from the first layer up, a step's outcome and a follow-up call's answer.
TEAM_KINDS = ("patrol", "information", "mediation", "sanitation", "care", "other")
TEAM_KIND_NAMES = {
    "patrol": _("security patrol"),
    "information": _("information gathering"),
    "mediation": _("dispute mediation"),
    "sanitation": _("environment and sanitation"),
    "care": _("care and concern"),
    "other": _("other"),
}
POINT_ACTIONS = ("report_accepted", "patrol_hour", "dispute_mediated", "head_visit")
POINT_ACTION_NAMES = {
    "report_accepted": _("a report accepted"),
    "patrol_hour": _("an hour of patrol"),
    "dispute_mediated": _("a dispute mediated"),
    "head_visit": _("a visit with a building head"),
}
MEDIATION_LEVELS = ("neighbours", "party_member", "committee", "judicial")
MEDIATION_LEVEL_NAMES = {
    "neighbours": _("neighbours and building head"),
    "party_member": _("senior party member"),
    "committee": _("community mediation committee"),
    "judicial": _("judicial mediation"),
}
MEDIATION_OUTCOMES = ("resolved", "not_resolved", "referred")
MEDIATION_OUTCOME_NAMES = {
    "resolved": _("resolved"),
    "not_resolved": _("not resolved"),
    "referred": _("referred up"),
}
SATISFACTION = ("satisfied", "basically", "unsatisfied")
SATISFACTION_NAMES = {
    "satisfied": _("satisfied"),
    "basically": _("basically satisfied"),
    "unsatisfied": _("unsatisfied"),
}
NETWORK_ROLES = ("manager", "co_manager")
NETWORK_ROLE_NAMES = {"manager": _("grid manager"), "co_manager": _("grid co-manager")}
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class WithMessages(TypeDecorator):
    """JSONB whose messages keep their msgid (gis.i18n.stored): read back, they speak the reader's
    language."""

    impl = JSONB
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return stored(value)

    def process_result_value(self, value, dialect):
        return restored(value)


class ImportBatch(Base):
    """One planner import: what came in, from which file, with its validation report."""

    __tablename__ = "import_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))  # areas / buildings / tracks
    filename: Mapped[str] = mapped_column(Text)
    level: Mapped[str | None] = mapped_column(String(12))
    feature_count: Mapped[int] = mapped_column(Integer, default=0)
    report: Mapped[dict] = mapped_column(WithMessages, default=dict)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    replaced: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    undone_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    undone_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User | None] = relationship(foreign_keys=[user_id])


JOB_STATES = ("queued", "running", "done", "refused", "failed")


class ImportJob(Base):
    """A planner's import applied beside the web requests: where it stands (stage, percent), and
    how it ended (the report, the batch it made, or the error)."""

    __tablename__ = "import_jobs"
    __table_args__ = (CheckConstraint(_in("state", JOB_STATES), name="state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(20))
    filename: Mapped[str] = mapped_column(Text)
    options: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    state: Mapped[str] = mapped_column(String(10), default="queued", server_default="queued")
    stage: Mapped[dict | None] = mapped_column(WithMessages)
    percent: Mapped[float] = mapped_column(Float, default=0, server_default="0")
    report: Mapped[dict | None] = mapped_column(WithMessages)
    error: Mapped[dict | None] = mapped_column(WithMessages)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Area(Base):
    """A district, street, community or grid: one hierarchy of seamless polygons."""

    __tablename__ = "areas"
    __table_args__ = (
        CheckConstraint(_in("level", AREA_LEVELS), name="level"),
        CheckConstraint(
            "code ~ '^[0-9]+$' AND length(code) = CASE level WHEN 'district' THEN 6 "
            "WHEN 'street' THEN 9 WHEN 'community' THEN 12 ELSE 15 END",
            name="code_format",
        ),
        Index("ix_areas_level_parent", "level", "parent_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    level: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="RESTRICT"))
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    area_m2: Mapped[float] = mapped_column(Float)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    parent: Mapped[Area | None] = relationship(remote_side=[id])


class Building(Base):
    """A building (楼栋) with its head, floors and households; it belongs to one grid."""

    __tablename__ = "buildings"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    floors: Mapped[int | None] = mapped_column(Integer)
    households: Mapped[int | None] = mapped_column(Integer)
    head_name: Mapped[str | None] = mapped_column(Text)  # 楼栋长
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="SET NULL"), index=True)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id"))


def _undo_copy_of(table: Table) -> Table:
    """What an import replaced of ``table``: its rows whole, with their ids, and the batch
    (migration c2d3e4f5a6b7 makes it ``LIKE`` the table: same columns, no keys or indexes)."""
    columns = [
        Column(
            c.name,
            Geometry(c.type.geometry_type, srid=c.type.srid, spatial_index=False)
            if isinstance(c.type, Geometry)
            else c.type,
            nullable=c.nullable and not c.primary_key,
        )
        for c in table.columns
    ]
    return Table(
        f"undo_{table.name}",
        Base.metadata,
        *columns,
        Column("batch_id", ForeignKey("import_batches.id", ondelete="CASCADE"), nullable=False),
        Index(f"ix_undo_{table.name}_batch", "batch_id"),
    )


undo_areas = _undo_copy_of(Area.__table__)  # type: ignore[arg-type]
undo_buildings = _undo_copy_of(Building.__table__)  # type: ignore[arg-type]

# What an import changed on rows it kept: a report's grid, assignment and building, a building's
# grid, a child area's parent, a worker's grid (``entity``: report, building, child, user_grid).
undo_links = Table(
    "undo_links",
    Base.metadata,
    Column("batch_id", ForeignKey("import_batches.id", ondelete="CASCADE"), nullable=False),
    Column("entity", String(12), nullable=False),
    Column("id", Integer, nullable=False),
    Column("grid_id", Integer),
    Column("assignment", String(12)),
    Column("assignment_distance_m", Float),
    Column("building_id", Integer),
    Column("parent_id", Integer),
    Index("ix_undo_links_batch", "batch_id", "entity"),
)


class Category(Base):
    """A report category (GB/T 30428.2 components and events, plus community ones)."""

    __tablename__ = "categories"
    __table_args__ = (
        CheckConstraint(_in("kind", ("component", "event", "community")), name="kind"),
        CheckConstraint(_in("privacy", PRIVACY_CLASSES), name="privacy"),
    )

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    parent_code: Mapped[str | None] = mapped_column(ForeignKey("categories.code"))
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str] = mapped_column(Text)
    time_limit_hours: Mapped[float | None] = mapped_column(Float)  # handling limit, from dispatch
    sort: Mapped[int] = mapped_column(Integer, default=0)
    privacy: Mapped[str] = mapped_column(String(8), default="internal", server_default="internal")


class Department(Base):
    """A professional department (专业部门) that handles dispatched cases."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(Text)


user_grids = Table(
    "user_grids",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True),
)


class User(Base):
    """A person who logs in. ``area_code`` bounds a supervisor's or dispatcher's cases to a district,
    street or community (NULL: the whole territory); a code, not a key, so an area re-imported
    under the same code keeps its people and a vanished one shows them nothing rather than all.
    ``session_version`` is in every session and remember-cookie: raising it (log-out, a new
    password) ends them all."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(_in("role", ROLES), name="role"),
        CheckConstraint("area_code ~ '^[0-9]{6}([0-9]{3}){0,2}$'", name="area_code"),
        CheckConstraint(_in("locale", LOCALES), name="locale"),
        CheckConstraint(_in("email_digest", EMAIL_DIGESTS), name="email_digest"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(Text)
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    area_code: Mapped[str | None] = mapped_column(String(12))
    session_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    locale: Mapped[str | None] = mapped_column(String(16))  # NULL: the browser's, then Chinese
    my_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # /my, last looked
    inbox_seen_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # /inbox, last looked
    # a department's lead assigns its cases to its members (gis.cases.lifecycle's "assign")
    department_lead: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    email: Mapped[str | None] = mapped_column(Text)
    email_digest: Mapped[str] = mapped_column(String(8), default="off", server_default="off")
    emailed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # the last digest
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    grids: Mapped[list[Area]] = relationship(secondary=user_grids)
    department: Mapped[Department | None] = relationship()


# the characters and character pairs of a case's description, address and notes, as ix_reports_search
# holds them (written as PostgreSQL writes the index back, so the migrations and models compare
# equal and the planner matches it in a query)
SEARCHED_GRAMS = (
    "gridwatch_grams((((COALESCE(description, ''::text) || ' '::text) || COALESCE(address, ''::text))"
    " || ' '::text) || COALESCE(notes, ''::text))"
)


# a status's place in the loop (reported first), as ix_reports_loop_order holds it
LOOP_ORDER = (
    "array_position(ARRAY["
    + ", ".join(f"'{status}'::text" for status in REPORT_STATUSES)
    + "], status::text)"
)


class Report(Base):
    """A located report (事件/案件) and where it stands in the closed loop.

    ``version`` is the optimistic lock: an update carrying an older version is refused.
    """

    __tablename__ = "reports"
    __table_args__ = (
        CheckConstraint(_in("status", REPORT_STATUSES), name="status"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("response_level", RESPONSE_LEVELS), name="response_level"),
        # a closed case always says when: the indicators count it as due without asking its deadline
        CheckConstraint("status <> 'closed' OR closed_at IS NOT NULL", name="closed_at"),
        Index("ix_reports_status_deadline", "status", "deadline_at"),
        Index("ix_reports_created_at", "created_at"),
        # the nav's inbox count: the cases changed since a person last looked (gis.cases.inbox)
        Index("ix_reports_updated_at", "updated_at"),
        # the map and the indicators count open cases per grid on every view: only open rows indexed
        Index("ix_reports_open_grid", "grid_id", "deadline_at", postgresql_where=text(OPEN_CASE_SQL)),
        # the map's default view: open cases in a viewport, without visiting the closed 90 %
        Index("ix_reports_open_geom", "geom", postgresql_using="gist", postgresql_where=text(OPEN_CASE_SQL)),
        # the map's bubbles count open cases per area from area_figures, and these (few) apart
        Index(
            "ix_reports_open_unassigned_geom",
            "geom",
            postgresql_using="gist",
            postgresql_where=text(f"{OPEN_CASE_SQL} AND grid_id IS NULL"),
        ),
        # /cases sorted by any column: a page read from an index's end (ties by id, so a million
        # cases without a department are not sorted to find the first 50)
        Index("ix_reports_category_code", "category_code", "id"),
        Index("ix_reports_grid_id", "grid_id", "id"),
        Index("ix_reports_department_id", "department_id", "id"),
        Index("ix_reports_deadline", "deadline_at", "id"),
        Index("ix_reports_loop_order", text(LOOP_ORDER), "id"),
        # words in a case's text: their characters and pairs (migration f5a6b7c8d9e0, gis.cases.listing)
        Index("ix_reports_search", text(SEARCHED_GRAMS), postgresql_using="gin"),
        Index("ix_reports_assignee_id", "assignee_id", "id"),
        Index("ix_reports_verifier_id", "verifier_id", postgresql_where=text("verifier_id IS NOT NULL")),
        # the escalation's candidates (gis.cases.escalation): open dispatched cases by deadline
        Index(
            "ix_reports_escalation",
            "deadline_at",
            postgresql_where=text("status IN ('dispatched', 'handled') AND response_level <> 'district'"),
        ),
        # the indicators' median and p90: closed cases' durations by period, read from the index alone
        Index(
            "ix_reports_closed",
            "created_at",
            postgresql_include=["grid_id", "department_id", "closed_at"],
            postgresql_where=text("status = 'closed'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)
    original_crs: Mapped[str] = mapped_column(String(8), default="wgs84")
    original_lon: Mapped[float] = mapped_column(Float)
    original_lat: Mapped[float] = mapped_column(Float)
    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(Text)
    channel: Mapped[str] = mapped_column(String(10), default="app")
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reporter_contact: Mapped[str | None] = mapped_column(Text)  # hotline / Open311 callers
    notes: Mapped[str | None] = mapped_column(Text)  # the steps' notes, oldest first: what search reads
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="SET NULL"))
    assignment: Mapped[str] = mapped_column(String(12), default="inside")  # inside/nearest/unassigned
    assignment_distance_m: Mapped[float | None] = mapped_column(Float)
    building_id: Mapped[int | None] = mapped_column(
        ForeignKey("buildings.id", ondelete="SET NULL"), index=True
    )  # a building's page lists its cases
    status: Mapped[str] = mapped_column(String(12), default="reported")
    response_level: Mapped[str] = mapped_column(String(10), default="community")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id")
    )  # who in the department handles it
    verifier_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # a grid worker asked to verify
    resolved_locally: Mapped[bool] = mapped_column(Boolean, default=False)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    # people who confirmed the case from its place ("我也看到了") instead of reporting it again
    confirmations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # a dispatcher let it be verified without anyone on site (with a note saying why)
    site_check_waived: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    opened_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # 立案
    dispatched_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    deadline_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}

    category: Mapped[Category] = relationship()
    grid: Mapped[Area | None] = relationship()
    department: Mapped[Department | None] = relationship()
    reporter: Mapped[User | None] = relationship(foreign_keys=[reporter_id])
    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    verifier: Mapped[User | None] = relationship(foreign_keys=[verifier_id])
    events: Mapped[list[ReportEvent]] = relationship(order_by="ReportEvent.id", back_populates="report")
    photos: Mapped[list[ReportPhoto]] = relationship(order_by="ReportPhoto.id")


# The category groups (two-digit codes of gis/categories.TREE) final_case_counts has a column for:
# a new group needs a migration adding its column (until then the indicators judge every report).
COUNTED_GROUPS = (
    "01",
    "02",
    "03",
    "04",
    "05",
    "06",
    "11",
    "12",
    "13",
    "14",
    "15",
    "16",
    "21",
    "22",
    "23",
    "24",
    "25",
)
# The indicator counts per ended case; ``gis.indicators.FIGURES`` says what each counts.
FINAL_COUNTS = (
    "reports",
    "voided",
    "opened",
    "due",
    "closed",
    "on_time",
    "handled",
    "reworked",
    "solved_locally",
    "confirmed",
    *(f"ch:{c}" for c in CHANNELS),
    *(f"cat:{g}" for g in COUNTED_GROUPS),
)


def _kept_per_key_and_month(name: str, *columns: Column) -> Table:
    """A table the triggers on ``reports`` keep of the ended cases, one row per (keyed_by, key,
    month): ``key`` is the ``keyed_by`` column of the reports (NULL: none), ``month`` the first
    instant of a local month in Asia/Shanghai."""
    return Table(
        name,
        Base.metadata,
        Column("id", BigInteger, primary_key=True),
        Column("keyed_by", String(16), nullable=False),
        Column("key", Integer),
        Column("month", DateTime(timezone=True), nullable=False),
        *columns,
        CheckConstraint("keyed_by IN ('grid_id', 'department_id')", name="keyed_by"),
        UniqueConstraint(
            "keyed_by", "key", "month", name=f"uq_{name}_key_month", postgresql_nulls_not_distinct=True
        ),
    )


# The indicator counts of the cases that will not change any more (closed or voided), per grid or
# department and local month of report: a year's indicators then sum ~110,000 of these rows
# instead of judging a million reports (gis/indicators.py). Kept by triggers on ``reports``
# (migration c6d7e8f9a0b1), so every writer — workflow, bench city, a deleted grid — keeps it
# exact. The counts are named as the indicators' columns.
final_case_counts = _kept_per_key_and_month(
    "final_case_counts", *(Column(name, Integer, nullable=False) for name in FINAL_COUNTS)
)
# The closed cases' whole seconds from report to closure: 4-byte big-endian integers one after the
# other (int4send, unordered), kept by the same triggers (migration c9d0e1f2a3b4); the indicators'
# median and p90 read them.
final_case_seconds = _kept_per_key_and_month(
    "final_case_seconds", Column("close_seconds", LargeBinary, nullable=False)
)


# What the map shows of each grid and community on every view, one row an area: buildings,
# households, open cases and their deadlines (sorted, none NULL; "overdue now" is how many lie
# before now()); a community's are the sums of its grids'. Kept by triggers on ``buildings``,
# ``reports`` and ``areas`` (migration d7e8f9a0b1c2); an area without a row has none of these.
area_figures = Table(
    "area_figures",
    Base.metadata,
    Column("area_id", ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True),
    Column("buildings", Integer, nullable=False, server_default="0"),
    Column("households", Integer, nullable=False, server_default="0"),
    Column("open", Integer, nullable=False, server_default="0"),
    Column("deadlines", ARRAY(DateTime(timezone=True)), nullable=False, server_default="{}"),
)


class ReportEvent(Base):
    """One transition of a report, append-only: who did what, when, from which state to which."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(WithMessages, default=dict)  # department, grid change, …
    # the department a dispatch sent the case to: it keeps reading the case after it is returned
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # a phone's retry is the same step

    report: Mapped[Report] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
    photos: Mapped[list[ReportPhoto]] = relationship(back_populates="event", order_by="ReportPhoto.id")

    __table_args__ = (
        Index(
            "ix_report_events_department",
            "department_id",
            "report_id",
            postgresql_where=text("department_id IS NOT NULL"),
        ),
        # the inbox's "mine, changed by others": the cases a person acted on
        Index("ix_report_events_actor", "actor_id", "report_id"),
        # a case climbs to each level once, whoever (or whichever server process) moves it
        Index(
            "uq_report_events_level",
            "report_id",
            text("(data ->> 'to_level')"),
            unique=True,
            postgresql_where=text("action = 'escalate'"),
        ),
        Index(
            "uq_report_events_client_id",
            "client_id",
            unique=True,
            postgresql_where=text("client_id IS NOT NULL"),
        ),
    )


class ReportPhoto(Base):
    """A photo of a report (resized JPEG), optionally attached to one of its events: the report's
    own, the department's after-photo, the verifier's, a confirmer's (``PHOTO_KINDS``)."""

    __tablename__ = "report_photos"
    __table_args__ = (CheckConstraint(_in("kind", PHOTO_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_events.id", ondelete="SET NULL"))
    content_type: Mapped[str] = mapped_column(String(40), default="image/jpeg")
    kind: Mapped[str] = mapped_column(String(10), default="report", server_default="report")
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    event: Mapped[ReportEvent | None] = relationship(back_populates="photos")


class PatrolTrack(Base):
    """One patrol: a GPX import or a live session from the phone, as cleaned line geometry."""

    __tablename__ = "patrol_tracks"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(8), default="gpx")  # gpx / live
    has_time: Mapped[bool] = mapped_column(Boolean, default=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    geom = mapped_column(Geometry("MULTILINESTRING", srid=SRID, spatial_index=True))
    # longest step between two fixes (m): how far from a grid a fix may lie and still belong to a
    # line passing it, so coverage of a few grids reads only the fixes near them (gis/patrols/coverage.py)
    max_step_m: Mapped[float | None] = mapped_column(Float)
    cleaning: Mapped[dict] = mapped_column(WithMessages, default=dict)  # what was dropped and why
    # radius (m) its per-grid reach is stored for in patrol_reach; NULL: not stored, computed live
    reach_radius_m: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PatrolReach(Base):
    """What one finished track covered in one grid, stored when the track is: a day's coverage then
    unions ~16 stored shapes per grid instead of ~40 buffers of passes (gis/patrols/coverage.py).
    ``reach`` is in the metric CRS it was computed in; the pieces are the track's minute pieces
    near the grid: start, end, and seconds spent inside the grid."""

    __tablename__ = "patrol_reach"

    track_id: Mapped[int] = mapped_column(
        ForeignKey("patrol_tracks.id", ondelete="CASCADE"), primary_key=True
    )
    grid_id: Mapped[int] = mapped_column(
        ForeignKey("areas.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    reach = mapped_column(Geometry("GEOMETRY", srid=-1, spatial_index=False))
    piece_starts: Mapped[list[dt.datetime]] = mapped_column(ARRAY(DateTime(timezone=True)))
    piece_ends: Mapped[list[dt.datetime]] = mapped_column(ARRAY(DateTime(timezone=True)))
    piece_seconds: Mapped[list[float]] = mapped_column(ARRAY(Float))


class PatrolPoint(Base):
    """A fix of a patrol track, kept for time-window coverage."""

    __tablename__ = "patrol_points"
    __table_args__ = (
        Index("ix_patrol_points_recorded_at", "recorded_at"),
        Index("ix_patrol_points_track_time", "track_id", "segment", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("patrol_tracks.id", ondelete="CASCADE"), index=True)
    segment: Mapped[int] = mapped_column(Integer, default=0)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    accuracy_m: Mapped[float | None] = mapped_column(Float)
    geom = mapped_column(Geometry("POINT", srid=SRID, spatial_index=True), nullable=False)


class StreetLine(Base):
    """A street centre line from the planners' line layer: what patrol street coverage measures."""

    __tablename__ = "street_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(Text)
    import_batch_id: Mapped[int | None] = mapped_column(ForeignKey("import_batches.id", ondelete="SET NULL"))
    geom = mapped_column(Geometry("MULTILINESTRING", srid=SRID, spatial_index=True), nullable=False)


undo_street_lines = _undo_copy_of(StreetLine.__table__)  # type: ignore[arg-type]


class ReplyTemplate(Base):
    """A department's ready-made note (常用语), or everyone's when it has no department."""

    __tablename__ = "reply_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class SavedFilter(Base):
    """A person's /cases filter, kept under a name (the list's query string)."""

    __tablename__ = "saved_filters"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)


class PersonalRead(Base):
    """A read of personal data — a ``personal`` case by someone who does not handle it; any read
    of a household, a person or the diary — who, when, what, and through which door. Listed for
    admins."""

    __tablename__ = "personal_reads"
    __table_args__ = (Index("ix_personal_reads_at", "at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(12))  # report, household, building, person, visits
    subject_id: Mapped[int] = mapped_column(Integer)
    via: Mapped[str] = mapped_column(Text)  # the page or endpoint
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    user: Mapped[User | None] = relationship()


class LoginFailures(Base):
    """Failed log-ins per account (``user:NAME``) and per address (``addr:IP``), for throttling
    (gis/accounts.py): shared by every server process."""

    __tablename__ = "login_failures"

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class BuildingUnit(Base):
    """A unit (单元, a stairwell) of a building: its households and its unit head."""

    __tablename__ = "building_units"
    __table_args__ = (UniqueConstraint("building_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)


class Household(Base):
    """A household (户) at a room of a building (and unit): its size and flags; its people are
    ``Person`` rows. ``last_visit_on`` is kept by a trigger on visits (migration a7b8c9d0e1f2),
    so "not visited in N days" reads one row per household."""

    __tablename__ = "households"
    __table_args__ = (
        CheckConstraint(
            "flags <@ ARRAY[{}]::text[]".format(", ".join(f"'{f}'" for f in HOUSEHOLD_FLAGS)), name="flags"
        ),
        CheckConstraint("size IS NULL OR size BETWEEN 0 AND 99", name="size"),
        Index("uq_households_room", "building_id", text("COALESCE(unit_id, 0)"), "room", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"))
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("building_units.id", ondelete="SET NULL"))
    room: Mapped[str] = mapped_column(Text)  # 门牌: 401
    address: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(Integer)
    flags: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default="{}")
    notes: Mapped[str | None] = mapped_column(Text)
    last_visit_on: Mapped[dt.date | None] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    unit: Mapped[BuildingUnit | None] = relationship()
    people: Mapped[list[Person]] = relationship(order_by="Person.id", viewonly=True)


class Person(Base):
    """A person linked to a building: a household's resident or contact, a building or unit head
    (who may log in: ``user_id``, a volunteer). Erasure clears the name and phone and keeps the row
    (``erased_at``), so the visits that met them still count."""

    __tablename__ = "people"
    __table_args__ = (CheckConstraint(_in("kind", PERSON_KINDS), name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="CASCADE"), index=True
    )
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("building_units.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    erased_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


# the words of a visit, as ix_visits_search holds them (as PostgreSQL writes the index back)
VISIT_GRAMS = (
    "gridwatch_grams((((COALESCE(met, ''::text) || ' '::text) || COALESCE(discussed, ''::text))"
    " || ' '::text) || COALESCE(needs, ''::text))"
)


class Visit(Base):
    """A visit of the people's diary (民情日记): a grid worker at a household or building, whom
    they met, what was said, what is needed, when to come back; it may have opened a report.
    ``grid_id`` is the building's grid on the day (the diary is read by grid)."""

    __tablename__ = "visits"
    __table_args__ = (
        Index("ix_visits_grid", "grid_id", text("visited_on DESC"), text("id DESC")),
        Index("ix_visits_user", "user_id", text("visited_on DESC"), text("id DESC")),
        Index("ix_visits_household", "household_id", text("visited_on DESC")),
        Index("ix_visits_visited_on", "visited_on"),
        Index("ix_visits_report", "report_id", postgresql_where=text("report_id IS NOT NULL")),
        Index(
            "ix_visits_follow_up",
            "user_id",
            "follow_up_on",
            postgresql_where=text("follow_up_on IS NOT NULL AND NOT follow_up_done"),
        ),
        Index("ix_visits_search", text(VISIT_GRAMS), postgresql_using="gin"),
        Index(
            "uq_visits_client_id", "client_id", unique=True, postgresql_where=text("client_id IS NOT NULL")
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    client_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)  # a phone's retry is the same visit
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id", ondelete="SET NULL"))
    building_id: Mapped[int] = mapped_column(ForeignKey("buildings.id", ondelete="CASCADE"), index=True)
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id", ondelete="SET NULL"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    visited_on: Mapped[dt.date] = mapped_column(Date)
    met: Mapped[str | None] = mapped_column(Text)
    met_person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    discussed: Mapped[str | None] = mapped_column(Text)
    needs: Mapped[str | None] = mapped_column(Text)
    follow_up_on: Mapped[dt.date | None] = mapped_column(Date)
    follow_up_done: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    photo: Mapped[bytes | None] = mapped_column(LargeBinary)  # a resized JPEG
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    user: Mapped[User | None] = relationship()


team_members = Table(
    "team_members",
    Base.metadata,
    Column("team_id", ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Team(Base):
    """A volunteer team of a community (治安巡防, 矛盾调解, …): its members are volunteers of that
    community (``team_members``), one of them its leader."""

    __tablename__ = "teams"
    __table_args__ = (
        CheckConstraint(_in("kind", TEAM_KINDS), name="kind"),
        UniqueConstraint("community_code", "name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    community_code: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(Text)
    leader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())

    members: Mapped[list[User]] = relationship(secondary=team_members, order_by="User.display_name")
    leader: Mapped[User | None] = relationship()


class PointRule(Base):
    """What one action is worth from ``effective_from`` on (积分规则): an action's points on a day
    are those of its latest rule effective by then, so a new rule leaves past months alone."""

    __tablename__ = "point_rules"
    __table_args__ = (
        CheckConstraint(_in("action", POINT_ACTIONS), name="action"),
        CheckConstraint("points >= 0 AND points <= 1000", name="points"),
        UniqueConstraint("action", "effective_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action: Mapped[str] = mapped_column(String(20))
    points: Mapped[float] = mapped_column(Float)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class MediationStep(Base):
    """One step of a dispute's mediation path (矛盾纠纷化解): at which level, by whom (a volunteer
    who logs in, or a name: a senior party member, the committee), when, and its outcome."""

    __tablename__ = "mediation_steps"
    __table_args__ = (
        CheckConstraint(_in("level", MEDIATION_LEVELS), name="level"),
        CheckConstraint(_in("outcome", MEDIATION_OUTCOMES), name="outcome"),
        Index("ix_mediation_steps_report", "report_id", "at"),
        Index("ix_mediation_steps_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    level: Mapped[str] = mapped_column(String(12))
    mediator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    mediator_name: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    outcome: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    mediator: Mapped[User | None] = relationship(foreign_keys=[mediator_id])


class FollowUp(Base):
    """The follow-up call (回访) after a dispute was resolved: one per case, with the answer."""

    __tablename__ = "follow_ups"
    __table_args__ = (CheckConstraint(_in("satisfaction", SATISFACTION), name="satisfaction"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"), unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    satisfaction: Mapped[str] = mapped_column(String(12))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Network(Base):
    """A named grid network laid over the main hierarchy (党建网格, 治安网格: 多网合一)."""

    __tablename__ = "networks"
    __table_args__ = (CheckConstraint("code ~ '^[a-z0-9_-]{1,20}$'", name="code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    name: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NetworkArea(Base):
    """An area of a network: its polygons do not overlap, so a point lies in at most one."""

    __tablename__ = "network_areas"
    __table_args__ = (UniqueConstraint("network_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    network_id: Mapped[int] = mapped_column(ForeignKey("networks.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(Text)
    geom = mapped_column(Geometry("MULTIPOLYGON", srid=SRID, spatial_index=True), nullable=False)
    area_m2: Mapped[float] = mapped_column(Float)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class NetworkAreaPerson(Base):
    """A person responsible for a network area: its manager, a co-manager (a party member who works
    with the building heads of the area's buildings); ``user_id`` when they log in."""

    __tablename__ = "network_area_people"
    __table_args__ = (CheckConstraint(_in("role", NETWORK_ROLES), name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    area_id: Mapped[int] = mapped_column(ForeignKey("network_areas.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
