"""Build the demo city 云州市: geography, units, routing rules, users, grid members and case history.

Everything goes through the real services (``import_geojson``, ``create_unit``,
``create_rule``, ``create_user``, ``assign_grid_member``, ``intake_case``, ``transition``)
so the demo exercises the product the way a city would. Two things are bulk instead:

* the staff accounts behind every unit, community centre and grid (hundreds at small
  scale, tens of thousands at city scale) share one Argon2 hash of the staff password —
  hashing each one separately costs ~0.18 s per account, minutes for a city — and are
  audited with one ``record()`` each, like ``create_user`` would;
* at ``--scale city`` the million-case history is written with SQLAlchemy Core in batches
  (``civicgrid.demo.cases.bulk_history``), and so are the grid assignments.

``build_demo`` refuses to run twice on the same database (the city code is the marker).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import Role, User
from civicgrid.auth.passwords import hash_password
from civicgrid.auth.service import create_user
from civicgrid.demo.geography import CITY_CODE, DEFAULT_SEED, SCALES, generate_city
from civicgrid.errors import Conflict, Forbidden, InvalidInput
from civicgrid.events import tally
from civicgrid.events.config import create_rule
from civicgrid.events.models import Category
from civicgrid.events.schemas import RoutingRuleWrite
from civicgrid.events.taxonomy import seed_categories
from civicgrid.regions.models import GridMember, Region, RegionLevel
from civicgrid.regions.service import assign_grid_member, import_geojson
from civicgrid.settings import get_settings
from civicgrid.units.models import Unit
from civicgrid.units.service import create_unit

ORIGIN = Origin("demo")

# Departments every district has (职能部门): (key, Chinese suffix, English name).
DEPARTMENTS: list[tuple[str, str, str]] = [
    ("GA", "公安分局", "Public Security Sub-bureau"),
    ("CG", "城市管理局", "Urban Management Bureau"),
    ("ZJ", "住房和城乡建设局", "Housing and Urban-Rural Development Bureau"),
    ("SJ", "市场监督管理局", "Market Regulation Bureau"),
    ("HB", "生态环境局", "Ecology and Environment Bureau"),
    ("RS", "人力资源和社会保障局", "Human Resources and Social Security Bureau"),
    ("MZ", "民政局", "Civil Affairs Bureau"),
    ("SW", "水务局", "Water Affairs Bureau"),
    ("JT", "交通运输局", "Transport Bureau"),
    ("WJ", "卫生健康局", "Health Commission"),
    ("JY", "教育局", "Education Bureau"),
    ("YJ", "应急管理局", "Emergency Management Bureau"),
    ("XF", "消防救援大队", "Fire and Rescue Brigade"),
    ("SF", "司法局", "Justice Bureau"),
    ("ZR", "自然资源局", "Natural Resources Bureau"),
]

# Category class (or leaf, which is more specific and wins) → department key, per district.
# Classes without a rule (disputes, consultations, help requests, suggestions) fall back to
# the community's own unit, as the routing module intends: the 居委会 mediates first.
ROUTES: dict[str, str] = {
    "EV01": "CG", "EV02": "CG", "EV03": "ZJ", "EV04": "CG", "EV0403": "HB",
    "EV05": "YJ", "EV0502": "XF", "EV0503": "SW", "EV0504": "CG",
    "CP01": "CG", "CP0102": "SW", "CP02": "JT", "CP03": "CG", "CP04": "ZJ",
    "GV0103": "RS", "GV02": "GA", "GV03": "YJ", "GV0301": "XF", "GV0302": "ZJ",
    "GV04": "MZ", "GV05": "SF", "GV07": "SJ",
}

ADMIN_PASSWORD = "civicgrid-admin"
DEMO_PASSWORD = "civicgrid-demo"
STAFF_PASSWORD = "civicgrid-staff"


@dataclass
class Login:
    """One demo account to print: who it is and what it sees."""

    username: str
    password: str
    role: Role
    scope_zh: str
    note: str = ""


@dataclass
class DemoCity:
    """What the case generators need to know about the built city."""

    city: Region
    districts: list[Region]
    streets: list[Region]
    communities: list[Region]
    grids: list[Region]
    categories: dict[str, Category]
    departments: dict[tuple[int, str], Unit]  # (district id, key) → unit
    community_units: dict[int, Unit]  # community region id → its 居委会/村委会
    street_units: dict[int, Unit]
    operators: dict[int, User] = field(default_factory=dict)  # desk region id → operator there
    handlers: dict[int, User] = field(default_factory=dict)  # unit id → a handler of it
    grid_workers: dict[int, User] = field(default_factory=dict)  # grid id → its grid worker
    showcase: dict[str, User] = field(default_factory=dict)
    admin: User | None = None

    def district_of(self, region: Region) -> Region:
        """The district a region lies in (read from its path)."""
        code = region.path.strip("/").split("/")[1]
        return self._by_code[code]

    def community_of(self, grid: Region) -> Region:
        """The community a grid belongs to."""
        return self._by_id[grid.parent_id]

    def __post_init__(self) -> None:
        everything = [self.city, *self.districts, *self.streets, *self.communities, *self.grids]
        self._by_code = {r.code: r for r in everything}
        self._by_id = {r.id: r for r in everything}

    def region(self, region_id: int) -> Region:
        """A region of the city by id."""
        return self._by_id[region_id]


@dataclass
class DemoReport:
    """What ``build_demo`` made, how long it took, and the logins to print."""

    scale: str
    seed: int
    regions: int = 0
    units: int = 0
    users: int = 0
    grid_members: int = 0
    rules: int = 0
    cases: int = 0
    case_states: dict[str, int] = field(default_factory=dict)
    overdue: int = 0
    timings: dict[str, float] = field(default_factory=dict)
    rows_per_second: float | None = None
    skipped: list[str] = field(default_factory=list)
    logins: list[Login] = field(default_factory=list)


def demo_exists(*, session: Session) -> bool:
    """Whether the demo city is already in this database."""
    return session.scalar(select(Region.id).where(Region.code == CITY_CODE)) is not None


def build_demo(
    *,
    session: Session,
    scale: str = "small",
    seed: int = DEFAULT_SEED,
    cases: int | None = None,
    log: Callable[[str], None] = lambda _msg: None,
) -> DemoReport:
    """Build the demo city in ``session`` (the caller commits); refuses if it already exists."""
    from civicgrid.demo import cases as case_history

    if scale not in SCALES:
        raise InvalidInput(f"规模 {scale} 无效，可选 small 或 city", f"Unknown scale {scale}; use small or city")
    if get_settings().environment == "production":
        raise Forbidden("生产环境不能生成演示数据", "The demo city cannot be built in production")
    if demo_exists(session=session):
        raise Conflict("演示城市云州市已存在，未做任何修改", "The demo city Yunzhou already exists; nothing was changed")
    report = DemoReport(scale=scale, seed=seed)
    rng = np.random.default_rng(seed)

    t0 = time.perf_counter()
    log(f"生成地理数据 / generating geography ({scale})…")
    collection = generate_city(scale=scale, seed=seed)  # type: ignore[arg-type]
    imported = import_geojson(session=session, actor=None, origin=ORIGIN, feature_collection=collection)
    report.regions = imported.created
    report.timings["geography"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    seed_categories(session=session)
    city = _load_city(session)
    _create_units(session, city)
    report.units = len(city.departments) + len(city.community_units) + len(city.street_units) + 1
    report.logins = _create_people(session, city, rng, scale)
    report.users = session.scalar(select(func.count(User.id))) or 0
    report.rules = _create_rules(session, city)
    report.grid_members = _assign_grids(session, city, scale)
    from civicgrid.demo.mediation import seed_registry

    showcase = city.region(city.showcase["operator"].scope_region_id)
    mediation = seed_registry(session=session, city=city, staff=_StaffFactory(session, city.admin), showcase=showcase,
                              logins=report.logins, password=DEMO_PASSWORD)
    log(f"调解组织 {mediation.orgs}、调解员 {mediation.mediators} / mediation registry done")
    report.timings["units, users, rules"] = time.perf_counter() - t0
    log(f"单位 {report.units}、用户 {report.users}、规则 {report.rules} / units, users, rules done")

    t0 = time.perf_counter()
    if scale == "city":
        n = cases if cases is not None else 1_000_000
        log(f"批量写入 {n:,} 条历史事件 / bulk-writing {n:,} historical cases…")
        written = case_history.bulk_history(session=session, city=city, n=n, rng=rng, log=log)
        report.cases = written
        elapsed = time.perf_counter() - t0
        report.rows_per_second = written / elapsed if elapsed else None
        # Core inserts bypass the mapper events that keep the case tallies: count them once.
        t1 = time.perf_counter()
        rows = tally.rebuild(session=session)
        report.timings["case tallies"] = time.perf_counter() - t1
        log(f"统计台账 {rows:,} 行 / case tallies: {rows:,} rows")
        report.skipped.append(
            "城市规模的历史事件不写审计记录与通知（事件时间线为空）/ city-scale history writes no audit "
            "entries or notifications (case timelines are empty)"
        )
    else:
        n = cases if cases is not None else 2_000
        log(f"按真实流程生成 {n:,} 条事件 / walking {n:,} cases through the workflow…")
        report.cases = case_history.walk_history(session=session, city=city, n=n, rng=rng, log=log)
    report.timings["cases"] = time.perf_counter() - t0
    report.case_states = case_history.state_counts(session=session)
    report.overdue = case_history.overdue_count(session=session)
    return report


def _load_city(session: Session) -> DemoCity:
    regions = list(session.scalars(select(Region).where(Region.path.startswith(f"/{CITY_CODE}/"))))
    by_level: dict[RegionLevel, list[Region]] = {level: [] for level in RegionLevel}
    for region in regions:
        by_level[region.level].append(region)
    for level in by_level:
        by_level[level].sort(key=lambda r: r.code)
    categories = {c.code: c for c in session.scalars(select(Category))}
    return DemoCity(
        city=by_level[RegionLevel.CITY][0],
        districts=by_level[RegionLevel.DISTRICT],
        streets=by_level[RegionLevel.STREET],
        communities=by_level[RegionLevel.COMMUNITY],
        grids=by_level[RegionLevel.GRID],
        categories=categories,
        departments={},
        community_units={},
        street_units={},
    )


def _create_units(session: Session, city: DemoCity) -> None:
    """The city centre, 15 departments per district, a street office per street, a unit per community."""
    create_unit(session=session, actor=None, origin=ORIGIN, code="C-990100", name_zh="云州市综治中心",
                name_en="Yunzhou Social Governance Centre", kind="centre", region_id=city.city.id)
    for district in city.districts:
        for key, zh, en in DEPARTMENTS:
            unit = create_unit(
                session=session, actor=None, origin=ORIGIN, code=f"D-{district.code[:6]}-{key}",
                name_zh=f"{district.name_zh}{zh}", name_en=f"{district.name_en} {en}", kind="department",
                region_id=district.id,
            )
            city.departments[(district.id, key)] = unit
    for street in city.streets:
        city.street_units[street.id] = create_unit(
            session=session, actor=None, origin=ORIGIN, code=f"S-{street.code[:9]}",
            name_zh=f"{street.name_zh}办事处", name_en=f"{street.name_en} Office", kind="street",
            region_id=street.id,
        )
    for community in city.communities:
        village = community.name_zh.endswith("村")
        city.community_units[community.id] = create_unit(
            session=session, actor=None, origin=ORIGIN, code=f"C-{community.code}",
            name_zh=f"{community.name_zh}{'村民委员会' if village else '居民委员会'}",
            name_en=f"{community.name_en} {'Villagers' if village else 'Residents'}' Committee",
            kind="community", region_id=community.id,
        )


def _create_rules(session: Session, city: DemoCity) -> int:
    """One routing rule per (district, category class or leaf) in ROUTES."""
    assert city.admin is not None
    n = 0
    for district in city.districts:
        for code, key in ROUTES.items():
            category = city.categories[code]
            unit = city.departments[(district.id, key)]
            create_rule(
                session=session, actor=city.admin, origin=ORIGIN,
                data=RoutingRuleWrite(category_id=category.id, region_id=district.id, unit_id=unit.id,
                                      note=f"演示规则：{category.name_zh} → {unit.name_zh}"),
            )
            n += 1
    return n


def _create_people(session: Session, city: DemoCity, rng: np.random.Generator, scale: str) -> list[Login]:
    """Showcase users (real ``create_user``, printed) and the staff behind every desk and unit."""
    d1 = city.districts[0]
    # The showcase desk is an urban community (社区) of the central district, if it has one.
    in_d1 = [c for c in city.communities if c.path.startswith(d1.path)]
    c1 = next((c for c in in_d1 if c.name_zh.endswith("社区")), in_d1[0])
    s1 = city.region(c1.parent_id)
    g1 = next(g for g in city.grids if g.parent_id == c1.id)
    logins: list[Login] = []

    def showcase(username: str, name: str, role: Role, region: Region, unit: Unit | None = None,
                 password: str = DEMO_PASSWORD, note: str = "") -> User:
        user = create_user(session=session, actor=city.admin, origin=ORIGIN, username=username, display_name=name,
                           password=password, role=role, scope_region_id=region.id,
                           unit_id=unit.id if unit else None, phone=None)
        city.showcase[username] = user
        logins.append(Login(username, password, role, region.name_zh + (f" · {unit.name_zh}" if unit else ""), note))
        return user

    city.admin = showcase("admin", "系统管理员", Role.ADMIN, city.city, password=ADMIN_PASSWORD)
    city.operators[city.city.id] = showcase("city_operator", "市综治中心坐席", Role.OPERATOR, city.city)
    city.operators[d1.id] = showcase("district_operator", f"{d1.name_zh}综治中心坐席", Role.OPERATOR, d1)
    city.operators[s1.id] = showcase("street_operator", f"{s1.name_zh}综治中心坐席", Role.OPERATOR, s1)
    city.operators[c1.id] = showcase("operator", f"{c1.name_zh}综治中心坐席", Role.OPERATOR, c1)
    for key, username, label in (("CG", "handler_chengguan", "城管"), ("ZJ", "handler_zhujian", "住建"),
                                 ("GA", "handler_police", "公安")):
        unit = city.departments[(d1.id, key)]
        city.handlers[unit.id] = showcase(username, f"{label}承办人", Role.HANDLER, d1, unit)
    cunit = city.community_units[c1.id]
    city.handlers[cunit.id] = showcase("handler_community", f"{c1.name_zh}承办人", Role.HANDLER, c1, cunit)
    city.grid_workers[g1.id] = showcase("gridworker", f"{g1.name_zh}网格员", Role.GRID_WORKER, g1)
    city.showcase["police"] = showcase("police", f"{c1.name_zh}社区民警", Role.GRID_WORKER, g1,
                                       note="二员同格 / community police")
    showcase("leader", "市领导", Role.LEADER, city.city)
    showcase("district_leader", f"{d1.name_zh}领导", Role.LEADER, d1)
    showcase("citizen", "热心群众", Role.CITIZEN, city.city)

    staff = _StaffFactory(session, city.admin)
    for region in [city.city, *city.districts, *city.streets, *city.communities]:
        if region.id not in city.operators:
            city.operators[region.id] = staff.add(f"op_{region.code}", f"{region.name_zh}坐席", Role.OPERATOR, region)
    units = [*city.departments.values(), *city.street_units.values(), *city.community_units.values()]
    for unit in units:
        if unit.id not in city.handlers:
            city.handlers[unit.id] = staff.add(f"hd_{unit.code.lower().replace('-', '_')}",
                                               f"{unit.name_zh}承办人", Role.HANDLER, unit.region, unit)
    for grid in city.grids:
        if grid.id not in city.grid_workers:
            city.grid_workers[grid.id] = staff.add(f"gw_{grid.code}", f"{grid.name_zh}网格员", Role.GRID_WORKER, grid)
    staff.flush()
    logins.append(Login("op_<区域代码> / hd_<单位代码> / gw_<网格代码> / pc_<网格代码>", STAFF_PASSWORD, Role.OPERATOR,
                        "每个中心、单位、网格各一个账号", "staff accounts behind every desk, unit and grid"))
    return logins


class _StaffFactory:
    """Staff accounts with one shared Argon2 hash (see the module docstring), each audited."""

    def __init__(self, session: Session, admin: User | None) -> None:
        self.session = session
        self.admin = admin
        self.hash = hash_password(STAFF_PASSWORD)
        self.pending: list[User] = []

    def add(self, username: str, name: str, role: Role, region: Region, unit: Unit | None = None) -> User:
        user = User(username=username, display_name=name, password_hash=self.hash, role=role,
                    scope_region_id=region.id, scope_path=region.path, unit_id=unit.id if unit else None)
        self.session.add(user)
        self.pending.append(user)
        if len(self.pending) >= 2_000:
            self.flush()
        return user

    def flush(self) -> None:
        self.session.flush()
        for user in self.pending:
            record(session=self.session, actor=self.admin, origin=ORIGIN, entity="user", entity_id=user.id,
                   action="create", after={"username": user.username, "role": user.role.value,
                                           "scope": user.scope_path.strip("/").split("/")[-1],
                                           "unit_id": user.unit_id, "bulk": True})
        self.pending.clear()
        self.session.flush()


def _assign_grids(session: Session, city: DemoCity, scale: str) -> int:
    """二员同格: a grid worker and a community police officer for every grid."""
    staff = _StaffFactory(session, city.admin)
    police: dict[int, User] = {city.grids[0].id: city.showcase["police"]} if city.grids else {}
    first_community = city.grids[0].parent_id if city.grids else None
    for grid in city.grids:
        if grid.id in police:
            continue
        if grid.parent_id == first_community:
            # The showcase officer covers the whole first community, as a 社区民警 does.
            police[grid.id] = city.showcase["police"]
        else:
            police[grid.id] = staff.add(f"pc_{grid.code}", f"{grid.name_zh}社区民警", Role.GRID_WORKER, grid)
    staff.flush()
    if scale == "city":
        # 20,000 assignments through the service would take minutes; same rows, written in bulk.
        rows = [{"grid_id": g.id, "user_id": city.grid_workers[g.id].id, "duty": "grid_worker", "team_name": None}
                for g in city.grids]
        rows += [{"grid_id": g.id, "user_id": police[g.id].id, "duty": "police", "team_name": None} for g in city.grids]
        session.execute(insert(GridMember), rows)
        record(session=session, actor=city.admin, origin=ORIGIN, entity="grid_member", entity_id="bulk",
               action="assign", after={"grids": len(city.grids), "rows": len(rows), "bulk": True})
        return len(rows)
    n = 0
    for grid in city.grids:
        assign_grid_member(session=session, actor=city.admin, origin=ORIGIN, grid_id=grid.id,
                           user_id=city.grid_workers[grid.id].id, duty="grid_worker")
        assign_grid_member(session=session, actor=city.admin, origin=ORIGIN, grid_id=grid.id,
                           user_id=police[grid.id].id, duty="police")
        n += 2
    # The N teams of "2+N": a volunteer patrol on the first community's grids.
    volunteer = city.showcase["citizen"]
    for grid in [g for g in city.grids if g.parent_id == first_community]:
        assign_grid_member(session=session, actor=city.admin, origin=ORIGIN, grid_id=grid.id,
                           user_id=volunteer.id, duty="team", team_name="平安志愿者巡逻队")
        n += 1
    return n
