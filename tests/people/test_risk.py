"""Five-colour risk: rules with explanations, recomputed on change and nightly, audited overrides,
grid colouring for the map, and the other base data (places, houses, organisations, things)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from civicgrid.audit.models import AuditEntry
from civicgrid.errors import Conflict, Forbidden, InvalidInput
from civicgrid.people import care, risk, service
from civicgrid.people.models import Colour, RiskColour, RiskRule
from civicgrid.people.schemas import (
    CareCreate,
    HouseCreate,
    InspectionCreate,
    OrganisationCreate,
    PlaceCreate,
    TenancyCreate,
)
from tests.people.conftest import ORIGIN

UTC = dt.UTC


@pytest.fixture
def place(session, people):
    w = people.world
    return service.create_place(session=session, actor=w.users["operator"], origin=ORIGIN,
                                data=PlaceCreate(name="星光网吧", kind="internet_cafe", address="湖1街道8号",
                                                 region_code=w.regions["grid111"].code, contact_name="老板",
                                                 contact_phone="13822223333"))


def test_worst_colour_wins():
    assert risk.worst([]) is Colour.GREEN
    assert risk.worst(["blue", "red", "yellow"]) is Colour.RED
    assert [c.severity for c in Colour] == [4, 3, 2, 1, 0]


def test_place_colour_follows_inspections_with_explanation(session, people, place):
    w = people.world
    row = risk.colour_of(session=session, actor=w.users["operator"], subject="place", subject_id=place.id)
    assert row.colour == "yellow" and row.explanation[0]["rule"] == "place_not_inspected"
    service.inspect_place(session=session, actor=w.users["gridworker"], origin=ORIGIN, place_id=place.id,
                          data=InspectionCreate(passed=False, hazards=1, findings="消防通道堵塞"))
    row = risk.colour_of(session=session, actor=w.users["operator"], subject="place", subject_id=place.id)
    assert row.colour == "orange"
    assert row.explanation[0]["facts"] == {"failed_inspections": 1}
    service.inspect_place(session=session, actor=w.users["gridworker"], origin=ORIGIN, place_id=place.id,
                          data=InspectionCreate(passed=False, hazards=2, findings="无证经营、电线私拉"))
    row = risk.colour_of(session=session, actor=w.users["operator"], subject="place", subject_id=place.id)
    assert row.colour == "red" and row.explanation[0]["label_zh"].startswith("近180天检查发现3处")
    grid = risk.colour_of(session=session, actor=w.users["operator"], subject="grid",
                          subject_id=w.regions["grid111"].id)
    assert grid.colour == "orange" and grid.explanation[0]["rule"] == "grid_red_subjects"


def test_override_needs_permission_and_reason_and_is_audited(session, people, place):
    w = people.world
    with pytest.raises(Forbidden):
        risk.override(session=session, actor=w.users["leader"], origin=ORIGIN, subject="place", subject_id=place.id,
                      colour="green", reason="领导认为无风险")
    with pytest.raises(InvalidInput):
        risk.override(session=session, actor=w.users["operator"], origin=ORIGIN, subject="place", subject_id=place.id,
                      colour="green", reason="")
    with pytest.raises(InvalidInput):
        risk.override(session=session, actor=w.users["operator"], origin=ORIGIN, subject="place", subject_id=place.id,
                      colour="purple", reason="颜色不存在")
    row = risk.override(session=session, actor=w.users["operator"], origin=ORIGIN, subject="place",
                        subject_id=place.id, colour="red", reason="群众多次举报深夜接纳未成年人")
    assert row.colour == "red" and row.computed_colour == "yellow"
    # Recomputing keeps the override while it lasts.
    risk.recompute(session=session, subject="place", subject_id=place.id)
    assert row.colour == "red"
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "risk_place", AuditEntry.action == "override"))
    assert entry.note == "群众多次举报深夜接纳未成年人" and entry.from_state == "yellow" and entry.to_state == "red"
    risk.clear_override(session=session, actor=w.users["operator"], origin=ORIGIN, subject="place",
                        subject_id=place.id, reason="整改完毕")
    assert row.colour == "yellow"


def test_expired_override_falls_back_on_recompute(session, people, place):
    w = people.world
    row = risk.override(session=session, actor=w.users["operator"], origin=ORIGIN, subject="place", subject_id=place.id,
                        colour="red", reason="临时升级管控", until=dt.date.today() - dt.timedelta(days=1))
    assert row.colour == "yellow"


def test_care_colour_recomputed_when_visit_is_missed(session, people):
    w = people.world
    person = people.add("矫正对象")
    record = care.start_care(session=session, actor=w.users["operator"], origin=ORIGIN, person_id=person.id,
                             data=CareCreate(type_code="community_correction", level="focus", reason="司法所移交"))
    assert record.colour == "yellow"
    late = record.next_visit_due + dt.timedelta(days=2)
    care.scan_visits(session=session, now=late)
    assert record.colour == "orange"
    care.scan_visits(session=session, now=late + dt.timedelta(days=40))
    row = risk.recompute(session=session, subject="care", subject_id=record.id, now=late + dt.timedelta(days=40))
    assert row.colour == "red" and record.colour == "red"
    # Red means weekly visits for this type.
    assert record.next_visit_due == dt.datetime.combine(record.started_on, dt.time(0), tzinfo=UTC) + dt.timedelta(days=7)


def test_rules_are_configurable(session, people, place):
    w = people.world
    rule = session.scalar(select(RiskRule).where(RiskRule.code == "place_not_inspected"))
    rule.active = False
    session.flush()
    row = risk.recompute(session=session, subject="place", subject_id=place.id)
    assert row.colour == "green" and row.explanation == []
    del w


def test_house_with_many_tenants(session, people):
    w = people.world
    house = service.create_house(session=session, actor=w.users["operator"], origin=ORIGIN,
                                 data=HouseCreate(address="湖1街道9号301", use="rented", region_code=w.regions["grid111"].code))
    for i in range(5):
        tenant = people.add(f"租客{i}")
        service.add_tenancy(session=session, actor=w.users["gridworker"], origin=ORIGIN, house_id=house.id,
                            data=TenancyCreate(person_id=tenant.id, start_date=dt.date(2026, 1, 1)))
    row = risk.recompute(session=session, subject="house", subject_id=house.id)
    assert row.colour == "yellow" and row.explanation[0]["facts"] == {"tenants": 5}
    own = service.create_house(session=session, actor=w.users["operator"], origin=ORIGIN,
                               data=HouseCreate(address="自住房", region_code=w.regions["grid111"].code))
    with pytest.raises(InvalidInput):
        service.add_tenancy(session=session, actor=w.users["gridworker"], origin=ORIGIN, house_id=own.id,
                            data=TenancyCreate(person_id=tenant.id, start_date=dt.date(2026, 1, 1)))


def test_grid_map_layer_and_nightly(session, client, as_user, people, place):
    w = people.world
    counts = risk.recompute_all(session=session)
    assert counts["place"] == 1 and counts["grid"] == 8
    layer = client.get("/api/risk/grids", headers=as_user("operator")).json()
    assert layer["type"] == "FeatureCollection" and len(layer["features"]) == 2  # community11 has two grids
    props = {f["properties"]["code"]: f["properties"] for f in layer["features"]}
    assert props[w.regions["grid111"].code]["fill"].startswith("#")
    again = risk.recompute_all(session=session)
    assert again == counts
    assert session.scalar(select(RiskColour).where(RiskColour.subject == "place")).colour == "yellow"


def test_organisation_needs_a_valid_uscc(session, people):
    w = people.world
    org = service.create_organisation(session=session, actor=w.users["operator"], origin=ORIGIN,
                                      data=OrganisationCreate(name="云湖科技有限公司", kind="non_public_economic",
                                                              uscc="91110000600037341L",
                                                              region_code=w.regions["grid111"].code))
    assert org.uscc == "91110000600037341L"
    with pytest.raises(Conflict):
        service.create_organisation(session=session, actor=w.users["operator"], origin=ORIGIN,
                                    data=OrganisationCreate(name="重复", kind="non_public_economic",
                                                            uscc="91110000600037341L",
                                                            region_code=w.regions["grid111"].code))
    with pytest.raises(InvalidInput):
        service.create_organisation(session=session, actor=w.users["operator"], origin=ORIGIN,
                                    data=OrganisationCreate(name="无代码", kind="non_public_economic",
                                                            region_code=w.regions["grid111"].code))
    team = service.create_organisation(session=session, actor=w.users["operator"], origin=ORIGIN,
                                       data=OrganisationCreate(name="平安志愿巡逻队", kind="governance_team", members=12,
                                                               region_code=w.regions["grid111"].code))
    assert team.uscc is None


def test_base_data_api_round_trip(session, client, as_user, people):
    w = people.world
    code = w.regions["grid111"].code
    h = lambda: as_user("operator")  # noqa: E731
    building = client.post("/api/base/buildings", json={"name": "1号楼", "address": "湖1街道1号", "floors": 6,
                                                         "region_code": code}, headers=h())
    assert building.status_code == 201
    lat, lon = w.grid_point("grid112")
    thing = client.post("/api/base/things", json={"code": "CAM-001", "kind": "camera", "name": "路口摄像头",
                                                   "lat": lat, "lon": lon}, headers=h())
    assert thing.status_code == 201 and thing.json()["fields"]["grid_id"] == w.regions["grid112"].id
    place = client.post("/api/base/places", json={"name": "实验小学", "kind": "school", "region_code": code,
                                                   "contact_phone": "13833334444"}, headers=h()).json()
    assert place["fields"]["contact_phone_masked"] == "138****4444"
    assert "contact_phone_cipher" not in place["fields"]
    listing = client.get("/api/base/places", params={"q": "小学"}, headers=h()).json()
    assert [p["id"] for p in listing] == [place["id"]]
    assert client.get("/api/base/places", headers=as_user("operator21")).json() == []
    assert client.get(f"/api/base/places/{place['id']}", headers=as_user("operator21")).status_code == 404
    bad = client.post("/api/base/places", json={"name": "x", "kind": "spaceport", "region_code": code}, headers=h())
    assert bad.status_code == 422 and "场所类型" in bad.json()["detail_zh"]
    nowhere = client.post("/api/base/things", json={"code": "CAM-002", "kind": "camera", "lat": 10.0, "lon": 10.0},
                          headers=h())
    assert nowhere.status_code == 422
    assert client.get("/api/base/spaceships", headers=h()).status_code == 404
    override = client.post(f"/api/risk/place/{place['id']}/override", json={"colour": "orange", "reason": "开学季重点防范"},
                           headers=h())
    assert override.status_code == 200 and override.json()["colour"] == "orange"
    explained = client.get(f"/api/risk/place/{place['id']}", headers=as_user("leader")).json()
    assert explained["override_reason"] == "开学季重点防范"
