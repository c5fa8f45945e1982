"""The case list by unit (承办单位), registration dates and closing dates — in the service and GET /api/cases:
combined with every other filter and the user's scope; bad dates are bilingual problems, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.errors import InvalidInput, NotFound
from civicgrid.events import listing
from civicgrid.events.workflow import CaseState

from .conftest import SHANGHAI, Loop

S = CaseState


def at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2026, 11, day, hour, tzinfo=SHANGHAI)


@pytest.fixture
def dated(loop: Loop) -> dict:
    """Cases received on 1 November 2026: registered, dispatched and closed on known days."""
    received = at(1, 9)
    made = {key: loop.report(by=by, grid=grid, received_at=received)
            for key, by, grid in [("closed", "operator", "grid111"), ("working", "operator", "grid112"),
                                  ("new", "operator", "grid111"), ("far", "operator21", "grid211")]}
    loop.fire(made["closed"], "register", at=at(2))
    loop.fire(made["closed"], "dispatch", at=at(2, 11))
    loop.fire(made["closed"], "accept", at=at(3))
    loop.fire(made["closed"], "resolve", at=at(4))
    loop.fire(made["closed"], "verify", at=at(4, 15))
    loop.fire(made["closed"], "close", at=at(5, 16))
    loop.fire(made["working"], "register", at=at(10))
    loop.fire(made["working"], "dispatch", at=at(10, 11), unit_id=loop.unit_id("zhujian"))
    loop.fire(made["far"], "register", by="operator21", at=at(10, 12))
    loop.fire(made["far"], "dispatch", by="operator21", at=at(10, 13), unit_id=loop.unit_id("zhujian"))
    assert made["closed"].state is S.CLOSED and made["working"].state is S.DISPATCHED
    return made


def ids(loop: Loop, user: str = "operator", **filters) -> list[int]:
    rows, total, exact, _ = listing.list_cases(session=loop.session, actor=loop.user(user),
                                               filters=listing.CaseFilter(**filters), size=200)
    assert total == len(rows) and exact
    return sorted(c.id for c in rows)


def api_ids(client, as_user, user: str = "operator", **params) -> list[int]:
    response = client.get("/api/cases", params={"size": 200, **params}, headers=as_user(user))
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json()["items"])


def test_by_unit(loop: Loop, dated):
    assert ids(loop, unit_id=loop.unit_id("chengguan")) == [dated["closed"].id]
    assert ids(loop, unit_id=loop.unit_id("zhujian")) == [dated["working"].id]
    assert ids(loop, "street2_op", unit_id=loop.unit_id("zhujian")) == [dated["far"].id]
    assert ids(loop, unit_id=loop.unit_id("shichang")) == []


def test_by_registration_dates(loop: Loop, dated):
    assert ids(loop, registered_from=at(9, 0), registered_to=at(11, 0)) == [dated["working"].id]
    assert ids(loop, registered_from=at(2, 0)) == sorted([dated["closed"].id, dated["working"].id])
    assert ids(loop, registered_to=at(2, 10)) == []  # the end is exclusive
    assert ids(loop, registered_to=at(2, 10) + dt.timedelta(seconds=1)) == [dated["closed"].id]


def test_by_closing_dates(loop: Loop, dated):
    assert ids(loop, closed_from=at(5, 0), closed_to=at(6, 0)) == [dated["closed"].id]
    assert ids(loop, closed_from=at(6, 0)) == []
    assert ids(loop, "admin", closed_to=at(30, 0)) == [dated["closed"].id]


def test_filters_combine_and_keep_the_scope(loop: Loop, dated):
    zj = loop.unit_id("zhujian")
    assert ids(loop, "district_op", unit_id=zj, registered_from=at(10, 0)) == sorted(
        [dated["working"].id, dated["far"].id])
    assert ids(loop, unit_id=zj, registered_from=at(10, 0)) == [dated["working"].id]  # community11 only
    assert ids(loop, "district_op", unit_id=zj, state=["dispatched"],
               region_id=loop.world.regions["street2"].id) == [dated["far"].id]
    assert ids(loop, unit_id=zj, closed_from=at(1, 0)) == []
    assert ids(loop, "handler", registered_from=at(1, 0)) == [dated["closed"].id]  # the handler's own unit
    assert ids(loop, "handler", unit_id=zj) == []  # another unit's cases stay invisible
    assert ids(loop, received_from=at(1, 0), received_to=at(2, 0), registered_from=at(2, 0),
               closed_to=at(6, 0)) == [dated["closed"].id]


def test_reversed_and_impossible_ranges_are_refused_in_both_languages(loop: Loop, dated):
    with pytest.raises(InvalidInput) as reversed_range:
        ids(loop, registered_from=at(11), registered_to=at(10), closed_from=at(5), closed_to=at(5))
    assert reversed_range.value.detail_zh == "立案日期的开始须早于结束；结案日期的开始须早于结束"
    assert reversed_range.value.detail_en == ("The registration date range must start before it ends; "
                                              "The closing date range must start before it ends")
    with pytest.raises(InvalidInput) as ancient:
        ids(loop, closed_from=dt.datetime(1, 1, 1, tzinfo=dt.UTC))
    assert "1900" in ancient.value.detail_zh and "1900" in ancient.value.detail_en


def test_unknown_unit_is_not_found(loop: Loop, dated):
    with pytest.raises(NotFound):
        ids(loop, unit_id=2**62)


def test_unit_choices_follow_the_scope(loop: Loop):
    units = loop.world.units
    mine = {u.id for u in listing.unit_choices(session=loop.session, actor=loop.user("operator"))}
    assert {units["community11"].id, units["chengguan"].id, units["zhujian"].id} <= mine
    assert units["community12"].id not in mine and units["community21"].id not in mine
    street = {u.id for u in listing.unit_choices(session=loop.session, actor=loop.user("street_op"))}
    assert {units["community11"].id, units["community12"].id, units["chengguan"].id} <= street
    assert units["community21"].id not in street
    assert [u.id for u in listing.unit_choices(session=loop.session, actor=loop.user("handler"))] == [
        units["chengguan"].id]


# -- the API ------------------------------------------------------------------------------


def test_api_filters(client, as_user, loop: Loop, dated):
    zj = loop.unit_id("zhujian")
    assert api_ids(client, as_user, unit_id=zj) == [dated["working"].id]
    assert api_ids(client, as_user, registered_from="2026-11-09", registered_to="2026-11-11") == [
        dated["working"].id]
    assert api_ids(client, as_user, closed_from="2026-11-05T00:00:00+08:00", closed_to="2026-11-06") == [
        dated["closed"].id]
    assert api_ids(client, as_user, "district_op", unit_id=zj, registered_from="2026-11-10T00:00") == sorted(
        [dated["working"].id, dated["far"].id])
    assert api_ids(client, as_user, "handler_zj", registered_from="2026-11-01") == sorted(
        [dated["working"].id, dated["far"].id])
    assert api_ids(client, as_user, "citizen", closed_from="2026-11-01") == []


@pytest.mark.parametrize("params", [
    {"registered_from": "last week"}, {"registered_to": "2026-13-01"}, {"closed_from": "2026-11-31"},
    {"closed_to": "tomorrow"}, {"unit_id": "x"}, {"unit_id": 0}, {"unit_id": 2**63},
])
def test_api_bad_values_are_bilingual_422s(client, as_user, world, params):
    response = client.get("/api/cases", params=params, headers=as_user("operator"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["detail_zh"] and body["detail_en"] and body["detail_zh"] != body["detail_en"]
    assert next(iter(params)) in body["detail_en"]


@pytest.mark.parametrize("params", [
    {"registered_from": "2026-11-10", "registered_to": "2026-11-09"},
    {"closed_from": "2026-11-10T08:00:00+08:00", "closed_to": "2026-11-10T00:00:00Z"},
    {"received_from": "2026-11-02", "received_to": "2026-11-02"},
    {"closed_from": "0001-01-01T00:00:00+14:00"},
    {"registered_to": "9999-12-31T23:59:59-12:00"},
    {"closed_from": "1899-12-31"},
])
def test_api_reversed_or_impossible_ranges_are_bilingual_422s(client, as_user, world, params):
    response = client.get("/api/cases", params=params, headers=as_user("operator"))
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["type"].endswith("invalid-input")
    assert "日期" in body["detail_zh"] and "date" in body["detail_en"]
    english = client.get("/api/cases", params=params, headers=as_user("operator") | {"Accept-Language": "en"})
    assert english.json()["detail"] == body["detail_en"]


def test_api_unknown_unit_is_a_404(client, as_user, world):
    response = client.get("/api/cases", params={"unit_id": 2**62}, headers=as_user("operator"))
    assert response.status_code == 404 and response.json()["detail_en"].startswith("Unit")
