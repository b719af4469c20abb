"""Every page but /login and /healthz needs a login; forms carry CSRF; the API takes tokens."""

import pytest

from gis import accounts
from tests.conftest import csrf_from
from tests.factories import bearer


@pytest.mark.parametrize("path", ["/", "/map"])
def test_pages_redirect_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


def test_api_without_credentials_is_401_json(client):
    response = client.get("/api/v1/layers/grid.geojson?bbox=0,0,1,1")
    assert response.status_code == 401
    assert "Bearer" in response.get_json()["error"]


def test_login_with_the_right_password_opens_the_map(client, login, make_user):
    login(make_user("supervisor"))
    assert client.get("/map").status_code == 200


def test_wrong_password_is_refused_with_a_message(client, make_user):
    user = make_user()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login", data={"username": user.username, "password": "nope-nope", "csrf_token": csrf_from(page)}
    )
    assert response.status_code == 401
    assert "Wrong user name or password" in response.get_data(as_text=True)
    assert client.get("/map").status_code == 302


def test_login_without_csrf_token_is_refused(client, make_user):
    user = make_user()
    response = client.post("/login", data={"username": user.username, "password": "correct-horse-battery"})
    assert response.status_code != 302
    assert client.get("/map").status_code == 302


def test_login_does_not_redirect_off_site(client, make_user):
    user = make_user()
    page = client.get("/login?next=//evil.example/").get_data(as_text=True)
    response = client.post(
        "/login?next=//evil.example/",
        data={"username": user.username, "password": "correct-horse-battery", "csrf_token": csrf_from(page)},
    )
    assert response.headers["Location"] == "/"


def test_api_token_authenticates(client, make_user):
    user = make_user("supervisor")
    response = client.get("/api/v1/layers/grid.geojson?bbox=0,0,1,1", headers=bearer(user))
    assert response.status_code == 200
    assert response.get_json()["type"] == "FeatureCollection"


def test_wrong_token_is_401(client):
    response = client.get(
        "/api/v1/layers/grid.geojson?bbox=0,0,1,1", headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401


def test_inactive_user_cannot_log_in(client, make_user, session):
    user = make_user()
    user.active = False
    session.flush()
    page = client.get("/login").get_data(as_text=True)
    response = client.post(
        "/login",
        data={"username": user.username, "password": "correct-horse-battery", "csrf_token": csrf_from(page)},
    )
    assert response.status_code == 401


def test_logout_needs_csrf_and_ends_the_session(client, login, make_user):
    login(make_user())
    page = client.get("/map").get_data(as_text=True)
    assert client.post("/logout").status_code == 400  # no token: refused
    assert client.post("/logout", data={"csrf_token": csrf_from(page)}).status_code == 302
    assert client.get("/map").status_code == 302


def test_token_lookup_sees_a_token_issued_in_the_same_session(session, make_user):
    """The lookup is a plain statement (no ORM autoflush): a token reissued and not yet written
    must still be the one that counts, and the old one must not."""
    user = make_user("grid_worker")
    old = user.token
    new = accounts.issue_token(user)  # pending in the session, not flushed
    viewer = accounts.token_viewer(session, new)
    assert (viewer.id, viewer.role) == (user.id, "grid_worker")
    assert accounts.token_viewer(session, old) is None
    assert accounts.user_for_token(session, new) is user
