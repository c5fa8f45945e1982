"""Statistics against hand-built data, clearance campaigns, and the overdue-obligation watch."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.errors import InvalidInput, NotFound
from civicgrid.mediation import campaigns, scheduler, stats
from civicgrid.mediation.schemas import CampaignCreate
from civicgrid.mediation.workflow import DisputeState as S
from civicgrid.notifications.models import Notification

from .conftest import ORIGIN, SHANGHAI, T0


@pytest.fixture
def book(med):
    """Seven disputes whose figures are known by construction (six in street 1, one in street 2)."""
    d = {}
    d[1] = med.to_agreement(med.register(region="grid111"), ("甲", "赔偿", Decimal("100"), 5), ("甲", "道歉", None, 2))
    for o in med.session.scalars(select(stats.Obligation).where(stats.Obligation.dispute_id == d[1].id)):
        med.fire(d[1], "perform", obligation_id=o.id)
    med.fire(d[1], "close")
    d[2] = med.to_agreement(med.register(region="grid112"), ("乙", "付款", Decimal("50"), 30))
    d[3] = med.register(region="grid121", type_code="LABOUR", by="operator12")
    med.fire(d[3], "assess", by="operator12")
    med.fire(d[3], "route", by="operator12", org_id=med.orgs["labour"].id)
    med.fire(d[3], "accept", by="med_lab")
    med.fire(d[3], "hold_session", by="med_lab", session=med.session_in())
    med.fire(d[3], "fail", by="med_lab", note="企业拒绝")
    med.fire(d[3], "refer_litigation", by="med_lab", court_case_number="（2026）云0102民初1号")
    d[4] = med.to_agreement(med.register(region="grid111", type_code="CONTRACT"), partial=True)
    d[5] = med.register(region="grid111", people=6, criminal_risk=True)
    d[6] = med.register(region="grid111")
    med.fire(d[6], "assess")
    med.fire(d[6], "escalate", note="需街道协调")
    med.fire(d[6], "route", by="street_op", org_id=med.orgs["s1"].id)
    d[7] = med.register(region="grid211", by="operator21")
    return d


def test_statistics_match_the_data(med, session, book):
    s = stats.dispute_stats(session=session, actor=med.user("street_op"))
    assert s.total == 6
    assert s.by_type == {"CONTRACT": 1, "LABOUR": 1, "NEIGHBOUR": 4}
    c11, c12 = (med.world.regions[k].code for k in ("community11", "community12"))
    assert s.by_area == {c11: 5, c12: 1}
    assert s.by_level == {"community": 3, "district": 1, "street": 1, "unrouted": 1}
    assert (s.mediated, s.agreements, s.partial, s.failed) == (4, 2, 1, 1)
    assert s.success_rate == 0.5
    assert (s.agreements_total, s.agreements_performed) == (3, 2)
    assert s.performance_rate == round(2 / 3, 4)
    assert (s.obligations_total, s.obligations_performed) == (3, 2)
    mediated = [book[i] for i in (1, 2, 3, 4)]
    expected_days = sum((d.outcome_at - d.received_at).total_seconds() for d in mediated) / 4 / 86400
    assert s.average_days == round(expected_days, 2)
    assert (s.escalated, s.escalations) == (1, 1)
    assert (s.referred_litigation, s.referred_arbitration) == (1, 0)
    assert (s.criminal_risk, s.group) == (1, 1)
    assert s.by_state == {"closed": 1, "following_up": 2, "referred": 1, "registered": 1, "routed": 1}


def test_statistics_follow_scope_region_and_dates(med, session, book):
    district = stats.dispute_stats(session=session, actor=med.user("district_op"))
    assert district.total == 7
    assert district.by_area == {med.world.regions["street1"].code: 6, med.world.regions["street2"].code: 1}
    community = stats.dispute_stats(session=session, actor=med.user("district_op"),
                                    region_id=med.world.regions["community12"].id)
    assert community.total == 1 and community.failed == 1 and community.success_rate == 0.0
    day = book[1].received_at.astimezone(SHANGHAI).date()
    received = [d.received_at.astimezone(SHANGHAI).date() for d in book.values()]
    next_day = day + dt.timedelta(days=1)
    assert stats.dispute_stats(session=session, actor=med.user("district_op"), date_from=next_day
                               ).total == sum(r >= next_day for r in received)
    assert stats.dispute_stats(session=session, actor=med.user("district_op"), date_from=day,
                               date_to=next_day).total == sum(r == day for r in received) > 0
    empty = stats.dispute_stats(session=session, actor=med.user("operator21"), region_id=None)
    assert empty.total == 1 and empty.success_rate is None and empty.performance_rate is None
    with pytest.raises(InvalidInput):
        stats.dispute_stats(session=session, actor=med.user("district_op"), date_from=day, date_to=day)
    with pytest.raises(NotFound):
        stats.dispute_stats(session=session, actor=med.user("operator"), region_id=med.world.regions["street2"].id)


def test_campaign_lists_open_disputes_and_tracks_progress_per_community(med, session, book):
    street_op = med.user("street_op")
    today = T0.date()
    campaign = campaigns.create_campaign(session=session, actor=street_op, origin=ORIGIN, data=CampaignCreate(
        name="冬季矛盾纠纷清零行动", kind="clearance", starts_on=today, ends_on=today + dt.timedelta(days=40),
        community_ids=[med.world.regions["community11"].id, med.world.regions["community12"].id]))
    board = campaigns.board(session=session, actor=street_op, campaign_id=campaign.id, today=today)
    listed = {i.dispute_id for i in board.items}
    assert listed == {book[5].id, book[6].id}  # the open ones; street 2's is not in the campaign
    c11 = next(p for p in board.communities if p.community.id == med.world.regions["community11"].id)
    assert (c11.total, c11.cleared, c11.open, c11.overdue) == (2, 0, 2, 0)
    # The month's check counts disputes resolved this month in the community: d1, d2, d4 here.
    month = today.strftime("%Y-%m")
    assert board.months == [month] and c11.monthly == {month: 3} and board.month_passed(c11, month)
    c12 = next(p for p in board.communities if p.community.id == med.world.regions["community12"].id)
    assert c12.total == 0 and not board.month_passed(c12, month)
    # Work one off the list; a new dispute joins on refresh, once.
    med.to_agreement(book[5])
    new = med.register(region="grid112")
    assert campaigns.refresh_campaign(session=session, actor=street_op, origin=ORIGIN, campaign_id=campaign.id) == 1
    assert campaigns.refresh_campaign(session=session, actor=street_op, origin=ORIGIN, campaign_id=campaign.id) == 0
    later = today + dt.timedelta(days=41)
    board = campaigns.board(session=session, actor=street_op, campaign_id=campaign.id, today=later)
    c11 = next(p for p in board.communities if p.community.id == med.world.regions["community11"].id)
    assert (c11.total, c11.cleared, c11.resolved, c11.overdue) == (3, 1, 1, 2)
    assert c11.rate == round(1 / 3, 4)
    assert new.id in {i.dispute_id for i in board.items}
    assert board.months == ["2026-11", "2026-12", "2027-01"]  # 23 Nov + 40 days ends on 2 Jan


def test_campaign_items_get_owners_and_targets_and_campaigns_are_scoped(med, session, book):
    street_op = med.user("street_op")
    today = med.now.astimezone(SHANGHAI).date()
    campaign = campaigns.create_campaign(session=session, actor=street_op, origin=ORIGIN, data=CampaignCreate(
        name="3311行动", kind="3311", starts_on=today, ends_on=today + dt.timedelta(days=30),
        community_ids=[med.world.regions["community11"].id]))
    item = campaigns.board(session=session, actor=street_op, campaign_id=campaign.id).items[0]
    campaigns.update_item(session=session, actor=street_op, origin=ORIGIN, campaign_id=campaign.id, item_id=item.id,
                          owner_user_id=med.user("med_c11").id, target_on=today + dt.timedelta(days=10))
    assert item.owner_user_id == med.user("med_c11").id
    with pytest.raises(InvalidInput):
        campaigns.update_item(session=session, actor=street_op, origin=ORIGIN, campaign_id=campaign.id,
                              item_id=item.id, owner_user_id=None, target_on=today + dt.timedelta(days=99))
    assert [c.id for c in campaigns.list_campaigns(session=session, actor=med.user("operator"))] == [campaign.id]
    assert campaigns.list_campaigns(session=session, actor=med.user("operator21")) == []
    with pytest.raises(NotFound):
        campaigns.get_campaign(session=session, actor=med.user("operator21"), campaign_id=campaign.id)
    with pytest.raises(InvalidInput):  # only communities of one's own area
        campaigns.create_campaign(session=session, actor=street_op, origin=ORIGIN, data=CampaignCreate(
            name="越界", starts_on=today, ends_on=today, community_ids=[med.world.regions["community21"].id]))


def test_overdue_obligations_alert_once(med, session):
    dispute = med.to_agreement(med.register(), ("李先生", "支付赔偿款", Decimal("2000"), 3))
    assert scheduler.scan(session=session, now=med.now).obligations_overdue == 0
    later = med.now + dt.timedelta(days=5)
    first = scheduler.scan(session=session, now=later)
    assert first.obligations_overdue == 1
    assert scheduler.scan(session=session, now=later + dt.timedelta(hours=1)).obligations_overdue == 0
    alerts = session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == med.user("med_c11").id, Notification.kind == "overdue"))
    assert alerts == 1
    assert session.scalar(select(func.count(AuditEntry.id)).where(
        AuditEntry.entity == "dispute", AuditEntry.entity_id == str(dispute.id),
        AuditEntry.action == "obligation_overdue")) == 1
    s = stats.dispute_stats(session=session, actor=med.user("operator"))
    assert s.obligations_overdue == 1


def test_disputes_past_their_deadline_alert_once(med, session):
    dispute = med.register()
    assert dispute.due_at is not None
    late = dispute.due_at + dt.timedelta(minutes=1)
    assert scheduler.scan(session=session, now=late).disputes_overdue == 1
    assert scheduler.scan(session=session, now=late).disputes_overdue == 0
    assert dispute.overdue
    med.fire(dispute, "assess")
    assert not dispute.overdue or dispute.state is S.ASSESSED
