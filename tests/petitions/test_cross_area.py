"""Repeat petitions across areas: the same person, the same person on the same subject, or the
same group arriving at a desk in another district is recognised and linked — and that desk
learns only that a repeat exists, where and when, never the other area's details."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from civicgrid.audit.models import AuditEntry
from civicgrid.auth.service import issue_token
from civicgrid.errors import NotFound
from civicgrid.petitions import service
from civicgrid.petitions.models import PetitionLink
from civicgrid.petitions.schemas import PetitionerIn

from .conftest import T0, citizen_id

FIRST_REQUEST = "反映云湖区某村征地补偿款被截留，要求查处村干部张某"
FIRST_TITLE = "云湖区征地补偿款被截留"


def _first(pet):
    return pet.register((1, "赵大爷"), request=FIRST_REQUEST, title=FIRST_TITLE, facts="村干部张某私分补偿款",
                        at=T0)


def _secrets(first) -> list[str]:
    """What of the first petition must never reach a desk of another district."""
    return [first.number, FIRST_TITLE, FIRST_REQUEST, "村干部张某", f'"petition_id":{first.id}',
            f"/petitions/{first.id}"]


def test_the_same_person_at_another_districts_desk_is_recognised_and_linked(pet, session, world, far):
    first = _first(pet)
    second = pet.register((1, "赵大爷"), by="operator_d3", region="grid3111", request="到东岭区再次反映补偿款问题")
    # Linked at registration although the first lies outside this desk's area.
    links = session.execute(select(PetitionLink.related_id, PetitionLink.reason)
                            .where(PetitionLink.petition_id == second.id)).all()
    assert sorted(links) == [(first.id, "same_person"), (first.id, "same_subject")]
    assert second.repeat_count == 1
    intake = session.scalar(select(AuditEntry).where(AuditEntry.entity == "petition",
                                                     AuditEntry.entity_id == str(second.id),
                                                     AuditEntry.action == "intake"))
    assert intake.after["related_elsewhere"] == [first.id]

    desk = far.users["operator_d3"]
    # What the far desk sees: that a repeat exists, where and when — not the petition.
    assert service.related_of(session=session, actor=desk, petition=second) == []
    [e] = service.elsewhere_of(session=session, actor=desk, petition=second)
    assert (e.direction, e.reasons, e.area_code) == ("earlier", ["same_person", "same_subject"],
                                                     world.regions["community11"].code)
    assert e.area_zh == "云湖区 湖1街道1社区" and e.received_on == T0.date()
    assert not {"number", "title", "request", "petition", "state", "id"} & set(vars(e))
    with pytest.raises(NotFound):
        service.get_petition(session=session, actor=desk, petition_id=first.id)
    rows, total = service.list_petitions(session=session, actor=desk, filters=service.PetitionFilter(repeat=True))
    assert [p.id for p in rows] == [second.id] and total == 1

    # The first desk sees the later repeat the same way, in the other direction.
    [back] = service.elsewhere_of(session=session, actor=world.users["operator"], petition=first)
    assert (back.direction, back.area_code) == ("later", far.community.code)
    assert back.area_zh == "东岭区 岭1街道1社区"
    # Whoever sees both areas gets the full records, and nothing is reduced.
    city = world.users["city_op"]
    assert [r.petition.id for r in service.related_of(session=session, actor=city, petition=second)] == [first.id]
    assert [r.petition.id for r in service.later_of(session=session, actor=city, petition=first)] == [second.id]
    assert service.elsewhere_of(session=session, actor=city, petition=second) == []
    # The district above the far desk still does not see the first district.
    assert len(service.elsewhere_of(session=session, actor=far.users["district3_op"], petition=second)) == 1


def test_a_group_returning_elsewhere_under_its_name_is_linked(pet, session, world, far):
    group = pet.register(petitioners=[PetitionerIn(id_number=citizen_id(n), name=f"村民{n}", is_representative=True)
                                      for n in range(10, 13)], head_count=40, group_name="某村失地农民")
    other_people = pet.register(petitioners=[PetitionerIn(id_number=citizen_id(n), name=f"村民{n}")
                                             for n in range(20, 25)], head_count=25, group_name="某村失地农民",
                                by="operator_d3", region="grid3111", subject="LABOUR")
    [e] = service.elsewhere_of(session=session, actor=far.users["operator_d3"], petition=other_people)
    assert e.reasons == ["same_group"] and e.area_code == world.regions["community11"].code
    assert other_people.repeat_count == 0  # none of the same people
    # A different group name is not the same group.
    unrelated = pet.register(petitioners=[PetitionerIn(id_number=citizen_id(n), name=f"工人{n}")
                                          for n in range(30, 35)], head_count=5, group_name="某厂欠薪工人",
                             by="operator_d3", region="grid3111", subject="LABOUR")
    assert service.elsewhere_of(session=session, actor=far.users["operator_d3"], petition=unrelated) == []
    assert group.id not in {r.petition.id for r in service.related_of(session=session, actor=world.users["city_op"],
                                                                       petition=unrelated)}


def test_the_far_desk_lookup_shows_where_and_when_only(pet, session, world, far):
    first = _first(pet)
    found = service.lookup(session=session, actor=far.users["operator_d3"], id_number=citizen_id(1))
    assert [p.name for p in found.persons] == ["赵大爷"]
    assert found.history == [] and found.petition_counts == {}
    assert found.elsewhere_counts == {found.persons[0].id: 1}
    [e] = found.elsewhere
    assert (e.area_code, e.received_on) == (world.regions["community11"].code, T0.date())
    # The home desk sees it as its own history, nothing "elsewhere".
    home = service.lookup(session=session, actor=world.users["operator"], id_number=citizen_id(1))
    assert [r.petition.id for r in home.history] == [first.id] and home.elsewhere == []


def test_no_leak_through_the_api_and_the_pages(client, pet, session, world, far):
    first = _first(pet)
    headers = {"Authorization": f"Bearer {issue_token(far.users['operator_d3'])}"}
    lookup = client.get(f"/api/petitions/lookup?id_number={citizen_id(1)}", headers=headers)
    assert lookup.status_code == 200
    body = lookup.json()
    assert body["history"] == [] and body["persons"][0]["petitions_elsewhere"] == 1
    assert body["elsewhere"][0]["area_name"] == "云湖区 湖1街道1社区"
    fragment = client.get(f"/petitions/lookup?id_number_1={citizen_id(1)}", headers=headers).text
    assert 'data-repeat="yes"' in fragment and 'data-elsewhere="yes"' in fragment and "湖1街道1社区" in fragment
    created = client.post("/api/petitions", headers=headers, json={
        "subject_code": "LAND", "request": "到东岭区再次反映补偿款问题", "region_code": far.grid.code,
        "petitioners": [{"id_number": citizen_id(1), "name": "赵大爷"}]})
    assert created.status_code == 201, created.text
    second = created.json()
    assert second["repeat_count"] == 1 and second["related"] == [] and second["later"] == []
    assert [(e["direction"], e["area_code"]) for e in second["related_elsewhere"]] == [
        ("earlier", world.regions["community11"].code)]
    page = client.get(f"/petitions/{second['id']}", headers=headers)
    assert page.status_code == 200 and 'id="elsewhere"' in page.text and "云湖区 湖1街道1社区" in page.text
    assert 'id="repeat-flag"' in page.text
    history = client.get(f"/api/petitions/{second['id']}/history", headers=headers)
    for response in (lookup, created, page, history, client.get(f"/petitions/lookup?id_number_1={citizen_id(1)}",
                                                                 headers=headers),
                     client.get("/api/petitions?repeat=true", headers=headers),
                     client.get("/petitions?show=repeat", headers=headers)):
        for secret in _secrets(first):
            assert secret not in response.text, (response.request.url, secret)
    for url in (f"/api/petitions/{first.id}", f"/petitions/{first.id}", f"/api/petitions/{first.id}/history",
                f"/api/petitions/{first.id}/documents"):
        assert client.get(url, headers=headers).status_code == 404, url
    # English pages name the area in English.
    english = client.get(f"/api/petitions/{second['id']}", headers=headers | {"Accept-Language": "en"}).json()
    assert english["related_elsewhere"][0]["area_name"] == "云湖区 / 湖1街道1社区"
