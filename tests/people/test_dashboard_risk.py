"""The five-colour risk as a measure of the command dashboard's map: the people domain's grid colours
(computed from care records, places, houses; overridden by hand) reach the dashboard, worst colour per area."""

from __future__ import annotations

from civicgrid.people import care, risk
from civicgrid.people.schemas import CareCreate
from tests.people.conftest import ORIGIN


def _features(client, as_user, region_id, who="leader"):
    body = client.get("/api/dashboard/map", params={"region": region_id}, headers=as_user(who)).json()
    assert body["measures"]["risk"] == {"zh": "五色风险", "en": "Risk colour"}
    return {f["properties"]["code"]: f["properties"]["risk"] for f in body["features"]}


def test_risk_colours_reach_the_dashboard_map(session, client, as_user, people):
    w = people.world
    person = people.add("韩某")
    record = care.start_care(session=session, actor=w.users["operator"], origin=ORIGIN, person_id=person.id,
                             data=CareCreate(type_code="community_correction", level="routine", reason="社区矫正"))
    grid111, grid112 = w.regions["grid111"], w.regions["grid112"]
    risk.recompute_all(session=session)
    community = _features(client, as_user, w.regions["community11"].id)
    assert community[grid111.code] == "green" and community[grid112.code] == "green"
    # A person under care judged red makes their grid orange (a red subject), and the street above shows it.
    risk.override(session=session, actor=w.users["operator"], origin=ORIGIN, subject="care", subject_id=record.id,
                  colour="red", reason="近期多次扬言报复")
    community = _features(client, as_user, w.regions["community11"].id)
    assert community[grid111.code] == "orange" and community[grid112.code] == "green"
    district = _features(client, as_user, w.regions["district"].id)
    assert district[w.regions["street1"].code] == "orange" and district[w.regions["street2"].code] == "green"
    # The people domain's own risk layer agrees for the same grid.
    layer = {f["properties"]["code"]: f["properties"]["colour"]
             for f in risk.grid_map(session=session, actor=w.users["leader"])["features"]}
    assert layer[grid111.code] == "orange"
    # Cleared: back to the computed colour, the grid too, at once.
    risk.clear_override(session=session, actor=w.users["operator"], origin=ORIGIN, subject="care", subject_id=record.id,
                        reason="复核后解除")
    assert _features(client, as_user, w.regions["community11"].id)[grid111.code] == "green"
