"""Region services: the tree, grid members, point → grid through the cached index."""

from __future__ import annotations

import math

import pytest
from shapely.geometry import box, mapping
from sqlalchemy import select

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import SYSTEM, Origin
from civicgrid.auth.models import Role, User
from civicgrid.errors import Conflict, InvalidInput, NotFound
from civicgrid.regions import service
from civicgrid.regions.geometry import METRES_PER_DEGREE
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.regions.schemas import GridMemberRead, LocationRead, RegionRead
from civicgrid.settings import get_settings
from tests.regions.test_regions_import import COMMUNITY, GRID1, GRID2, LAT0, LON0, STREET, good_file

WEB = Origin("web", "req-1")


@pytest.fixture
def city(geo_session):
    """The two-grid city of the import tests, imported."""
    service.import_geojson(session=geo_session, actor=None, origin=SYSTEM, feature_collection=good_file())
    return geo_session


def make_user(session, name: str, scope: Region) -> User:
    user = User(
        username=name, display_name=name.title(), password_hash="x", role=Role.GRID_WORKER,
        scope_region_id=scope.id, scope_path=scope.path,
    )
    session.add(user)
    session.flush()
    return user


# --- the tree ------------------------------------------------------------------------------------


def test_subtree_children_ancestors_and_tree(city):
    street = service.region_by_code(session=city, code=STREET)
    codes = [r.code for r in service.subtree(session=city, path=street.path)]
    assert codes == [STREET, COMMUNITY, GRID1, GRID2]
    grids = service.subtree(session=city, path=street.path, levels=[RegionLevel.GRID])
    assert [g.code for g in grids] == [GRID1, GRID2]
    grid = service.region_by_code(session=city, code=GRID2)
    assert [r.level for r in service.ancestors(grid)] == [
        RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY,
    ]
    assert service.ancestors(service.region_by_code(session=city, code="990100000000")) == []
    community = service.region_by_code(session=city, code=COMMUNITY)
    assert [c.code for c in service.children(session=city, region_id=community.id)] == [GRID1, GRID2]
    tree = service.region_tree(session=city, path="/990100000000/")
    assert tree.code == "990100000000"
    assert tree.children[0].children[0].children[0].children[1].code == GRID2
    shallow = service.region_tree(session=city, path="/990100000000/", max_level=RegionLevel.STREET)
    assert shallow.children[0].children[0].children == []
    assert RegionRead.model_validate(grid).path.endswith(f"/{GRID2}/")


def test_unknown_region_is_not_found(city):
    with pytest.raises(NotFound):
        service.region_by_code(session=city, code="990199999999")
    with pytest.raises(NotFound):
        service.region_tree(session=city, path="/nowhere/")


# --- grid members ----------------------------------------------------------------------------------


def test_assign_and_remove_grid_members_are_audited(city):
    grid = service.region_by_code(session=city, code=GRID1)
    worker = make_user(city, "wang", grid)
    police = make_user(city, "li", grid)
    m1 = service.assign_grid_member(session=city, actor=worker, origin=WEB, grid_id=grid.id, user_id=police.id, duty="police")
    m2 = service.assign_grid_member(session=city, actor=None, origin=WEB, grid_id=grid.id, user_id=worker.id, duty="grid_worker")
    team = service.assign_grid_member(
        session=city, actor=None, origin=WEB, grid_id=grid.id, user_id=worker.id, duty="team", team_name="平安志愿者"
    )
    assert [m.duty for m in service.grid_members(session=city, grid_id=grid.id)] == ["grid_worker", "police", "team"]
    assert GridMemberRead.model_validate(team).team_name == "平安志愿者"
    entry = city.scalars(select(AuditEntry).where(AuditEntry.entity == "grid_member", AuditEntry.entity_id == str(m1.id))).one()
    assert (entry.action, entry.actor_id, entry.channel, entry.request_id) == ("assign", worker.id, "web", "req-1")
    assert entry.after["duty"] == "police" and entry.after["grid_code"] == GRID1
    service.remove_grid_member(session=city, actor=None, origin=WEB, member_id=m2.id)
    assert [m.duty for m in service.grid_members(session=city, grid_id=grid.id)] == ["police", "team"]
    removed = city.scalars(select(AuditEntry).where(AuditEntry.action == "remove")).one()
    assert removed.before["user_id"] == worker.id


def test_assignment_refusals(city):
    grid = service.region_by_code(session=city, code=GRID1)
    community = service.region_by_code(session=city, code=COMMUNITY)
    user = make_user(city, "zhao", grid)
    with pytest.raises(InvalidInput):
        service.assign_grid_member(session=city, actor=None, origin=WEB, grid_id=grid.id, user_id=user.id, duty="boss")
    with pytest.raises(NotFound):
        service.assign_grid_member(session=city, actor=None, origin=WEB, grid_id=community.id, user_id=user.id, duty="police")
    with pytest.raises(NotFound):
        service.assign_grid_member(session=city, actor=None, origin=WEB, grid_id=grid.id, user_id=99999, duty="police")
    service.assign_grid_member(session=city, actor=None, origin=WEB, grid_id=grid.id, user_id=user.id, duty="police")
    with pytest.raises(Conflict):
        service.assign_grid_member(session=city, actor=None, origin=WEB, grid_id=grid.id, user_id=user.id, duty="police")
    with pytest.raises(NotFound):
        service.remove_grid_member(session=city, actor=None, origin=WEB, member_id=424242)


# --- point → grid -----------------------------------------------------------------------------------


def test_locate_point_inside_snapped_and_nowhere(city):
    g1 = service.region_by_code(session=city, code=GRID1)
    g2 = service.region_by_code(session=city, code=GRID2)
    assert service.locate_point(session=city, lon=LON0 + 0.002, lat=LAT0 + 0.005).grid_id == g1.id
    assert service.locate_point(session=city, lon=LON0 + 0.01, lat=LAT0 + 0.005).grid_id == min(g1.id, g2.id)
    tolerance = get_settings().grid_snap_tolerance_m
    m_per_deg_lat = METRES_PER_DEGREE
    near = service.locate_point(session=city, lon=LON0 + 0.015, lat=LAT0 + 0.01 + 0.5 * tolerance / m_per_deg_lat)
    assert (near.grid_id, near.snapped) == (g2.id, True)
    assert near.distance_m == pytest.approx(0.5 * tolerance, rel=1e-3)
    far = service.locate_point(session=city, lon=LON0 + 0.015, lat=LAT0 + 0.01 + 3 * tolerance / m_per_deg_lat)
    assert far.grid_id is None and math.isinf(far.distance_m)
    assert service.locate_point(session=city, lon=200.0, lat=LAT0).grid_id is None
    assert LocationRead.model_validate(near).snapped is True
    assert LocationRead.model_validate(far).model_dump() == {"grid_id": None, "snapped": False, "distance_m": None}


def test_locate_points_matches_locate_point(city):
    lons = [LON0 + 0.002, LON0 + 0.015, LON0 + 0.015, LON0 + 1, 200.0, math.nan]
    lats = [LAT0 + 0.005, LAT0 + 0.005, LAT0 + 0.0101, LAT0, LAT0, LAT0]
    many = service.locate_points(session=city, lons=lons, lats=lats)
    assert many == [service.locate_point(session=city, lon=x, lat=y) for x, y in zip(lons, lats)]
    assert [loc.snapped for loc in many] == [False, False, True, False, False, False]
    assert [loc.grid_id is None for loc in many] == [False, False, False, True, True, True]


def test_grid_index_follows_every_change_of_the_grids_in_the_transaction(city):
    first = service.get_grid_index(city)
    assert len(first) == 2
    # Re-importing grid 1 with a new shape rebuilds the index.
    fc = good_file()
    fc["features"] = [fc["features"][1]]
    fc["features"][0]["geometry"] = mapping(box(LON0, LAT0, LON0 + 0.01, LAT0 + 0.005))
    service.import_geojson(session=city, actor=None, origin=SYSTEM, feature_collection=fc)
    second = service.get_grid_index(city)
    assert second is not first
    assert service.locate_point(session=city, lon=LON0 + 0.005, lat=LAT0 + 0.008).snapped is False
    assert service.locate_point(session=city, lon=LON0 + 0.005, lat=LAT0 + 0.008).grid_id is None
    # A grid added by any other writer is seen too.
    community = service.region_by_code(session=city, code=COMMUNITY)
    extra = Region(
        code=COMMUNITY + "003", name_zh="第3网格", level=RegionLevel.GRID, parent_id=community.id,
        path=community.path + COMMUNITY + "003/", geometry=mapping(box(LON0, LAT0 + 0.005, LON0 + 0.01, LAT0 + 0.01)),
    )
    city.add(extra)
    city.flush()
    assert service.locate_point(session=city, lon=LON0 + 0.005, lat=LAT0 + 0.008).grid_id == extra.id
    # Deactivated grids drop out of the index.
    extra.active = False
    city.flush()
    assert service.locate_point(session=city, lon=LON0 + 0.005, lat=LAT0 + 0.008).grid_id is None


def test_a_grid_stored_without_a_usable_polygon_does_not_break_lookup(city):
    community = service.region_by_code(session=city, code=COMMUNITY)
    city.add(Region(code=COMMUNITY + "009", name_zh="第9网格", level=RegionLevel.GRID, parent_id=community.id,
                    path=community.path + COMMUNITY + "009/", geometry={"type": "Polygon", "coordinates": "broken"}))
    city.flush()
    g1 = service.region_by_code(session=city, code=GRID1)
    assert service.locate_point(session=city, lon=LON0 + 0.002, lat=LAT0 + 0.005).grid_id == g1.id
    assert len(service.get_grid_index(city)) == 2


def test_within_region_keeps_the_subtree_and_refuses_an_unknown_region(city):
    street = service.region_by_code(session=city, code=STREET)
    grid1 = service.region_by_code(session=city, code=GRID1)
    in_street = city.scalars(select(Region.code).where(
        *service.within_region(session=city, path_column=Region.path, region_id=street.id))).all()
    assert set(in_street) == {STREET, COMMUNITY, GRID1, GRID2}
    in_grid = city.scalars(select(Region.code).where(
        *service.within_region(session=city, path_column=Region.path, region_id=grid1.id))).all()
    assert in_grid == [GRID1]
    with pytest.raises(NotFound) as missing:
        service.within_region(session=city, path_column=Region.path, region_id=987654321)
    assert "987654321" in missing.value.detail_zh and "987654321" in missing.value.detail_en
