"""QGIS's and GDAL's view of GridWatch, read with GDAL's own clients (ogrinfo, ogr2ogr) from a
live server on the demo city: OGC API – Features lists the collections, a copy of the grids
equals the database's, a worker's token copies only the worker's reports, reprojected
coordinates are within 1 cm, and vector tiles decode with the right features."""

from __future__ import annotations

import json
import math
import subprocess
import urllib.request

import pyogrio
import pytest
from pyproj import Transformer
from shapely import wkb
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.accounts import issue_token
from gis.models import User
from tests.conftest import demo_server


@pytest.fixture(scope="module")
def server(engine):  # engine: the embedded cluster is up
    with demo_server("ogc") as (url, eng):
        with Session(eng) as session:
            worker = session.scalar(select(User).where(User.username == "worker"))
            token, worker_id = issue_token(worker), worker.id
            session.commit()
        yield {"url": url, "db": eng, "token": token, "worker_id": worker_id}


def gdal(*args: str, token: str | None = None) -> str:
    config = ["--config", "GDAL_HTTP_HEADERS", f"Authorization: Bearer {token}"] if token else []
    done = subprocess.run([args[0], *config, *args[1:]], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def get(url: str, token: str | None = None):
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.headers, answer.read()


def test_ogrinfo_lists_the_collections(server):
    out = gdal("ogrinfo", "-ro", "-so", f"OAPIF:{server['url']}/ogc/")
    for name in ("districts", "streets", "communities", "grids", "buildings", "reports"):
        assert f": {name} (" in out


def test_a_copy_of_the_grids_equals_the_database(server, tmp_path):
    copy = tmp_path / "grids.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(copy), f"OAPIF:{server['url']}/ogc/", "grids")
    frame = pyogrio.read_dataframe(copy)
    with server["db"].connect() as conn:
        rows = conn.execute(text("SELECT code, ST_AsBinary(geom) FROM areas WHERE level = 'grid'")).all()
    stored = {code: wkb.loads(bytes(g)) for code, g in rows}
    assert sorted(frame["code"]) == sorted(stored)
    for code, geometry in zip(frame["code"], frame.geometry, strict=True):
        assert geometry.equals_exact(stored[code], 1e-7), code  # 1e-7° ≈ 1 cm


def test_a_token_copies_only_its_scope(server, tmp_path):
    mine, anyone = tmp_path / "mine.gpkg", tmp_path / "anyone.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(mine), f"OAPIF:{server['url']}/ogc/", "reports", token=server["token"])
    gdal("ogr2ogr", "-f", "GPKG", str(anyone), f"OAPIF:{server['url']}/ogc/", "reports")
    with server["db"].connect() as conn:
        worker_grids = "(SELECT area_id FROM user_grids WHERE user_id = :u)"
        scope = set(
            conn.scalars(
                text(
                    f"SELECT id FROM reports WHERE grid_id IN {worker_grids}"
                    " OR reporter_id = :u OR verifier_id = :u"
                ),
                {"u": server["worker_id"]},
            )
        )
        public = set(
            conn.scalars(
                text(
                    "SELECT r.id FROM reports r JOIN categories c ON c.code = r.category_code"
                    " WHERE c.privacy = 'public'"
                )
            )
        )
    got = (
        set(pyogrio.read_dataframe(mine, fid_as_index=True)["id"])
        if "id" in pyogrio.read_info(mine)["fields"]
        else None
    )
    if got is None:  # GDAL keeps the feature id as the FID
        got = set(pyogrio.read_dataframe(mine, fid_as_index=True).index)
    assert scope and got == scope
    anonymous = pyogrio.read_dataframe(anyone)
    assert set(anonymous["id"]) == public and public != scope
    assert all("138" not in (d or "") or "****" in d for d in anonymous["description"])  # masked


def test_cgcs2000_and_its_gauss_kruger_zone_within_a_centimetre(server):
    base = f"{server['url']}/ogc/collections/grids/items?limit=5"
    _, plain = get(base)
    headers, body = get(f"{base}&crs=http://www.opengis.net/def/crs/EPSG/0/4537")
    assert headers["Content-Crs"] == "<http://www.opengis.net/def/crs/EPSG/0/4537>"
    _, geographic = get(f"{base}&crs=EPSG:4490")
    to_gk = Transformer.from_crs(4326, 4537)  # EPSG axis order: northing, easting
    for a, b, c in zip(
        json.loads(plain)["features"],
        json.loads(body)["features"],
        json.loads(geographic)["features"],
        strict=True,
    ):
        assert a["id"] == b["id"] == c["id"]
        for (lon, lat), (north, east), (lat2, lon2) in zip(
            a["geometry"]["coordinates"][0][0],
            b["geometry"]["coordinates"][0][0],
            c["geometry"]["coordinates"][0][0],
            strict=True,
        ):
            n, e = to_gk.transform(lat, lon)
            assert math.hypot(n - north, e - east) < 0.01
            assert (lat2, lon2) == pytest.approx((lat, lon), abs=1e-7)  # CGCS2000 ≈ WGS 84 here: within 1 cm


def test_bbox_in_cgcs2000_finds_what_the_same_box_in_crs84_finds(server):
    box = (84.87, 44.32, 84.89, 44.335)
    url = f"{server['url']}/ogc/collections/grids/items?limit=1000"
    _, a = get(f"{url}&bbox={','.join(map(str, box))}")
    _, b = get(f"{url}&bbox={box[1]},{box[0]},{box[3]},{box[2]}&bbox-crs=EPSG:4490")
    ids = {f["id"] for f in json.loads(a)["features"]}
    assert ids and ids == {f["id"] for f in json.loads(b)["features"]}


def test_bad_arguments_are_refused_in_words(server):
    for query in (
        "crs=EPSG:3857",
        "limit=0",
        "limit=x",
        "bbox=1,2,3",
        "datetime=yesterday",
        "f=pdf",
        "cursor=-1",
    ):
        with pytest.raises(urllib.error.HTTPError) as refused:
            get(f"{server['url']}/ogc/collections/reports/items?{query}")
        with refused.value:
            assert refused.value.code == 400, query
            assert json.loads(refused.value.read())["error"]
    with pytest.raises(urllib.error.HTTPError) as missing:
        get(f"{server['url']}/ogc/collections/nothing/items")
    with missing.value:
        assert missing.value.code == 404


def _tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    return int((lon + 180) / 360 * n), int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)


def test_vector_tiles_decode_with_the_right_features(server, tmp_path):
    _, tilejson = get(f"{server['url']}/tiles/grids.json")
    description = json.loads(tilejson)
    assert description["vector_layers"][0]["id"] == "grids"
    z = 15
    x, y = _tile_of(84.88, 44.33, z)
    _, data = get(description["tiles"][0].format(z=z, x=x, y=y))
    assert 0 < len(data) < 500_000
    path = tmp_path / str(z) / str(x) / f"{y}.pbf"  # GDAL's MVT driver reads z/x/y from the path
    path.parent.mkdir(parents=True)
    path.write_bytes(data)
    decoded = pyogrio.read_dataframe(path, layer="grids")
    with server["db"].connect() as conn:
        expected = set(
            conn.scalars(
                text(
                    "SELECT code FROM areas WHERE level = 'grid'"
                    " AND ST_Intersects(geom, ST_Transform(ST_TileEnvelope(:z, :x, :y), 4326))"
                ),
                {"z": z, "x": x, "y": y},
            )
        )
    assert expected and set(decoded["code"]) == expected
    _, reports = get(f"{server['url']}/tiles/reports/{z}/{x}/{y}.pbf", token=server["token"])
    assert len(reports) < 500_000


def test_patrol_coverage_per_grid_for_a_window(server, tmp_path):
    with pytest.raises(urllib.error.HTTPError) as anonymous:
        get(f"{server['url']}/ogc/collections/coverage/items")
    with anonymous.value:
        assert anonymous.value.code == 401
    out = tmp_path / "coverage.gpkg"
    gdal("ogr2ogr", "-f", "GPKG", str(out), f"OAPIF:{server['url']}/ogc/", "coverage", token=server["token"])
    frame = pyogrio.read_dataframe(out)
    assert len(frame) == 96 and {"code", "area_share", "minutes", "last_visit"} <= set(frame.columns)
    assert (frame["area_share"] > 0).any()  # the demo's workers walked their grids in the last day
    _, body = get(
        f"{server['url']}/ogc/collections/coverage/items?limit=1000&datetime=2000-01-01T00:00:00Z/2000-01-02T00:00:00Z",
        token=server["token"],
    )
    assert all(
        f["properties"]["area_share"] == 0 for f in json.loads(body)["features"]
    )  # nobody walked in 2000
