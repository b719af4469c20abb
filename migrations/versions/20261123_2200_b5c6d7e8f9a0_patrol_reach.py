"""stored per-track, per-grid patrol reach: a day's coverage unions stored shapes

Revision ID: b5c6d7e8f9a0
Revises: a4b5c6d7e8f9
Create Date: 2026-11-23 22:00:00
"""

import geoalchemy2
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "b5c6d7e8f9a0"
down_revision = "a4b5c6d7e8f9"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patrol_tracks", sa.Column("reach_radius_m", sa.Float(), nullable=True))
    op.create_table(
        "patrol_reach",
        sa.Column("track_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column(
            "reach",
            geoalchemy2.types.Geometry(
                geometry_type="GEOMETRY",
                srid=-1,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
            ),
            nullable=True,
        ),
        sa.Column("piece_starts", postgresql.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("piece_ends", postgresql.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("piece_seconds", postgresql.ARRAY(sa.Float()), nullable=False),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["areas.id"], name=op.f("fk_patrol_reach_grid_id_areas"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["track_id"],
            ["patrol_tracks.id"],
            name=op.f("fk_patrol_reach_track_id_patrol_tracks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("track_id", "grid_id", name=op.f("pk_patrol_reach")),
    )
    op.create_index(op.f("ix_patrol_reach_grid_id"), "patrol_reach", ["grid_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_patrol_reach_grid_id"), table_name="patrol_reach")
    op.drop_table("patrol_reach")
    op.drop_column("patrol_tracks", "reach_radius_m")
