"""The demo city's mediation registry: committees, centres, industry committees and the court
window with mediators, so a demo dispute is routed to a real mediator who can take it."""

from __future__ import annotations

from sqlalchemy import func, select

from civicgrid.auth.models import User
from civicgrid.demo.seed import build_demo
from civicgrid.mediation import registry, service
from civicgrid.mediation.models import MediationOrg, Mediator
from civicgrid.mediation.schemas import DisputeCreate
from civicgrid.regions.models import Region, RegionLevel

from .conftest import ORIGIN


def test_the_small_demo_routes_disputes_to_real_mediators(session):
    report = build_demo(session=session, scale="small", seed=5, cases=0)
    kinds = dict(session.execute(select(MediationOrg.kind, func.count()).group_by(MediationOrg.kind)).all())
    communities = session.scalar(select(func.count(Region.id)).where(Region.level == RegionLevel.COMMUNITY))
    streets = session.scalar(select(func.count(Region.id)).where(Region.level == RegionLevel.STREET))
    # A committee per community plus one per district; a centre per street; 4 industries and a court per district.
    assert kinds == {"people": communities + 3, "street": streets, "industry": 12, "judicial": 3}
    industries = {tuple(o.specialties) for o in session.scalars(select(MediationOrg).where(MediationOrg.kind == "industry"))}
    assert industries == {("MEDICAL",), ("TRAFFIC",), ("LABOUR",), ("PROPERTY",)}
    # Every organisation has mediators, every mediator an active account and specialties where specialised.
    staffed = set(session.scalars(select(Mediator.org_id).where(Mediator.user_id.is_not(None))))
    assert staffed == set(session.scalars(select(MediationOrg.id)))
    assert session.scalar(select(func.count(Mediator.id)).join(User, User.id == Mediator.user_id)
                          .where(User.active.is_(False))) == 0
    assert "mediator" in {login.username for login in report.logins}

    operator = session.scalar(select(User).where(User.username == "operator"))
    mediator = session.scalar(select(User).where(User.username == "mediator"))
    grid = session.scalar(select(Region).where(Region.parent_id == operator.scope_region_id,
                                               Region.level == RegionLevel.GRID).order_by(Region.code))

    def dispute(type_code: str, risk: str = "low"):
        d, _ = service.register_dispute(session=session, actor=operator, origin=ORIGIN, data=DisputeCreate(
            type_code=type_code, description="演示纠纷", risk_level=risk, region_code=grid.code))
        return d

    # A neighbours' quarrel goes to the community's own committee, to the mediator for that type.
    neighbours = dispute("NEIGHBOUR")
    [best, *_] = registry.suggest(session=session, dispute=neighbours)
    assert best.org.kind == "people" and best.org.region_id == operator.scope_region_id
    assert best.mediator is not None and "NEIGHBOUR" in best.mediator.specialties
    # A housing dispute in the showcase community: the showcase mediator is suggested, and can take it.
    housing = dispute("HOUSING")
    [best, *_] = registry.suggest(session=session, dispute=housing)
    assert best.mediator.user_id == mediator.id
    service.transition(session=session, actor=operator, origin=ORIGIN, dispute_id=housing.id, action="assess")
    service.transition(session=session, actor=operator, origin=ORIGIN, dispute_id=housing.id, action="route")
    accepted = service.transition(session=session, actor=mediator, origin=ORIGIN, dispute_id=housing.id,
                                  action="accept")
    assert accepted.state.value == "mediating" and accepted.mediator_id == best.mediator.id
    # Industry disputes go to their industry committee (专业对口).
    for type_code in ("TRAFFIC", "MEDICAL", "LABOUR", "PROPERTY"):
        [best, *_] = registry.suggest(session=session, dispute=dispute(type_code))
        assert (best.org.kind, best.org.specialties) == ("industry", [type_code]), type_code
        assert best.mediator is not None and best.mediator.user_id is not None
    # A contract dispute the desk sends to the court window finds its invited mediator.
    contract = dispute("CONTRACT", risk="high")
    court = next(s for s in registry.suggest(session=session, dispute=contract, limit=20) if s.org.kind == "judicial")
    assert court.mediator is not None and court.mediator.name.endswith("法院特邀调解员")
