"""The case list (one filter for pages and API), the inbox ('我的待办') and the state counts."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.db import utcnow
from civicgrid.errors import NotFound
from civicgrid.events import listing, service
from civicgrid.events.listing import CaseFilter
from civicgrid.events.workflow import CaseState

from .conftest import Loop

S = CaseState


def listed(loop: Loop, user: str = "operator", **filters) -> list[int]:
    rows, total, exact, more = listing.list_cases(session=loop.session, actor=loop.user(user),
                                                  filters=CaseFilter(**filters), size=200)
    assert total == len(rows) and exact and not more
    return [c.id for c in rows]


@pytest.fixture
def some(loop: Loop) -> dict:
    """Cases in community11 (and one in street2) in various states, oldest first."""
    now = utcnow()
    made = {}
    for n, (key, kw) in enumerate([
        ("old", {"category": "EV0101", "received_at": now - dt.timedelta(days=10), "address": "幸福路1号"}),
        ("noise", {"category": "EV0301", "received_at": now - dt.timedelta(days=5)}),
        ("rubbish", {"category": "EV0101", "received_at": now - dt.timedelta(days=1)}),
        ("hotline", {"category": "EV0103", "channel": "hotline_12345", "received_at": now - dt.timedelta(hours=2)}),
    ]):
        made[key] = loop.report(by="operator", grid="grid111" if n % 2 else "grid112", **kw)
    made["far"] = loop.report(by="street2_op", grid="grid211")
    loop.drive(made["noise"], S.ACCEPTED)
    loop.drive(made["rubbish"], S.DISPATCHED)
    loop.fire(made["rubbish"], "return", note="非本单位职责")
    loop.drive(made["rubbish"], S.DISPATCHED)
    return made


def test_newest_first_and_scoped(loop: Loop, some):
    assert listed(loop) == [some[k].id for k in ("hotline", "rubbish", "noise", "old")]
    assert listed(loop, "street2_op") == [some["far"].id]
    assert set(listed(loop, "admin")) == {c.id for c in some.values()}


def test_filters_narrow(loop: Loop, some):
    w = loop.world
    assert listed(loop, state=["accepted"]) == [some["noise"].id]
    assert listed(loop, state=["reported", "dispatched"]) == [some[k].id for k in ("hotline", "rubbish", "old")]
    assert listed(loop, category_id=w.categories["EV0101"].id) == [some["rubbish"].id, some["old"].id]
    assert listed(loop, channel="hotline_12345") == [some["hotline"].id]
    assert listed(loop, unit_id=loop.unit_id("chengguan")) == [some["rubbish"].id, some["noise"].id]
    assert listed(loop, region_id=w.regions["grid112"].id) == [some["rubbish"].id, some["old"].id]
    assert listed(loop, region_id=w.regions["street2"].id) == []  # a region outside the scope adds nothing
    assert listed(loop, q="幸福路") == [some["old"].id]
    assert listed(loop, q=some["noise"].number) == [some["noise"].id]
    since = utcnow() - dt.timedelta(days=6)
    assert listed(loop, received_from=since, received_to=utcnow() - dt.timedelta(hours=12)) == [
        some["rubbish"].id, some["noise"].id]
    assert listed(loop, overdue=True) == []
    some["old"].overdue = True
    assert listed(loop, overdue=True) == [some["old"].id]


def test_desk_only_shows_the_users_own_desk(loop: Loop, some):
    loop.fire(some["hotline"], "escalate")
    assert some["hotline"].id not in listed(loop, desk_only=True)
    assert listed(loop, "street_op", desk_only=True) == [some["hotline"].id]


def test_unknown_region_filter_is_not_found(loop: Loop, some):
    with pytest.raises(NotFound):
        listed(loop, region_id=2**61)


def test_pages_and_count_cap(loop: Loop, some, monkeypatch):
    actor = loop.user("operator")
    first, total, exact, more = listing.list_cases(session=loop.session, actor=actor, filters=CaseFilter(), size=3)
    assert [c.id for c in first] == [some[k].id for k in ("hotline", "rubbish", "noise")]
    assert (total, exact, more) == (4, True, True)
    second, *_rest = listing.list_cases(session=loop.session, actor=actor, filters=CaseFilter(), page=2, size=3)
    assert [c.id for c in second] == [some["old"].id] and _rest[2] is False
    # Beyond the cap the total is "cap+" rather than an expensive exact count.
    monkeypatch.setattr(listing, "COUNT_CAP", 2)
    _, total, exact, _ = listing.list_cases(session=loop.session, actor=actor, filters=CaseFilter())
    assert (total, exact) == (2, False)


def test_inbox_holds_what_waits_for_each_role(loop: Loop, some):
    def inbox(user):
        return [c.id for c in service.inbox_cases(session=loop.session, actor=loop.user(user))]

    # The operator: reports to register and cases to verify/close; not work in a unit's hands.
    assert set(inbox("operator")) == {some["hotline"].id, some["old"].id}
    assert set(inbox("handler")) == {some["rubbish"].id, some["noise"].id}
    assert set(inbox("gridworker")) == {some["hotline"].id}  # grid111: the report in their own grid
    assert inbox("leader") == []  # leaders watch overdue cases only
    some["noise"].overdue = True
    loop.session.flush()
    assert inbox("leader") == [some["noise"].id]
    loop.fire(some["noise"], "request_extension", extension_days=2)
    assert some["noise"].id in inbox("operator")
    # Most urgent deadline first: the registered cases with deadlines precede the rest.
    handler_inbox = service.inbox_cases(session=loop.session, actor=loop.user("handler"))
    dues = [c.finish_due_at for c in handler_inbox]
    assert dues == sorted(dues)


def test_citizen_inbox_is_their_open_reports(loop: Loop, some):
    mine = loop.report()
    done = loop.drive(loop.report(), S.CLOSED)
    ids = [c.id for c in service.inbox_cases(session=loop.session, actor=loop.user("citizen"))]
    assert ids == [mine.id] and done.id not in ids


def test_count_by_state_is_scoped_and_open_only(loop: Loop, some):
    loop.drive(loop.report(by="operator"), S.CLOSED)
    counts = service.count_by_state(session=loop.session, actor=loop.user("operator"))
    assert counts == {"reported": 2, "accepted": 1, "dispatched": 1}
    assert service.count_by_state(session=loop.session, actor=loop.user("street2_op")) == {"reported": 1}
