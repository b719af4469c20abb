"""/healthz tells a load balancer (and a person) whether the database is there."""

from app import create_app


def test_healthz_reports_postgres_and_postgis_versions(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["postgresql"].startswith("15")
    assert body["postgis"].startswith("3.")


def test_healthz_answers_503_when_the_database_is_down(tmp_path):
    app = create_app(
        {"TESTING": True, "DATABASE_URL": f"postgresql+psycopg://postgres@/nowhere?host={tmp_path}"}
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
