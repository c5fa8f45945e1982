"""Petitions through the service: registration, repeat and group detection, the 信访工作条例
timeline in working days, triage, leader ownership, conversion, reminders and scope."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, text

from civicgrid.audit.models import AuditEntry
from civicgrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civicgrid.events.models import Case, Channel
from civicgrid.mediation.models import Dispute, DisputeParty
from civicgrid.mediation.schemas import DisputeFromCase
from civicgrid.notifications.models import Notification
from civicgrid.petitions import scheduler, service
from civicgrid.petitions.models import HigherLevelVisit
from civicgrid.petitions.schemas import CaseFromPetition, HigherVisitIn, PetitionerIn
from civicgrid.petitions.workflow import PetitionState as S

from .conftest import T0, citizen_id, working_days_after


def test_registration_links_petitioners_and_starts_the_15_day_clock(pet, session):
    petition = pet.register((1, "赵大爷"), at=T0)
    assert petition.state is S.REGISTERED and petition.number.startswith("XF20260302")
    assert petition.accept_due_at == working_days_after(T0, 15)
    assert petition.due_at == petition.accept_due_at and petition.due_kind == "accept"
    [p] = service.petitioners_of(session=session, petition_id=petition.id)
    assert p.person.name == "赵大爷" and p.is_representative and p.person.id_masked.endswith(citizen_id(1)[-4:])
    for table in ("petition", "petitioner", "petition_link", "audit_entry"):
        assert citizen_id(1) not in repr(session.execute(text(f"SELECT * FROM {table}")).all()), table


def test_repeat_petitioner_is_recognised_with_history(pet, session, world):
    first = pet.register((1, "赵大爷"))
    second = pet.register((1, "赵大爷"), subject="LABOUR", request="又来反映工资问题")
    assert second.repeat_count == 1
    related = service.related_of(session=session, actor=world.users["operator"], petition=second)
    assert [(r.petition.id, r.reasons) for r in related] == [(first.id, ["same_person"])]
    found = service.lookup(session=session, actor=world.users["operator"], id_number=citizen_id(1))
    assert [p.name for p in found.persons] == ["赵大爷"]
    assert {r.petition.id for r in found.history} == {first.id, second.id}
    assert found.petition_counts == {found.persons[0].id: 2}
    by_name = service.lookup(session=session, actor=world.users["operator"], name="赵大")
    assert [p.name for p in by_name.persons] == ["赵大爷"]
    assert service.lookup(session=session, actor=world.users["operator"], id_number=citizen_id(1)[:10]).persons == []
    # Another desk (another community) does not see this history.
    assert service.lookup(session=session, actor=world.users["operator21"], id_number=citizen_id(1)).history == []


def test_same_subject_in_the_same_community_and_same_group_are_linked(pet, session, world):
    group = pet.register(petitioners=[PetitionerIn(id_number=citizen_id(n), name=f"村民{n}",
                                                   is_representative=n <= 2) for n in range(10, 13)],
                         head_count=30, group_name="某村失地农民")
    assert group.is_group and group.head_count == 30
    neighbour = pet.register((20, "钱女士"), region="grid112")
    assert [r.reasons for r in service.related_of(session=session, actor=world.users["operator"],
                                                  petition=neighbour)] == [["same_subject"]]
    member_again = pet.register((11, "村民11"), subject="LABOUR")
    reasons = {r.petition.id: r.reasons for r in service.related_of(session=session, actor=world.users["operator"],
                                                                    petition=member_again)}
    assert reasons == {group.id: ["same_person", "same_group"]}
    with pytest.raises(InvalidInput):  # at most five representatives
        pet.register(petitioners=[PetitionerIn(id_number=citizen_id(n), name=f"代表{n}", is_representative=True)
                                  for n in range(30, 36)])


def test_the_timeline_accept_answer_extend_review_re_review(pet, session):
    petition = pet.register(at=T0)
    pet.fire(petition, "triage")  # the subject's window: the housing department
    assert petition.unit_id == pet.world.units["zhujian"].id and petition.state is S.TRIAGED
    accepted_at = T0 + dt.timedelta(days=1)
    pet.fire(petition, "accept", by="handler_zj", at=accepted_at)
    assert petition.answer_due_at == working_days_after(accepted_at, 60)
    assert petition.due_kind == "answer"
    with pytest.raises(InvalidInput):
        pet.fire(petition, "request_extension", by="handler_zj", note="情况复杂", extension_days=None)
    pet.fire(petition, "request_extension", by="handler_zj", note="需要多部门核实", extension_days=30)
    with pytest.raises(Forbidden):  # approval comes from the desk or a leader, not the window itself
        pet.fire(petition, "approve_extension", by="handler_zj")
    pet.fire(petition, "approve_extension", by="leader")
    assert petition.extension_days == 30
    assert petition.answer_due_at == working_days_after(accepted_at, 90)
    with pytest.raises(Conflict):  # one extension only
        pet.fire(petition, "request_extension", by="handler_zj", note="再延", extension_days=5)
    answered_at = accepted_at + dt.timedelta(days=20)
    pet.fire(petition, "answer", by="handler_zj", note="经核实，补偿款已补发", at=answered_at)
    assert petition.state is S.ANSWERED and petition.due_at is None
    assert petition.review_window_until == working_days_after(answered_at, 30)
    pet.fire(petition, "request_review", note="信访人不服，请求复查", at=answered_at + dt.timedelta(days=3))
    assert petition.due_kind == "review"
    assert petition.due_at == working_days_after(answered_at + dt.timedelta(days=3), 30)
    pet.fire(petition, "decide_review", by="leader", note="维持原处理意见")
    pet.fire(petition, "request_re_review", note="请求复核")
    assert petition.due_kind == "re_review"
    pet.fire(petition, "decide_re_review", by="leader", note="复核维持，信访事项终结")
    assert petition.state is S.CLOSED and petition.closed_at is not None and petition.due_at is None
    actions = session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity == "petition", AuditEntry.entity_id == str(petition.id)).order_by(AuditEntry.id)).all()
    assert actions == ["intake", "triage", "accept", "request_extension", "approve_extension", "answer",
                       "request_review", "decide_review", "request_re_review", "decide_re_review"]


def test_review_must_be_requested_within_the_window(pet):
    petition = pet.register()
    pet.fire(petition, "triage")
    pet.fire(petition, "accept", by="handler_zj")
    pet.fire(petition, "answer", by="handler_zj", note="已答复")
    late = petition.review_window_until + dt.timedelta(minutes=1)
    with pytest.raises(Conflict):
        pet.fire(petition, "request_review", note="逾期请求", at=late)
    pet.fire(petition, "close", at=late)
    assert petition.state is S.CLOSED


def test_triage_needs_a_window_and_the_window_may_return_or_refuse(pet):
    labour = pet.register(subject="LABOUR")
    with pytest.raises(InvalidInput):  # the labour subject has no window configured
        pet.fire(labour, "triage")
    pet.fire(labour, "triage", unit_id=pet.world.units["chengguan"].id)
    pet.fire(labour, "return", by="handler", note="不属于城管职责")
    assert labour.state is S.REGISTERED and labour.unit_id is None
    land = pet.register()
    pet.fire(land, "triage")
    pet.fire(land, "not_accept", by="handler_zj", note="已经司法程序处理，依法不予受理")
    assert land.state is S.NOT_ACCEPTED and land.not_accepted_reason.startswith("已经司法")


def test_leader_owned_petitions(pet, session, world):
    petition = pet.register()
    with pytest.raises(InvalidInput):  # a leader must cover the area
        pet.fire(petition, "assign_leader", leader_user_id=world.users["gridworker"].id)
    pet.fire(petition, "assign_leader", leader_user_id=world.users["street_leader"].id)
    rows, total = service.list_petitions(session=session, actor=world.users["street_leader"],
                                         filters=service.PetitionFilter(led_by_me=True))
    assert [p.id for p in rows] == [petition.id] and total == 1
    assert session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == world.users["street_leader"].id, Notification.kind == "assigned")) == 1
    board = service.deadline_board(session=session, actor=world.users["street_leader"], leader_only=True,
                                   now=pet.now)
    assert [r.petition.id for r in board] == [petition.id] and board[0].bucket == "on_track"


def test_turning_a_petition_into_a_dispute_shows_its_outcome(pet, session, world):
    petition = pet.register((1, "赵大爷"), (2, "赵大妈"))
    pet.fire(petition, "to_dispute", dispute=DisputeFromCase(type_code="DEMOLITION", risk_level="medium"))
    assert petition.state is S.TRANSFERRED
    dispute = session.scalar(select(Dispute).where(Dispute.petition_id == petition.id))
    assert dispute.source == "petition" and dispute.people_count == 2
    applicants = session.scalars(select(DisputeParty.person_id).where(DisputeParty.dispute_id == dispute.id)).all()
    assert len(applicants) == 2
    outcome = service.linked_outcome(session=session, petition=petition)
    assert (outcome.kind, outcome.id, outcome.state) == ("dispute", dispute.id, "registered")
    with pytest.raises(Conflict):
        pet.fire(petition, "to_case", case=CaseFromPetition(category_code="GV0101"))


def test_turning_a_petition_into_a_case_shows_its_outcome(pet, session):
    petition = pet.register()
    with pytest.raises(InvalidInput):
        pet.fire(petition, "to_case")
    pet.fire(petition, "to_case", case=CaseFromPetition(category_code="GV0101"))
    case = session.get(Case, petition.case_id)
    assert case.channel is Channel.PETITION and case.region_id == petition.region_id
    assert case.reporter_name == "赵大爷"
    outcome = service.linked_outcome(session=session, petition=petition)
    assert (outcome.kind, outcome.state) == ("case", "reported")


def test_visits_to_higher_levels_are_recorded(pet, session):
    petition = pet.register(level_visited="city")
    assert petition.higher_visits_count == 1
    pet.fire(petition, "record_higher_visit", note="赴省信访局",
             higher_visit=HigherVisitIn(level="province", visited_on=dt.date(2026, 3, 4), place="省信访局"))
    visits = service.higher_visits_of(session=session, petition_id=petition.id)
    assert [v.level for v in visits] == ["city", "province"] and petition.higher_visits_count == 2
    assert session.scalar(select(func.count(HigherLevelVisit.id))) >= 2


def test_reminders_go_out_once_before_and_once_after_the_deadline(pet, session, world):
    petition = pet.register(at=T0)
    pet.fire(petition, "triage", at=T0 + dt.timedelta(hours=1))
    three_days_before = working_days_after(T0, 12)
    assert scheduler.scan(session=session, now=three_days_before - dt.timedelta(hours=1)).due_soon == 0
    assert scheduler.scan(session=session, now=three_days_before + dt.timedelta(hours=1)).due_soon == 1
    assert scheduler.scan(session=session, now=three_days_before + dt.timedelta(hours=2)).due_soon == 0
    late = petition.accept_due_at + dt.timedelta(minutes=5)
    assert scheduler.scan(session=session, now=late).overdue == 1
    assert scheduler.scan(session=session, now=late).overdue == 0
    handler_alerts = session.scalars(select(Notification.kind).where(
        Notification.user_id == world.users["handler_zj"].id)).all()
    assert sorted(handler_alerts) == ["assigned", "due_soon", "overdue"]
    board = service.deadline_board(session=session, actor=world.users["operator"], now=late)
    assert board[0].bucket == "overdue" and board[0].remaining_seconds < 0
    # Acceptance sets a new deadline, reminded afresh.
    pet.fire(petition, "accept", by="handler_zj", at=late)
    assert not petition.overdue and not petition.due_soon


def test_scope_matrix(pet, session, world):
    here = pet.register()
    there = pet.register(by="operator21", region="grid211")
    pet.fire(here, "triage")
    visible = {"operator": {here.id}, "operator21": {there.id}, "district_op": {here.id, there.id},
               "handler_zj": {here.id}, "handler": set(), "citizen": set(), "street_leader": {here.id},
               "leader": {here.id, there.id}}
    for name, expected in visible.items():
        rows, total = service.list_petitions(session=session, actor=world.users[name],
                                             filters=service.PetitionFilter())
        assert {p.id for p in rows} == expected and total == len(expected), name
    with pytest.raises(NotFound):
        service.get_petition(session=session, actor=world.users["operator21"], petition_id=here.id)
    with pytest.raises(Forbidden):
        pet.register(by="gridworker")
    with pytest.raises(InvalidInput):
        pet.register(by="operator", region="grid211")


def test_registration_is_idempotent(pet, session, world):
    first = pet.register(client_key="visit-1")
    again, created = service.register_petition(
        session=session, actor=world.users["operator"], origin=pet.__class__ and service.Origin("test"),
        data=service.PetitionCreate(subject_code="LAND", request="重复提交",
                                    petitioners=[PetitionerIn(id_number=citizen_id(1))], client_key="visit-1"))
    assert again.id == first.id and not created
