"""Dispatch to people: a department's lead assigns its cases to its members, a grid worker may be
asked to verify, everyone has an inbox (and may have it mailed), departments keep reply
templates, people keep their filters, and an overdue case climbs one level once.

Revision ID: c8d9e0f1a2b3
Revises: b7c8d9e0f1a2
Create Date: 2026-12-03 13:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c8d9e0f1a2b3"
down_revision = "b7c8d9e0f1a2"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("department_lead", sa.Boolean(), server_default="false", nullable=False))
    op.add_column("users", sa.Column("email", sa.Text(), nullable=True))
    op.add_column("users", sa.Column("email_digest", sa.String(8), server_default="off", nullable=False))
    op.add_column("users", sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("users", sa.Column("inbox_seen_at", sa.DateTime(timezone=True), nullable=True))
    op.create_check_constraint(
        op.f("ck_users_email_digest"), "users", "email_digest IN ('off', 'hourly', 'daily')"
    )
    op.add_column("reports", sa.Column("assignee_id", sa.Integer(), nullable=True))
    op.add_column("reports", sa.Column("verifier_id", sa.Integer(), nullable=True))
    op.create_foreign_key(op.f("fk_reports_assignee_id_users"), "reports", "users", ["assignee_id"], ["id"])
    op.create_foreign_key(op.f("fk_reports_verifier_id_users"), "reports", "users", ["verifier_id"], ["id"])
    op.create_index(
        "ix_reports_assignee_id",
        "reports",
        ["assignee_id"],
        postgresql_where=sa.text("assignee_id IS NOT NULL"),
    )
    op.create_index(
        "ix_reports_verifier_id",
        "reports",
        ["verifier_id"],
        postgresql_where=sa.text("verifier_id IS NOT NULL"),
    )
    # the escalation's candidates: open dispatched cases by deadline
    op.create_index(
        "ix_reports_escalation",
        "reports",
        ["deadline_at"],
        postgresql_where=sa.text("status IN ('dispatched', 'handled') AND response_level <> 'district'"),
    )
    op.create_index("ix_report_events_actor", "report_events", ["actor_id", "report_id"])
    # a case climbs to each level once, whoever (or whichever server process) moves it
    op.create_index(
        "uq_report_events_level",
        "report_events",
        ["report_id", sa.text("(data ->> 'to_level')")],
        unique=True,
        postgresql_where=sa.text("action = 'escalate'"),
    )
    op.create_table(
        "reply_templates",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "department_id", sa.Integer(), sa.ForeignKey("departments.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
    )
    op.create_index("ix_reply_templates_department_id", "reply_templates", ["department_id"])
    op.create_table(
        "saved_filters",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.UniqueConstraint("user_id", "name", name="uq_saved_filters_user_id"),
    )


def downgrade() -> None:
    op.drop_table("saved_filters")
    op.drop_table("reply_templates")
    op.drop_index("uq_report_events_level", table_name="report_events")
    op.drop_index("ix_report_events_actor", table_name="report_events")
    op.drop_index("ix_reports_escalation", table_name="reports")
    op.drop_index("ix_reports_verifier_id", table_name="reports")
    op.drop_index("ix_reports_assignee_id", table_name="reports")
    op.drop_constraint(op.f("fk_reports_verifier_id_users"), "reports")
    op.drop_constraint(op.f("fk_reports_assignee_id_users"), "reports")
    op.drop_column("reports", "verifier_id")
    op.drop_column("reports", "assignee_id")
    op.drop_constraint(op.f("ck_users_email_digest"), "users")
    for column in ("inbox_seen_at", "emailed_at", "email_digest", "email", "department_lead"):
        op.drop_column("users", column)
