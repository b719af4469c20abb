"""The schema comes from Alembic, and the migrations say exactly what the models say."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from geoalchemy2 import alembic_helpers
from sqlalchemy import create_engine, inspect

from gis import schema
from gis.models import Base
from tests.conftest import recreate_database, scratch_database_url


def test_migrations_equal_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"include_object": alembic_helpers.include_object, "compare_type": True}
        )
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_to_base_and_upgrade_again():
    url = scratch_database_url("migrations")
    recreate_database(url)
    eng = create_engine(url)
    try:
        schema.upgrade(eng)
        assert {"areas", "reports", "report_events", "patrol_tracks"} <= set(inspect(eng).get_table_names())
        schema.downgrade(eng)
        assert set(inspect(eng).get_table_names()) <= {"alembic_version", "spatial_ref_sys"}
        schema.upgrade(eng)
        assert "areas" in inspect(eng).get_table_names()
    finally:
        eng.dispose()


def test_spatial_columns_have_gist_indexes(engine):
    indexes = {
        (i["name"])
        for t in ("areas", "buildings", "reports", "patrol_tracks")
        for i in inspect(engine).get_indexes(t)
    }
    assert {"idx_areas_geom", "idx_buildings_geom", "idx_reports_geom", "idx_patrol_tracks_geom"} <= indexes
