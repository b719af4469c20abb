"""open reports' geometry index: the map's pins and bubbles of open cases by viewport

Revision ID: 9e3f4a5b6c7d
Revises: 8d2e3f4a5b6c
Create Date: 2026-11-23 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "9e3f4a5b6c7d"
down_revision = "8d2e3f4a5b6c"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_reports_open_geom",
        "reports",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_where=sa.text("status NOT IN ('closed', 'voided')"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_reports_open_geom",
        table_name="reports",
        postgresql_using="gist",
        postgresql_where=sa.text("status NOT IN ('closed', 'voided')"),
    )
