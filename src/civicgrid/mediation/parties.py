"""Parties of a dispute, linked to persons and organisations of the base data.

A party is found by person id (in the actor's area), by ID number (anywhere: whoever
types the whole number knows the person; matched on the keyed hash, never stored here),
or created in the base data from ID number and name when the person is not yet known.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin
from civicgrid.auth.models import User
from civicgrid.errors import InvalidInput, not_found
from civicgrid.mediation.models import Dispute, DisputeParty
from civicgrid.mediation.schemas import PartyIn, PartyRead
from civicgrid.people import access as people_access, service as people
from civicgrid.people.models import Organisation, Person
from civicgrid.people.schemas import PersonCreate
from civicgrid.regions.models import Region


def resolve_person(*, session: Session, actor: User, origin: Origin, region: Region, person_id: int | None,
                   id_number: str | None, name: str | None, phone: str | None) -> Person:
    """The base-data person meant by an id or an ID number; registered there if new (name needed)."""
    if person_id is not None:
        person = session.scalar(people.visible_persons(actor).where(Person.id == person_id)) \
            if people_access.may(actor, "read") else None
        if person is None:
            raise not_found("人员档案", "Person", person_id)
        return person
    if not id_number:
        raise InvalidInput("请填写当事人的公民身份号码或选择人员档案", "Give the person's ID number or choose a person record")
    found = people.find_by_document(session=session, kind="resident", number=id_number)
    if found is not None:
        return found
    if not name or not name.strip():
        raise InvalidInput("基础数据中没有该身份证号码，请填写姓名以新建人员档案",
                           "No person with this ID number yet; give a name to register them")
    return people.create_person(session=session, actor=actor, origin=origin,
                                data=PersonCreate(name=name, id_number=id_number, phone=phone,
                                                  region_code=region.code),
                                source=f"矛调登记:{actor.username}")


def add_parties(*, session: Session, actor: User, origin: Origin, dispute: Dispute,
                parties: list[PartyIn]) -> list[DisputeParty]:
    """Link each party to the dispute (a person or organisation may appear once)."""
    added: list[DisputeParty] = []
    if not parties:
        return added
    region = session.get(Region, dispute.region_id)
    assert region is not None
    seen = {(p.person_id, p.organisation_id) for p in session.scalars(
        select(DisputeParty).where(DisputeParty.dispute_id == dispute.id))}
    for p in parties:
        if p.organisation_id is not None:
            org = session.get(Organisation, p.organisation_id)
            if org is None:
                raise not_found("组织", "Organisation", p.organisation_id)
            key = (None, org.id)
            row = DisputeParty(dispute_id=dispute.id, role=p.role, organisation_id=org.id, agent=p.agent)
        else:
            person = resolve_person(session=session, actor=actor, origin=origin, region=region,
                                    person_id=p.person_id, id_number=p.id_number, name=p.name, phone=p.phone)
            key = (person.id, None)
            row = DisputeParty(dispute_id=dispute.id, role=p.role, person_id=person.id, agent=p.agent)
        if key in seen:
            raise InvalidInput("同一当事人不能重复登记", "The same party is listed twice")
        seen.add(key)
        session.add(row)
        added.append(row)
    session.flush()
    return added


def parties_of(*, session: Session, dispute_id: int) -> list[DisputeParty]:
    """The parties of a dispute: applicants, respondents, third parties."""
    return parties_of_many(session=session, dispute_ids=[dispute_id]).get(dispute_id, [])


def parties_of_many(*, session: Session, dispute_ids: Collection[int]) -> dict[int, list[DisputeParty]]:
    """``parties_of`` for a page of disputes, in one read."""
    order = {"applicant": 0, "respondent": 1, "third_party": 2}
    found: dict[int, list[DisputeParty]] = {}
    if dispute_ids:
        for party in session.scalars(select(DisputeParty).where(DisputeParty.dispute_id.in_(list(dispute_ids)))):
            found.setdefault(party.dispute_id, []).append(party)
    return {did: sorted(rows, key=lambda p: (order.get(p.role, 9), p.id)) for did, rows in found.items()}


def party_read(party: DisputeParty) -> PartyRead:
    """A party as shown: name, and identifiers masked always."""
    person = party.person
    return PartyRead(id=party.id, role=party.role, person_id=party.person_id,
                     organisation_id=party.organisation_id, name=party.name,
                     id_number_masked=person.id_masked if person is not None else None,
                     phone_masked=person.phone_masked if person is not None else None, agent=party.agent)
