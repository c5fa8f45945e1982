"""The person edit page: the service does the work (validation, provenance per changed field, audit), the page
re-shows refusals in the user's language, identity fields stay out of reach, and roles/scope are enforced."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.people import crypto
from tests.people.conftest import CSRF


def form(person, **changes):
    data = {"csrf": CSRF, "name": person.name, "population_type": person.population_type,
            "ethnicity": person.ethnicity or "", "address": person.address, "work_unit": person.work_unit,
            "notes": person.notes, "house_id": str(person.house_id or ""), "phone": ""}
    data.update(changes)
    return data


def updates(session, person):
    return session.scalars(select(AuditEntry).where(AuditEntry.entity == "person", AuditEntry.action == "update",
                                                    AuditEntry.entity_id == str(person.id))).all()


def test_edit_changes_only_what_changed_with_provenance_and_audit(session, browse, people):
    person = people.add("冯一", phone="13800001111", address="1号楼", by="operator")
    stamped_name = dict(person.provenance["name"])
    c = browse("gridworker")
    page = c.get(f"/people/{person.id}/edit").text
    assert 'id="person-edit-form"' in page and "138****1111" in page and "13800001111" not in page
    assert person.id_masked in c.get(f"/people/{person.id}").text
    done = c.post(f"/people/{person.id}/edit", data=form(person, address="9号楼902", work_unit="云湖小学"),
                  follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"] == f"/people/{person.id}?done=edited"
    session.refresh(person)
    assert person.address == "9号楼902" and person.work_unit == "云湖小学"
    assert person.provenance["address"]["source"] == "登记:gridworker"
    assert person.provenance["work_unit"]["source"] == "登记:gridworker"
    assert person.provenance["name"] == stamped_name  # unchanged field: provenance untouched
    assert crypto.decrypt(person.phone_cipher, kind="phone") == "13800001111"  # empty phone field keeps it
    entry = updates(session, person)[-1]
    assert entry.before["address"] == "1号楼" and entry.after["address"] == "9号楼902"
    assert entry.channel == "web" and "13800001111" not in repr((entry.before, entry.after))
    # Submitting the same values again changes nothing and writes no entry.
    c.post(f"/people/{person.id}/edit", data=form(person), follow_redirects=False)
    assert len(updates(session, person)) == 1


def test_phone_is_replaced_or_removed_and_stays_sealed(session, browse, people):
    person = people.add("冯二", phone="13800002222")
    c = browse("operator")
    c.post(f"/people/{person.id}/edit", data=form(person, phone="139 0000 3333"), follow_redirects=False)
    session.refresh(person)
    assert person.phone_masked == "139****3333" and crypto.decrypt(person.phone_cipher, kind="phone") == "13900003333"
    assert person.provenance["phone"]["source"] == "登记:operator"
    c.post(f"/people/{person.id}/edit", data=form(person, clear_phone="1"), follow_redirects=False)
    session.refresh(person)
    assert person.phone_cipher is None and person.phone_hash is None and person.phone_masked is None


@pytest.mark.parametrize("changes, zh, en", [
    ({"name": "   "}, "姓名", "Name"),
    ({"population_type": "martian"}, "人口类型", "Population type"),
    ({"phone": "12"}, "电话", "phone"),
    ({"house_id": "abc"}, "房屋编号", "house number"),
    ({"house_id": "999999"}, "房屋", "House"),
    ({"name": "名" * 61}, "姓名", "Name"),
])
def test_bad_input_is_shown_in_the_users_language_and_nothing_changes(session, browse, people, changes, zh, en):
    person = people.add("冯三", address="3号楼")
    c = browse("operator")
    refused = c.post(f"/people/{person.id}/edit", data=form(person, address="改了地址", **changes))
    assert refused.status_code in (404, 422) and zh in refused.text
    assert 'id="person-edit-form"' in refused.text or refused.status_code == 404
    c.cookies.set("cg_lang", "en")
    refused_en = c.post(f"/people/{person.id}/edit", data=form(person, address="改了地址", **changes))
    assert en.lower() in refused_en.text.lower()
    session.refresh(person)
    assert person.address == "3号楼" and updates(session, person) == []


def test_roles_and_scope(session, browse, people):
    person = people.add("冯四")
    assert browse("leader").get(f"/people/{person.id}/edit").status_code == 403
    assert browse("leader").post(f"/people/{person.id}/edit", data=form(person, address="x")).status_code == 403
    assert 'id="edit-link"' not in browse("leader").get(f"/people/{person.id}").text
    assert 'id="edit-link"' in browse("operator").get(f"/people/{person.id}").text
    assert browse("operator21").get(f"/people/{person.id}/edit").status_code == 404
    assert browse("operator21").post(f"/people/{person.id}/edit", data=form(person, address="x")).status_code == 404
    assert browse("handler").get(f"/people/{person.id}/edit").status_code == 403
    assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.action == "update")) == 0
