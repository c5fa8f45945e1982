"""Fixtures for the mediation tests: a registry (organisations at each level, mediators with
accounts), ID numbers for parties, and ``med`` — a driver that registers disputes and fires
steps on a virtual clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from civicgrid.audit.service import Origin
from civicgrid.auth.models import Role, User
from civicgrid.auth.service import create_user
from civicgrid.mediation import registry, service
from civicgrid.mediation.models import Dispute, MediationOrg, Mediator
from civicgrid.mediation.schemas import AgreementIn, DisputeCreate, ObligationIn, PartyIn, SessionIn
from civicgrid.mediation.workflow import DisputeState
from civicgrid.people.identity import make_citizen_id
from civicgrid.units.models import Unit

SHANGHAI = ZoneInfo("Asia/Shanghai")
# A Monday that is an ordinary working day; the virtual clock starts here.
T0 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)
ORIGIN = Origin("test", request_id="req-mediation")
PASSWORD = "test-password-1"


def citizen_id(n: int) -> str:
    """A valid test ID number (birth place 350102, born 1980-01-01 + n days)."""
    return make_citizen_id("350102", dt.date(1980, 1, 1) + dt.timedelta(days=n), n % 1000)


class Mediation:
    """The registry of the fictional city and a driver for disputes on a virtual clock."""

    def __init__(self, session, world):
        self.session = session
        self.world = world
        self.now = T0
        self.orgs: dict[str, MediationOrg] = {}
        self.mediators: dict[str, Mediator] = {}
        self.users: dict[str, User] = {}
        admin = world.users["admin"]
        r = world.regions

        def org(key, code, name, kind, region, specialties=(), capacity=30):
            # Mediators with an account are handlers of the organisation's unit.
            unit = Unit(code=f"U-{code}", name_zh=name, name_en=name, kind="centre", region_id=r[region].id)
            session.add(unit)
            session.flush()
            self.orgs[key] = registry.create_org(session=session, actor=admin, origin=ORIGIN, code=code, name_zh=name,
                                                 kind=kind, region_id=r[region].id, specialties=list(specialties),
                                                 capacity=capacity, unit_id=unit.id)

        org("c11", "TJ-C11", "湖1街道1社区人民调解委员会", "people", "community11")
        org("c12", "TJ-C12", "湖1街道2社区人民调解委员会", "people", "community12")
        org("s1", "TJ-S1", "湖1街道矛盾纠纷调处中心", "street", "street1")
        org("labour", "TJ-LAB", "云湖区劳动争议调解委员会", "industry", "district", ["LABOUR"])
        org("court", "TJ-CT", "云湖区人民法院诉前调解室", "judicial", "district")

        def mediator(key, org_key, *, user=True, specialties=(), max_load=10):
            account = None
            if user:
                account = create_user(session=session, actor=None, origin=ORIGIN, username=key, display_name=key,
                                      password=PASSWORD, role=Role.HANDLER,
                                      scope_region_id=self.orgs[org_key].region_id,
                                      unit_id=self.orgs[org_key].unit_id)
                self.users[key] = account
            self.mediators[key] = registry.add_mediator(
                session=session, actor=admin, origin=ORIGIN, org_id=self.orgs[org_key].id, name=key,
                user_id=account.id if account else None, specialties=list(specialties), max_load=max_load)

        mediator("med_c11", "c11")
        mediator("med_c11b", "c11", specialties=["NEIGHBOUR"])
        mediator("med_s1", "s1")
        mediator("med_lab", "labour", specialties=["LABOUR"])
        mediator("med_ct", "court", user=False)
        session.flush()

    def user(self, name: str | User) -> User:
        if isinstance(name, User):
            return name
        return self.users.get(name) or self.world.users[name]

    def tick(self, hours: float = 1) -> dt.datetime:
        self.now += dt.timedelta(hours=hours)
        return self.now

    def register(self, *, by: str = "operator", type_code: str = "NEIGHBOUR", people: int = 2,
                 region: str = "grid111", parties: list[PartyIn] | None = None, **kw) -> Dispute:
        data = DisputeCreate(type_code=type_code, description=kw.pop("description", "楼上漏水，邻里协商不成"),
                             people_count=people, region_code=self.world.regions[region].code,
                             parties=parties or [], **kw)
        dispute, created = service.register_dispute(session=self.session, actor=self.user(by), origin=ORIGIN,
                                                    data=data, now=self.tick())
        assert created
        return dispute

    def fire(self, dispute: Dispute, action: str, *, by: str = "operator", **params) -> Dispute:
        return service.transition(session=self.session, actor=self.user(by), origin=ORIGIN, dispute_id=dispute.id,
                                  action=action, params=service.DisputeParams(**params), now=self.tick())

    def session_in(self, **kw) -> SessionIn:
        values = {"held_at": self.now, "place": "社区调解室", "attendees": "双方当事人、调解员",
                  "record": "双方陈述事实，调解员释法说理。"} | kw
        return SessionIn(**values)

    def agreement_in(self, *obligations: tuple[str, str, str | None, int], text: str = "双方自愿达成如下协议") -> AgreementIn:
        """Obligations as (obligor, description, amount, due in days from today)."""
        today = self.now.astimezone(SHANGHAI).date()
        return AgreementIn(text=text, place="社区调解室", obligations=[
            ObligationIn(obligor=o, description=d, amount=a, due_on=today + dt.timedelta(days=days))
            for o, d, a, days in obligations])

    def to_mediating(self, dispute: Dispute, *, org: str = "c11", mediator: str = "med_c11") -> Dispute:
        self.fire(dispute, "assess", note="邻里矛盾，风险低")
        self.fire(dispute, "route", org_id=self.orgs[org].id, mediator_id=self.mediators[mediator].id)
        return self.fire(dispute, "accept", by=mediator if mediator in self.users else "operator")

    def to_agreement(self, dispute: Dispute, *obligations, mediator: str = "med_c11", partial: bool = False) -> Dispute:
        self.to_mediating(dispute, mediator=mediator)
        self.fire(dispute, "hold_session", by=mediator, session=self.session_in())
        agreement = self.agreement_in(*obligations)
        return self.fire(dispute, "agree_partial" if partial else "agree", by=mediator, agreement=agreement)


@pytest.fixture
def med(session, world) -> Mediation:
    return Mediation(session, world)


@pytest.fixture
def states():
    return DisputeState
