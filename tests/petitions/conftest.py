"""Fixtures for the petition tests: subjects routed to windows, and ``pet`` — a driver that
registers petitions and fires steps on a virtual clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar
import pytest
from sqlalchemy import select

from civicgrid.audit.service import Origin
from civicgrid.people.identity import make_citizen_id
from civicgrid.petitions import service
from civicgrid.petitions.models import Petition, PetitionSubject
from civicgrid.petitions.schemas import PetitionCreate, PetitionerIn

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI)  # a Monday; 90 working days later is still in 2026
ORIGIN = Origin("test", request_id="req-petitions")


def citizen_id(n: int) -> str:
    """A valid test ID number."""
    return make_citizen_id("350103", dt.date(1970, 1, 1) + dt.timedelta(days=n), n % 1000)


def working_days_after(instant: dt.datetime, n: int) -> dt.datetime:
    """``instant`` (on a working day) plus n working days, by chinese_calendar alone."""
    local = instant.astimezone(SHANGHAI)
    day = local.date()
    while n:
        day += dt.timedelta(days=1)
        if chinese_calendar.is_workday(day):
            n -= 1
    return dt.datetime.combine(day, local.time(), tzinfo=SHANGHAI)


class Petitions:
    """Registers petitions and fires steps as the world's users on a virtual clock."""

    def __init__(self, session, world):
        self.session = session
        self.world = world
        self.now = T0
        # The land subject goes to the housing department's window; labour has no window yet.
        self.subject("LAND").unit_id = world.units["zhujian"].id
        session.flush()

    def subject(self, code: str) -> PetitionSubject:
        return self.session.scalar(select(PetitionSubject).where(PetitionSubject.code == code))

    def tick(self, hours: float = 1) -> dt.datetime:
        self.now += dt.timedelta(hours=hours)
        return self.now

    def register(self, *people: tuple[int, str], by: str = "operator", subject: str = "LAND",
                 region: str = "grid111", at: dt.datetime | None = None, **kw) -> Petition:
        petitioners = kw.pop("petitioners", None) or [PetitionerIn(id_number=citizen_id(n), name=name)
                                                      for n, name in (people or ((1, "赵大爷"),))]
        data = PetitionCreate(subject_code=subject, request=kw.pop("request", "反映征地补偿款未足额发放"),
                              region_code=self.world.regions[region].code, petitioners=petitioners, **kw)
        petition, created = service.register_petition(session=self.session, actor=self.world.users[by],
                                                      origin=ORIGIN, data=data, now=at or self.tick())
        assert created
        return petition

    def fire(self, petition: Petition, action: str, *, by: str = "operator", at: dt.datetime | None = None,
             **params) -> Petition:
        return service.transition(session=self.session, actor=self.world.users[by], origin=ORIGIN,
                                  petition_id=petition.id, action=action, params=service.PetitionParams(**params),
                                  now=at or self.tick())


@pytest.fixture
def pet(session, world) -> Petitions:
    return Petitions(session, world)


@pytest.fixture
def far(session, world):
    """A second district (东岭区, 990103…) with one street, community and grid, and its desks:
    ``far.users['operator_d3']`` at the community, ``far.users['district3_op']`` at the district."""
    from types import SimpleNamespace

    from shapely.geometry import box

    from civicgrid.audit.service import SYSTEM
    from civicgrid.auth.models import Role
    from civicgrid.auth.service import create_user
    from civicgrid.regions.models import RegionLevel
    from tests.factories import LAT0, LON0, PASSWORD, _region

    city = world.regions["city"]
    shape = box(LON0 + 0.1, LAT0, LON0 + 0.12, LAT0 + 0.02)
    district = _region(session, "990103000000", "东岭区", RegionLevel.DISTRICT, city, shape)
    street = _region(session, "990103001000", "岭1街道", RegionLevel.STREET, district, shape)
    community = _region(session, "990103001001", "岭1街道1社区", RegionLevel.COMMUNITY, street, shape)
    grid = _region(session, "990103001001001", "岭1街道1社区第1网格", RegionLevel.GRID, community, shape)
    users = {}
    for name, region in (("operator_d3", community), ("district3_op", district)):
        users[name] = create_user(session=session, actor=None, origin=SYSTEM, username=name, display_name=name,
                                  password=PASSWORD, role=Role.OPERATOR, scope_region_id=region.id)
        world.users[name] = users[name]
    world.regions.update({"district3": district, "street31": street, "community311": community, "grid3111": grid})
    session.flush()
    return SimpleNamespace(district=district, street=street, community=community, grid=grid, users=users)
