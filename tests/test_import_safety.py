"""Imports that cannot damage what exists (#23): areas over stored ones refused, a diff against
the stored layer before anything is written, a check that only reads, and undo that puts back
grids, buildings and reports exactly as they were."""

from __future__ import annotations

import geopandas as gpd
import pytest
from shapely.geometry import LineString, box
from sqlalchemy import text

from gis.areas.importer import (
    ImportRefused,
    import_areas,
    import_buildings,
    import_streets,
    plan_areas,
    plan_buildings,
    plan_streets,
)
from gis.areas.undo import undo_import
from gis.cases.intake import submit_report
from gis.errors import Conflict
from gis.models import ImportBatch
from tests.factories import CELL, ORIGIN, bearer
from tests.files import town_cells, write_shapefile
from tests.test_import_areas import CODES, community  # noqa: F401 (fixture)

SEAM = ORIGIN[0] + CELL  # the town's cells meet here


def cells(session, tmp_path, frame, name="grids.shp"):
    return write_shapefile(frame, tmp_path / name)


def snapshot(session) -> dict:
    """Every row an import or undo may touch, as the database holds it."""
    return {
        "areas": session.execute(
            text(
                "SELECT id, code, level, name, parent_id, ST_AsEWKB(geom), area_m2, import_batch_id "
                "FROM areas ORDER BY id"
            )
        ).all(),
        "buildings": session.execute(
            text("SELECT id, name, households, floors, ST_AsEWKB(geom), grid_id FROM buildings ORDER BY id")
        ).all(),
        "reports": session.execute(
            text(
                "SELECT id, grid_id, assignment, assignment_distance_m, building_id FROM reports ORDER BY id"
            )
        ).all(),
        "user_grids": session.execute(text("SELECT user_id, area_id FROM user_grids ORDER BY 1, 2")).all(),
    }


def test_areas_over_stored_ones_are_refused_with_the_areas_and_m2(session, community, tmp_path):
    import_areas(session, cells(session, tmp_path, town_cells(CODES).iloc[:2]), "grid")
    # a new grid drawn over the south-west one and half of the south-east one
    over = gpd.GeoDataFrame(
        {"name": ["新网格"], "code": ["650202001001009"]},
        geometry=[box(ORIGIN[0] + CELL / 2, ORIGIN[1], ORIGIN[0] + 1.5 * CELL, ORIGIN[1] + CELL)],
        crs=4326,
    )
    path = cells(session, tmp_path, over, "over.shp")
    with pytest.raises(ImportRefused) as refused:
        plan_areas(session, path, "grid")
    found = refused.value.report["topology"]["overlaps_stored"]
    assert {o["stored"] for o in found} == set(CODES[:2])
    assert all(o["code"] == "650202001001009" and 17_000 < o["area_m2"] < 18_500 for o in found)
    assert "--allow-overlap" in refused.value.text
    assert refused.value.preview and '"diff": "new"' in refused.value.preview
    assert plan_areas(session, path, "grid", allow_overlap=True).report["topology"]["overlaps_stored"]


def test_the_diff_names_new_changed_unchanged_and_gone(session, community, tmp_path):
    import_areas(session, cells(session, tmp_path, town_cells(CODES).iloc[:3]), "grid")
    frame = town_cells([CODES[0], CODES[1], CODES[3], CODES[3]]).iloc[[0, 1, 3]].copy()
    frame["code"] = [CODES[0], CODES[1], CODES[3]]
    # the south-east cell's west edge moved 10 % of a cell east (the seam of the layer moves too)
    frame.loc[1, "geometry"] = box(SEAM + CELL / 10, ORIGIN[1], SEAM + CELL, ORIGIN[1] + CELL)
    plan = plan_areas(session, cells(session, tmp_path, frame, "next.shp"), "grid", replace=True)
    diff = plan.report["diff"]
    assert diff["counts"] == {"new": 1, "changed": 1, "unchanged": 1, "gone": 1, "kept": 0}
    assert diff["new"] == [CODES[3]] and diff["unchanged"] == [CODES[0]] and diff["gone"] == [CODES[2]]
    (changed,) = diff["changed"]
    assert changed["code"] == CODES[1] and changed["moved_m2"] == pytest.approx(159.3 * 222.4 / 10, rel=0.02)
    kinds = {
        f["properties"]["code"]: f["properties"]["diff"]
        for f in __import__("json").loads(plan.preview)["features"]
    }
    assert kinds == {CODES[0]: "unchanged", CODES[1]: "changed", CODES[3]: "new", CODES[2]: "gone"}


def test_a_check_only_reads(session, town, tmp_path):
    """No lock beyond reading on a live table, no DDL: intake goes on while a planner checks."""
    frame = gpd.GeoDataFrame(
        {"name": ["一号楼"]},
        geometry=[box(ORIGIN[0] + 1e-4, ORIGIN[1] + 1e-4, ORIGIN[0] + 3e-4, ORIGIN[1] + 3e-4)],
        crs=4326,
    )
    path = write_shapefile(frame, tmp_path / "b.shp")
    plan_buildings(session, path, replace=True)
    plan_areas(session, cells(session, tmp_path, town_cells(CODES)), "grid", replace=True)
    held = session.execute(
        text(
            "SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE l.pid = pg_backend_pid() AND c.relname IN ('areas', 'buildings', 'reports')"
        )
    ).all()
    assert ("buildings", "AccessShareLock") in held and "AccessExclusiveLock" not in {m for _n, m in held}
    assert {m for n, m in held if n == "buildings"} == {"AccessShareLock"}  # the town's rows are this test's
    assert session.scalar(text("SELECT count(*) FROM import_batches")) == 0


def test_undo_puts_back_a_replaced_grid_layer_exactly(session, town, make_user, make_building, tmp_path):
    worker = make_user("grid_worker", grids=town["grids"][:2])
    make_building(geom=box(SEAM - 3e-4, ORIGIN[1] + 1e-4, SEAM - 1e-4, ORIGIN[1] + 3e-4))
    for x in (SEAM - 2e-4, SEAM + 2e-4, SEAM + CELL / 20):
        submit_report(session, lon=x, lat=ORIGIN[1] + 2e-4, category="0101", reporter_id=worker.id)
    session.flush()
    before = snapshot(session)
    # the new layer: the seam moved a tenth of a cell west, so the first report changes grid
    frame = town_cells(CODES)
    frame.loc[0, "geometry"] = box(ORIGIN[0], ORIGIN[1], SEAM - CELL / 5, ORIGIN[1] + CELL)
    frame.loc[1, "geometry"] = box(SEAM - CELL / 5, ORIGIN[1], SEAM + CELL, ORIGIN[1] + CELL)
    result = import_areas(session, cells(session, tmp_path, frame), "grid", replace=True)
    moved = snapshot(session)
    assert moved["areas"] != before["areas"] and moved["reports"] != before["reports"]
    counts = undo_import(session, result.batch_id, user_id=worker.id)
    assert counts["removed"] == 4 and counts["restored"] == 4
    assert snapshot(session) == before
    notes = session.scalars(text("SELECT note FROM report_events WHERE action = 'regrid' ORDER BY id")).all()
    assert notes.count("grid layer replaced") == notes.count("import undone") >= 1
    batch = session.get(ImportBatch, result.batch_id)
    assert batch.undone_at is not None and batch.undone_by == worker.id
    with pytest.raises(Conflict):
        undo_import(session, result.batch_id)


def test_undo_puts_back_replaced_buildings_and_takes_back_added_grids(session, town, make_building, tmp_path):
    old = make_building(geom=box(ORIGIN[0] + 1e-4, ORIGIN[1] + 1e-4, ORIGIN[0] + 3e-4, ORIGIN[1] + 3e-4))
    submit_report(session, lon=ORIGIN[0] + 2e-4, lat=ORIGIN[1] + 2e-4, category="0101")
    session.flush()
    assert session.scalar(text("SELECT building_id FROM reports")) == old.id
    before = snapshot(session)
    frame = gpd.GeoDataFrame(
        {"name": ["新楼"]},
        geometry=[box(ORIGIN[0] + 5e-4, ORIGIN[1] + 5e-4, ORIGIN[0] + 7e-4, ORIGIN[1] + 7e-4)],
        crs=4326,
    )
    buildings = import_buildings(session, write_shapefile(frame, tmp_path / "b.shp"), replace=True)
    assert snapshot(session)["buildings"] != before["buildings"]
    # a later import stacks on top: it is undone first
    east = gpd.GeoDataFrame(
        {"name": ["东网格"], "code": ["650202001001005"]},
        geometry=[box(ORIGIN[0] + 2 * CELL, ORIGIN[1], ORIGIN[0] + 3 * CELL, ORIGIN[1] + CELL)],
        crs=4326,
    )
    grids = import_areas(session, cells(session, tmp_path, east, "east.shp"), "grid", allow_overlap=True)
    with pytest.raises(Conflict) as later:
        undo_import(session, buildings.batch_id)
    assert str(grids.batch_id) in later.value.text
    undo_import(session, grids.batch_id)
    undo_import(session, buildings.batch_id)
    assert snapshot(session) == before


def _streets(tmp_path, name: str, names: list[str]):
    """A street layer of ``names``, each a line a tenth of a cell further north."""
    lines = [
        LineString([(ORIGIN[0], ORIGIN[1] + k * CELL / 10), (ORIGIN[0] + CELL, ORIGIN[1] + k * CELL / 10)])
        for k in range(1, len(names) + 1)
    ]
    path = tmp_path / f"{name}.geojson"
    gpd.GeoDataFrame({"name": names}, geometry=lines, crs=4326).to_file(path)
    return path


def test_streets_are_checked_without_writing_and_undone_on_their_own(session, town, tmp_path):
    def stored():
        return session.execute(text("SELECT id, name, ST_AsEWKB(geom) FROM street_lines ORDER BY id")).all()

    import_streets(session, _streets(tmp_path, "old", ["老街", "新华路"]))
    before = stored()
    batches = session.scalar(text("SELECT count(*) FROM import_batches"))
    plan = plan_streets(session, _streets(tmp_path, "new", ["迎宾路"]), replace=True)
    assert plan.report["diff"]["counts"] == {"new": 1, "gone": 2} and plan.preview
    assert stored() == before and session.scalar(text("SELECT count(*) FROM import_batches")) == batches
    replaced = import_streets(session, _streets(tmp_path, "new", ["迎宾路"]), replace=True)
    assert [name for _id, name, _g in stored()] == ["迎宾路"]
    # a grid import after the streets: the two stacks are apart, either may be undone first
    east = gpd.GeoDataFrame(
        {"name": ["东网格"], "code": ["650202001001005"]},
        geometry=[box(ORIGIN[0] + 2 * CELL, ORIGIN[1], ORIGIN[0] + 3 * CELL, ORIGIN[1] + CELL)],
        crs=4326,
    )
    grids = import_areas(session, cells(session, tmp_path, east, "east.shp"), "grid", allow_overlap=True)
    counts = undo_import(session, replaced.batch_id)
    assert counts == {"removed": 1, "restored": 2} and stored() == before
    undo_import(session, grids.batch_id)


def test_district_codes_that_are_not_gbt_2260_get_one_message_and_a_way_through(session, tmp_path):
    frame = town_cells(["1", "2", "3", "4"])
    with pytest.raises(ImportRefused) as refused:
        plan_areas(session, cells(session, tmp_path, frame), "district")
    message = refused.value.text
    assert "4 district code(s)" in message and "--code-map" in message and "--district-code" in message
    assert refused.value.report["warnings"] == []
    one = town_cells(["7"] * 4).iloc[:1]
    plan = plan_areas(session, cells(session, tmp_path, one, "one.shp"), "district", district_code="650202")
    assert list(plan.rows["code"]) == ["650202"]
    mapped = plan_areas(
        session,
        cells(session, tmp_path, frame, "four.shp"),
        "district",
        code_map={"1": "650202", "2": "650203", "3": "650204", "4": "650205"},
    )
    assert list(mapped.rows["code"]) == ["650202", "650203", "650204", "650205"]


def test_the_imports_page_lists_batches_and_undoes_the_newest(
    client, login, session, community, make_user, tmp_path
):
    planner = make_user("planner")
    first = import_areas(
        session, cells(session, tmp_path, town_cells(CODES).iloc[:2]), "grid", user_id=planner.id
    )
    second = import_areas(
        session, cells(session, tmp_path, town_cells(CODES).iloc[2:], "b.shp"), "grid", user_id=planner.id
    )
    listed = client.get("/api/v1/imports", headers=bearer(planner)).get_json()
    assert [b["id"] for b in listed[:2]] == [second.batch_id, first.batch_id]
    assert [b["undoable"] for b in listed[:2]] == [True, False]
    refused = client.post(f"/api/v1/imports/{first.batch_id}/undo", headers=bearer(planner))
    assert refused.status_code == 409 and str(second.batch_id) in refused.get_json()["error"]
    done = client.post(f"/api/v1/imports/{second.batch_id}/undo", headers=bearer(planner))
    assert done.status_code == 200 and done.get_json()["removed"] == 2
    assert (
        client.post(
            f"/api/v1/imports/{second.batch_id}/undo", headers=bearer(make_user("grid_worker"))
        ).status_code
        == 403
    )
    login(planner)
    page = client.get("/imports", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert f'data-batch="{first.batch_id}"' in page and "撤销" in page


def test_the_cli_undoes_an_import(runner, session, community, tmp_path):
    result = import_areas(session, cells(session, tmp_path, town_cells(CODES)), "grid")
    out = runner.invoke(args=["import", "undo", str(result.batch_id)])
    assert out.exit_code == 0, out.output
    assert f"import {result.batch_id} undone: 4 removed, 0 put back" in out.output
    again = runner.invoke(args=["import", "undo", str(result.batch_id)])
    assert again.exit_code != 0 and "already been undone" in again.output


def _job(session, user, kind="grids", **options):
    from gis.models import ImportJob

    job = ImportJob(
        kind=kind,
        filename="网格.shp",
        user_id=user.id,
        options={
            "level": "grid",
            "replace": False,
            "nearest_grid_m": 50,
            "nearest_building_m": 20,
            **options,
        },
    )
    session.add(job)
    session.flush()
    return job


def test_a_job_says_where_it_stands_and_ends_with_its_batch(
    session, connection, community, make_user, tmp_path
):
    from gis.areas.jobs import run_job
    from tests.conftest import _session_on

    planner = make_user("planner")
    job = _job(session, planner)
    stages = []
    sessions = lambda: _session_on(connection)
    from gis.areas import jobs

    original = jobs._set
    jobs._set = lambda s, i, **values: (stages.append(values), original(s, i, **values))[1]
    try:
        jobs.PROGRESS_EVERY_S, every = 0, jobs.PROGRESS_EVERY_S
        run_job(sessions, job.id, cells(session, tmp_path, town_cells(CODES)))
    finally:
        jobs._set, jobs.PROGRESS_EVERY_S = original, every
    session.refresh(job)
    assert job.state == "done" and job.percent == 100 and job.batch_id and job.finished_at
    assert job.report["written"] == 4 and job.report["file"] == "网格.shp"
    said = [str(v["stage"]["text"]) for v in stages if "stage" in v]
    assert said[:2] == ["reading", "validating geometry"] and "writing" in said
    percents = [v["percent"] for v in stages if "percent" in v]
    assert percents == sorted(percents) and percents[-1] < 100  # 100 comes with "done", in one commit


def test_a_job_that_breaks_writes_nothing_and_says_so(session, connection, community, make_user, tmp_path):
    from gis.areas.jobs import run_job
    from gis.models import ImportJob
    from tests.conftest import _session_on

    planner = make_user("planner")
    duplicated = _job(session, planner)
    run_job(
        lambda: _session_on(connection), duplicated.id, cells(session, tmp_path, town_cells([CODES[0]] * 4))
    )
    broken = _job(session, planner)
    (tmp_path / "empty.geojson").write_text("{")
    run_job(lambda: _session_on(connection), broken.id, tmp_path / "empty.geojson")
    refused, failed = session.get(ImportJob, duplicated.id), session.get(ImportJob, broken.id)
    session.refresh(refused)
    session.refresh(failed)
    assert refused.state == "refused" and "duplicate codes" in str(refused.error["text"]) and refused.report
    assert failed.state in ("refused", "failed") and failed.error["text"] and failed.finished_at
    assert session.scalar(text("SELECT count(*) FROM areas WHERE level = 'grid'")) == 0
    assert session.scalar(text("SELECT count(*) FROM import_batches")) == 0


def test_a_grid_layer_alone_builds_its_communities_streets_and_districts(session, tmp_path):
    from gis.models import Area

    codes = ["650202001001001", "650202001001002", "650202001002001", "650202001002002"]
    frame = town_cells(codes, sqmc=["第一社区", "第一社区", "第二社区", "第二社区"])
    path = cells(session, tmp_path, frame)
    with pytest.raises(ImportRefused) as asked:
        plan_areas(session, path, "grid")
    assert "--build-hierarchy" in asked.value.text
    assert asked.value.report["hierarchy"] == {"district": 1, "street": 1, "community": 2}
    result = import_areas(session, path, "grid", build_hierarchy=True)
    areas = {a.code: a for a in session.query(Area).all()}
    assert sorted(areas) == sorted(["650202", "650202001", "650202001001", "650202001002", *codes])
    first, second = areas["650202001001"], areas["650202001002"]
    assert (first.name, second.name) == ("第一社区", "第二社区") and first.level == "community"
    assert first.parent_id == areas["650202001"].id and areas["650202001"].parent_id == areas["650202"].id
    assert areas[codes[0]].parent_id == first.id and areas[codes[3]].parent_id == second.id
    assert first.area_m2 == pytest.approx(2 * 159.3 * 222.4, rel=0.01)  # the south row of the town
    assert result.report["hierarchy_built"] == {"district": 1, "street": 1, "community": 2}
    undo_import(session, result.batch_id)
    assert session.query(Area).count() == 0


IMPORT_DOORS = [
    ("get", "/imports"),
    ("get", "/api/v1/imports"),
    ("get", "/api/v1/imports/jobs/{job}"),
    ("post", "/api/v1/imports/{batch}/undo"),
]


@pytest.mark.parametrize(
    "role", ["grid_worker", "department", "supervisor", "dispatcher", "planner", "admin"]
)
def test_only_planners_and_admins_reach_the_imports(
    client, session, community, make_user, make_department, role, tmp_path
):
    """The imports' routes read no case (tests/test_access_policy.py names them so): they are a
    planner's, and every other role is turned away at each of them."""
    planner = make_user("planner")
    result = import_areas(session, cells(session, tmp_path, town_cells(CODES)), "grid", user_id=planner.id)
    job = _job(session, planner)
    who = make_user(role, department=make_department("D-X", "部门") if role == "department" else None)
    allowed = role in ("planner", "admin")
    for method, route in IMPORT_DOORS:
        url = route.format(job=job.id, batch=result.batch_id)
        answer = getattr(client, method)(url, headers=bearer(who))
        assert (answer.status_code < 400) == allowed and (allowed or answer.status_code == 403), (
            url,
            answer.status_code,
        )


def test_a_job_whose_server_stopped_ends_as_failed_and_one_at_work_runs_on(
    session, engine, make_user, monkeypatch
):
    from gis.areas import jobs
    from gis.models import ImportJob

    planner = make_user("planner")
    dead, alive, fresh = _job(session, planner), _job(session, planner), _job(session, planner)
    dead.state = alive.state = "running"
    session.flush()
    monkeypatch.setattr(jobs, "JOB_LOCK", 77)  # apart from jobs other tests run
    with engine.connect() as worker:  # the server still running ``alive``: its transaction holds the lock
        worker.execute(text("SELECT pg_advisory_xact_lock(77, :job)"), {"job": alive.id})
        assert jobs.reap_stale(session) == 1
        worker.rollback()
    for job in (dead, alive, fresh):
        session.refresh(job)
    assert dead.state == "failed" and dead.finished_at and "server stopped" in str(dead.error["text"])
    assert alive.state == "running" and fresh.state == "queued"  # queued a moment ago: about to start
    assert session.get(ImportJob, alive.id).error is None


def test_a_job_runs_behind_the_requests(monkeypatch):
    """A job runs at a lower CPU priority than the requests (and so does what it starts); here, with a
    factory bound to one connection, in a thread of its own (a server's job: in a process)."""
    import os
    import threading

    from gis.areas import jobs

    def priority() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    seen: list[tuple[str, int]] = []
    monkeypatch.setattr(jobs, "run_job", lambda sessions, job_id, path: seen.append(("job", priority())))
    jobs.in_background(None, 1, None, then=lambda: seen.append(("then", priority()))).join()
    lowered = max(jobs.JOB_NICENESS, os.getpriority(os.PRIO_PROCESS, 0))
    assert seen == [("job", lowered), ("then", lowered)]
    assert priority() < jobs.JOB_NICENESS  # the thread that started it is as it was
