"""Map layers by viewport: grids with case counts, report pins with filters, the grid summary."""

from gis.cases.intake import submit_report
from gis.cases.lifecycle import act
from tests.factories import CELL, ORIGIN, bearer

TOWN = f"{ORIGIN[0]},{ORIGIN[1]},{ORIGIN[0] + 2 * CELL},{ORIGIN[1] + 2 * CELL}"


def report_at(session, col, row, **kw):
    return submit_report(
        session,
        lon=ORIGIN[0] + (col + 0.5) * CELL,
        lat=ORIGIN[1] + (row + 0.5) * CELL,
        category=kw.pop("category", "2301"),
        **kw,
    ).report(session)


def test_grid_layer_counts_open_cases_per_grid(client, session, town, make_user):
    report_at(session, 0, 0)
    report_at(session, 0, 0)
    fc = client.get(
        f"/api/v1/layers/grid.geojson?bbox={TOWN}&zoom=16", headers=bearer(make_user())
    ).get_json()
    counts = {f["properties"]["code"]: f["properties"]["open"] for f in fc["features"]}
    assert counts == {"650202001001001": 2, "650202001001002": 0, "650202001001003": 0, "650202001001004": 0}


def test_grid_layer_only_returns_the_viewport(client, town, make_user):
    west_half = f"{ORIGIN[0]},{ORIGIN[1]},{ORIGIN[0] + 0.5 * CELL},{ORIGIN[1] + 2 * CELL}"
    fc = client.get(f"/api/v1/layers/grid.geojson?bbox={west_half}", headers=bearer(make_user())).get_json()
    assert sorted(f["id"] for f in fc["features"]) == ["650202001001001", "650202001001003"]
    assert (
        client.get("/api/v1/layers/grid.geojson?bbox=1,2,3", headers=bearer(make_user())).status_code == 422
    )


def test_report_pins_filter_by_status_category_and_channel(client, session, town, make_user):
    dispatcher = make_user("dispatcher")
    fire = report_at(session, 0, 0, category="2301", channel="hotline")
    report_at(session, 1, 1, category="0101")
    act(session, fire, dispatcher, "void", version=fire.version, note="dup")
    get = lambda q: client.get(
        f"/api/v1/layers/reports.geojson?bbox={TOWN}{q}",
        headers=bearer(dispatcher),
    ).get_json()["features"]
    assert len(get("")) == 2
    assert [f["properties"]["status"] for f in get("&status=open")] == ["reported"]
    assert [f["properties"]["category"] for f in get("&category=23")] == ["楼道电动车充电"]
    assert len(get("&channel=hotline")) == 1
    assert len(get("&from=2000-01-01&to=2000-01-02")) == 0
    assert (
        client.get(
            f"/api/v1/layers/reports.geojson?bbox={TOWN}&from=yesterday", headers=bearer(dispatcher)
        ).status_code
        == 422
    )


def test_grid_summary(client, session, town, make_user, make_building):
    grid = town["grids"][0]
    worker = make_user("grid_worker", grids=[grid])
    from tests.factories import square

    make_building(square(0, 0, CELL / 4), grid, households=24)
    report_at(session, 0, 0)
    body = client.get(f"/api/v1/grids/{grid.code}", headers=bearer(worker)).get_json()
    assert body["workers"] == worker.display_name
    assert (body["buildings"], body["households"], body["open"], body["overdue"]) == (1, 24, 1, 0)
    assert len(body["weekly"]) == 12 and body["weekly"][-1] == 1
    assert body["community"] == "第一社区"
    assert client.get("/api/v1/grids/650202001001999", headers=bearer(worker)).status_code == 404


def test_too_many_grids_in_view_draws_their_community_with_cases_summed(
    client, session, town, make_user, monkeypatch
):
    from gis.maps import layers

    report_at(session, 0, 0)
    report_at(session, 1, 1)
    url = f"/api/v1/layers/grid.geojson?bbox={TOWN}&zoom=12&auto=1"
    assert client.get(url, headers=bearer(make_user())).get_json()["level"] == "grid"
    monkeypatch.setattr(layers, "MAX_GRIDS_DRAWN", 3)  # 4 grids in view: one level up
    fc = client.get(url, headers=bearer(make_user())).get_json()
    assert fc["level"] == "community"
    assert [(f["id"], f["properties"]["open"]) for f in fc["features"]] == [("650202001001", 2)]
    monkeypatch.setattr(layers, "MAX_GRIDS_DRAWN", 0)  # nothing fits: the district
    assert client.get(url, headers=bearer(make_user())).get_json()["level"] == "district"
    # without auto, the grids are drawn whatever their number
    assert (
        len(client.get(url.replace("&auto=1", ""), headers=bearer(make_user())).get_json()["features"]) == 4
    )


def test_buildings_layer_only_from_zoom_16_with_households(client, session, town, make_user, make_building):
    from tests.factories import square

    make_building(square(0, 0, CELL / 4), town["grids"][0], name="1号楼", households=24)
    user = make_user()
    low = client.get(f"/api/v1/layers/buildings.geojson?bbox={TOWN}&zoom=14", headers=bearer(user)).get_json()
    assert low["features"] == [] and "zoom 16" in low["hint"]
    high = client.get(
        f"/api/v1/layers/buildings.geojson?bbox={TOWN}&zoom=17", headers=bearer(user)
    ).get_json()
    assert [(f["properties"]["name"], f["properties"]["households"]) for f in high["features"]] == [
        ("1号楼", 24)
    ]
    grids = client.get(f"/api/v1/layers/grid.geojson?bbox={TOWN}&zoom=16", headers=bearer(user)).get_json()
    households = {f["id"]: f["properties"]["households"] for f in grids["features"]}
    assert households["650202001001001"] == 24 and households["650202001001002"] is None


def test_pins_filter_by_street_or_community_and_layer_downloads(client, session, town, make_user, make_area):
    from tests.factories import square

    other = make_area("community", "650202001002", square(5, 5), "第二社区", town["street"])
    make_area("grid", "650202001002001", square(5, 5), "第二社区一网格", other)
    report_at(session, 0, 0)
    report_at(session, 5, 5)
    user = make_user()
    wide = f"{ORIGIN[0]},{ORIGIN[1]},{ORIGIN[0] + 6 * CELL},{ORIGIN[1] + 6 * CELL}"
    get = lambda area: client.get(
        f"/api/v1/layers/reports.geojson?bbox={wide}&area={area}",
        headers=bearer(user),
    ).get_json()["features"]
    assert len(get("")) == 2 and len(get("650202001")) == 2
    assert [f["properties"]["grid"] for f in get("650202001002")] == ["第二社区一网格"]
    response = client.get(f"/api/v1/layers/grid.geojson?bbox={wide}&download=1", headers=bearer(user))
    assert (
        "attachment" in response.headers["Content-Disposition"] and len(response.get_json()["features"]) == 5
    )


def test_more_pins_than_drawable_become_one_bubble_per_area(client, session, town, make_user, monkeypatch):
    from gis.maps import layers

    for col, row in ((0, 0), (0, 0), (1, 1)):
        report_at(session, col, row)
    far = submit_report(
        session,
        lon=ORIGIN[0] + 1.5 * CELL,
        lat=ORIGIN[1] + 3 * CELL,  # 200 m north: no grid
        category="2301",
    ).report(session)
    assert far.grid_id is None
    user = make_user()
    wide = f"{ORIGIN[0]},{ORIGIN[1]},{ORIGIN[0] + 2 * CELL},{ORIGIN[1] + 4 * CELL}"
    get = lambda q="": client.get(
        f"/api/v1/layers/reports.geojson?bbox={wide}{q}",
        headers=bearer(user),
    ).get_json()
    assert len(get()["features"]) == 4 and "aggregated" not in get()
    monkeypatch.setattr(layers, "MAX_PINS", 3)
    fc = get()
    assert fc["aggregated"] == "grid"
    bubbles = {f["id"]: f["properties"]["count"] for f in fc["features"]}
    assert bubbles == {"650202001001001": 2, "650202001001004": 1, "unassigned": 1}
    assert get("&channel=hotline")["features"] == []  # filters still apply (none match: pins)
    monkeypatch.setattr(layers, "MAX_BUBBLES", 3)  # 4 grids in view: bubbles per community
    fc = get("&status=open")
    assert fc["aggregated"] == "community"
    assert {f["id"]: f["properties"]["count"] for f in fc["features"]} == {"650202001001": 3, "unassigned": 1}
