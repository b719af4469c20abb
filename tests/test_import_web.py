"""POST /api/v1/imports: check first (nothing written), then import; planners only; size capped."""

import gc
import io

import pytest
from sqlalchemy import func, select

from gis.models import Area
from tests.conftest import csrf_from
from tests.factories import bearer
from tests.files import town_cells, write_shapefile, zip_shapefile
from tests.test_import_areas import CODES, community  # noqa: F401 (fixture)


def upload(path):
    return (io.BytesIO(path.read_bytes()), path.name)


def count(session):
    return session.scalar(select(func.count()).select_from(Area).where(Area.level == "grid"))


def test_check_then_import_a_zipped_gbk_shapefile(client, session, community, make_user, tmp_path):
    planner = make_user("planner")
    (tmp_path / "s").mkdir()
    shp = write_shapefile(
        town_cells(CODES), tmp_path / "s" / "网格.shp", crs=4537, encoding="GBK", keep_cpg=False, ldid=0
    )
    archive = zip_shapefile(shp, tmp_path / "网格.zip")
    check = client.post(
        "/api/v1/imports",
        headers=bearer(planner),
        content_type="multipart/form-data",
        data={"file": upload(archive), "kind": "grids", "level": "grid"},
    )
    assert check.status_code == 200, check.get_json()
    body = check.get_json()
    assert body["written"] is False and body["report"]["file"] == "网格.zip"
    assert body["report"]["columns"] == ["name", "code"]
    assert len(body["preview"]["features"]) == 4
    assert {f["properties"]["name"] for f in body["preview"]["features"]} >= {"一号网格"}
    assert count(session) == 0
    done = client.post(
        "/api/v1/imports",
        headers=bearer(planner),
        content_type="multipart/form-data",
        data={"file": upload(archive), "kind": "grids", "dry_run": "0"},
    )
    job = done.get_json()  # an import is a job; here (JOBS_INLINE) it has ended before the answer
    assert done.status_code == 202 and job["state"] == "done" and job["batch_id"] and job["percent"] == 100
    assert client.get(job["status_url"], headers=bearer(planner)).get_json()["state"] == "done"
    assert count(session) == 4


def test_shapefile_parts_uploaded_together(client, session, community, make_user, tmp_path):
    shp = write_shapefile(town_cells(CODES), tmp_path / "g.shp")
    parts = [upload(shp.with_suffix(s)) for s in (".shp", ".shx", ".dbf", ".prj", ".cpg")]
    response = client.post(
        "/api/v1/imports",
        headers=bearer(make_user("planner")),
        content_type="multipart/form-data",
        data={"file": parts, "kind": "grids", "dry_run": "0"},
    )
    assert response.status_code == 202 and response.get_json()["state"] == "done", response.get_json()
    missing = client.post(
        "/api/v1/imports",
        headers=bearer(make_user("planner")),
        content_type="multipart/form-data",
        data={"file": [upload(shp)], "kind": "grids"},
    )
    assert missing.status_code == 422 and "without its .dbf and .shx files" in missing.get_json()["error"]


def test_refused_import_answers_422_with_the_report_and_writes_nothing(
    client, session, community, make_user, tmp_path
):
    path = tmp_path / "dup.geojson"
    town_cells([CODES[0]] * 4).to_file(path, driver="GeoJSON")
    response = client.post(
        "/api/v1/imports",
        headers=bearer(make_user("planner")),
        content_type="multipart/form-data",
        data={"file": upload(path), "kind": "grids", "dry_run": "0"},
    )
    job = response.get_json()
    assert response.status_code == 202 and job["state"] == "refused" and job["batch_id"] is None
    assert job["report"]["topology"]["duplicate_codes"] == [CODES[0]] and "duplicate codes" in job["error"]
    assert count(session) == 0


def test_only_planners_and_admins_import(client, make_user, login):
    assert client.post("/api/v1/imports", headers=bearer(make_user("grid_worker"))).status_code == 403
    login(make_user("supervisor"))
    assert client.get("/import").status_code == 403


def test_planner_page_loads(client, make_user, login):
    login(make_user("planner"))
    page = client.get("/import").get_data(as_text=True)
    assert 'id="import-form"' in page and "js/import.js" in page


@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_upload_over_the_cap_is_413_with_a_message(app, client, make_user, tmp_path):
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    big = io.BytesIO(b"0" * (2 * 1024 * 1024))
    response = client.post(
        "/api/v1/imports",
        headers=bearer(make_user("planner")),
        content_type="multipart/form-data",
        data={"file": (big, "huge.zip")},
    )
    assert response.status_code == 413
    assert "larger than the 1 MB" in response.get_json()["error"]
    gc.collect()  # werkzeug leaves the aborted upload's spool file to the collector: close it here


def test_session_upload_needs_the_csrf_token(client, make_user, login, tmp_path):
    login(make_user("planner"))
    path = tmp_path / "g.geojson"
    town_cells(CODES).to_file(path, driver="GeoJSON")
    response = client.post(
        "/api/v1/imports", content_type="multipart/form-data", data={"file": upload(path), "kind": "grids"}
    )
    assert response.status_code == 400
    token = csrf_from(client.get("/import").get_data(as_text=True))
    response = client.post(
        "/api/v1/imports",
        content_type="multipart/form-data",
        headers={"X-CSRFToken": token},
        data={"file": upload(path), "kind": "grids"},
    )
    assert response.status_code in (200, 422)  # reached the importer (no community here: 422)
