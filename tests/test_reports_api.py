"""POST /api/v1/reports: a pin lands in its grid; retries never duplicate; bad input is refused."""

import io
import uuid

from PIL import Image
from sqlalchemy import func, select

from gis.coords import wgs84_to_gcj02
from gis.models import Report, ReportEvent
from tests.factories import CELL, ORIGIN, bearer

INSIDE = (ORIGIN[0] + 0.5 * CELL, ORIGIN[1] + 0.5 * CELL)


def post(client, user, **fields):
    body = {
        "lon": INSIDE[0],
        "lat": INSIDE[1],
        "category": "2301",
        "description": "电动车在楼道内充电",
        **fields,
    }
    return client.post("/api/v1/reports", json=body, headers=bearer(user))


def test_report_lands_in_its_grid_with_names_and_no_deadline_yet(client, town, make_user):
    response = post(client, make_user("grid_worker", grids=town["grids"][:1]))
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "reported"
    assert body["grid"]["code"] == "650202001001001" and body["grid"]["name"] == "第1网格"
    assert body["community"]["name"] == "第一社区"
    assert body["street"]["name"] == "西宁路街道" and body["district"]["code"] == "650202"
    assert body["assignment"] == "inside"
    assert body["category"]["name_en"] == "E-bike charging in stairwell"
    assert body["deadline_at"] is None  # the handling clock starts at dispatch
    assert response.headers["Location"].endswith(f"/api/v1/reports/{body['id']}")


def test_same_client_id_twice_returns_the_first_report(client, town, make_user, session):
    user = make_user("grid_worker")
    client_id = str(uuid.uuid4())
    first = post(client, user, client_id=client_id)
    again = post(client, user, client_id=client_id, description="a retry with other text")
    assert first.status_code == 201 and again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["description"] == "电动车在楼道内充电"
    count = session.scalar(
        select(func.count()).select_from(Report).where(Report.client_id == uuid.UUID(client_id))
    )
    assert count == 1


def test_bad_client_id_is_refused(client, town, make_user):
    response = post(client, make_user(), client_id="not-a-uuid")
    assert response.status_code == 422
    assert "UUID" in response.get_json()["error"]


def test_gcj02_point_is_converted_and_the_original_kept(client, town, make_user, session):
    glon, glat = wgs84_to_gcj02(*INSIDE)
    response = post(client, make_user(), lon=glon, lat=glat, crs="gcj02")
    body = response.get_json()
    assert response.status_code == 201
    assert abs(body["lon"] - INSIDE[0]) < 1e-6 and abs(body["lat"] - INSIDE[1]) < 1e-6
    assert body["original"] == {"crs": "gcj02", "lon": round(glon, 9), "lat": round(glat, 9)}  # 0.1 mm
    assert body["grid"]["code"] == "650202001001001"
    # taken as WGS 84, the same numbers are ~100+ m off: another grid
    raw = post(client, make_user(), lon=glon, lat=glat).get_json()
    assert raw["grid"]["code"] != "650202001001001"


def test_point_in_the_sea_is_kept_in_the_unassigned_queue(client, town, make_user):
    response = post(client, make_user(), lon=121.9, lat=29.9)
    assert response.status_code == 201
    assert response.get_json()["assignment"] == "unassigned"


def test_invalid_coordinates_are_422_with_a_message(client, town, make_user, session):
    for lon, lat, words in [
        (0, 0, "no GPS fix"),
        ("NaN", 44, "not NaN"),
        (44.3, 184.9, "swapped"),
        (None, None, "must be a number"),
    ]:
        response = post(client, make_user(), lon=lon, lat=lat)
        assert response.status_code == 422
        assert words in response.get_json()["error"]
    assert session.scalar(select(func.count()).select_from(Report)) == 0


def test_unknown_category_and_channel_are_refused(client, town, make_user):
    assert "category" in post(client, make_user(), category="9999").get_json()["error"]
    assert post(client, make_user(), category="23").status_code == 422  # a group, not a category
    assert "channel" in post(client, make_user(), channel="fax").get_json()["error"]


def test_photos_are_resized_and_served(client, town, make_user):
    image = io.BytesIO()
    Image.new("RGB", (4000, 3000), "red").save(image, "PNG")
    image.seek(0)
    user = make_user()
    response = client.post(
        "/api/v1/reports",
        headers=bearer(user),
        data={
            "lon": str(INSIDE[0]),
            "lat": str(INSIDE[1]),
            "category": "0101",
            "photos": [(image, "cover.png")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 201, response.get_json()
    [url] = response.get_json()["photos"]
    served = client.get(url, headers=bearer(user))
    assert served.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(served.data)).size) == 1600


def test_a_file_that_is_not_an_image_is_refused(client, town, make_user, session):
    response = client.post(
        "/api/v1/reports",
        headers=bearer(make_user()),
        data={
            "lon": str(INSIDE[0]),
            "lat": str(INSIDE[1]),
            "category": "0101",
            "photos": [(io.BytesIO(b"%PDF-1.4 not an image"), "x.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "not an image" in response.get_json()["error"]
    assert session.scalar(select(func.count()).select_from(ReportEvent)) == 0


def test_locate_returns_the_grid_and_its_parents(client, town, make_user):
    user = make_user()
    response = client.get(f"/api/v1/grids/locate?lon={INSIDE[0]}&lat={INSIDE[1]}", headers=bearer(user))
    assert response.status_code == 200
    body = response.get_json()
    assert [body[k]["code"] for k in ("grid", "community", "street", "district")] == [
        "650202001001001",
        "650202001001",
        "650202001",
        "650202",
    ]
    far = client.get("/api/v1/grids/locate?lon=121.9&lat=29.9", headers=bearer(user))
    assert far.status_code == 404 and "unassigned" in far.get_json()["error"]
    bad = client.get("/api/v1/grids/locate?lon=0&lat=0", headers=bearer(user))
    assert bad.status_code == 422


def test_intake_checks_the_token_itself_and_writes_nothing_without_one(client, town, make_user, session):
    """Intake checks a Bearer token in its own statement (no lookup of its own): a wrong token,
    or the token of a user who has been deactivated, is 401 and leaves no report behind."""
    worker = make_user("grid_worker", grids=town["grids"][:1])
    before = session.scalar(select(func.count()).select_from(Report))
    body = {"lon": INSIDE[0], "lat": INSIDE[1], "category": "2301", "description": "x"}
    wrong = client.post("/api/v1/reports", json=body, headers={"Authorization": "Bearer not-a-token"})
    assert wrong.status_code == 401 and "Bearer" in wrong.get_json()["error"]
    headers = bearer(worker)
    worker.active = False
    session.flush()
    assert client.post("/api/v1/reports", json=body, headers=headers).status_code == 401
    assert session.scalar(select(func.count()).select_from(Report)) == before
    worker.active = True
    session.flush()
    created = client.post("/api/v1/reports", json=body, headers=headers)
    assert created.status_code == 201
    report = session.get(Report, created.get_json()["id"])
    assert report.reporter_id == worker.id
    assert [(e.action, e.actor_id) for e in report.events] == [("report", worker.id)]


def test_a_phones_pin_commits_in_its_own_statement(engine, committed):
    """The other tests run inside a transaction they roll back, where intake keeps to it; here the
    app has its own connections, as served: the pin is committed by its statement alone (seen from
    another connection), a retry still returns it, and a bad token still writes nothing."""
    from app import create_app
    from gis.accounts import create_user, issue_token

    token = issue_token(create_user(committed, "phone", "grid_worker", "correct-horse-battery"))
    committed.commit()
    app = create_app({"TESTING": True, "DATABASE_URL": engine.url.render_as_string(hide_password=False)})
    try:
        client, client_id = app.test_client(), str(uuid.uuid4())
        body = {"lon": INSIDE[0], "lat": INSIDE[1], "category": "2301", "client_id": client_id}
        first = client.post("/api/v1/reports", json=body, headers={"Authorization": f"Bearer {token}"})
        again = client.post("/api/v1/reports", json=body, headers={"Authorization": f"Bearer {token}"})
        wrong = client.post(
            "/api/v1/reports",
            json={**body, "client_id": str(uuid.uuid4())},
            headers={"Authorization": "Bearer not-a-token"},
        )
        assert (first.status_code, again.status_code, wrong.status_code) == (201, 200, 401)
        assert again.get_json()["id"] == first.get_json()["id"]
        with engine.connect() as other:
            assert other.scalar(select(func.count()).select_from(Report)) == 1
            assert other.scalar(select(Report.client_id)) == uuid.UUID(client_id)
            assert other.scalar(select(func.count()).select_from(ReportEvent)) == 1
    finally:
        app.extensions["gridwatch.engine"].dispose()


def test_commit_alone_commits_before_the_session_does_unless_photos_follow(engine, committed):
    from gis.accounts import create_user
    from gis.cases.intake import submit_report

    user_id = create_user(committed, "phone", "grid_worker", "correct-horse-battery").id
    committed.commit()

    def count_seen_elsewhere():
        with engine.connect() as other:
            return other.scalar(select(func.count()).select_from(Report))

    photo = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(photo, "JPEG")
    for commit_alone, photos, seen in ((True, [], 1), (False, [], 0), (True, [photo.getvalue()], 0)):
        before = count_seen_elsewhere()
        submit_report(
            committed,
            lon=INSIDE[0],
            lat=INSIDE[1],
            category="2301",
            reporter_id=user_id,
            photos=photos,
            commit_alone=commit_alone,
        )
        assert count_seen_elsewhere() - before == seen
        committed.commit()
        assert count_seen_elsewhere() - before == 1
