"""report opened_at and open-case index: 立案 time for the indicators; open cases by grid for the map

Revision ID: 7c1d2e3f4a5b
Revises: 1335c48a568d
Create Date: 2026-11-23 12:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "7c1d2e3f4a5b"
down_revision = "1335c48a568d"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("reports", sa.Column("opened_at", sa.DateTime(timezone=True), nullable=True))
    # reports opened before this column existed: the time of their first 'open' event
    op.execute("""
        UPDATE reports r SET opened_at = e.at
        FROM (SELECT report_id, min(at) AS at FROM report_events WHERE action = 'open'
              GROUP BY report_id) e
        WHERE e.report_id = r.id
    """)
    op.create_index(
        "ix_reports_open_grid",
        "reports",
        ["grid_id", "deadline_at"],
        unique=False,
        postgresql_where=sa.text("status NOT IN ('closed', 'voided')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_reports_open_grid",
        table_name="reports",
        postgresql_where=sa.text("status NOT IN ('closed', 'voided')"),
    )
    op.drop_column("reports", "opened_at")
