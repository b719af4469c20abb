"""The access policy at every door: each role × each read route × a case (track, grid) inside and
outside its scope answers 200 or 404 — and every route of the app is either in this table or
named below as reading no case, so a new route without the policy fails here."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import pytest
from shapely.geometry import box

from gis.accounts import viewer_of
from gis.cases.intake import submit_report
from gis.cases.lifecycle import act
from gis.maps.layers import live_pins
from gis.models import ReportPhoto
from gis.patrols.tracks import Fix, clean, store_track
from gis.people.diary import record_visit
from gis.people.households import write_household
from tests.conftest import csrf_from
from tests.factories import CELL, ORIGIN, PASSWORD, bearer, jpeg, square

BBOX = f"{ORIGIN[0] - 0.01},{ORIGIN[1] - 0.01},{ORIGIN[0] + 0.02},{ORIGIN[1] + 0.01}"


@dataclass
class World:
    grids: dict  # "A" / "B": the first grid of street A / B
    communities: dict
    cases: dict  # "A" / "B": a case in street A / B
    photos: dict
    tracks: dict  # "A" / "B": a worker's patrol in street A / B
    homes: dict  # "A" / "B": a building, its household, its resident and a visit, in street A / B
    viewers: dict
    clients: dict  # logged in through the form: pages
    api: object  # no cookies: the API by each viewer's token
    session: object  # the world's own: what a stream reads its announced cases with


def _point(col: float):
    return ORIGIN[0] + (col + 0.5) * CELL, ORIGIN[1] + 0.5 * CELL


@pytest.fixture
def world(app, session, make_area, make_user, make_department, make_building):
    """District 650202 of two streets, A (west) and B (east), one community and two grids each;
    a case in each street (internal category, dispatched to D-A or D-B) with a photo; a patrol
    of each street's worker; one viewer per role and scope, each with its own logged-in client."""
    outline = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 4 * CELL, ORIGIN[1] + CELL)
    district = make_area("district", "650202", outline)
    grids, communities = {}, {}
    for n, side in enumerate("AB"):
        half = box(ORIGIN[0] + 2 * n * CELL, ORIGIN[1], ORIGIN[0] + (2 * n + 2) * CELL, ORIGIN[1] + CELL)
        street = make_area("street", f"650202{n + 1:03d}", half, parent=district)
        community = make_area("community", f"{street.code}001", half, parent=street)
        communities[side] = community
        cells = [
            make_area("grid", f"{community.code}{k + 1:03d}", square(2 * n + k, 0), parent=community)
            for k in range(2)
        ]
        grids[side] = cells[0]
    departments = {side: make_department(f"D-{side}", f"部门{side}") for side in "AB"}
    viewers = {
        "worker_a": make_user("grid_worker", grids=[grids["A"]]),
        "worker_b": make_user("grid_worker", grids=[grids["B"]]),
        "department_a": make_user("department", department=departments["A"]),
        "supervisor_a": make_user("supervisor", area=communities["A"].code[:9]),
        "dispatcher_a": make_user("dispatcher", area=communities["A"].code[:9]),
        "supervisor": make_user("supervisor"),
        "admin": make_user("admin"),
        "planner": make_user("planner"),
    }
    dispatcher = make_user("dispatcher")
    cases, photos, tracks, homes = {}, {}, {}, {}
    for n, side in enumerate("AB"):
        lon, lat = _point(2 * n)
        case = submit_report(
            session,
            lon=lon,
            lat=lat,
            category="2301",
            description=f"楼道充电 {side}",
            address=f"西宁路{n + 1}号",
        ).report(session)
        for action in ("accept", "open"):
            act(session, case, dispatcher, action, version=case.version)
        act(session, case, dispatcher, "dispatch", version=case.version, department_id=departments[side].id)
        photo = ReportPhoto(report_id=case.id, data=b"\xff\xd8 not really a jpeg", content_type="image/jpeg")
        session.add(photo)
        session.flush()
        cases[side], photos[side] = case, photo
        t0 = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)
        fixes = [Fix(lon + i * 0.00005, lat, t0 + dt.timedelta(seconds=10 * i), 5) for i in range(12)]
        worker = viewers["worker_a" if side == "A" else "worker_b"]
        tracks[side] = store_track(session, worker, clean([fixes]), name=f"patrol {side}")
        building = make_building(
            box(lon - 0.0002, lat - 0.0002, lon + 0.0002, lat + 0.0002), grids[side], name=f"楼{side}"
        )
        household = write_household(
            session, building.id, {"room": "101", "contact": f"王{side}明", "phone": "13800138000"}
        )
        visit = record_visit(
            session,
            worker,
            visited_on=dt.date(2026, 12, 1),
            today=dt.date(2026, 12, 3),
            household_id=household.id,
            met=f"王{side}明",
            discussed="入户",
            photo=jpeg(),
        )
        homes[side] = {
            "building": building,
            "household": household,
            "person": household.people[0].id,
            "visit": visit.visit_id,
        }
    clients = {}
    for key, user in viewers.items():
        client = app.test_client()
        page = client.get("/login").get_data(as_text=True)
        client.post(
            "/login", data={"username": user.username, "password": PASSWORD, "csrf_token": csrf_from(page)}
        )
        clients[key] = client
    return World(
        grids, communities, cases, photos, tracks, homes, viewers, clients, app.test_client(), session
    )


# -- what each viewer may see: the policy's scopes, written out for this world ---------------------
CASES_SEEN = {
    "worker_a": {"A"},
    "worker_b": {"B"},
    "department_a": {"A"},
    "supervisor_a": {"A"},
    "dispatcher_a": {"A"},
    "supervisor": {"A", "B"},
    "admin": {"A", "B"},
    "planner": set(),
}
GRID_PANELS = {
    **{k: {"A", "B"} for k in CASES_SEEN},
    "worker_a": {"A"},
    "worker_b": {"B"},
    "supervisor_a": {"A"},
    "dispatcher_a": {"A"},
}
TRACKS_SEEN = {
    "worker_a": {"A"},
    "worker_b": {"B"},
    "department_a": set(),
    "supervisor_a": {"A"},
    "dispatcher_a": {"A"},
    "supervisor": {"A", "B"},
    "admin": {"A", "B"},
    "planner": set(),
}
# households, people and the diary, whole (their names unmasked): the grid's worker, the staff of an
# area holding it, admins; masked for every other member of staff
HOMES_SEEN = {
    "worker_a": {"A"},
    "worker_b": {"B"},
    "supervisor_a": {"A"},
    "dispatcher_a": {"A"},
    "supervisor": {"A", "B"},
    "admin": {"A", "B"},
}
STATS_SEEN = {"supervisor_a": {"A"}, "dispatcher_a": {"A"}, "supervisor": {"A", "B"}, "admin": {"A", "B"}}


def _shown(response) -> bool:
    """200 shows it; a hidden one must look like nothing at all (404), or a door closed to the
    role (403) — never an error, never a redirect to log in."""
    assert response.status_code in (200, 403, 404), (
        response.status_code,
        response.get_data(as_text=True)[:300],
    )
    return response.status_code == 200


def _ok(response) -> dict:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.get_json()


def _in_collection(response, wanted_id) -> bool:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return any(f["id"] == wanted_id for f in response.get_json()["features"])


def _headers(w, viewer):
    return bearer(w.viewers[viewer])


def _named(w, side, response) -> bool:
    """Whether the answer holds the resident's name whole (masked: 王**; hidden: 404)."""
    assert response.status_code in (200, 403, 404), response.get_data(as_text=True)[:300]
    body = response.get_data(as_text=True)
    if response.is_json:
        body = json.dumps(response.get_json(), ensure_ascii=False)
    return f"王{side}明" in body


# door → (what it reads, how to ask it whether `side`'s thing is shown to `viewer`)
DOORS = {
    "pages.case": ("case", lambda w, v, s: _shown(w.clients[v].get(f"/cases/{w.cases[s].id}"))),
    "pages.cases": (
        "case",
        lambda w, v, s: f'href="/cases/{w.cases[s].id}"' in w.clients[v].get("/cases").get_data(as_text=True),
    ),
    "pages.case_action": (
        "case",
        lambda w, v, s: (
            w.clients[v]
            .post(
                f"/cases/{w.cases[s].id}/actions",
                data={
                    "action": "nothing",
                    "csrf_token": csrf_from(w.clients[v].get("/account").get_data(as_text=True)),
                },
            )
            .status_code
            == 302
        ),
    ),
    "api.get_report_json": (
        "case",
        lambda w, v, s: _shown(w.api.get(f"/api/v1/reports/{w.cases[s].id}", headers=_headers(w, v))),
    ),
    "api.report_action": (
        "case",
        lambda w, v, s: (
            w.api.post(
                f"/api/v1/reports/{w.cases[s].id}/actions",
                json={"action": "nothing", "version": 1},
                headers=_headers(w, v),
            ).status_code
            != 404
        ),
    ),
    "dispatch.bulk": (
        "case",
        lambda w, v, s: (
            _ok(
                w.api.post(
                    "/api/v1/cases/bulk",
                    json={"action": "accept", "items": [{"id": w.cases[s].id, "version": 1}]},
                    headers=_headers(w, v),
                )
            )["results"][0]["outcome"]
            != "not_found"
        ),
    ),
    # the stream's own read of the cases announced to it (its events need a commit: the browser
    # test tests/browser/test_live_map.py follows one to the map, and one kept from a street's)
    "live.live": (
        "case",
        lambda w, v, s: any(
            f["id"] == w.cases[s].id
            for f in live_pins(w.session, viewer_of(w.viewers[v]), [w.cases["A"].id, w.cases["B"].id])
        ),
    ),
    "api.nearby_reports": (
        "case",
        lambda w, v, s: any(
            r["id"] == w.cases[s].id
            for r in _ok(
                w.api.get(
                    "/api/v1/reports/nearby?lon={}&lat={}&category=2301".format(*_point(2 * "AB".index(s))),
                    headers=_headers(w, v),
                )
            )["reports"]
        ),
    ),
    "api.photo": (
        "case",
        lambda w, v, s: _shown(w.api.get(f"/api/v1/photos/{w.photos[s].id}", headers=_headers(w, v))),
    ),
    "api.reports_layer": (
        "case",
        lambda w, v, s: _in_collection(
            w.api.get(f"/api/v1/layers/reports.geojson?bbox={BBOX}", headers=_headers(w, v)),
            w.cases[s].id,
        ),
    ),
    "open311.get_request": (
        "case",
        lambda w, v, s: _shown(
            w.api.get(f"/open311/v2/requests/{w.cases[s].id}.json?api_key={w.viewers[v].token}")
        ),
    ),
    "open311.list_requests": (
        "case",
        lambda w, v, s: (
            str(w.cases[s].id)
            in {
                r["service_request_id"]
                for r in w.api.get(f"/open311/v2/requests.json?api_key={w.viewers[v].token}").get_json()
            }
        ),
    ),
    "api.grid_detail": (
        "grid",
        lambda w, v, s: _shown(w.api.get(f"/api/v1/grids/{w.grids[s].code}", headers=_headers(w, v))),
    ),
    "patrols.tracks_layer": (
        "track",
        lambda w, v, s: _in_collection(
            w.api.get(f"/api/v1/layers/tracks.geojson?bbox={BBOX}&hours=6", headers=_headers(w, v)),
            w.tracks[s].id,
        ),
    ),
    "patrols.get": (
        "track",
        lambda w, v, s: _shown(w.api.get(f"/api/v1/patrols/{w.tracks[s].id}", headers=_headers(w, v))),
    ),
    "dashboard.stats": (
        "stats",
        lambda w, v, s: _shown(
            w.api.get(f"/api/v1/stats?level=grid&within={w.communities[s].code}", headers=_headers(w, v))
        ),
    ),
    "dashboard.export_csv": (
        "stats",
        lambda w, v, s: _shown(
            w.clients[v].get(f"/dashboard/export.csv?level=grid&within={w.communities[s].code}")
        ),
    ),
    "dashboard.export_xlsx": (
        "stats",
        lambda w, v, s: _shown(
            w.clients[v].get(f"/dashboard/export.xlsx?level=grid&within={w.communities[s].code}")
        ),
    ),
}


def _in_tile(w, viewer, side) -> bool:
    """Whether the reports tile holding ``side``'s case has it (decoded by GDAL's MVT driver)."""
    import math
    import tempfile
    from pathlib import Path

    import pyogrio

    lon, lat = _point(2 * "AB".index(side))
    z = 16
    x = int((lon + 180) / 360 * 2**z)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * 2**z)
    answer = w.api.get(f"/tiles/reports/{z}/{x}/{y}.pbf", headers=_headers(w, viewer))
    assert answer.status_code == 200
    if not answer.data:
        return False
    with tempfile.TemporaryDirectory() as d:
        path = Path(d, str(z), str(x), f"{y}.pbf")  # GDAL reads z/x/y from the path
        path.parent.mkdir(parents=True)
        path.write_bytes(answer.data)
        return w.cases[side].id in set(pyogrio.read_dataframe(path, layer="reports")["id"])


DOORS.update(
    {
        "ogc.collection_items": (
            "case",
            lambda w, v, s: _in_collection(
                w.api.get("/ogc/collections/reports/items?limit=1000", headers=_headers(w, v)), w.cases[s].id
            ),
        ),
        "ogc.collection_item": (
            "case",
            lambda w, v, s: _shown(
                w.api.get(f"/ogc/collections/reports/items/{w.cases[s].id}", headers=_headers(w, v))
            ),
        ),
        "ogc.vector_tile": ("case", _in_tile),
        "people.building_page": (
            "home",
            lambda w, v, s: _named(w, s, w.clients[v].get(f"/buildings/{w.homes[s]['building'].id}")),
        ),
        "people.building_people_json": (
            "home",
            lambda w, v, s: _named(
                w,
                s,
                w.api.get(f"/api/v1/buildings/{w.homes[s]['building'].id}/people", headers=_headers(w, v)),
            ),
        ),
        "people.list_visits": (
            "home",
            lambda w, v, s: _named(w, s, w.api.get("/api/v1/visits", headers=_headers(w, v))),
        ),
        "people.diary": ("home", lambda w, v, s: _named(w, s, w.clients[v].get("/diary"))),
        "people.unvisited": (
            "home",
            lambda w, v, s: _named(
                w,
                s,
                w.api.get(
                    f"/api/v1/households/unvisited?grid={w.grids[s].code}&days=1", headers=_headers(w, v)
                ),
            ),
        ),
        "people.unvisited_page": (
            "home",
            lambda w, v, s: _named(
                w, s, w.clients[v].get(f"/households/unvisited?grid={w.grids[s].code}&days=1")
            ),
        ),
        "people.visit_form": (
            "home",
            lambda w, v, s: _named(
                w, s, w.clients[v].get(f"/diary/visit?household={w.homes[s]['household'].id}")
            ),
        ),
        "people.export_person_json": (
            "home",
            lambda w, v, s: _named(
                w, s, w.api.get(f"/api/v1/people/{w.homes[s]['person']}/export", headers=_headers(w, v))
            ),
        ),
        # a dispute's mediation: a case read through the policy first (404 outside it)
        **{
            door: (
                "case",
                lambda w, v, s, path=path: (
                    w.clients[v]
                    .post(
                        f"/cases/{w.cases[s].id}/{path}",
                        data={"csrf_token": csrf_from(w.clients[v].get("/account").get_data(as_text=True))},
                    )
                    .status_code
                    == 302
                ),
            )
            for door, path in (
                ("community.mediation_step_page", "mediation"),
                ("community.follow_up_page", "follow-up"),
            )
        },
        "people.visit_photo_file": (
            "home",
            lambda w, v, s: _shown(
                w.api.get(f"/api/v1/visits/{w.homes[s]['visit']}/photo", headers=_headers(w, v))
            ),
        ),
    }
)
EXPECTED = {
    "case": CASES_SEEN,
    "grid": GRID_PANELS,
    "track": TRACKS_SEEN,
    "stats": STATS_SEEN,
    "home": HOMES_SEEN,
}

# Every other route, and why it reads no case, photo, track or personal data beyond the asker's own.
NOT_CASE_READS = {
    "static": "files",
    "health.healthz": "the database's state",
    "auth.login": "the login form",
    "auth.logout": "ends the asker's sessions",
    "auth.account": "the asker's own account",
    "auth.account_digest": "the asker's own digest setting",
    "i18n.catalogue_script": "the JavaScript's words in a language",
    "offline.service_worker": "the service worker's code and the list of static files it keeps",
    "offline.manifest": "the installable app's name and icons",
    "offline.session": "the asker's own id and a CSRF token",
    "pages.my": "the asker's own reports, the cases waiting for them to verify, their grids' open cases: "
    "each a find_cases list (the policy); tests/test_field_kit.py",
    "i18n.choose": "the asker's own language",
    "pages.inbox_page": "each section a find_cases list under the policy's responsible scope (the asker's "
    "own changed cases: its visible scope); tests/test_inbox.py",
    "dispatch.get_inbox": "the inbox page's sections, as JSON; tests/test_inbox.py",
    "dispatch.inbox_seen": "the asker's own inbox mark",
    "dispatch.list_templates": "the asker's department's reply templates: no case",
    "dispatch.create_template": "a write (a department lead's, an admin's)",
    "dispatch.delete_template": "a write (a department lead's, an admin's)",
    "pages.bulk_action": "a write: each case read through dispatch.bulk's act_on_many (load_visible)",
    "pages.save_filter_page": "the asker's own saved filter",
    "pages.templates_page": "the asker's department's reply templates: no case",
    "pages.add_template_page": "a write (a department lead's, an admin's)",
    "pages.delete_template_page": "a write (a department lead's, an admin's)",
    "pages.delete_filter_page": "the asker's own saved filter",
    "pages.home": "a redirect",
    "pages.map": "the map's frame; its layers are doors above",
    "pages.report": "the phone's form and the category tree",
    "api.create_report": "a write; its answer is the writer's own report",
    "api.locate_grid": "which grid holds a point",
    "api.photo_location": "the position in the asker's own photo",
    "api.areas_layer": "areas with aggregate counts, no case",
    "api.buildings_layer": "building footprints and household counts",
    "api.openapi": "the API's description",
    "api.docs": "the API's description, readable",
    "imports.page": "the planners' form",
    "imports.create": "a planner's own file",
    "imports.batches_page": "the list of imports (who, when, file, counts): no case",
    "imports.list_batches": "the list of imports (who, when, file, counts): no case",
    "imports.undo": "puts a layer back and counts what moved; answers no case",
    "imports.job_status": "an import job's stage, percent and report: no case",
    "open311.services": "the category tree",
    "open311.service_definition": "one category",
    "open311.create_request": "a write; its answer is the poster's own request",
    "open311.token_lookup": "the id of the request a client posted (its own token)",
    "patrols.start": "starts the asker's own patrol",
    "patrols.pings": "the asker's own live patrol (another's is a 404)",
    "patrols.end": "the asker's own live patrol (another's is a 404)",
    "patrols.upload_gpx": "a write; the asker's own track",
    "patrols.coverage": "aggregate coverage per grid, no track",
    "patrols.gaps": "street pieces nobody walked, no track",
    "patrols.page": "aggregate coverage per grid; its track layer is a door above",
    "dashboard.page": "the dashboard's frame; its figures are doors above",
    "admin.categories": "the category tree (admins)",
    "admin.category_privacy": "a write (admins)",
    "admin.audit": "the record of personal reads (admins only)",
    "people.create_visit": "a write (handled_building: the grid's worker and staff); its answer is the new "
    "visit's id; tests/test_households.py",
    "people.save_household_page": "a write (handled_building); tests/test_households.py",
    "people.delete_household_page": "a write (handled_building)",
    "people.add_head_page": "a write (handled_building); tests/test_households.py",
    "people.erase_page": "a write (people_handled_by); tests/test_households.py",
    "people.erase_person_json": "a write (people_handled_by); answers a count; tests/test_households.py",
    "people.follow_up_done": "a write: the asker's own follow-up, or one in a grid they handle",
    "people.open_report_page": "a write (handled_building); its answer is the asker's own report",
    "people.visit_report": "a write (handled_building); its answer is the asker's own report",
    "people.import_page": "the uploader's own file and its match report",
    "people.unvisited_layer": "counts of unvisited households per building (people_visible_to), no person",
    "people.visits_per_worker_json": "visits per worker, counted in the grids the asker handles",
    "people.visits_csv": "the same counts as a spreadsheet",
    "ogc.landing": "the OGC API's links",
    "ogc.conformance": "the standards it follows",
    "ogc.collections": "the collections' names, CRSs and extent (of the areas): no case",
    "ogc.collection": "one collection's name, CRSs and extent: no case",
    "ogc.tilejson": "a tile layer's description: no case",
    "community.teams_page": "the teams of the communities the asker may read (communities_seen_by): "
    "volunteers' names, no case or resident; tests/test_community.py",
    "community.create_team_page": "a write (runs_community)",
    "community.add_member_page": "a write (runs_community)",
    "community.remove_member_page": "a write (runs_community)",
    "community.points_page": "points per volunteer, counted over their own deeds, in the communities the "
    "asker may read (communities_seen_by); no case",
    "community.points_json": "the same points as JSON",
    "community.points_csv": "the same points as a spreadsheet",
    "community.point_rules_page": "the points rules (admins)",
    "community.add_point_rule_page": "a write (admins)",
    "community.mediation_page": "counts per mediation level, community and team in the asker's stats_area",
    "community.mediation_json": "the same counts as JSON",
    "networks.page": "network areas and counts per area of the reports the asker may read (visible_to)",
    "networks.list_json": "the networks' names and counts of areas",
    "networks.layer": "network areas and their responsible people's names and roles (no phones)",
    "networks.at": "the areas at a point and their responsible people (phones masked outside staff)",
    "networks.indicators_json": "the counts per network area of the reports the asker may read (visible_to)",
}


def test_every_route_passes_the_policy_or_reads_no_case(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    unclassified = endpoints - set(DOORS) - set(NOT_CASE_READS)
    assert not unclassified, (
        f"new route(s) {sorted(unclassified)}: read through gis/cases/policy.py and add a row to DOORS, "
        "or say in NOT_CASE_READS why it reads no case"
    )
    assert not (set(DOORS) | set(NOT_CASE_READS)) - endpoints, "the table names routes that are gone"


@pytest.mark.parametrize("door", sorted(DOORS))
def test_each_role_sees_inside_its_scope_and_nothing_outside(world, door):
    kind, shown = DOORS[door]
    got = {viewer: {side for side in "AB" if shown(world, viewer, side)} for viewer in world.viewers}
    want = {viewer: EXPECTED[kind].get(viewer, set()) for viewer in world.viewers}
    assert got == want
