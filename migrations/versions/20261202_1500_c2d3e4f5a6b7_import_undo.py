"""Imports that can be undone: what each import replaced or moved, kept with its batch

- ``undo_areas`` / ``undo_buildings``: the rows a ``--replace`` removed, whole and with their ids
  (``LIKE`` the live table, plus ``batch_id``), so undo puts back exactly what was there and every
  link to them (reports, buildings, users) points at the same rows again.
- ``undo_links``: what the import changed on rows it kept: a report's grid, assignment and
  building, a building's grid, a child area's parent, a worker's grids.
- ``import_batches.replaced``, ``undone_at``, ``undone_by``: the batch replaced its layer; when and
  by whom it was undone.

Revision ID: c2d3e4f5a6b7
Revises: b1c2d3e4f5a6
Create Date: 2026-12-02 15:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "c2d3e4f5a6b7"
down_revision = "b1c2d3e4f5a6"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("import_batches", sa.Column("replaced", sa.Boolean, nullable=False, server_default="false"))
    op.add_column("import_batches", sa.Column("undone_at", sa.DateTime(timezone=True)))
    op.add_column("import_batches", sa.Column("undone_by", sa.Integer, sa.ForeignKey("users.id")))
    for table in ("areas", "buildings"):
        op.execute(f"CREATE TABLE undo_{table} (LIKE {table})")
        op.execute(
            f"ALTER TABLE undo_{table} ADD COLUMN batch_id int NOT NULL "
            "REFERENCES import_batches (id) ON DELETE CASCADE"
        )
        op.create_index(f"ix_undo_{table}_batch", f"undo_{table}", ["batch_id"])
    op.create_table(
        "undo_links",
        sa.Column(
            "batch_id", sa.Integer, sa.ForeignKey("import_batches.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("entity", sa.String(12), nullable=False),  # report, building, child, user_grid
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("grid_id", sa.Integer),
        sa.Column("assignment", sa.String(12)),
        sa.Column("assignment_distance_m", sa.Float),
        sa.Column("building_id", sa.Integer),
        sa.Column("parent_id", sa.Integer),
    )
    op.create_index("ix_undo_links_batch", "undo_links", ["batch_id", "entity"])


def downgrade() -> None:
    op.drop_table("undo_links")
    op.execute("DROP TABLE undo_buildings")
    op.execute("DROP TABLE undo_areas")
    for column in ("undone_by", "undone_at", "replaced"):
        op.drop_column("import_batches", column)
