"""Volunteer teams and their points rules, the mediation path of disputes and its follow-up
calls, named grid networks (party, security grids) with their areas and responsible people

Revision ID: b8c9d0e1f2a3
Revises: a7b8c9d0e1f2
Create Date: 2026-12-03 17:00:00
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "b8c9d0e1f2a3"
down_revision = "a7b8c9d0e1f2"
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str, ondelete: str | None = None):
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}"), ondelete=ondelete
    )


def _in(column: str, values) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("community_code", sa.String(length=12), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("leader_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            _in("kind", ("patrol", "information", "mediation", "sanitation", "care", "other")),
            name=op.f("ck_teams_kind"),
        ),
        _fk("teams", "leader_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("community_code", "name", name=op.f("uq_teams_community_code")),
    )
    op.create_table(
        "team_members",
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _fk("team_members", "team_id", "teams", "CASCADE"),
        _fk("team_members", "user_id", "users", "CASCADE"),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_team_members")),
    )
    op.create_index("ix_team_members_user_id", "team_members", ["user_id"])
    op.create_table(
        "point_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("points", sa.Float(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint(
            _in("action", ("report_accepted", "patrol_hour", "dispute_mediated", "head_visit")),
            name=op.f("ck_point_rules_action"),
        ),
        sa.CheckConstraint("points >= 0 AND points <= 1000", name=op.f("ck_point_rules_points")),
        _fk("point_rules", "created_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_point_rules")),
        sa.UniqueConstraint("action", "effective_from", name=op.f("uq_point_rules_action")),
    )
    op.create_table(
        "mediation_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("mediator_id", sa.Integer(), nullable=True),
        sa.Column("mediator_name", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            _in("level", ("neighbours", "party_member", "committee", "judicial")),
            name=op.f("ck_mediation_steps_level"),
        ),
        sa.CheckConstraint(
            _in("outcome", ("resolved", "not_resolved", "referred")), name=op.f("ck_mediation_steps_outcome")
        ),
        _fk("mediation_steps", "report_id", "reports", "CASCADE"),
        _fk("mediation_steps", "mediator_id", "users", "SET NULL"),
        _fk("mediation_steps", "recorded_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mediation_steps")),
    )
    op.create_index("ix_mediation_steps_report", "mediation_steps", ["report_id", "at"])
    op.create_index("ix_mediation_steps_at", "mediation_steps", ["at"])
    op.create_index("ix_mediation_steps_mediator_id", "mediation_steps", ["mediator_id"])
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("satisfaction", sa.String(length=12), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("recorded_by", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            _in("satisfaction", ("satisfied", "basically", "unsatisfied")),
            name=op.f("ck_follow_ups_satisfaction"),
        ),
        _fk("follow_ups", "report_id", "reports", "CASCADE"),
        _fk("follow_ups", "recorded_by", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_follow_ups")),
        sa.UniqueConstraint("report_id", name=op.f("uq_follow_ups_report_id")),
    )
    op.create_table(
        "networks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.CheckConstraint("code ~ '^[a-z0-9_-]{1,20}$'", name=op.f("ck_networks_code")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_networks")),
        sa.UniqueConstraint("code", name=op.f("uq_networks_code")),
    )
    op.create_table(
        "network_areas",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("network_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column(
            "geom",
            Geometry(geometry_type="MULTIPOLYGON", srid=4326, spatial_index=False, nullable=False),
            nullable=False,
        ),
        sa.Column("area_m2", sa.Float(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        _fk("network_areas", "network_id", "networks", "CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_areas")),
        sa.UniqueConstraint("network_id", "code", name=op.f("uq_network_areas_network_id")),
    )
    op.create_index("idx_network_areas_geom", "network_areas", ["geom"], postgresql_using="gist")
    op.create_table(
        "network_area_people",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("area_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=12), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("phone", sa.Text(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(_in("role", ("manager", "co_manager")), name=op.f("ck_network_area_people_role")),
        _fk("network_area_people", "area_id", "network_areas", "CASCADE"),
        _fk("network_area_people", "user_id", "users", "SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_area_people")),
    )
    op.create_index("ix_network_area_people_area_id", "network_area_people", ["area_id"])
    # what each action is worth until an admin says otherwise (from the first day anything is counted)
    op.execute(
        "INSERT INTO point_rules (action, points, effective_from) VALUES "
        "('report_accepted', 2, '2000-01-01'), ('patrol_hour', 1, '2000-01-01'), "
        "('dispute_mediated', 5, '2000-01-01'), ('head_visit', 1, '2000-01-01')"
    )


def downgrade() -> None:
    for table in (
        "network_area_people",
        "network_areas",
        "networks",
        "follow_ups",
        "mediation_steps",
        "point_rules",
        "team_members",
        "teams",
    ):
        op.drop_table(table)
