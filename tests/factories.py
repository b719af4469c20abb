"""Factories as fixtures: each returns a callable that makes one thing, flushed, with defaults."""

from __future__ import annotations

import itertools

import pytest
from geoalchemy2.shape import from_shape
from shapely.geometry import Polygon, box

from gis.accounts import create_user, issue_token
from gis.areas.geometry import polygonal_part
from gis.models import Area, Building, Department

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)

# A small town near Karamay: a district 650202, one street, one community; grids are squares of
# 0.002° (≈ 160 m × 222 m) starting at ORIGIN.
ORIGIN = (84.90, 44.30)
CELL = 0.002


def square(col: int, row: int, size: float = CELL) -> Polygon:
    x, y = ORIGIN[0] + col * CELL, ORIGIN[1] + row * CELL
    return box(x, y, x + size, y + size)


@pytest.fixture
def make_area(session):
    def make(level: str, code: str, geom, name: str | None = None, parent: Area | None = None):
        area = Area(
            level=level,
            code=code,
            name=name or f"{level} {code}",
            parent_id=parent and parent.id,
            geom=from_shape(polygonal_part(geom), srid=4326),
            area_m2=0,
        )
        session.add(area)
        session.flush()
        return area

    return make


@pytest.fixture
def town(make_area):
    """A 2 × 2 block of grids in one community: grids[0] south-west, [1] south-east, [2] north-west,
    [3] north-east; returns a dict with district, street, community, grids."""
    outline = box(ORIGIN[0], ORIGIN[1], ORIGIN[0] + 2 * CELL, ORIGIN[1] + 2 * CELL)
    district = make_area("district", "650202", outline, "独山子区")
    street = make_area("street", "650202001", outline, "西宁路街道", district)
    community = make_area("community", "650202001001", outline, "第一社区", street)
    grids = [
        make_area("grid", f"650202001001{n + 1:03d}", square(c, r), f"第{n + 1}网格", community)
        for n, (c, r) in enumerate([(0, 0), (1, 0), (0, 1), (1, 1)])
    ]
    return {"district": district, "street": street, "community": community, "grids": grids}


@pytest.fixture
def make_user(session):
    def make(
        role: str = "supervisor",
        grids=(),
        department: Department | None = None,
        username: str | None = None,
        area: str | None = None,
        lead: bool = False,
        email: str | None = None,
    ):
        user = create_user(
            session,
            username or f"{role}{next(_seq)}",
            role,
            PASSWORD,
            grid_codes=tuple(g.code for g in grids),
            department_code=department.code if department else None,
            area_code=area,
            department_lead=lead,
            email=email,
        )
        user.token = issue_token(user)
        session.flush()
        return user

    return make


@pytest.fixture
def make_department(session):
    def make(code: str | None = None, name: str = "自来水公司"):
        department = Department(code=code or f"D{next(_seq)}", name=name)
        session.add(department)
        session.flush()
        return department

    return make


@pytest.fixture
def dispatch_people(make_user, make_department, town):
    """A water company (a lead and two members), a roads office (one member), the grid workers of
    the town's first and fourth grids, a dispatcher and a supervisor."""
    water, roads = make_department("WATER", "自来水公司"), make_department("ROADS", "市政道路处")
    return {
        "worker": make_user("grid_worker", grids=town["grids"][:1]),
        "far_worker": make_user("grid_worker", grids=town["grids"][3:4]),
        "dispatcher": make_user("dispatcher"),
        "supervisor": make_user("supervisor"),
        "lead": make_user("department", department=water, lead=True),
        "plumber": make_user("department", department=water),
        "fitter": make_user("department", department=water),
        "road_man": make_user("department", department=roads),
        "water": water,
        "roads": roads,
    }


@pytest.fixture
def make_building(session):
    def make(geom: Polygon, grid: Area | None = None, **kw):
        building = Building(geom=from_shape(polygonal_part(geom), srid=4326), grid_id=grid and grid.id, **kw)
        session.add(building)
        session.flush()
        return building

    return make


def bearer(user) -> dict:
    return {"Authorization": f"Bearer {user.token}"}


def jpeg(width: int = 64, height: int = 48, colour: str = "#74c476") -> bytes:
    """A real, small JPEG (the photo a step or a report carries)."""
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "JPEG")
    return out.getvalue()
