"""closed reports' covering index: the indicators' median and p90 read durations from the index alone

Revision ID: a4b5c6d7e8f9
Revises: 9e3f4a5b6c7d
Create Date: 2026-11-23 21:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "a4b5c6d7e8f9"
down_revision = "9e3f4a5b6c7d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_reports_closed",
        "reports",
        ["created_at"],
        unique=False,
        postgresql_include=["grid_id", "department_id", "closed_at"],
        postgresql_where=sa.text("status = 'closed'"),
    )


def downgrade() -> None:
    op.drop_index("ix_reports_closed", table_name="reports", postgresql_where=sa.text("status = 'closed'"))
