"""Builders for test data: a small fictional city (codes 99…) with every role."""

from __future__ import annotations

from dataclasses import dataclass, field

from shapely.geometry import box, mapping
from sqlalchemy.orm import Session

from civicgrid.audit.service import SYSTEM
from civicgrid.auth.models import Role, User
from civicgrid.auth.service import create_user
from civicgrid.events.models import Category
from civicgrid.events.taxonomy import seed_categories
from civicgrid.regions.models import GridMember, Region, RegionLevel
from civicgrid.units.models import Unit

PASSWORD = "test-password-1"
LON0, LAT0 = 119.30, 26.08
STEP = 0.01  # about 1 km per grid


@dataclass
class World:
    regions: dict[str, Region] = field(default_factory=dict)
    units: dict[str, Unit] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    categories: dict[str, Category] = field(default_factory=dict)

    def grid_point(self, code: str) -> tuple[float, float]:
        """(lat, lon) of the centre of a grid."""
        r = self.regions[code]
        return r.centroid_lat, r.centroid_lon


def _region(session: Session, code: str, name: str, level: RegionLevel, parent: Region | None,
            geom=None) -> Region:
    region = Region(
        code=code, name_zh=name, name_en=name, level=level, parent_id=parent.id if parent else None,
        path=(parent.path if parent else "/") + code + "/",
        geometry=mapping(geom) if geom is not None else None,
        centroid_lat=geom.centroid.y if geom is not None else None,
        centroid_lon=geom.centroid.x if geom is not None else None,
        area_m2=geom.area * 111_320 * 100_000 if geom is not None else None, population=2000,
    )
    session.add(region)
    session.flush()
    return region


def build_world(session: Session) -> World:
    """City → 1 district → 2 streets → 2 communities each → 2 grids each (square 1 km grids)."""
    w = World()
    city = _region(session, "990100000000", "云州市", RegionLevel.CITY, None, box(LON0, LAT0, LON0 + 0.08, LAT0 + 0.02))
    district = _region(session, "990102000000", "云湖区", RegionLevel.DISTRICT, city,
                       box(LON0, LAT0, LON0 + 0.08, LAT0 + 0.02))
    w.regions.update({"city": city, "district": district})
    col = 0
    for s in (1, 2):
        street_box = box(LON0 + (s - 1) * 0.04, LAT0, LON0 + s * 0.04, LAT0 + 0.02)
        street = _region(session, f"990102{s:03d}000", f"湖{s}街道", RegionLevel.STREET, district, street_box)
        w.regions[f"street{s}"] = street
        for c in (1, 2):
            cbox = box(LON0 + col * 0.02, LAT0, LON0 + (col + 1) * 0.02, LAT0 + 0.02)
            community = _region(session, f"990102{s:03d}{c:03d}", f"湖{s}街道{c}社区", RegionLevel.COMMUNITY,
                                street, cbox)
            w.regions[f"community{s}{c}"] = community
            for g in (1, 2):
                gbox = box(LON0 + col * 0.02 + (g - 1) * STEP, LAT0, LON0 + col * 0.02 + g * STEP, LAT0 + 0.02)
                grid = _region(session, f"990102{s:03d}{c:03d}{g:03d}", f"湖{s}街道{c}社区第{g}网格",
                               RegionLevel.GRID, community, gbox)
                w.regions[f"grid{s}{c}{g}"] = grid
            w.units[f"community{s}{c}"] = _unit(session, f"C{s}{c}", f"湖{s}街道{c}社区居委会", "community", community)
            col += 1
    w.units["chengguan"] = _unit(session, "CG", "云湖区城管局", "department", district)
    w.units["zhujian"] = _unit(session, "ZJ", "云湖区住建局", "department", district)
    w.units["shichang"] = _unit(session, "SJ", "云湖区市场监管局", "department", district)

    def user(name: str, role: Role, region: Region, unit: Unit | None = None) -> User:
        u = create_user(session=session, actor=None, origin=SYSTEM, username=name, display_name=name,
                        password=PASSWORD, role=role, scope_region_id=region.id,
                        unit_id=unit.id if unit else None)
        w.users[name] = u
        return u

    user("admin", Role.ADMIN, city)
    user("operator", Role.OPERATOR, w.regions["community11"])
    user("operator12", Role.OPERATOR, w.regions["community12"])
    user("operator21", Role.OPERATOR, w.regions["community21"])
    user("street_op", Role.OPERATOR, w.regions["street1"])
    user("street2_op", Role.OPERATOR, w.regions["street2"])
    user("district_op", Role.OPERATOR, district)
    user("city_op", Role.OPERATOR, city)
    user("handler", Role.HANDLER, district, w.units["chengguan"])
    user("handler_zj", Role.HANDLER, district, w.units["zhujian"])
    user("community_handler", Role.HANDLER, w.regions["community11"], w.units["community11"])
    worker = user("gridworker", Role.GRID_WORKER, w.regions["grid111"])
    user("gridworker2", Role.GRID_WORKER, w.regions["grid211"])
    user("leader", Role.LEADER, district)
    user("street_leader", Role.LEADER, w.regions["street1"])
    user("citizen", Role.CITIZEN, city)
    session.add(GridMember(grid_id=w.regions["grid111"].id, user_id=worker.id, duty="grid_worker"))
    seed_categories(session=session)
    from sqlalchemy import select

    w.categories = {c.code: c for c in session.scalars(select(Category))}
    session.flush()
    return w


def _unit(session: Session, code: str, name: str, kind: str, region: Region) -> Unit:
    unit = Unit(code=code, name_zh=name, name_en=name, kind=kind, region_id=region.id)
    session.add(unit)
    session.flush()
    return unit
