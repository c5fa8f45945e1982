"""Households: members with their relation, one household per person, the head (and what the former head
becomes), through the service, the API and the pages; scoped, audited, provenance stamped."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.errors import Forbidden, InvalidInput, NotFound
from civicgrid.people import service
from civicgrid.people.models import Household, Person
from civicgrid.people.schemas import HouseholdCreate
from tests.people.conftest import CSRF, ORIGIN


@pytest.fixture
def family(session, people):
    """A household H-100 whose head is 吴父, with 吴母 (spouse); 吴子 not yet a member."""
    father = people.add("吴父", household_number="H-100", relation_to_head="head")
    mother = people.add("吴母", household_number="H-100", relation_to_head="spouse")
    son = people.add("吴子")
    household = session.get(Household, father.household_id)
    assert household.head_person_id == father.id
    return household, father, mother, son


def op(people, name="operator"):
    return people.world.users[name]


def test_add_change_and_remove_members(session, people, family):
    household, father, mother, son = family
    service.add_household_member(session=session, actor=op(people), origin=ORIGIN, household_id=household.id,
                                 person_id=son.id, relation="child")
    assert son.household_id == household.id and son.relation_to_head == "child"
    assert son.provenance["household"]["source"] == "登记:operator"
    assert [m.id for m in service.household_members(session=session, actor=op(people), household_id=household.id)] == \
        [father.id, mother.id, son.id]
    service.add_household_member(session=session, actor=op(people), origin=ORIGIN, household_id=household.id,
                                 person_id=son.id, relation="grandchild")
    assert son.relation_to_head == "grandchild"
    service.remove_household_member(session=session, actor=op(people), origin=ORIGIN, household_id=household.id,
                                    person_id=son.id)
    assert son.household_id is None and son.relation_to_head is None
    actions = session.scalars(select(AuditEntry.action).where(AuditEntry.entity == "household",
                                                             AuditEntry.entity_id == str(household.id))).all()
    assert {"add_member", "member_relation", "remove_member"} <= set(actions)
    assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.entity == "person",
                                                                  AuditEntry.entity_id == str(son.id),
                                                                  AuditEntry.action == "household")) == 3


def test_joining_another_household_leaves_the_former_and_its_headship(session, people, family):
    household, father, _mother, _son = family
    other = service.create_household(session=session, actor=op(people), origin=ORIGIN,
                                     data=HouseholdCreate(number="H-200", region_code=people.world.regions["grid112"].code))
    service.add_household_member(session=session, actor=op(people), origin=ORIGIN, household_id=other.id,
                                 person_id=father.id, relation="head")
    assert father.household_id == other.id and other.head_person_id == father.id
    session.refresh(household)
    assert household.head_person_id is None  # the old household lost its head


def test_changing_the_head_gives_the_former_head_a_relation(session, people, family):
    household, father, mother, _ = family
    service.set_household_head(session=session, actor=op(people), origin=ORIGIN, household_id=household.id,
                               person_id=mother.id, previous_relation="spouse")
    assert household.head_person_id == mother.id and mother.relation_to_head == "head"
    assert father.relation_to_head == "spouse"
    service.set_household_head(session=session, actor=op(people), origin=ORIGIN, household_id=household.id,
                               person_id=father.id)
    assert mother.relation_to_head == "other"  # no relation given: 其他
    entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "set_head").order_by(AuditEntry.id.desc()))
    assert entry.before == {"head_person_id": mother.id} and entry.after["former_head_relation"] == "other"


@pytest.mark.parametrize("case", ["second_head", "head_relation_change", "bad_relation", "no_relation", "not_member",
                                  "former_head_as_head"])
def test_rules_are_refused_in_both_languages(session, people, family, case):
    household, father, mother, son = family
    calls = {
        "second_head": lambda: service.add_household_member(session=session, actor=op(people), origin=ORIGIN,
                                                            household_id=household.id, person_id=son.id, relation="head"),
        "head_relation_change": lambda: service.add_household_member(
            session=session, actor=op(people), origin=ORIGIN, household_id=household.id, person_id=father.id,
            relation="child"),
        "bad_relation": lambda: service.add_household_member(session=session, actor=op(people), origin=ORIGIN,
                                                             household_id=household.id, person_id=son.id,
                                                             relation="cousin"),
        "no_relation": lambda: service.add_household_member(session=session, actor=op(people), origin=ORIGIN,
                                                            household_id=household.id, person_id=son.id, relation=""),
        "not_member": lambda: service.remove_household_member(session=session, actor=op(people), origin=ORIGIN,
                                                              household_id=household.id, person_id=son.id),
        "former_head_as_head": lambda: service.set_household_head(
            session=session, actor=op(people), origin=ORIGIN, household_id=household.id, person_id=mother.id,
            previous_relation="head"),
    }
    with pytest.raises(InvalidInput) as err:
        calls[case]()
    assert err.value.detail_zh and err.value.detail_en and err.value.detail_zh != err.value.detail_en


def test_scope_and_permissions(session, people, family):
    household, _father, _mother, son = family
    with pytest.raises(Forbidden):
        service.add_household_member(session=session, actor=op(people, "leader"), origin=ORIGIN,
                                     household_id=household.id, person_id=son.id, relation="child")
    with pytest.raises(NotFound):
        service.add_household_member(session=session, actor=op(people, "operator21"), origin=ORIGIN,
                                     household_id=household.id, person_id=son.id, relation="child")
    stranger = people.add("外区人", by="operator21", grid="grid211")
    with pytest.raises(NotFound):
        service.add_household_member(session=session, actor=op(people), origin=ORIGIN, household_id=household.id,
                                     person_id=stranger.id, relation="other")


def test_household_api(session, client, as_user, people, family):
    household, father, mother, son = family
    url = f"/api/base/households/{household.id}/members"
    r = client.put(f"{url}/{son.id}", json={"relation": "child"}, headers=as_user("gridworker"))
    assert r.status_code == 200 and r.json()["relation_to_head"] == "child"
    assert son.id_masked == r.json()["id_number"]
    listed = client.get(url, headers=as_user("leader")).json()
    assert [p["id"] for p in listed] == [father.id, mother.id, son.id]
    head = client.post(f"/api/base/households/{household.id}/head/{mother.id}", params={"previous_relation": "spouse"},
                       headers=as_user("operator"))
    assert head.status_code == 200 and head.json()["fields"]["head_person_id"] == mother.id
    bad = client.put(f"{url}/{son.id}", json={"relation": "cousin"}, headers=as_user("operator"))
    assert bad.status_code == 422 and bad.headers["content-type"].startswith("application/problem+json")
    assert "与户主关系" in bad.json()["detail_zh"] and "Relation" in bad.json()["detail_en"]
    assert client.put(f"{url}/{son.id}", json={}, headers=as_user("operator")).status_code == 422
    assert client.delete(f"{url}/{son.id}", headers=as_user("leader")).status_code == 403
    assert client.delete(f"{url}/{son.id}", headers=as_user("operator21")).status_code == 404
    gone = client.delete(f"{url}/{son.id}", headers=as_user("operator"))
    assert gone.status_code == 200 and gone.json()["household_id"] is None


def test_household_pages(session, browse, people, family):
    household, father, mother, son = family
    c = browse("operator")
    listing = c.get("/people/households", params={"q": "H-100"}).text
    assert f'data-household-id="{household.id}"' in listing and "吴父" in listing
    page = c.get(f"/people/households/{household.id}", params={"q": "吴子"}).text
    assert f'data-person-id="{son.id}"' in page and son.id_masked in page and 'id="member-form"' in page
    added = c.post(f"/people/households/{household.id}/members",
                   data={"csrf": CSRF, "person_id": str(son.id), "relation": "child"}, follow_redirects=False)
    assert added.status_code == 303 and son.household_id == household.id
    made = c.post(f"/people/households/{household.id}/head",
                  data={"csrf": CSRF, "person_id": str(mother.id), "previous_relation": "spouse"}, follow_redirects=False)
    assert made.status_code == 303
    session.refresh(household)
    assert household.head_person_id == mother.id and father.relation_to_head == "spouse"
    removed = c.post(f"/people/households/{household.id}/members/{son.id}/remove", data={"csrf": CSRF},
                     follow_redirects=False)
    assert removed.status_code == 303 and son.household_id is None
    refused = c.post(f"/people/households/{household.id}/members", data={"csrf": CSRF, "person_id": "abc",
                                                                         "relation": "child"})
    assert refused.status_code == 422 and "档案编号" in refused.text
    second_head = c.post(f"/people/households/{household.id}/members",
                         data={"csrf": CSRF, "person_id": str(son.id), "relation": "head"})
    assert second_head.status_code == 422 and "户主" in second_head.text
    c.cookies.set("cg_lang", "en")
    en = c.post(f"/people/households/{household.id}/members",
                data={"csrf": CSRF, "person_id": str(son.id), "relation": "head"})
    assert en.status_code == 422 and "make head" in en.text
    c.cookies.delete("cg_lang")
    # The profile links to the household; leaders see it without the forms.
    assert f'href="/people/households/{household.id}"' in c.get(f"/people/{father.id}").text
    leader = browse("leader").get(f"/people/households/{household.id}").text
    assert "吴母" in leader and 'id="member-form"' not in leader
    assert browse("leader").post(f"/people/households/{household.id}/members/{mother.id}/remove",
                                 data={"csrf": CSRF}).status_code == 403
    assert browse("operator21").get(f"/people/households/{household.id}").status_code == 404
    assert browse("handler").get("/people/households").status_code == 403


def test_register_a_household_from_the_page(session, browse, people):
    c = browse("operator")
    grid = people.world.regions["grid111"].code
    form = c.get("/people/households").text
    assert f'value="{grid}"' in form
    done = c.post("/people/households", data={"csrf": CSRF, "number": "H-NEW-1", "address": "5号楼", "region_code": grid},
                  follow_redirects=False)
    assert done.status_code == 303
    household = session.scalar(select(Household).where(Household.number == "H-NEW-1"))
    assert done.headers["location"] == f"/people/households/{household.id}?done=created"
    again = c.post("/people/households", data={"csrf": CSRF, "number": "H-NEW-1", "region_code": grid})
    assert again.status_code == 409 and "已登记" in again.text
    empty = c.post("/people/households", data={"csrf": CSRF, "number": "", "region_code": grid})
    assert empty.status_code == 422 and "户号" in empty.text
    outside = c.post("/people/households", data={"csrf": CSRF, "number": "H-NEW-2",
                                                 "region_code": people.world.regions["grid211"].code})
    assert outside.status_code == 422
    assert session.scalar(select(func.count(Person.id))) == 0
