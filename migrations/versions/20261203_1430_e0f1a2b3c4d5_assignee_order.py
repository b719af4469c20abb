"""/cases sorted by assignee: the partial index on assignees becomes (assignee, id) over every case, so
a page sorted by the person (most cases have none yet) is read from an index's end.

Revision ID: e0f1a2b3c4d5
Revises: d9e0f1a2b3c4
Create Date: 2026-12-03 14:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "e0f1a2b3c4d5"
down_revision = "d9e0f1a2b3c4"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_reports_assignee_id", table_name="reports")
    op.create_index("ix_reports_assignee_id", "reports", ["assignee_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_reports_assignee_id", table_name="reports")
    op.create_index(
        "ix_reports_assignee_id",
        "reports",
        ["assignee_id"],
        postgresql_where=sa.text("assignee_id IS NOT NULL"),
    )
