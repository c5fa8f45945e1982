"""Disputes through the service: intake (walk-in, from a case), parties from the base data,
routing with the suggested assignee, sessions, agreements, follow-up, hand-over, escalation,
scope and history."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from civicgrid.audit.models import AuditEntry
from civicgrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civicgrid.events.intake import intake_case
from civicgrid.events.schemas import CaseCreate
from civicgrid.mediation import registry, service
from civicgrid.mediation.models import Dispute, DisputeParty, Obligation
from civicgrid.mediation.parties import parties_of, party_read
from civicgrid.mediation.schemas import DisputeFromCase, PartyIn
from civicgrid.mediation.workflow import DisputeState as S
from civicgrid.notifications.models import Notification
from civicgrid.people.models import Person
from civicgrid.regions.models import RegionLevel

from .conftest import ORIGIN, citizen_id


def entries(session, dispute) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.entity == "dispute",
                                                         AuditEntry.entity_id == str(dispute.id))
                                .order_by(AuditEntry.id)))


def test_walk_in_registers_parties_in_the_base_data_without_storing_id_numbers(med, session):
    number_a, number_b = citizen_id(1), citizen_id(2)
    dispute = med.register(parties=[
        PartyIn(role="applicant", id_number=number_a, name="王阿姨", phone="13800001111"),
        PartyIn(role="respondent", id_number=number_b, name="李先生"),
    ], amount=Decimal("3200.50"))
    assert dispute.state is S.REGISTERED and dispute.number.startswith("JF20261123")
    assert dispute.desk_region_id == med.world.regions["community11"].id
    parties = parties_of(session=session, dispute_id=dispute.id)
    assert [p.role for p in parties] == ["applicant", "respondent"]
    shown = party_read(parties[0])
    assert shown.name == "王阿姨" and shown.id_number_masked == number_a[:6] + "********" + number_a[-4:]
    assert shown.phone_masked == "138****1111"
    # The persons are base-data records found again by ID number, never a copy.
    again = med.register(parties=[PartyIn(role="applicant", id_number=number_a)])
    assert parties_of(session=session, dispute_id=again.id)[0].person_id == parties[0].person_id
    assert session.scalar(select(func.count(Person.id)).where(Person.name == "王阿姨")) == 1
    # No table of ours holds an ID number in clear.
    for table in ("dispute", "dispute_party", "mediation_session", "mediation_agreement", "audit_entry"):
        rows = session.execute(text(f"SELECT * FROM {table}")).all()
        assert number_a not in repr(rows) and number_b not in repr(rows), table


def test_unknown_id_number_needs_a_name_and_bad_numbers_are_refused(med):
    with pytest.raises(InvalidInput):
        med.register(parties=[PartyIn(role="applicant", id_number=citizen_id(3))])
    with pytest.raises(InvalidInput):
        med.register(parties=[PartyIn(role="applicant", id_number="350102198001010000", name="甲")])


def test_group_threshold_comes_from_the_type_and_is_configurable(med, session):
    assert not med.register(people=4).is_group
    assert med.register(people=5).is_group
    registry.save_type(session=session, actor=med.world.users["admin"], origin=ORIGIN, code="NEIGHBOUR",
                       name_zh="邻里纠纷", group_threshold=10)
    assert not med.register(people=5).is_group


def test_intake_is_idempotent_by_client_key_and_only_centre_staff_register(med, session):
    first = med.register(client_key="desk-1")
    again, created = service.register_dispute(
        session=session, actor=med.world.users["operator"], origin=ORIGIN,
        data=service.DisputeCreate(type_code="NEIGHBOUR", description="重复提交", client_key="desk-1"))
    assert again.id == first.id and not created
    with pytest.raises(Forbidden):
        med.register(by="gridworker")


def test_a_dispute_from_a_grid_workers_case_links_both_ways(med, session, world):
    lat, lon = world.grid_point("grid111")
    case, _ = intake_case(session=session, actor=world.users["gridworker"], origin=ORIGIN, data=CaseCreate(
        category_code="GV0101", description="两户因装修噪音发生争吵，情绪激动", lat=lat, lon=lon))
    dispute = service.dispute_from_case(session=session, actor=world.users["operator"], origin=ORIGIN,
                                        case_id=case.id, data=DisputeFromCase(type_code="NEIGHBOUR",
                                                                              criminal_risk=True))
    assert dispute.source == "case" and dispute.case_id == case.id and dispute.criminal_risk
    assert dispute.region_id == case.region_id
    # Asking twice gives the same dispute.
    assert service.dispute_from_case(session=session, actor=world.users["operator"], origin=ORIGIN,
                                     case_id=case.id, data=DisputeFromCase(type_code="NEIGHBOUR")).id == dispute.id
    med.to_agreement(dispute, ("李先生", "赔偿修复费用", Decimal("800"), 10))
    case_history = session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity == "case", AuditEntry.entity_id == str(case.id))).all()
    assert "to_dispute" in case_history and "dispute_outcome" in case_history
    # Someone who cannot see the case cannot raise a dispute from it.
    with pytest.raises(NotFound):
        service.dispute_from_case(session=session, actor=world.users["operator21"], origin=ORIGIN,
                                  case_id=case.id, data=DisputeFromCase(type_code="NEIGHBOUR"))


def test_the_whole_road_to_a_performed_agreement(med, session):
    dispute = med.register()
    med.fire(dispute, "assess", note="研判：邻里漏水，低风险", risk_level="low")
    assert dispute.state is S.ASSESSED and dispute.assessed_at is not None
    suggestions = registry.suggest(session=session, dispute=dispute)
    assert suggestions[0].org.id == med.orgs["c11"].id
    assert suggestions[0].mediator.id == med.mediators["med_c11b"].id  # the neighbour specialist
    med.fire(dispute, "route")  # no org given: the suggestion is taken
    assert dispute.state is S.ROUTED and dispute.org_id == med.orgs["c11"].id
    assert dispute.mediation_level is RegionLevel.COMMUNITY
    assert session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == med.users["med_c11b"].id, Notification.kind == "assigned")) == 1
    med.fire(dispute, "accept", by="med_c11b")
    assert dispute.state is S.MEDIATING and dispute.due_at is not None
    with pytest.raises(Conflict):  # an outcome needs a session first
        med.fire(dispute, "agree", by="med_c11b", agreement=med.agreement_in())
    med.fire(dispute, "hold_session", by="med_c11b", session=med.session_in(next_step="三日后再议"))
    med.fire(dispute, "hold_session", by="med_c11b", session=med.session_in())
    assert dispute.sessions_count == 2 and len(service.sessions_of(session=session, dispute=dispute)) == 2
    med.fire(dispute, "agree", by="med_c11b", agreement=med.agreement_in(
        ("李先生", "修复漏水并赔偿", Decimal("1500"), 7), ("李先生", "书面道歉", None, 3)))
    assert dispute.state is S.FOLLOWING_UP and dispute.outcome == "agreement" and dispute.due_at is None
    agreement = service.agreement_of(session=session, dispute=dispute)
    assert agreement.total_amount == Decimal("1500") and len(agreement.obligations) == 2
    with pytest.raises(Conflict):
        med.fire(dispute, "close", by="med_c11b")
    med.fire(dispute, "follow_up", by="med_c11b", note="电话回访，已开始维修")
    for obligation in agreement.obligations:
        med.fire(dispute, "perform", by="operator", obligation_id=obligation.id, note="已履行")
    with pytest.raises(Conflict):  # nothing left to perform
        med.fire(dispute, "perform", by="operator", obligation_id=agreement.obligations[0].id)
    med.fire(dispute, "close", by="med_c11b")
    assert dispute.state is S.CLOSED and dispute.closed_at is not None
    actions = [e.action for e in entries(session, dispute)]
    assert actions == ["intake", "assess", "route", "accept", "hold_session", "hold_session", "agree",
                       "follow_up", "perform", "perform", "close"]
    assert all(e.request_id == "req-mediation" for e in entries(session, dispute))


def test_obligations_cannot_fall_due_before_signing(med):
    dispute = med.register()
    med.to_mediating(dispute)
    med.fire(dispute, "hold_session", by="med_c11", session=med.session_in())
    with pytest.raises(InvalidInput):
        med.fire(dispute, "agree", by="med_c11", agreement=med.agreement_in(("甲", "付款", Decimal("1"), -1)))
    assert dispute.state is S.MEDIATING


def test_failed_mediation_goes_to_court_with_its_case_number(med):
    dispute = med.register(type_code="CONTRACT")
    med.to_mediating(dispute)
    med.fire(dispute, "hold_session", by="med_c11", session=med.session_in())
    med.fire(dispute, "fail", by="med_c11", note="双方分歧过大")
    assert dispute.state is S.FAILED and dispute.outcome == "failed"
    with pytest.raises(InvalidInput):
        med.fire(dispute, "refer_litigation", by="operator")
    med.fire(dispute, "refer_litigation", by="operator", court_case_number="（2026）云0102民初1234号")
    assert dispute.state is S.REFERRED and dispute.handover == "litigation"
    assert dispute.court_case_number == "（2026）云0102民初1234号"


def test_escalation_moves_the_desk_up_and_routing_respects_it(med, session):
    dispute = med.register()
    med.fire(dispute, "assess")
    med.fire(dispute, "escalate", note="社区调解力量不足")
    assert dispute.state is S.ASSESSED and dispute.level is RegionLevel.STREET
    assert dispute.escalations_count == 1
    suggested = registry.suggest(session=session, dispute=dispute)
    assert med.orgs["c11"].id not in [s.org.id for s in suggested]  # no way back below the desk
    with pytest.raises(Forbidden):  # the community desk no longer owns it
        med.fire(dispute, "route", by="operator", org_id=med.orgs["s1"].id)
    med.fire(dispute, "route", by="street_op", org_id=med.orgs["s1"].id)
    assert dispute.mediator_id == med.mediators["med_s1"].id


def test_a_mediator_may_return_a_dispute_and_only_the_orgs_mediators_act(med, session):
    dispute = med.register()
    med.fire(dispute, "assess")
    med.fire(dispute, "route", org_id=med.orgs["c11"].id)
    with pytest.raises(NotFound):  # another organisation's mediator does not even see it
        med.fire(dispute, "accept", by="med_s1")
    with pytest.raises(Forbidden):  # the desk operator is not a mediator of the committee
        med.fire(dispute, "accept", by="operator")
    med.fire(dispute, "return", by="med_c11", note="不属于本委员会受理范围")
    assert dispute.state is S.ASSESSED and dispute.org_id is None and dispute.returns_count == 1


def test_routing_refuses_organisations_that_do_not_fit(med):
    dispute = med.register(type_code="NEIGHBOUR")
    med.fire(dispute, "assess")
    with pytest.raises(InvalidInput):  # a labour organisation takes labour disputes only
        med.fire(dispute, "route", org_id=med.orgs["labour"].id)
    with pytest.raises(InvalidInput):  # another community's committee does not cover the place
        med.fire(dispute, "route", org_id=med.orgs["c12"].id)
    with pytest.raises(InvalidInput):  # a mediator of another organisation
        med.fire(dispute, "route", org_id=med.orgs["c11"].id, mediator_id=med.mediators["med_s1"].id)


def test_suggestion_follows_specialty_risk_and_load(med, session):
    labour = med.register(type_code="LABOUR", people=12, description="工地拖欠12名工人工资")
    med.fire(labour, "assess", risk_level="medium")
    top = registry.suggest(session=session, dispute=labour)[0]
    assert top.org.id == med.orgs["labour"].id and top.mediator.id == med.mediators["med_lab"].id
    risky = med.register(type_code="NEIGHBOUR")
    med.fire(risky, "assess", risk_level="high")
    assert registry.target_level(risky) is RegionLevel.DISTRICT
    # The community committee at capacity drops below the street centre.
    med.orgs["c11"].capacity = 1
    busy = med.register()
    med.fire(busy, "assess")
    med.fire(busy, "route", org_id=med.orgs["c11"].id)
    fresh = med.register()
    med.fire(fresh, "assess")
    ranked = registry.suggest(session=session, dispute=fresh)
    assert ranked[0].org.id == med.orgs["s1"].id
    assert next(s for s in ranked if s.org.id == med.orgs["c11"].id).full


def test_scope_matrix(med, session, world):
    here = med.register(region="grid111")
    there = med.register(by="operator21", region="grid211")
    visible = {
        "operator": {here.id}, "operator21": {there.id}, "street_op": {here.id}, "district_op": {here.id, there.id},
        "leader": {here.id, there.id}, "handler": set(), "citizen": set(), "gridworker": {here.id},
        "med_c11": set(),
    }
    for name, expected in visible.items():
        actor = med.user(name)
        rows, total = service.list_disputes(session=session, actor=actor, filters=service.DisputeFilter())
        assert {d.id for d in rows} == expected, name
        assert total == len(expected), name
        for d in (here, there):
            if d.id not in expected:
                with pytest.raises(NotFound):
                    service.get_dispute(session=session, actor=actor, dispute_id=d.id)
    med.fire(here, "assess")
    med.fire(here, "route", org_id=med.orgs["c11"].id)
    rows, _ = service.list_disputes(session=session, actor=med.user("med_c11"), filters=service.DisputeFilter())
    assert [d.id for d in rows] == [here.id]


def test_my_disputes_lists_the_mediators_and_the_desks_work(med, session):
    a = med.register()
    b = med.register()
    med.to_mediating(a, mediator="med_c11")
    assert [d.id for d in service.my_disputes(session=session, actor=med.user("med_c11"))] == [a.id]
    assert {d.id for d in service.my_disputes(session=session, actor=med.user("operator"))} == {b.id}


def test_withdraw_and_decline_are_outcomes_with_notes(med):
    a = med.register()
    with pytest.raises(InvalidInput):
        med.fire(a, "decline")
    med.fire(a, "decline", note="属于刑事案件，移交公安")
    assert a.state is S.DECLINED and a.outcome == "declined"
    b = med.register()
    med.to_mediating(b)
    med.fire(b, "withdraw", by="med_c11", note="双方已自行和解")
    assert b.state is S.WITHDRAWN and b.outcome == "withdrawn"


def test_supervision_from_above_only(med):
    dispute = med.register()
    with pytest.raises(Forbidden):
        med.fire(dispute, "supervise", by="operator", note="请加快")
    med.fire(dispute, "supervise", by="leader", note="请加快办理")
    assert dispute.supervision_count == 1 and dispute.state is S.REGISTERED


def test_adding_a_party_later_is_audited(med, session):
    dispute = med.register()
    party = service.add_party(session=session, actor=med.user("operator"), origin=ORIGIN, dispute_id=dispute.id,
                              data=PartyIn(role="third_party", id_number=citizen_id(9), name="物业公司经理"))
    assert party.person_id is not None
    assert entries(session, dispute)[-1].action == "add_party"
    with pytest.raises(InvalidInput):
        service.add_party(session=session, actor=med.user("operator"), origin=ORIGIN, dispute_id=dispute.id,
                          data=PartyIn(role="applicant", person_id=party.person_id))


def test_every_transition_writes_one_history_entry(med, session):
    dispute = med.register()
    before = len(entries(session, dispute))
    med.fire(dispute, "assess")
    med.fire(dispute, "supervise", by="leader", note="督办")
    assert len(entries(session, dispute)) == before + 2
    last = entries(session, dispute)[-1]
    assert last.from_state == last.to_state == "assessed" and last.note == "督办"


def test_obligation_rows_belong_to_their_dispute(med, session):
    a = med.to_agreement(med.register(), ("甲", "付款", Decimal("10"), 5))
    b = med.to_agreement(med.register(), ("乙", "付款", Decimal("20"), 5))
    other = session.scalar(select(Obligation).where(Obligation.dispute_id == b.id))
    with pytest.raises(InvalidInput):
        med.fire(a, "perform", obligation_id=other.id)
    assert session.scalar(select(func.count(DisputeParty.id)).where(DisputeParty.dispute_id == a.id)) == 0
    assert isinstance(a, Dispute)
