"""The gridwatch command: users, tokens, demo, database status."""

from sqlalchemy import select

from gis.models import User


def test_users_add_prints_a_working_token(runner, session, town, client):
    grid = town["grids"][0]
    result = runner.invoke(
        args=[
            "users",
            "add",
            "xiaoli",
            "--role",
            "grid_worker",
            "--grid",
            grid.code,
            "--password",
            "long-enough-1",
        ]
    )
    assert result.exit_code == 0, result.output
    token = result.output.split("API token:")[1].strip()
    user = session.scalar(select(User).where(User.username == "xiaoli"))
    assert user.role == "grid_worker" and [g.code for g in user.grids] == [grid.code]
    response = client.get(
        "/api/v1/layers/grid.geojson?bbox=84,44,85,45", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200


def test_users_add_refuses_unknown_grid_and_writes_nothing(runner, session):
    result = runner.invoke(
        args=[
            "users",
            "add",
            "nobody",
            "--role",
            "grid_worker",
            "--grid",
            "650202001001999",
            "--password",
            "long-enough-1",
        ]
    )
    assert result.exit_code == 1
    assert "no area with code 650202001001999" in result.output
    assert session.scalar(select(User).where(User.username == "nobody")) is None


def test_users_add_refuses_a_duplicate_name(runner, make_user):
    user = make_user()
    result = runner.invoke(
        args=["users", "add", user.username, "--role", "admin", "--password", "long-enough-1"]
    )
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_demo_if_empty_loads_once(runner):
    first = runner.invoke(args=["demo", "--if-empty"])
    assert first.exit_code == 0, first.output
    assert "demo logins" in first.output and "supervisor" in first.output
    second = runner.invoke(args=["demo", "--if-empty"])
    assert second.exit_code == 0
    assert "demo not loaded" in second.output


def test_db_status_says_running(runner):
    result = runner.invoke(args=["db", "status"])
    assert result.output.strip() in {"running", "external (DATABASE_URL)"}
