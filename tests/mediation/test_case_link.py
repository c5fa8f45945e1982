"""The "转为纠纷 / Raise as dispute" button on a case page: offered to the desk roles while the
case has no dispute, replaced by a link to the dispute once raised; nothing for others."""

from __future__ import annotations

import re

import pytest

from civicgrid.errors import InvalidInput, NotFound
from civicgrid.events.workflow import CaseState
from civicgrid.mediation import service
from civicgrid.mediation.schemas import DisputeFromCase

from .conftest import ORIGIN


@pytest.fixture
def headers(med):
    from civicgrid.auth.service import issue_token

    return lambda name: {"Authorization": f"Bearer {issue_token(med.user(name))}"}


def _case(med, by="gridworker"):
    from civicgrid.events.intake import intake_case
    from civicgrid.events.schemas import CaseCreate

    lat, lon = med.world.grid_point("grid111")
    case, _ = intake_case(session=med.session, actor=med.user(by), origin=ORIGIN, data=CaseCreate(
        category_code="GV0101", title="邻里漏水纠纷", description="楼上漏水，两户争吵", lat=lat, lon=lon))
    return case


def fragment(client, headers, case_id, user, **extra):
    r = client.get(f"/mediation/cases/{case_id}/dispute-link", headers=headers(user) | extra)
    assert r.status_code == 200, r.text
    return r.text


def test_the_case_page_offers_the_button_then_links_to_the_dispute(client, headers, med):
    case = _case(med)
    page = client.get(f"/cases/{case.id}", headers=headers("operator")).text
    assert f'hx-get="/mediation/cases/{case.id}/dispute-link"' in page and 'hx-trigger="load"' in page
    desk = fragment(client, headers, case.id, "operator")
    assert f'id="raise-dispute" href="/mediation/new?case_id={case.id}"' in desk and "转为纠纷" in desk
    assert "Raise as dispute" in fragment(client, headers, case.id, "operator", **{"Accept-Language": "en"})
    assert 'data-dispute="no"' in fragment(client, headers, case.id, "admin")
    assert "raise-dispute" in fragment(client, headers, case.id, "admin")
    for user in ("gridworker", "leader", "citizen"):  # may see the case, may not register disputes
        assert "raise-dispute" not in fragment(client, headers, case.id, user), user
    # The button leads to the existing intake flow from the case.
    intake = client.get(f"/mediation/new?case_id={case.id}", headers=headers("operator"))
    assert intake.status_code == 200 and 'id="from-case"' in intake.text and case.number in intake.text

    r = client.post("/mediation/new", headers=headers("operator"), follow_redirects=False, data={
        "case_id": str(case.id), "type_code": "NEIGHBOUR", "people_count": "2", "risk_level": "low"})
    assert r.status_code == 303, r.text
    dispute_id = int(re.search(r"/mediation/disputes/(\d+)", r.headers["location"]).group(1))
    dispute = service.get_dispute(session=med.session, actor=med.user("operator"), dispute_id=dispute_id)
    linked = fragment(client, headers, case.id, "operator")
    assert "raise-dispute" not in linked and 'data-dispute="yes"' in linked
    assert f'id="case-dispute-link" href="/mediation/disputes/{dispute_id}"' in linked
    assert dispute.number in linked and 'data-dispute-state="registered"' in linked
    # A grid worker sees that it became a dispute (in their area) but has no dispute pages.
    seen = fragment(client, headers, case.id, "gridworker")
    assert "case-dispute-link" not in seen and dispute.number in seen
    # Out of sight of the case: the fragment is empty, never a refusal swapped into the page.
    hidden = fragment(client, headers, case.id, "operator21")
    assert 'data-dispute="no"' in hidden and "raise-dispute" not in hidden and dispute.number not in hidden


def test_who_may_raise_is_decided_by_the_service(med, session):
    case = _case(med)
    op = med.user("operator")
    assert service.case_dispute(session=session, actor=op, case_id=case.id).may_raise
    assert not service.case_dispute(session=session, actor=med.user("gridworker"), case_id=case.id).may_raise
    with pytest.raises(NotFound):
        service.case_dispute(session=session, actor=med.user("operator21"), case_id=case.id)
    merged = _case(med)
    merged.state = CaseState.MERGED
    session.flush()
    assert not service.case_dispute(session=session, actor=op, case_id=merged.id).may_raise
    with pytest.raises(InvalidInput):
        service.dispute_from_case(session=session, actor=op, origin=ORIGIN, case_id=merged.id,
                                  data=DisputeFromCase(type_code="NEIGHBOUR"))
    dispute = service.dispute_from_case(session=session, actor=op, origin=ORIGIN, case_id=case.id,
                                        data=DisputeFromCase(type_code="NEIGHBOUR"))
    link = service.case_dispute(session=session, actor=op, case_id=case.id)
    assert (link.dispute.id, link.may_open, link.may_raise) == (dispute.id, True, False)
    # The department the case went to sees the case, not the dispute: that it exists, nothing more.
    from civicgrid.events import service as cases

    for action, params in (("register", {}), ("dispatch", {"unit_id": med.world.units["chengguan"].id})):
        cases.transition(session=session, actor=op, origin=ORIGIN, case_id=case.id, action=action,
                         params=cases.ActionParams(note=action, **params))
    handler = service.case_dispute(session=session, actor=med.user("handler"), case_id=case.id)
    assert (handler.dispute.id, handler.may_open, handler.may_see, handler.may_raise) == (dispute.id, False, False,
                                                                                          False)
