"""Street imports that can be undone

``undo_street_lines``: the street lines a ``--replace`` removed, whole and with their ids (``LIKE``
the live table, plus ``batch_id``), as ``undo_areas`` and ``undo_buildings`` keep theirs.

Revision ID: e4f5a6b7c8d9
Revises: d3e4f5a6b7c8
Create Date: 2026-12-03 09:00:00
"""

from alembic import op

revision = "e4f5a6b7c8d9"
down_revision = "d3e4f5a6b7c8"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("CREATE TABLE undo_street_lines (LIKE street_lines)")
    op.execute(
        "ALTER TABLE undo_street_lines ADD COLUMN batch_id int NOT NULL "
        "REFERENCES import_batches (id) ON DELETE CASCADE"
    )
    op.create_index("ix_undo_street_lines_batch", "undo_street_lines", ["batch_id"])


def downgrade() -> None:
    op.execute("DROP TABLE undo_street_lines")
