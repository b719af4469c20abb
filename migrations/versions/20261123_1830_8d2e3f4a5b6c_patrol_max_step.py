"""patrol tracks' longest step and a (track, segment, time) index: coverage of a few grids reads
only the fixes near them

Revision ID: 8d2e3f4a5b6c
Revises: 7c1d2e3f4a5b
Create Date: 2026-11-23 18:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "8d2e3f4a5b6c"
down_revision = "7c1d2e3f4a5b"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("patrol_tracks", sa.Column("max_step_m", sa.Float(), nullable=True))
    op.execute("""
        UPDATE patrol_tracks t SET max_step_m = s.step
        FROM (SELECT track_id, coalesce(max(ST_Distance(geom::geography, previous::geography)), 0) AS step
              FROM (SELECT track_id, geom, lag(geom) OVER (PARTITION BY track_id, segment
                                                           ORDER BY recorded_at NULLS LAST, id) AS previous
                    FROM patrol_points) p
              GROUP BY track_id) s
        WHERE s.track_id = t.id
    """)
    op.create_index(
        "ix_patrol_points_track_time", "patrol_points", ["track_id", "segment", "recorded_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_patrol_points_track_time", table_name="patrol_points")
    op.drop_column("patrol_tracks", "max_step_m")
