"""streets and patrol time index: the street line layer patrol coverage measures; fixes by time

Revision ID: 1335c48a568d
Revises: 5841b2a99783
Create Date: 2026-11-23 02:27:53.290696
"""

import sqlalchemy as sa
from alembic import op
from geoalchemy2 import Geometry

revision = "1335c48a568d"
down_revision = "5841b2a99783"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_geospatial_table(
        "street_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("import_batch_id", sa.Integer(), nullable=True),
        sa.Column(
            "geom",
            Geometry(
                geometry_type="MULTILINESTRING",
                srid=4326,
                dimension=2,
                spatial_index=False,
                from_text="ST_GeomFromEWKT",
                name="geometry",
                nullable=False,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["import_batch_id"],
            ["import_batches.id"],
            name=op.f("fk_street_lines_import_batch_id_import_batches"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_street_lines")),
    )
    op.create_geospatial_index(
        "idx_street_lines_geom",
        "street_lines",
        ["geom"],
        unique=False,
        postgresql_using="gist",
        postgresql_ops={},
    )
    op.create_index("ix_patrol_points_recorded_at", "patrol_points", ["recorded_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_patrol_points_recorded_at", table_name="patrol_points")
    op.drop_geospatial_index(
        "idx_street_lines_geom", table_name="street_lines", postgresql_using="gist", column_name="geom"
    )
    op.drop_geospatial_table("street_lines")
