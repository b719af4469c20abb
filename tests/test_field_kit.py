"""The grid worker's field kit on the server side: "is it one of these?" and the confirmation
that lands on a case instead of a second report, proof on handle and verify (a photo, the
verifier's position within VERIFY_RADIUS_M, or a dispatcher's waiver), steps a phone sends twice,
/my, and what the installable app is served."""

from __future__ import annotations

import datetime as dt
import io
import math
import re

import pytest
from PIL import Image

from gis.cases.intake import submit_report
from gis.cases.lifecycle import act
from gis.indicators import indicators, parse_period
from gis.models import ReportPhoto
from tests.conftest import csrf_from
from tests.factories import CELL, ORIGIN, bearer, jpeg

SPOT = (ORIGIN[0] + CELL / 2, ORIGIN[1] + CELL / 2)
METRE_LON = 1 / (111_320 * math.cos(math.radians(SPOT[1])))  # a metre east, in degrees


def east(metres: float) -> tuple[float, float]:
    return SPOT[0] + metres * METRE_LON, SPOT[1]


@pytest.fixture
def crew(make_user, make_department, town):
    water = make_department("WATER", "自来水公司")
    return {
        "worker": make_user("grid_worker", grids=town["grids"][:1]),
        "neighbour": make_user("grid_worker", grids=town["grids"][:1]),
        "far_worker": make_user("grid_worker", grids=town["grids"][3:]),
        "supervisor": make_user("supervisor"),
        "dispatcher": make_user("dispatcher"),
        "water": make_user("department", department=water),
        "water_dept": water,
    }


def report_at(session, who, where=SPOT, category="0101", **kw):
    return submit_report(
        session, lon=where[0], lat=where[1], category=category, reporter_id=who.id, photos=[jpeg()], **kw
    ).report(session)


def nearby(client, who, where=SPOT, category="0102"):
    answer = client.get(
        f"/api/v1/reports/nearby?lon={where[0]}&lat={where[1]}&category={category}", headers=bearer(who)
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def test_nearby_offers_open_reports_of_the_group_within_50_m_from_the_last_week(client, session, crew):
    mine = report_at(session, crew["worker"], east(10))  # 0101 water-main cover, 10 m away
    report_at(session, crew["worker"], east(70))  # too far
    report_at(session, crew["worker"], east(5), category="1101")  # another group
    report_at(session, crew["worker"], east(5), now=dt.datetime.now(dt.UTC) - dt.timedelta(days=8))  # old
    ended = report_at(session, crew["worker"], east(3))
    act(session, ended, crew["dispatcher"], "void", version=ended.version, note="重复")
    body = nearby(client, crew["neighbour"])  # a sewer cover (0102): the same group, 01
    assert body["radius_m"] == 50 and body["days"] == 7
    assert [r["id"] for r in body["reports"]] == [mine.id]
    found = body["reports"][0]
    assert 9 < found["distance_m"] < 11 and found["status"] == "reported" and found["version"] == mine.version
    assert found["category_name"] == "Water-main cover" and found["thumbnail"].endswith("size=thumb")
    thumb = client.get(found["thumbnail"], headers=bearer(crew["neighbour"]))
    assert thumb.status_code == 200 and Image.open(io.BytesIO(thumb.data)).size[0] <= 240
    # a worker of another grid is not offered a case they may not open
    assert nearby(client, crew["far_worker"])["reports"] == []


def test_a_confirmation_lands_on_the_case_once_with_its_photo_and_is_counted(client, session, crew):
    case = report_at(session, crew["worker"])
    url = f"/api/v1/reports/{case.id}/actions"
    form = {
        "action": "confirm",
        "version": str(case.version),
        "note": "我也看到了",
        "lon": str(east(8)[0]),
        "lat": str(SPOT[1]),
        "client_id": "5d6f2c1e-8a3b-4c7d-9e0f-1a2b3c4d5e6f",
    }
    first = client.post(
        url, data={**form, "photos": (io.BytesIO(jpeg()), "seen.jpg")}, headers=bearer(crew["neighbour"])
    )
    assert first.status_code == 200, first.get_data(as_text=True)
    assert first.get_json()["confirmations"] == 1
    # the phone did not hear the answer and sends it again: the same step, not a second one
    again = client.post(
        url, data={**form, "photos": (io.BytesIO(jpeg()), "seen.jpg")}, headers=bearer(crew["neighbour"])
    )
    assert again.status_code == 200 and again.get_json()["confirmations"] == 1
    events = [e for e in again.get_json()["events"] if e["action"] == "confirm"]
    assert (
        len(events) == 1
        and len(events[0]["photos"]) == 1
        and events[0]["data"]["lon"] == pytest.approx(east(8)[0])
    )
    kinds = sorted(p.kind for p in session.query(ReportPhoto).filter_by(report_id=case.id))
    assert kinds == ["confirm", "report"]
    assert len(again.get_json()["photos"]) == 1  # the report's own photos stay the report's


def test_confirmed_cases_are_counted_in_the_indicators(session, crew, town):
    case = report_at(session, crew["worker"])
    act(session, case, crew["neighbour"], "confirm", version=case.version)
    act(session, case, crew["worker"], "resolve_locally", version=case.version, note="已劝导")
    plain = report_at(session, crew["worker"], east(20))
    assert plain.confirmations == 0
    period = parse_period("last30")
    result = indicators(session, "grid", period)
    assert result["total"]["confirmed"] == 1 and result["total"]["reports"] == 2


def dispatched_and_handled(session, crew, case):
    for action, who, kw in (
        ("accept", "dispatcher", {}),
        ("open", "dispatcher", {}),
        ("dispatch", "dispatcher", {"department_id": crew["water_dept"].id}),
    ):
        act(session, case, crew[who], action, version=case.version, **kw)


def test_handled_needs_a_note_and_takes_an_after_photo(client, session, crew):
    case = report_at(session, crew["worker"])
    dispatched_and_handled(session, crew, case)
    url = f"/api/v1/reports/{case.id}/actions"
    bare = client.post(url, json={"action": "handle", "version": case.version}, headers=bearer(crew["water"]))
    assert bare.status_code == 422 and "needs a note" in bare.get_json()["error"]
    done = client.post(
        url,
        data={
            "action": "handle",
            "version": case.version,
            "note": "已更换",
            "photos": (io.BytesIO(jpeg()), "a.jpg"),
        },
        headers=bearer(crew["water"]),
    )
    assert done.status_code == 200 and done.get_json()["status"] == "handled"
    assert [
        p.kind for p in session.query(ReportPhoto).filter_by(report_id=case.id).order_by(ReportPhoto.id)
    ] == [
        "report",
        "after",
    ]


def test_verified_on_site_needs_the_verifier_there(client, session, crew):
    case = report_at(session, crew["worker"])
    dispatched_and_handled(session, crew, case)
    act(session, case, crew["water"], "handle", version=case.version, note="已更换")
    url = f"/api/v1/reports/{case.id}/actions"

    def verify(where, photo=True):
        data = {"action": "verify", "version": case.version, "lon": where[0], "lat": where[1]}
        if photo:
            data["photos"] = (io.BytesIO(jpeg()), "now.jpg")
        return client.post(url, data=data, headers=bearer(crew["supervisor"]))

    far = verify(east(250))
    assert far.status_code == 422
    assert re.search(r"you are 25\d m from the report", far.get_json()["error"])
    assert 249 < far.get_json()["distance_m"] < 251 and far.get_json()["radius_m"] == 100
    assert verify(east(40), photo=False).status_code == 422  # there, but no photo of it
    near = verify(east(40))
    assert near.status_code == 200 and near.get_json()["status"] == "verified"
    assert 39 < near.get_json()["events"][-1]["data"]["distance_m"] < 41


def test_the_case_page_verifies_with_the_phones_position_and_shows_before_and_after(
    client, login, session, crew
):
    case = report_at(session, crew["worker"])
    dispatched_and_handled(session, crew, case)
    act(session, case, crew["water"], "handle", version=case.version, note="已更换")
    login(crew["supervisor"])
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="here-lon"' in page and 'enctype="multipart/form-data"' in page
    answer = client.post(
        f"/cases/{case.id}/actions",
        data={
            "csrf_token": csrf_from(page),
            "action": "verify",
            "version": case.version,
            "lon": east(300)[0],
            "lat": SPOT[1],
            "photos": (io.BytesIO(jpeg()), "now.jpg"),
        },
    )
    assert answer.status_code == 302
    refused = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "m from the report: verifying needs you within 100 m" in refused
    session.expire_all()
    assert case.status == "handled"
    client.post(
        f"/cases/{case.id}/actions",
        data={
            "csrf_token": csrf_from(refused),
            "action": "verify",
            "version": case.version,
            "lon": east(20)[0],
            "lat": SPOT[1],
            "photos": (io.BytesIO(jpeg()), "now.jpg"),
        },
    )
    session.expire_all()
    assert case.status == "verified"
    shown = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert shown.count('data-kind="report"') == 1 and shown.count('data-kind="verify"') == 1


def test_my_work_lists_my_reports_and_marks_what_changed(client, login, session, crew):
    mine = report_at(session, crew["worker"])
    other = report_at(session, crew["neighbour"], east(30))
    login(crew["worker"])
    first = client.get("/my").get_data(as_text=True)
    assert f'data-id="{mine.id}"' in first and "gw-changed" not in first
    assert first.count(f'data-id="{other.id}"') == 1  # not mine, but open in my grid
    act(
        session,
        mine,
        crew["dispatcher"],
        "accept",
        version=mine.version,
        now=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1),
    )
    later = client.get("/my").get_data(as_text=True)
    changed = re.findall(r'gw-my-case gw-changed" data-id="(\d+)"', later)
    assert str(mine.id) in changed and str(other.id) not in changed


def test_the_installable_app_is_served(client, login, crew):
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["Cache-Control"] == "no-cache"
    body = worker.get_data(as_text=True)
    assert "/static/js/report.js" in body and '"revision"' in body and "workbox-sw.js" in body
    manifest = client.get("/manifest.webmanifest", headers={"Accept-Language": "zh-CN"}).get_json(force=True)
    assert manifest["name"] == "网格通 网格化管理" and manifest["start_url"] == "/report"
    assert client.get("/api/v1/session").status_code == 401
    login(crew["worker"])
    session = client.get("/api/v1/session").get_json()
    assert session["user"] == crew["worker"].id and session["csrf_token"]


def test_a_photos_position_is_read_from_its_head_alone(client, crew):
    """The phone sends only a photo's first 128 KB to ask for its GPS (static/js/report.js): on a
    weak signal the whole photo would hold up the report."""
    from PIL.TiffImagePlugin import IFDRational

    noise = Image.effect_noise((2000, 1500), 64).convert("RGB")
    exif = noise.getexif()
    exif[0x8825] = {
        1: "N",
        2: (IFDRational(44, 1), IFDRational(20, 1), IFDRational(6, 1)),
        3: "E",
        4: (IFDRational(84, 1), IFDRational(52, 1), IFDRational(3, 1)),
    }
    out = io.BytesIO()
    noise.save(out, "JPEG", quality=90, exif=exif)
    whole = out.getvalue()
    assert len(whole) > 4 * 128 * 1024
    answer = client.post(
        "/api/v1/photos/location",
        data={"photo": (io.BytesIO(whole[: 128 * 1024]), "IMG_0001.jpg")},
        content_type="multipart/form-data",
        headers=bearer(crew["worker"]),
    )
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json() == pytest.approx(
        {"lon": 84 + 52 / 60 + 3 / 3600, "lat": 44 + 20 / 60 + 6 / 3600}
    )


def test_a_first_visit_carries_its_files_and_an_installed_phone_links_them(client, login, crew):
    """app/delivery.py: on a first visit /report holds its styles and scripts (a round trip fewer
    for each on a weak signal); once the service worker keeps them (cookie gw_kit) it links them."""
    login(crew["worker"])
    first = client.get("/report").get_data(as_text=True)
    assert '<link rel="stylesheet" href="/static/vendor/bootstrap' not in first
    assert '<script src="/static/js/report.js"' not in first
    assert "<style>" in first and "L.map" in first and "window.GW_TIMEZONE" in first
    assert "url(/static/vendor/leaflet/images/" in first  # the stylesheet's images, from the page
    client.set_cookie("gw_kit", "1")
    installed = client.get("/report").get_data(as_text=True)
    assert '<script src="/static/js/report.js"></script>' in installed
    assert '<link rel="stylesheet" href="/static/vendor/leaflet/leaflet.css">' in installed
    assert len(installed) < len(first) / 5
    # other pages always link their files (the service worker keeps them from the first page on)
    assert '<script src="/static/js/app.js"></script>' in client.get("/my").get_data(as_text=True)


def test_answers_are_compressed_where_it_pays(client, login, crew):
    login(crew["worker"])
    page = client.get("/report", headers={"Accept-Encoding": "br, gzip"})
    assert page.headers["Content-Encoding"] == "br" and page.headers["Vary"].lower().count("accept-encoding")
    import brotli

    assert b"report-map" in brotli.decompress(page.data)
    library = client.get("/static/vendor/leaflet/leaflet.js", headers={"Accept-Encoding": "gzip"})
    assert library.status_code == 200 and library.headers["Content-Encoding"] == "gzip"
    assert "max-age=3600" in library.headers["Cache-Control"]
    small = client.get("/api/v1/session", headers={"Accept-Encoding": "br, gzip"})
    assert "Content-Encoding" not in small.headers  # a few hundred bytes: left as they are
