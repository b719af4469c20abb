"""Households, their people, building units and heads, the people's diary (visits); volunteers

A household's ``last_visit_on`` is kept by a trigger on visits (``gridwatch_visit_seen``), so
"households not visited in N days" reads one row per household rather than their visits.

Revision ID: a7b8c9d0e1f2
Revises: f1a2b3c4d5e6
Create Date: 2026-12-03 16:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "a7b8c9d0e1f2"
down_revision = "f1a2b3c4d5e6"
branch_labels = None
depends_on = None

OLD_ROLES = "role IN ('admin', 'supervisor', 'dispatcher', 'grid_worker', 'department', 'planner')"
NEW_ROLES = (
    "role IN ('admin', 'supervisor', 'dispatcher', 'grid_worker', 'department', 'planner', 'volunteer')"
)
FLAGS = "flags <@ ARRAY['elderly_alone', 'special_care', 'low_income', 'rented']::text[]"
GRAMS = "gridwatch_grams(coalesce(met, '') || ' ' || coalesce(discussed, '') || ' ' || coalesce(needs, ''))"
TRIGGER = """
CREATE FUNCTION gridwatch_visit_seen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE households SET last_visit_on = NEW.visited_on
    WHERE id = NEW.household_id AND (last_visit_on IS NULL OR last_visit_on < NEW.visited_on);
    RETURN NULL;
END $$;
CREATE TRIGGER visits_seen AFTER INSERT ON visits
    FOR EACH ROW WHEN (NEW.household_id IS NOT NULL) EXECUTE FUNCTION gridwatch_visit_seen();
"""


def upgrade() -> None:
    op.drop_constraint(op.f("ck_users_role"), "users")
    op.create_check_constraint(op.f("ck_users_role"), "users", NEW_ROLES)
    op.create_table(
        "building_units",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "building_id", sa.Integer(), sa.ForeignKey("buildings.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("name", sa.Text(), nullable=False),
        sa.UniqueConstraint("building_id", "name", name=op.f("uq_building_units_building_id")),
    )
    op.create_table(
        "households",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "building_id", sa.Integer(), sa.ForeignKey("buildings.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("building_units.id", ondelete="SET NULL")),
        sa.Column("room", sa.Text(), nullable=False),
        sa.Column("address", sa.Text()),
        sa.Column("size", sa.Integer()),
        sa.Column("flags", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("notes", sa.Text()),
        sa.Column("last_visit_on", sa.Date()),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.CheckConstraint(FLAGS, name=op.f("ck_households_flags")),
        sa.CheckConstraint("size IS NULL OR size BETWEEN 0 AND 99", name=op.f("ck_households_size")),
    )
    op.create_index(
        "uq_households_room",
        "households",
        ["building_id", sa.text("COALESCE(unit_id, 0)"), "room"],
        unique=True,
    )
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("name", sa.Text()),
        sa.Column("phone", sa.Text()),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id", ondelete="CASCADE")),
        sa.Column(
            "building_id", sa.Integer(), sa.ForeignKey("buildings.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("unit_id", sa.Integer(), sa.ForeignKey("building_units.id", ondelete="SET NULL")),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("erased_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("kind IN ('resident', 'building_head', 'unit_head')", name=op.f("ck_people_kind")),
    )
    op.create_index("ix_people_household_id", "people", ["household_id"])
    op.create_index("ix_people_building_id", "people", ["building_id"])
    op.create_table(
        "visits",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("client_id", sa.Uuid()),
        sa.Column("household_id", sa.Integer(), sa.ForeignKey("households.id", ondelete="SET NULL")),
        sa.Column(
            "building_id", sa.Integer(), sa.ForeignKey("buildings.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("grid_id", sa.Integer(), sa.ForeignKey("areas.id", ondelete="SET NULL")),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("visited_on", sa.Date(), nullable=False),
        sa.Column("met", sa.Text()),
        sa.Column("met_person_id", sa.Integer(), sa.ForeignKey("people.id", ondelete="SET NULL")),
        sa.Column("discussed", sa.Text()),
        sa.Column("needs", sa.Text()),
        sa.Column("follow_up_on", sa.Date()),
        sa.Column("follow_up_done", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("photo", sa.LargeBinary()),
        sa.Column("report_id", sa.Integer(), sa.ForeignKey("reports.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_visits_grid", "visits", ["grid_id", sa.text("visited_on DESC"), sa.text("id DESC")])
    op.create_index("ix_visits_user", "visits", ["user_id", sa.text("visited_on DESC"), sa.text("id DESC")])
    op.create_index("ix_visits_household", "visits", ["household_id", sa.text("visited_on DESC")])
    op.create_index("ix_visits_visited_on", "visits", ["visited_on"])
    op.create_index("ix_visits_building_id", "visits", ["building_id"])
    op.create_index(
        "ix_visits_report", "visits", ["report_id"], postgresql_where=sa.text("report_id IS NOT NULL")
    )
    op.create_index(
        "ix_visits_follow_up",
        "visits",
        ["user_id", "follow_up_on"],
        postgresql_where=sa.text("follow_up_on IS NOT NULL AND NOT follow_up_done"),
    )
    op.create_index("ix_visits_search", "visits", [sa.text(GRAMS)], postgresql_using="gin")
    op.create_index(
        "uq_visits_client_id",
        "visits",
        ["client_id"],
        unique=True,
        postgresql_where=sa.text("client_id IS NOT NULL"),
    )
    op.execute(TRIGGER)
    op.create_index("ix_reports_building_id", "reports", ["building_id"])


def downgrade() -> None:
    op.drop_index("ix_reports_building_id", table_name="reports")
    op.execute("DROP TRIGGER visits_seen ON visits")
    op.execute("DROP FUNCTION gridwatch_visit_seen()")
    op.drop_table("visits")
    op.drop_table("people")
    op.drop_table("households")
    op.drop_table("building_units")
    op.execute("DELETE FROM users WHERE role = 'volunteer'")
    op.drop_constraint(op.f("ck_users_role"), "users")
    op.create_check_constraint(op.f("ck_users_role"), "users", OLD_ROLES)
