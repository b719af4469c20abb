"""Imports applied as jobs: a planner's import runs beside the web requests, with its progress

``import_jobs``: who asked, what (kind, level, file, options), where it stands (state, stage,
percent), and how it ended (report, batch, error).

Revision ID: d3e4f5a6b7c8
Revises: c2d3e4f5a6b7
Create Date: 2026-12-02 16:00:00
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "d3e4f5a6b7c8"
down_revision = "c2d3e4f5a6b7"
branch_labels = None
depends_on = None

STATES = ("queued", "running", "done", "refused", "failed")


def upgrade() -> None:
    op.create_table(
        "import_jobs",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id", ondelete="SET NULL")),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("filename", sa.Text, nullable=False),
        sa.Column("options", JSONB, nullable=False, server_default="{}"),
        sa.Column("state", sa.String(10), nullable=False, server_default="queued"),
        sa.Column("stage", JSONB),
        sa.Column("percent", sa.Float, nullable=False, server_default="0"),
        sa.Column("report", JSONB),
        sa.Column("error", JSONB),
        sa.Column("batch_id", sa.Integer, sa.ForeignKey("import_batches.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
        sa.CheckConstraint("state IN ('" + "', '".join(STATES) + "')", name=op.f("ck_import_jobs_state")),
    )


def downgrade() -> None:
    op.drop_table("import_jobs")
