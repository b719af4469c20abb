"""Automatic escalation (三级响应) once per case and level, even with two server processes at it;
inside the server without cron, and by hand; and the inbox digest mailed to a real SMTP server
(aiosmtpd, started by the test)."""

import datetime as dt
import socket
import threading
import time
from email import message_from_bytes
from email.policy import default

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.accounts import create_user, set_digest
from gis.cases.digest import Mailer, send_digests
from gis.cases.escalation import escalate_overdue
from gis.errors import Invalid
from gis.models import Report, utcnow
from tests.factories import PASSWORD

NOW = dt.datetime(2026, 12, 3, 12, tzinfo=dt.UTC)
MARGIN = dt.timedelta(hours=24)
DISPATCHED = """
    INSERT INTO reports (geom, original_crs, original_lon, original_lat, category_code, description,
                         channel, assignment, status, response_level, resolved_locally, rework_count,
                         created_at, updated_at, version, dispatched_at, deadline_at)
    SELECT ST_SetSRID(ST_MakePoint(84.9, 44.3), 4326), 'wgs84', 84.9, 44.3, '0101', '井盖 ' || n,
           'app', 'unassigned', :status, :level, false, 0, :created, :created, 1, :created, :deadline
    FROM generate_series(1, :n) n
    RETURNING id"""


def _cases(session, n=1, overdue_by=dt.timedelta(hours=30), level="community", status="dispatched"):
    rows = session.execute(
        text(DISPATCHED),
        {
            "n": n,
            "status": status,
            "level": level,
            "created": NOW - overdue_by - dt.timedelta(hours=4),
            "deadline": NOW - overdue_by,
        },
    )
    return [r.id for r in rows]


def _levels(session, ids):
    return dict(
        session.execute(
            text("SELECT id, response_level FROM reports WHERE id = ANY(:ids)"), {"ids": ids}
        ).all()
    )


def test_one_level_per_margin_past_the_deadline(session):
    late, later, not_yet, closed = (
        _cases(session, overdue_by=dt.timedelta(hours=30))[0],
        _cases(session, overdue_by=dt.timedelta(hours=50))[0],
        _cases(session, overdue_by=dt.timedelta(hours=10))[0],
        _cases(session, overdue_by=dt.timedelta(hours=90), status="verified")[0],
    )
    moved = escalate_overdue(session, MARGIN, NOW)
    assert {(m.report_id, m.to_level) for m in moved} == {(late, "street"), (later, "street")}
    # a round later, the one two margins past climbs again; nothing climbs twice to a level
    moved = escalate_overdue(session, MARGIN, NOW)
    assert [(m.report_id, m.from_level, m.to_level) for m in moved] == [(later, "street", "district")]
    assert escalate_overdue(session, MARGIN, NOW + dt.timedelta(hours=1)) == []
    assert _levels(session, [late, later, not_yet, closed]) == {
        late: "street",
        later: "district",
        not_yet: "community",
        closed: "community",
    }
    report = session.get(Report, later)
    events = [(e.action, e.data["to_level"], e.data["auto"], e.actor_id) for e in report.events]
    assert events == [("escalate", "street", True, None), ("escalate", "district", True, None)]
    assert report.version == 3  # an open page's stale version is refused after it


def test_two_server_processes_escalate_each_case_once(committed, engine):
    ids = _cases(committed, n=400)
    committed.commit()
    start = threading.Barrier(2)
    moved: list = [[], []]
    errors: list = []

    def worker(n):
        try:
            with Session(engine) as s:
                start.wait()
                moved[n] = escalate_overdue(s, MARGIN, NOW)
                time.sleep(0.2)  # hold the locks a moment: the other works around them
                s.commit()
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    got = [m.report_id for m in moved[0] + moved[1]]
    assert sorted(got) == sorted(ids)  # every case moved, by one of them, once
    counts = committed.execute(
        text("SELECT count(*), count(DISTINCT report_id) FROM report_events WHERE action = 'escalate'")
    ).one()
    assert tuple(counts) == (400, 400)
    # the unique index stands behind it: a second event to the same level cannot be written
    with pytest.raises(Exception, match="uq_report_events_level"):
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO report_events (report_id, action, to_status, data, at)"
                    " VALUES (:id, 'escalate', 'dispatched', '{\"to_level\": \"street\"}', now())"
                ),
                {"id": ids[0]},
            )


def test_the_server_escalates_without_cron(committed, engine):
    from app import create_app

    late = _cases(committed, overdue_by=dt.timedelta(hours=30) + (utcnow() - NOW))[0]
    committed.commit()
    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": engine.url.render_as_string(hide_password=False),
            "RUN_DUTIES": True,
            "DUTIES_EVERY_S": 0.2,
        }
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if _levels(committed, [late])[late] == "street":
                break
            committed.rollback()
            time.sleep(0.1)
        assert _levels(committed, [late])[late] == "street"
    finally:
        app.extensions["gridwatch.stop"].set()
        app.extensions["gridwatch.engine"].dispose()


def test_escalate_by_hand(runner, session):
    late = _cases(session, overdue_by=dt.timedelta(hours=30) + (utcnow() - NOW))[0]
    result = runner.invoke(["escalate"])
    assert result.exit_code == 0, result.output
    assert f"case {late}: community → street" in result.output and "1 case(s) escalated" in result.output
    assert runner.invoke(["escalate", "--after-hours", "0"]).exit_code != 0


# -- the inbox digest, to a real SMTP server ------------------------------------------------------
class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        mail = message_from_bytes(envelope.content, policy=default)
        self.messages.append((envelope.rcpt_tos, f"From: {mail['From']}\n{mail.get_content()}"))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield handler, f"smtp://127.0.0.1:{controller.port}"
    controller.stop()


def test_the_digest_reaches_the_smtp_server_once_per_period(session, smtp_server, make_department):
    handler, url = smtp_server
    water = make_department("WATER", "自来水公司")
    member = create_user(session, "plumber", "department", PASSWORD, department_code="WATER")
    set_digest(member, "plumber@example.org", "daily")
    quiet = create_user(session, "quiet", "department", PASSWORD, department_code="WATER")
    set_digest(quiet, "quiet@example.org", "off")
    case = _cases(session)[0]
    session.execute(
        text("UPDATE reports SET department_id = :d, updated_at = now() WHERE id = :id"),
        {"d": water.id, "id": case},
    )
    session.flush()
    mailer = Mailer.from_url(url, "gridwatch@example.org")
    sent = send_digests(session, mailer, "https://gw.example.org/")
    assert sent == ["plumber@example.org"]
    [(to, body)] = handler.messages
    assert to == ["plumber@example.org"] and f"https://gw.example.org/cases/{case}" in body
    assert "need=to_handle" in body and "From: gridwatch@example.org" in body
    # within the day: nothing more, however often the round runs
    assert send_digests(session, mailer, "https://gw.example.org/") == []
    assert len(handler.messages) == 1


def test_digest_settings_are_checked(session):
    user = create_user(session, "someone", "dispatcher", PASSWORD)
    with pytest.raises(Invalid, match="not an email address"):
        set_digest(user, "not-an-address", "daily")
    with pytest.raises(Invalid, match="needs an email address"):
        set_digest(user, "", "hourly")
    with pytest.raises(Invalid):
        Mailer.from_url("http://example.org")
    set_digest(user, "", "off")
    assert user.email is None


def test_the_new_levels_supervisors_find_it_in_their_inbox(session):
    from gis.accounts import viewer_of
    from gis.cases.listing import inbox

    session.execute(
        text(
            "INSERT INTO areas (level, code, name, geom, area_m2) VALUES ('street', '650202001', '街道',"
            " ST_Multi(ST_MakeEnvelope(84.8, 44.2, 85.0, 44.4, 4326)), 0)"
        )
    )
    street = create_user(session, "street-boss", "supervisor", PASSWORD, area_code="650202001")
    late = _cases(session, overdue_by=dt.timedelta(hours=30) + (utcnow() - NOW))[0]

    def escalated():
        sections = {s.key: s for s in inbox(session, viewer_of(street), None, size=50)}
        return {row.report.id for row in sections["escalated"].rows}

    assert escalated() == set()
    escalate_overdue(session, MARGIN)
    assert escalated() == {late}
