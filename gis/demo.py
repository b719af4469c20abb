"""A small believable city for newcomers: 独山子区 (Karamay) cut into 3 streets, 6 communities and
96 grids that tile it without gaps or overlaps, ~600 buildings, users of every role, and a few dozen
reports taken through the real closed loop. Seeded, so every run makes the same city.

Geometry is made in metres in CGCS2000 / 3-degree Gauss-Krüger CM 84°E (EPSG:4537), the projection
a local surveying institute would deliver, then stored in EPSG:4326.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import random
from dataclasses import dataclass, field

from geoalchemy2.shape import from_shape, to_shape
from shapely import affinity
from shapely.geometry import LineString, MultiLineString, Point, Polygon
from shapely.ops import unary_union
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gis.accounts import create_user
from gis.areas.crs import reproject, transformer
from gis.areas.geometry import polygonal_part
from gis.cases.categories import leaf_codes
from gis.cases.intake import submit_report
from gis.cases.lifecycle import Proof, act
from gis.cases.mediation import record_follow_up, record_step
from gis.models import (
    Area,
    Building,
    Department,
    Household,
    Network,
    NetworkAreaPerson,
    Person,
    StreetLine,
    Team,
    User,
    Visit,
    team_members,
    utcnow,
)
from gis.patrols.tracks import Fix, clean, store_track

DEMO_PASSWORD = "gridwatch-demo"
DISTRICT = ("650202", "独山子区")
STREETS = ["西宁路街道", "金山路街道", "红山路街道"]
ORIGIN_LONLAT = (84.862, 44.338)  # north-west corner of the district
METRIC_CRS = 4537  # CGCS2000 / 3-degree Gauss-Kruger CM 84E
CELL_M, NX, NY = 300.0, 12, 8  # 12 × 8 grids of ~300 m
STREET_COLS, COMMUNITY_ROWS = 4, 4  # a street is 4 columns wide, a community 4 × 4 grids
DEPARTMENTS = [
    ("WATER", "自来水公司"),
    ("ROADS", "市政道路处"),
    ("SANIT", "环卫处"),
    ("GREEN", "园林处"),
    ("CITYM", "城管执法大队"),
    ("PROP", "物业公司"),
    ("POLICE", "派出所"),
    ("FIRE", "消防救援站"),
]
CATEGORY_DEPARTMENT = {
    "01": "WATER",
    "02": "ROADS",
    "03": "SANIT",
    "04": "GREEN",
    "05": "CITYM",
    "06": "CITYM",
    "11": "SANIT",
    "12": "CITYM",
    "13": "CITYM",
    "14": "ROADS",
    "15": "CITYM",
    "16": "CITYM",
    "21": "PROP",
    "22": "POLICE",
    "23": "FIRE",
    "24": "PROP",
    "25": "PROP",
}
DESCRIPTIONS = {
    "0101": "上水井盖破损，行人有踩空危险",
    "0103": "路灯不亮，晚上很黑",
    "1101": "小区门口垃圾堆放",
    "1201": "单元门贴满小广告",
    "1501": "早市占道经营堵塞路口",
    "2101": "楼上漏水引发邻里纠纷",
    "2201": "有两名陌生男子挨家挨户敲门称检修暖气",
    "2301": "电动车在楼道内充电",
    "2302": "消防通道被私家车堵塞",
    "2401": "楼道堆放杂物",
    "0203": "路面坑洼积水",
}
USERS = [  # username, role, display name, grids (community index → its first n grids), department
    ("admin", "admin", "系统管理员", None, None),
    ("supervisor", "supervisor", "赵监督", None, None),
    ("dispatcher", "dispatcher", "钱派遣", None, None),
    ("worker", "grid_worker", "孙网格", (0, 4), None),
    ("worker2", "grid_worker", "李网格", (1, 4), None),
    ("water", "department", "自来水公司", None, "WATER"),  # the department's lead (DEPARTMENT_LEADS)
    ("plumber", "department", "自来水维修班张师傅", None, "WATER"),
    ("planner", "planner", "周规划", None, None),
]
DEPARTMENT_LEADS = {"water"}
# supervisors of one street: their cases, tracks and figures are the street's (the first one's)
STREET_SUPERVISORS = [("street", "supervisor", "吴街道")]


@dataclass
class DemoSummary:
    areas: int = 0
    buildings: int = 0
    reports: int = 0
    streets: int = 0
    patrols: int = 0
    households: int = 0
    visits: int = 0
    networks: int = 0
    teams: int = 0
    disputes: int = 0
    logins: list[tuple[str, str]] = field(default_factory=list)


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count()).select_from(Area))


def load_demo(session: Session, seed: int = 2014, now: dt.datetime | None = None) -> DemoSummary:
    """Create the demo city (flushes; the caller commits)."""
    rng = random.Random(seed)
    now = now or utcnow()
    to_lonlat = transformer(METRIC_CRS, 4326).transform
    x0, y0 = transformer(4326, METRIC_CRS).transform(*ORIGIN_LONLAT)
    summary = DemoSummary()

    departments = {code: Department(code=code, name=name) for code, name in DEPARTMENTS}
    session.add_all(departments.values())

    cells, vertices = _jittered_cells(rng, x0, y0)
    district = _area(session, "district", DISTRICT[0], DISTRICT[1], None, unary_union(list(cells.values())))
    communities, grids = [], []
    cell_of: dict[int, Polygon] = {}  # each grid's polygon in metres, for buildings and reports
    for s, street_name in enumerate(STREETS):
        cols = range(s * STREET_COLS, (s + 1) * STREET_COLS)
        street_cells = [cells[c, r] for c in cols for r in range(NY)]
        street_code = f"{DISTRICT[0]}{s + 1:03d}"
        street = _area(session, "street", street_code, street_name, district, unary_union(street_cells))
        for k in range(NY // COMMUNITY_ROWS):
            rows = range(k * COMMUNITY_ROWS, (k + 1) * COMMUNITY_ROWS)
            number = s * (NY // COMMUNITY_ROWS) + k + 1
            community = _area(
                session,
                "community",
                f"{street_code}{k + 1:03d}",
                f"第{_chinese(number)}社区",
                street,
                unary_union([cells[c, r] for c in cols for r in rows]),
            )
            communities.append(community)
            seq = 0
            for r in rows:  # codes run west→east, then north→south
                for c in cols:
                    seq += 1
                    grid = _area(
                        session,
                        "grid",
                        f"{community.code}{seq:03d}",
                        f"{community.name}第{seq}网格",
                        community,
                        cells[c, r],
                    )
                    cell_of[grid.id] = cells[c, r]
                    grids.append(grid)
    summary.areas = 1 + len(STREETS) + len(communities) + len(grids)

    buildings = []
    for grid in grids:
        for n, footprint in enumerate(_buildings_in(rng, cell_of[grid.id]), start=1):
            floors = rng.choice([3, 5, 6, 6, 7, 11, 18])
            buildings.append(
                Building(
                    name=f"{n}号楼",
                    address=f"{grid.name} {n}号楼",
                    floors=floors,
                    households=floors * rng.choice([2, 4, 6]),
                    grid_id=grid.id,
                    head_name=rng.choice("王李张刘陈杨黄赵吴周") + rng.choice(["阿姨", "师傅", "大爷"]),
                    geom=from_shape(polygonal_part(reproject(footprint, METRIC_CRS, 4326)), srid=4326),
                )
            )
    session.add_all(buildings)
    session.flush()
    summary.buildings = len(buildings)

    users = {}
    for username, role, display, grid_spec, department in USERS:
        codes: tuple[str, ...] = ()
        if grid_spec:
            community_index, n = grid_spec
            codes = tuple(g.code for g in grids if g.parent_id == communities[community_index].id)[:n]
        users[username] = create_user(
            session,
            username,
            role,
            DEMO_PASSWORD,
            display,
            codes,
            department,
            department_lead=username in DEPARTMENT_LEADS,
        )
        summary.logins.append((username, role))
    for username, role, display in STREET_SUPERVISORS:
        users[username] = create_user(
            session, username, role, DEMO_PASSWORD, display, area_code=f"{DISTRICT[0]}001"
        )
        summary.logins.append((username, role))
    summary.reports = _reports(session, rng, grids, cell_of, departments, users, now, to_lonlat)
    summary.streets = _streets(session, vertices)
    summary.patrols = _patrols(session, rng, grids, cell_of, users, now)
    summary.households, summary.visits = _households(session, rng, buildings, users, communities[0], now)
    summary.logins.append(("louzhang", "volunteer"))
    summary.networks, summary.teams, summary.disputes = _community_organisations(
        session, rng, grids, cell_of, communities, users, now, to_lonlat
    )
    summary.reports += summary.disputes
    return summary


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = ["秀英", "桂兰", "建国", "志强", "丽娟", "海燕", "国华", "玉梅", "德明", "春花", "小军", "文静"]


def _households(session, rng, buildings, users, community, now) -> tuple[int, int]:
    """The households of the worker's grids (a few per floor, some flagged), each building's head,
    a building head who logs in (``louzhang``, a volunteer of the first community), and the
    worker's visits of the last two months — so the diary, the not-visited list and its red
    households have something to show."""
    mine = {g.id for g in users["worker"].grids}
    today = (now + dt.timedelta(hours=8)).date()
    homes, visits = 0, 0
    head_user = create_user(
        session, "louzhang", "volunteer", DEMO_PASSWORD, "王楼长", area_code=community.code
    )
    for n, b in enumerate(b for b in buildings if b.grid_id in mine):
        phone = f"139{rng.randrange(10**8):08d}"
        session.add(
            Person(
                kind="building_head",
                name=b.head_name,
                phone=phone,
                building_id=b.id,
                user_id=None if n else head_user.id,
            )
        )
        for floor in range(1, min(b.floors or 3, 4) + 1):
            for door in (1, 2):
                flags = [
                    f
                    for f, share in (("elderly_alone", 0.12), ("low_income", 0.08), ("rented", 0.2))
                    if rng.random() < share
                ]
                household = Household(
                    building_id=b.id, room=f"{floor}0{door}", size=rng.choice([1, 2, 3, 3, 4, 5]), flags=flags
                )
                session.add(household)
                session.flush()
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                session.add(
                    Person(
                        kind="resident",
                        name=name,
                        phone=f"138{rng.randrange(10**8):08d}",
                        household_id=household.id,
                        building_id=b.id,
                    )
                )
                homes += 1
                if rng.random() < 0.6:
                    on = today - dt.timedelta(days=rng.randrange(0, 60))
                    session.add(
                        Visit(
                            household_id=household.id,
                            building_id=b.id,
                            grid_id=b.grid_id,
                            user_id=users["worker"].id,
                            visited_on=on,
                            met=name,
                            discussed=rng.choice(
                                ["身体还好，子女每周来", "反映楼道灯不亮", "询问低保续办手续", "家里水管渗水"]
                            ),
                            follow_up_on=on + dt.timedelta(days=14) if rng.random() < 0.2 else None,
                        )
                    )
                    visits += 1
    session.flush()  # households.last_visit_on: kept by the visits' trigger
    return homes, visits


# The demo's other networks: (code, name, strips each community is cut into, what an area is called)
NETWORKS = (("party", "党建网格", 3, "党建网格"), ("security", "治安网格", 6, "治安网格"))
TEAMS = (("patrol", "平安巡防队"), ("mediation", "矛盾调解队"), ("sanitation", "环境卫生队"))
# hand-made disputes of the first community: each step's (level, outcome), and the follow-up call
DISPUTES = (
    ("2101", "楼上漏水，邻里争执", [("neighbours", "resolved")], "satisfied"),
    ("2101", "楼道堆物引发口角", [("neighbours", "not_resolved"), ("party_member", "resolved")], "satisfied"),
    (
        "2102",
        "物业费纠纷",
        [("neighbours", "referred"), ("committee", "referred"), ("judicial", "resolved")],
        "basically",
    ),
    ("2101", "宠物噪音扰民", [("neighbours", "not_resolved")], None),
)


def _community_organisations(session, rng, grids, cell_of, communities, users, now, to_lonlat):
    """Two networks over the whole district (party grids: each community in 3 strips, security
    grids: in 6), each area with a manager and a co-manager; the first community's volunteer
    teams (the building head ``louzhang`` and four more), its disputes on their mediation paths
    with follow-up calls, and visits that met the building head — so the points, the mediation
    figures and the network switch have something to show."""
    for code, name, parts, label in NETWORKS:
        network = Network(code=code, name=name)
        session.add(network)
        session.flush()
        session.execute(
            text(
                """INSERT INTO network_areas (network_id, code, name, geom, area_m2)
                SELECT :network, c.code || lpad(CAST(i AS text), 2, '0'), c.name || :label || i, s.g,
                       ST_Area(CAST(s.g AS geography))
                FROM areas c CROSS JOIN generate_series(1, :parts) i
                CROSS JOIN LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_Intersection(c.geom,
                    ST_MakeEnvelope(ST_XMin(c.geom) + (i - 1) * (ST_XMax(c.geom) - ST_XMin(c.geom)) / :parts,
                                    ST_YMin(c.geom) - 0.001,
                                    ST_XMin(c.geom) + i * (ST_XMax(c.geom) - ST_XMin(c.geom)) / :parts,
                                    ST_YMax(c.geom) + 0.001, 4326)), 3)) AS g) s
                WHERE c.level = 'community'"""
            ),
            {"network": network.id, "parts": parts, "label": label},
        )
        for area_id in session.scalars(
            text("SELECT id FROM network_areas WHERE network_id = :n"), {"n": network.id}
        ):
            for role in ("manager", "co_manager"):
                session.add(
                    NetworkAreaPerson(
                        area_id=area_id,
                        role=role,
                        name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                        phone=f"137{rng.randrange(10**8):08d}",
                    )
                )
    community = communities[0]
    head = session.scalar(select(Person).where(Person.user_id.is_not(None)))
    volunteers = [head.user_id] + [
        create_user(
            session,
            f"zhiyuan{n}",
            "volunteer",
            DEMO_PASSWORD,
            rng.choice(SURNAMES) + "志愿者" + str(n),
            area_code=community.code,
        ).id
        for n in range(1, 5)
    ]
    for k, (kind, name) in enumerate(TEAMS):
        team = Team(community_code=community.code, kind=kind, name=name, leader_id=volunteers[k + 1])
        session.add(team)
        session.flush()
        members = {volunteers[0], volunteers[k + 1], volunteers[(k + 2) % len(volunteers)]}
        session.execute(team_members.insert(), [{"team_id": team.id, "user_id": u} for u in members])
    mine = [g for g in grids if g.parent_id == community.id]
    admin = users["admin"]
    for n, (category, description, path, satisfaction) in enumerate(DISPUTES):
        grid = mine[n % len(mine)]
        centre = cell_of[grid.id].representative_point()
        lon, lat = to_lonlat(centre.x, centre.y)
        reported = now - dt.timedelta(days=20 - 4 * n)
        report = submit_report(
            session,
            lon=lon,
            lat=lat,
            category=category,
            description=description,
            channel="volunteer",
            reporter_id=head.user_id,
            now=reported,
        ).report(session)
        act(
            session,
            report,
            users["dispatcher"],
            "accept",
            version=report.version,
            now=reported + dt.timedelta(hours=1),
        )
        at = reported + dt.timedelta(hours=2)
        for level, outcome in path:
            at += dt.timedelta(days=1)
            mediator = volunteers[1 + n % 4] if level == "neighbours" else None
            record_step(
                session,
                admin,
                report.id,
                level=level,
                outcome=outcome,
                mediator_username=session.get_one(User, mediator).username if mediator else None,
                mediator_name=None
                if mediator
                else {
                    "party_member": "老党员刘大爷",
                    "committee": "社区调委会",
                    "judicial": "人民法院诉调对接",
                }[level],
                note="双方达成一致" if outcome == "resolved" else "未达成一致",
                at=at,
            )
        if satisfaction:
            record_follow_up(
                session,
                admin,
                report.id,
                satisfaction=satisfaction,
                note="电话回访",
                at=at + dt.timedelta(days=2),
            )
    today = (now + dt.timedelta(hours=8)).date()
    for days in (3, 11, 25):
        session.add(
            Visit(
                building_id=head.building_id,
                grid_id=session.get(Building, head.building_id).grid_id,
                user_id=users["worker"].id,
                visited_on=today - dt.timedelta(days=days),
                met=head.name,
                met_person_id=head.id,
                discussed="楼栋长汇报本楼情况",
            )
        )
    session.flush()
    return len(NETWORKS), len(TEAMS), len(DISPUTES)


def _jittered_cells(rng: random.Random, x0: float, y0: float):
    """Quadrilaterals from a lattice whose inner vertices are jittered: a seamless tiling (and the
    lattice, whose lines are the demo's streets)."""
    jitter = CELL_M * 0.18
    vertex = {}
    for i in range(NX + 1):
        for j in range(NY + 1):
            dx = rng.uniform(-jitter, jitter) if 0 < i < NX else 0
            dy = rng.uniform(-jitter, jitter) if 0 < j < NY else 0
            vertex[i, j] = (x0 + i * CELL_M + dx, y0 - j * CELL_M + dy)
    cells = {
        (i, j): Polygon([vertex[i, j], vertex[i + 1, j], vertex[i + 1, j + 1], vertex[i, j + 1]])
        for i in range(NX)
        for j in range(NY)
    }
    return cells, vertex


def _area(session, level, code, name, parent, metric_geom) -> Area:
    geom = polygonal_part(metric_geom)
    area = Area(
        level=level,
        code=code,
        name=name,
        parent_id=parent.id if parent else None,
        area_m2=round(geom.area, 1),
        geom=from_shape(reproject(geom, METRIC_CRS, 4326), srid=4326),
    )
    session.add(area)
    session.flush()
    return area


def _buildings_in(rng: random.Random, cell: Polygon) -> list[Polygon]:
    """4-8 rotated rectangles on a 3 × 3 pattern of slots inside a (convex) cell."""
    (ax, ay), (bx, by), (cx, cy), (dx, dy) = list(cell.exterior.coords)[:4]
    slots = [(u, v) for u in (0.22, 0.5, 0.78) for v in (0.22, 0.5, 0.78)]
    out = []
    for u, v in rng.sample(slots, rng.randint(4, 8)):
        # bilinear interpolation between the four corners
        x = (1 - u) * (1 - v) * ax + u * (1 - v) * bx + u * v * cx + (1 - u) * v * dx
        y = (1 - u) * (1 - v) * ay + u * (1 - v) * by + u * v * cy + (1 - u) * v * dy
        w, h = rng.uniform(24, 48), rng.uniform(11, 16)
        box = Polygon(
            [(x - w / 2, y - h / 2), (x + w / 2, y - h / 2), (x + w / 2, y + h / 2), (x - w / 2, y + h / 2)]
        )
        out.append(affinity.rotate(box, rng.uniform(-15, 15), origin="center"))
    return out


# how far along the loop each demo report goes, with its weight
STAGES = [
    ("reported", 6),
    ("accepted", 3),
    ("opened", 3),
    ("dispatched", 12),
    ("handled", 4),
    ("verified", 2),
    ("closed", 14),
    ("resolved_locally", 5),
    ("voided", 2),
    ("rework", 3),
]
PATH = ["accept", "open", "dispatch", "handle", "verify", "close"]


def _reports(session, rng, grids, cell_of, departments, users, now, to_lonlat) -> int:
    codes = leaf_codes(session)
    stages = [s for s, w in STAGES for _ in range(w)]
    count = 0
    for n in range(len(stages)):
        stage = stages[n]
        grid = rng.choice(grids)
        cell = cell_of[grid.id]
        minx, miny, maxx, maxy = cell.bounds
        while True:
            p = Point(rng.uniform(minx, maxx), rng.uniform(miny, maxy))
            if cell.contains(p):
                break
        lon, lat = to_lonlat(p.x, p.y)
        category = rng.choice(list(DESCRIPTIONS) if rng.random() < 0.7 else codes)
        created = now - dt.timedelta(hours=rng.uniform(2, 24 * 30))
        reporter = users["worker"] if rng.random() < 0.5 else users["supervisor"]
        report = submit_report(
            session,
            lon=lon,
            lat=lat,
            category=category,
            reporter_id=reporter.id,
            description=DESCRIPTIONS.get(category, "巡查发现问题，请处理"),
            channel=rng.choice(["app", "app", "patrol", "hotline", "volunteer", "video", "public"]),
            now=created,
        ).report(session)
        count += 1
        clock = created

        def step(action, user, report=report, **kw):
            nonlocal clock
            clock = min(clock + dt.timedelta(minutes=rng.uniform(10, 300)), now)
            act(session, report, users[user], action, version=report.version, now=clock, **kw)

        if stage == "voided":
            step("void", "dispatcher", note="重复上报")
            continue
        if stage == "resolved_locally":
            step("resolve_locally", "supervisor", note="网格员现场劝导，已解决")
            continue
        target = {"rework": "handled"}.get(stage, stage)
        if target == "reported":
            continue
        department = departments[CATEGORY_DEPARTMENT[category[:2]]]
        roles = {
            "accept": "dispatcher",
            "open": "dispatcher",
            "dispatch": "dispatcher",
            "handle": "admin",
            "verify": "supervisor",
            "close": "dispatcher",
        }
        extra: dict[str, dict] = {
            "handle": {"note": "已处置完毕"},
            # the supervisor stands at the place, with a photo of it as it is now
            "verify": {"proof": Proof(photos=[_site_photo()], position=_where(report))},
        }
        for action in PATH[
            : PATH.index(
                {
                    "accepted": "accept",
                    "opened": "open",
                    "dispatched": "dispatch",
                    "handled": "handle",
                    "verified": "verify",
                    "closed": "close",
                }[target]
            )
            + 1
        ]:
            step(action, roles[action], department_id=department.id, **extra.get(action, {}))
        if stage == "rework":
            step("reject", "supervisor", note="复查未通过，需返工")
    return count


def _where(report) -> tuple[float, float]:
    point = to_shape(report.geom)
    return point.x, point.y


@functools.cache
def _site_photo() -> bytes:
    """A small photo of "the place as it is now" for the demo's verifications."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 240), "#9ecae1")
    ImageDraw.Draw(image).rectangle([40, 120, 280, 220], fill="#74c476")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()


def _streets(session, vertex) -> int:
    """The lattice lines as streets: east-west ones (路) and north-south ones (街)."""
    lines = [(f"{_chinese(j + 1)}号路", [vertex[i, j] for i in range(NX + 1)]) for j in range(NY + 1)]
    lines += [(f"{_chinese(i + 1)}号街", [vertex[i, j] for j in range(NY + 1)]) for i in range(NX + 1)]
    session.add_all(
        StreetLine(
            name=name,
            geom=from_shape(MultiLineString([reproject(LineString(points), METRIC_CRS, 4326)]), srid=4326),
        )
        for name, points in lines
    )
    session.flush()
    return len(lines)


def _patrols(session, rng, grids, cell_of, users, now) -> int:
    """Each grid worker walks round their grids a few times in the last day: 1.2 m/s, a fix every
    10 s, a few metres of GPS noise and the odd jump, cleaned like any real track."""
    count = 0
    for username in ("worker", "worker2"):
        user = users[username]
        own = [g for g in grids if g.code in {c.code for c in user.grids}]
        for n in range(3):
            start = now - dt.timedelta(hours=rng.uniform(2, 22))
            loop = cell_of[rng.choice(own).id].exterior
            fixes, t = [], start
            for k in range(int(loop.length * rng.uniform(1.0, 2.0) / 12)):
                p = loop.interpolate((k * 12) % loop.length)
                x, y = p.x + rng.gauss(0, 3), p.y + rng.gauss(0, 3)
                if rng.random() < 0.01:
                    x += 400  # a GPS jump
                lon, lat = transformer(METRIC_CRS, 4326).transform(x, y)
                fixes.append(Fix(lon, lat, t, rng.uniform(4, 15)))
                t += dt.timedelta(seconds=10)
            store_track(session, user, clean([fixes]), name=f"{user.display_name} 巡逻 {n + 1}")
            count += 1
    return count


def _chinese(n: int) -> str:
    return "一二三四五六七八九十"[n - 1] if n <= 10 else str(n)
