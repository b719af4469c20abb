"""The embedded cluster: created once, started, stopped, restarted with its data kept."""

import os
import shutil
import uuid

import psycopg
import pytest

from gis.embedded_postgres import EmbeddedPostgres, database_url, var_dir


@pytest.mark.skipif(bool(os.environ.get("DATABASE_URL")), reason="external database in use")
def test_cluster_lifecycle_keeps_data():
    cluster = EmbeddedPostgres(var_dir() / f"test-pg-{uuid.uuid4().hex[:8]}")
    try:
        assert cluster.status() == "absent"
        assert cluster.up() == "created, started"
        assert cluster.up() == "already running"
        cluster.execute("gridwatch", "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)")
        assert cluster.down() == "stopped"
        assert cluster.status() == "stopped"
        assert cluster.up() == "started"
        with psycopg.connect(cluster.dsn()) as conn, conn.cursor() as cur:
            cur.execute("SELECT x FROM kept")
            assert cur.fetchone() == (42,)
            cur.execute("SELECT postgis_lib_version()")
            assert cur.fetchone()[0].startswith("3.")
        conn.close()
    finally:
        cluster.down()
        shutil.rmtree(cluster.root, ignore_errors=True)


def test_a_plain_database_url_gets_the_driver_gridwatch_ships(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://gw:pw@db.local/gridwatch")
    assert database_url() == "postgresql+psycopg://gw:pw@db.local/gridwatch"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://gw@h/x")
    assert database_url() == "postgresql+psycopg://gw@h/x"
