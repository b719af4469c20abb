"""Bad input at every door gets a 4xx with words a person understands, never a 5xx, and writes
nothing: the classes found by trying GridWatch as a new user would (wrong types, NaN and huge
numbers, NUL and broken characters, JSON nested 100,000 deep, text of a megabyte, dates in year 1
or 9999, image bombs, a polygon at longitude 1000, unknown encodings)."""

from __future__ import annotations

import io
import json

import pytest
from PIL import Image
from sqlalchemy import func, select

from gis.cases.intake import submit_report
from gis.models import Area, PatrolTrack, Report, ReportEvent
from tests.factories import CELL, ORIGIN, bearer

INSIDE = {"lon": ORIGIN[0] + 0.5 * CELL, "lat": ORIGIN[1] + 0.5 * CELL, "category": "2301"}
MEGABYTE = "长" * 1_000_000


def _written(session) -> tuple[int, int, int]:
    return tuple(
        session.scalar(select(func.count()).select_from(t)) for t in (Report, ReportEvent, PatrolTrack)
    )


def _refused(response, status=422) -> str:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:300])
    body = response.get_json()
    message = body["error"] if isinstance(body, dict) else body[0]["description"]
    assert message and "Traceback" not in message
    return message


REPORT_BODIES = [
    ({"description": 123}, "description: must be text"),
    ({"address": 5.5}, "address: must be text"),
    ({"address": MEGABYTE}, "address: is too long"),
    ({"description": MEGABYTE}, "description: is too long"),
    ({"lon": True}, "lon: must be a number, not true or false"),
    ({"lat": "NaN"}, "not NaN"),
    ({"lat": 1e308}, "swapped"),
    ({"lon": None}, "lon: must be a number"),
    ({"lon": [1]}, "lon: must be a number"),
    ({"description": "a\u0000b"}, "not text"),
    ({"category": "01\u000001"}, "category"),
    ({"client_id": "x"}, "client_id: must be a UUID"),
    ({"channel": "pigeon"}, "channel: must be one of"),
    ({"crs": "utm"}, "crs: must be one of"),
]


@pytest.mark.parametrize(("fields", "words"), REPORT_BODIES)
def test_a_report_with_bad_fields(client, town, make_user, session, fields, words):
    before = _written(session)
    assert words in _refused(
        client.post("/api/v1/reports", json={**INSIDE, **fields}, headers=bearer(make_user()))
    )
    assert _written(session) == before


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b'{"lon": 84.9, "lat": 44.3, "category": "2301", "description": "\\ud800"}', "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b'{"lon": 84.9,', "not valid JSON"),
        (b'["a list"]', "must be an object"),
    ],
)
def test_a_body_that_is_not_json_text(client, town, make_user, session, raw, words):
    before = _written(session)
    response = client.post(
        "/api/v1/reports", data=raw, content_type="application/json", headers=bearer(make_user())
    )
    assert words in _refused(response)
    assert _written(session) == before


@pytest.fixture
def case(session, town):
    return submit_report(session, lon=INSIDE["lon"], lat=INSIDE["lat"], category="2301").report(session)


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"version": "abc"}, "version: must be a whole number"),
        ({"version": [1]}, "version: must be a whole number"),
        ({"version": 1e308}, "version"),
        ({"version": "NaN"}, "version"),
        ({"action": "void", "note": 42}, "note: must be text"),
        ({"action": "void", "note": MEGABYTE}, "note: is too long"),
        ({"department": "9" * 20}, "department"),
        ({"action": "extend", "hours": "abc"}, "hours: must be a number"),
        ({"action": "extend", "hours": "inf"}, "hours"),
        ({"action": "extend", "hours": 1e308}, "hours: must be at most"),
    ],
)
def test_an_action_with_bad_fields(client, case, make_user, session, fields, words):
    before = _written(session)
    body = {"action": "accept", "version": 1, **fields}
    response = client.post(
        f"/api/v1/reports/{case.id}/actions", json=body, headers=bearer(make_user("dispatcher"))
    )
    assert words in _refused(response)
    assert _written(session) == before


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/api/v1/stats?period=0000", "period"),
        ("/api/v1/stats?period=9999-12-31", "period"),
        ("/api/v1/stats?from=0001-01-01", "from"),
        ("/api/v1/stats?level=planet", "level: must be one of"),
        ("/api/v1/coverage?hours=inf", "hours"),
        ("/api/v1/coverage?hours=abc", "hours: must be a number"),
        ("/api/v1/coverage?from=0001-01-01T00:00", "between 2000 and 2100"),
        ("/api/v1/layers/reports.geojson?bbox=1,2,3", "bbox"),
        ("/api/v1/layers/reports.geojson?bbox=0,0,1,1&from=9999-12-31", "to: "[:0] + "from"),
        ("/api/v1/layers/grid.geojson?bbox=nan,nan,nan,nan", "bbox"),
        ("/api/v1/grids/locate?lon=1e999&lat=44", "lon"),
        ("/open311/v2/requests.json?page=1e20", "page"),
        ("/open311/v2/requests.json?start_date=0001-01-01T00:00:00Z", "between 2000 and 2100"),
        ("/api/v1/grids/650202%00001", "NUL"),
    ],
)
def test_query_strings_out_of_their_range(client, town, make_user, path, words):
    status = 400 if path.startswith("/open311/") else 422
    assert words in _refused(client.get(path, headers=bearer(make_user("supervisor"))), status)


def test_pages_take_silly_page_numbers_calmly(client, login, town, make_user):
    login(make_user("supervisor"))
    for page in ("1e20", "99999999999999999999", "-5", "abc"):
        assert client.get(f"/cases?page={page}").status_code == 200, page
    assert client.get("/cases?from=0000-01-01").status_code == 422


def test_a_patrol_with_a_name_of_a_megabyte_or_a_fix_from_year_one(client, town, make_user, session):
    worker = make_user("grid_worker")
    before = _written(session)
    assert "name: is too long" in _refused(
        client.post("/api/v1/patrols", json={"name": MEGABYTE}, headers=bearer(worker))
    )
    assert _written(session) == before
    track = client.post("/api/v1/patrols", json={}, headers=bearer(worker)).get_json()
    ping = {"lon": INSIDE["lon"], "lat": INSIDE["lat"], "time": "0001-01-01T00:00:00+00:00"}
    assert "2000" in _refused(
        client.post(track["points_url"], json={"points": [ping]}, headers=bearer(worker))
    )


def _png_bomb() -> bytes:
    """A PNG whose header declares 50,000 × 50,000 pixels (it could never decode: a bomb)."""
    small = io.BytesIO()
    Image.new("L", (1, 1)).save(small, "PNG")
    data = bytearray(small.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = (50_000).to_bytes(4, "big") * 2
    import zlib

    data[ihdr + 17 : ihdr + 21] = zlib.crc32(bytes(data[ihdr : ihdr + 17])).to_bytes(4, "big")
    return bytes(data)


def _jpeg_bomb() -> bytes:
    """A JPEG whose frame header declares 50,000 × 50,000 pixels."""
    small = io.BytesIO()
    Image.new("RGB", (8, 8)).save(small, "JPEG")
    data = bytearray(small.getvalue())
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = (50_000).to_bytes(2, "big") * 2
    return bytes(data)


@pytest.mark.parametrize("bomb", [_png_bomb, _jpeg_bomb])
def test_an_image_bomb_is_refused_before_it_is_decoded(client, town, make_user, session, bomb):
    before = _written(session)
    response = client.post(
        "/api/v1/reports",
        data={**INSIDE, "photos": [(io.BytesIO(bomb()), "bomb.png")]},
        content_type="multipart/form-data",
        headers=bearer(make_user()),
    )
    assert "too large" in _refused(response)
    assert _written(session) == before
    located = client.post(
        "/api/v1/photos/location",
        data={"photo": (io.BytesIO(bomb()), "bomb.png")},
        content_type="multipart/form-data",
        headers=bearer(make_user()),
    )
    assert "too large" in _refused(located)


def test_a_photo_whose_gps_is_nonsense_has_no_position(client, make_user):
    image = Image.new("RGB", (8, 8))
    exif = image.getexif()
    from PIL.TiffImagePlugin import IFDRational

    exif[0x8825] = {
        1: "N",
        2: (IFDRational(0, 0), IFDRational(0, 0), IFDRational(0, 0)),
        3: "E",
        4: (IFDRational(84, 1), IFDRational(0, 1), IFDRational(0, 1)),
    }
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    response = client.post(
        "/api/v1/photos/location",
        data={"photo": (io.BytesIO(out.getvalue()), "nan.jpg")},
        content_type="multipart/form-data",
        headers=bearer(make_user()),
    )
    assert response.status_code == 404 and "no GPS position" in response.get_json()["error"]
    assert b"NaN" not in response.data


def _geojson_zip(tmp_path, features) -> bytes:
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path.read_bytes()


def test_an_import_polygon_at_longitude_1000_is_named_and_refused(
    client, make_user, make_area, session, tmp_path
):
    planner = make_user("planner")
    far = {
        "type": "Feature",
        "properties": {"code": "650202", "name": "far"},
        "geometry": {"type": "Polygon", "coordinates": [[[1000, 44], [1001, 44], [1001, 45], [1000, 44]]]},
    }
    response = client.post(
        "/api/v1/imports",
        data={
            "kind": "grids",
            "level": "district",
            "dry_run": "0",
            "file": (io.BytesIO(_geojson_zip(tmp_path, [far])), "far.geojson"),
        },
        content_type="multipart/form-data",
        headers=bearer(planner),
    )
    body = response.get_json()  # the import's job was refused
    assert response.status_code == 202 and body["state"] == "refused" and body["batch_id"] is None
    assert "not on Earth" in body["report"]["rejected"][0]["reason"]
    assert session.scalar(select(func.count()).select_from(Area)) == 0


def test_an_unknown_encoding_is_refused_with_the_known_ones(client, make_user, tmp_path):
    from tests.files import town_cells, write_shapefile, zip_shapefile

    shp = write_shapefile(town_cells(), tmp_path / "g.shp")
    response = client.post(
        "/api/v1/imports",
        data={
            "kind": "grids",
            "level": "district",
            "encoding": "klingon",
            "file": (io.BytesIO(zip_shapefile(shp, tmp_path / "g.zip").read_bytes()), "g.zip"),
        },
        content_type="multipart/form-data",
        headers=bearer(make_user("planner")),
    )
    message = _refused(response)
    assert "unknown encoding 'klingon'" in message and "gb18030" in message
