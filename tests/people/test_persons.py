"""Persons: one record per ID, encrypted at rest, masked by default, unmasking refused or audited, scoped."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select, text

from civicgrid.audit.models import AuditEntry
from civicgrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civicgrid.people import service
from civicgrid.people.models import Person
from civicgrid.people.schemas import PersonUpdate
from tests.people.conftest import ORIGIN, new_id


def audits(session, person_id, action):
    return list(session.scalars(select(AuditEntry).where(AuditEntry.entity == "person",
                                                         AuditEntry.entity_id == str(person_id),
                                                         AuditEntry.action == action)))


def test_register_derives_birth_and_gender_and_stores_no_clear_id(session, people):
    number = "11010519491231002X"
    person = people.add("李四", id_number=number, phone="13812345678")
    assert person.birth_date == dt.date(1949, 12, 31) and person.gender == "F"
    assert person.id_masked == "110105********002X" and person.phone_masked == "138****5678"
    # Nothing in the row holds the number or the phone in clear.
    row = session.execute(text("SELECT * FROM person WHERE id = :id"), {"id": person.id}).mappings().one()
    dump = repr(dict(row))
    assert number not in dump and "13812345678" not in dump


def test_one_person_one_record(session, people):
    number = new_id()
    people.add("王五", id_number=number)
    with pytest.raises(Conflict):
        people.add("王五", id_number=number)


def test_fifteen_digit_id_is_the_same_person_as_its_upgrade(session, people):
    person = people.add("赵六", id_number="130503670401001")
    assert person.id_masked.startswith("130503") and len(person.id_masked) == 18
    assert service.find_by_document(session=session, kind="resident", number="130503670401001").id == person.id


def test_invalid_id_is_refused(people):
    with pytest.raises(InvalidInput):
        people.add("错号", id_number="110105194912310021")


def test_person_without_id_uses_another_document(session, people):
    person = people.add("John Smith", id_kind="passport", id_number="e1234 5678", birth_date=dt.date(1990, 1, 2),
                        gender="M", population_type="overseas")
    assert person.id_kind == "passport" and person.id_masked == "E******78"
    assert service.find_by_document(session=session, kind="passport", number="E12345678").id == person.id


def test_grid_outside_the_actors_area_is_refused(people):
    with pytest.raises(InvalidInput):
        people.add("越界", by="operator", grid="grid211")


def test_api_is_masked_by_default_and_view_is_audited(session, client, as_user, people):
    person = people.add("钱七", phone="13900001111")
    body = client.get(f"/api/people/{person.id}", headers=as_user("operator")).json()
    assert body["id_number"] == person.id_masked and "*" in body["id_number"]
    assert body["phone"] == "139****1111"
    assert len(audits(session, person.id, "view")) == 1
    page = client.get("/api/people", params={"q": "钱"}, headers=as_user("leader")).json()
    assert [p["id_number"] for p in page["items"]] == [person.id_masked]


def test_unmask_needs_permission_and_reason_and_is_audited(session, client, as_user, people):
    number = new_id()
    person = people.add("孙八", id_number=number, phone="13700002222")
    refused = client.post(f"/api/people/{person.id}/reveal", json={"field": "id_number", "reason": "领导查看详情"},
                          headers=as_user("leader"))
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["detail_zh"] and refused.json()["detail_en"]
    assert audits(session, person.id, "unmask") == []
    no_reason = client.post(f"/api/people/{person.id}/reveal", json={"field": "id_number", "reason": ""},
                            headers=as_user("operator"))
    assert no_reason.status_code == 422
    ok = client.post(f"/api/people/{person.id}/reveal", json={"field": "id_number", "reason": "核实低保申请材料"},
                     headers=as_user("operator"))
    assert ok.status_code == 200 and ok.json()["value"] == number
    phone = client.post(f"/api/people/{person.id}/reveal", json={"field": "phone", "reason": "电话回访核实"},
                        headers=as_user("gridworker"))
    assert phone.json()["value"] == "13700002222"
    entries = audits(session, person.id, "unmask")
    assert [e.note for e in entries] == ["核实低保申请材料", "电话回访核实"]
    assert all(number not in repr(e.after) for e in entries)


def test_search_by_full_id_phone_and_name_prefix(session, people):
    number = new_id()
    a = people.add("周九", id_number=number, phone="13600003333")
    people.add("周十")
    actor = people.world.users["operator"]
    by_id, _ = service.search_persons(session=session, actor=actor, query=service.PersonQuery(q=number))
    assert [p.id for p in by_id] == [a.id]
    by_phone, _ = service.search_persons(session=session, actor=actor, query=service.PersonQuery(q="136 0000 3333"))
    assert [p.id for p in by_phone] == [a.id]
    by_name, total = service.search_persons(session=session, actor=actor, query=service.PersonQuery(q="周"))
    assert total == 2 and {p.name for p in by_name} == {"周九", "周十"}


@pytest.mark.parametrize("viewer,sees", [
    ("operator", True), ("street_op", True), ("district_op", True), ("leader", True), ("gridworker", True),
    ("operator12", False), ("street2_op", False), ("gridworker2", False), ("handler", False), ("citizen", False),
])
def test_scope_matrix(session, client, as_user, people, viewer, sees):
    person = people.add("吴十一")
    response = client.get(f"/api/people/{person.id}", headers=as_user(viewer))
    if sees:
        assert response.status_code == 200
    else:
        assert response.status_code in (403, 404)
        listing = client.get("/api/people", headers=as_user(viewer))
        assert listing.status_code == 403 or person.id not in [p["id"] for p in listing.json()["items"]]


def test_update_keeps_provenance_and_audits(session, people):
    person = people.add("郑十二")
    actor = people.world.users["gridworker"]
    service.update_person(session=session, actor=actor, origin=ORIGIN, person_id=person.id,
                          data=PersonUpdate(address="湖1街道1社区8号", phone="13500004444"))
    assert person.provenance["address"]["source"] == "登记:gridworker"
    assert person.phone_masked == "135****4444"
    assert len(audits(session, person.id, "update")) == 1


def test_leader_cannot_write(people):
    with pytest.raises(Forbidden):
        people.add("领导登记", by="leader")


def test_out_of_scope_lookup_is_not_found(session, people):
    person = people.add("冯十三")
    with pytest.raises(NotFound):
        service.get_person(session=session, actor=people.world.users["operator21"], person_id=person.id)


def test_household_grouping(session, client, as_user, people):
    head = people.add("陈一", household_number="H-001", relation_to_head="head")
    member = people.add("陈二", household_number="H-001", relation_to_head="child")
    assert head.household_id == member.household_id
    members = client.get("/api/people", params={"household_id": head.household_id}, headers=as_user("operator")).json()
    assert members["total"] == 2
    household = client.get(f"/api/base/households/{head.household_id}", headers=as_user("operator")).json()
    assert household["fields"]["head_person_id"] == head.id


def test_located_by_position(session, people):
    lat, lon = people.world.grid_point("grid112")
    person = service.create_person(session=session, actor=people.world.users["operator"], origin=ORIGIN,
                                   data=service.PersonCreate(name="褚十四", id_number=new_id(), lat=lat, lon=lon))
    assert person.grid_id == people.world.regions["grid112"].id
    assert session.get(Person, person.id).region_path == people.world.regions["grid112"].path
