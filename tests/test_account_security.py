"""Accounts: log-ins throttled per account and address, sessions that end everywhere at log-out
or a new password, cookies and headers as a browser should get them, passwords worth having."""

from __future__ import annotations

import datetime as dt

import pytest

from gis import accounts
from gis.errors import Invalid, TooManyAttempts
from tests.conftest import csrf_from
from tests.factories import PASSWORD


def _post_login(client, username, password, next_path="", remember=False):
    page = client.get(f"/login{next_path}").get_data(as_text=True)
    data = {"username": username, "password": password, "csrf_token": csrf_from(page)}
    if remember:
        data["remember"] = "y"
    return client.post(f"/login{next_path}", data=data)


def test_five_failures_make_the_account_wait_longer_and_longer(session, make_user):
    user = make_user()
    t0 = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    for n in range(accounts.FREE_FAILURES):
        assert (
            accounts.authenticate(session, user.username, "wrong-password", now=t0 + dt.timedelta(seconds=n))
            is None
        )
    with pytest.raises(TooManyAttempts, match=r"try again in \d+ seconds") as waited:
        accounts.authenticate(session, user.username, PASSWORD, now=t0 + dt.timedelta(seconds=10))
    assert 0 < waited.value.details["retry_after"] <= 30
    # after the wait one more try; a failure then doubles the wait
    later = t0 + dt.timedelta(seconds=40)
    assert accounts.authenticate(session, user.username, "wrong-again", now=later) is None
    with pytest.raises(TooManyAttempts) as longer:
        accounts.authenticate(session, user.username, PASSWORD, now=later + dt.timedelta(seconds=31))
    assert longer.value.details["retry_after"] > 25
    assert (
        accounts.authenticate(session, user.username, PASSWORD, now=later + dt.timedelta(seconds=61)) is user
    )
    # a success clears the account's count
    assert (
        accounts.authenticate(session, user.username, "wrong", now=later + dt.timedelta(seconds=62)) is None
    )
    assert (
        accounts.authenticate(session, user.username, PASSWORD, now=later + dt.timedelta(seconds=63)) is user
    )


def test_one_address_guessing_many_accounts_is_throttled_too(session, make_user):
    users = [make_user() for _ in range(accounts.FREE_FAILURES)]
    t0 = dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    for user in users:
        accounts.authenticate(session, user.username, "guess", address="203.0.113.9", now=t0)
    fresh = make_user()
    with pytest.raises(TooManyAttempts):
        accounts.authenticate(session, fresh.username, PASSWORD, address="203.0.113.9", now=t0)
    assert accounts.authenticate(session, fresh.username, PASSWORD, address="198.51.100.1", now=t0) is fresh


def test_an_unknown_user_costs_the_same_password_check(session, make_user, monkeypatch):
    checks = []
    real = accounts.check_password_hash
    monkeypatch.setattr(accounts, "check_password_hash", lambda h, p: checks.append(h) or real(h, p))
    user = make_user()
    accounts.authenticate(session, user.username, "wrong-password")
    accounts.authenticate(session, "nobody-by-this-name", "wrong-password")
    assert len(checks) == 2 and checks[1].split("$")[0] == checks[0].split("$")[0]  # same method


def test_the_login_page_says_when_to_try_again(client, make_user):
    user = make_user()
    for _ in range(accounts.FREE_FAILURES):
        assert _post_login(client, user.username, "wrong-password").status_code == 401
    throttled = _post_login(client, user.username, PASSWORD)
    assert throttled.status_code == 429 and int(throttled.headers["Retry-After"]) > 0
    assert "try again in" in throttled.get_data(as_text=True)


def test_logging_out_ends_every_session_of_the_user(app, make_user):
    user = make_user()
    phone, desk = app.test_client(), app.test_client()
    assert _post_login(phone, user.username, PASSWORD).status_code == 302
    assert _post_login(desk, user.username, PASSWORD, remember=True).status_code == 302
    assert desk.get("/map").status_code == 200
    token = csrf_from(phone.get("/map").get_data(as_text=True))
    assert phone.post("/logout", data={"csrf_token": token}).status_code == 302
    assert desk.get("/map").status_code == 302  # its session and its remember-cookie have ended
    desk.delete_cookie("session")
    assert desk.get("/map").status_code == 302


def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(app, session, make_user):
    user = make_user()
    phone, desk = app.test_client(), app.test_client()
    _post_login(phone, user.username, PASSWORD)
    _post_login(desk, user.username, PASSWORD)
    page = desk.get("/account").get_data(as_text=True)
    form = {
        "current": PASSWORD,
        "new": "a much better pass phrase",
        "again": "a much better pass phrase",
        "csrf_token": csrf_from(page),
    }
    wrong = desk.post("/account", data={**form, "current": "not it at all"})
    assert wrong.status_code == 422 and "current password is not right" in wrong.get_data(as_text=True)
    assert desk.post("/account", data=form).status_code == 302
    assert desk.get("/map").status_code == 200
    assert phone.get("/map").status_code == 302
    assert _post_login(app.test_client(), user.username, "a much better pass phrase").status_code == 302


def test_cookies_are_http_only_same_site_and_remembered_at_most_two_weeks(app, client, make_user):
    user = make_user()
    response = _post_login(client, user.username, PASSWORD, remember=True)
    cookies = {c.split("=")[0]: c for c in response.headers.getlist("Set-Cookie")}
    for name in ("session", "remember_token"):
        assert "HttpOnly" in cookies[name] and "SameSite=Lax" in cookies[name], cookies[name]
        assert "Secure" not in cookies[name]
    expires = dt.datetime.strptime(
        cookies["remember_token"].split("Expires=")[1].split(";")[0], "%a, %d %b %Y %H:%M:%S GMT"
    ).replace(tzinfo=dt.UTC)
    assert expires - dt.datetime.now(dt.UTC) <= dt.timedelta(days=14, minutes=1)
    from app import create_app
    from app.config import cookie_settings

    https = create_app({**app.config, **cookie_settings(secure=True)})  # as SECURE_COOKIES=1 makes it
    answer = _post_login(https.test_client(), user.username, PASSWORD, remember=True)
    assert all("Secure" in c for c in answer.headers.getlist("Set-Cookie"))


def test_pages_forbid_framing_sniffing_and_foreign_scripts(client, login, make_user):
    login(make_user())
    page = client.get("/map")
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    policy = page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in policy and "script-src 'self' 'nonce-" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    nonce = policy.split("'nonce-")[1].split("'")[0]
    html = page.get_data(as_text=True)
    assert html.count("<script") == html.count(f'nonce="{nonce}"') + html.count("<script src=")
    assert " onsubmit=" not in html and " onclick=" not in html


@pytest.mark.parametrize(
    "target",
    ["/%09/evil.example", "//evil.example/", "/\\evil.example", "https://evil.example/", "\t//evil.example"],
)
def test_login_never_redirects_off_site(client, make_user, target):
    from urllib.parse import quote

    user = make_user()
    response = _post_login(client, user.username, PASSWORD, next_path=f"?next={quote(target, safe='/%')}")
    assert response.headers["Location"] == "/"


def test_login_returns_to_a_page_on_this_site(client, make_user):
    response = _post_login(client, make_user().username, PASSWORD, next_path="?next=/cases%3Fstatus%3Dopen")
    assert response.headers["Location"] == "/cases?status=open"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-pw", "at least 10"),
        ("          ", "only spaces"),
        ("1234567890", "common"),
        ("qwertyuiop", "common"),
        ("password123456", "common"),
    ],
)
def test_passwords_worth_having(session, password, why):
    with pytest.raises(Invalid, match=why):
        accounts.create_user(session, "someone", "supervisor", password)


def test_a_password_is_not_the_user_name(session):
    with pytest.raises(Invalid, match="easy to guess"):
        accounts.create_user(session, "wangxiaoming", "supervisor", "WangXiaoMing")
