"""Clearance campaigns (矛盾纠纷清零行动, “3311”): for chosen communities and a period, the
list of unresolved disputes with owners and target dates, progress per community, and the
monthly “at least one resolved per community” check."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import User
from civicgrid.errors import InvalidInput, not_found
from civicgrid.mediation.models import Campaign, CampaignCommunity, CampaignItem, Dispute, Mediator
from civicgrid.mediation.schemas import CampaignCreate
from civicgrid.mediation.scope import dispute_scope
from civicgrid.mediation.workflow import TERMINAL, DisputeState
from civicgrid.regions.models import Region, RegionLevel, subtree_range
from civicgrid.settings import get_settings

# Off the list (销号): mediation produced its result, or the dispute left mediation.
CLEARED = frozenset(TERMINAL | {DisputeState.FOLLOWING_UP})
RESOLVED_OUTCOMES = ("agreement", "partial")
MAX_DAYS = 366


def _visible(actor: User):
    # A campaign is visible to those above it and to those in a community it covers.
    return or_(Campaign.region_path.startswith(actor.scope_path),
               select(CampaignCommunity.id).join(Region, Region.id == CampaignCommunity.region_id)
               .where(CampaignCommunity.campaign_id == Campaign.id,
                      Region.path.in_(_ancestor_paths(actor.scope_path))).exists())


def _ancestor_paths(path: str) -> list[str]:
    codes = [c for c in path.strip("/").split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def create_campaign(*, session: Session, actor: User, origin: Origin, data: CampaignCreate) -> Campaign:
    """Start a campaign over communities in the actor's area; its list is filled at once."""
    if data.ends_on < data.starts_on or (data.ends_on - data.starts_on).days > MAX_DAYS:
        raise InvalidInput("活动期限须在一年以内，且结束不早于开始", "The period must end after it starts, within a year")
    communities = list(session.scalars(select(Region).where(Region.id.in_(data.community_ids))))
    if len(communities) != len(set(data.community_ids)):
        raise InvalidInput("有社区不存在", "Some communities do not exist")
    for c in communities:
        if c.level is not RegionLevel.COMMUNITY or not c.path.startswith(actor.scope_path):
            raise InvalidInput(f"{c.name_zh}不是您辖区内的社区（村）", f"{c.name_en or c.name_zh} is not a community in your area")
    campaign = Campaign(name=data.name, kind=data.kind, region_path=actor.scope_path, starts_on=data.starts_on,
                        ends_on=data.ends_on, note=data.note, created_by_id=actor.id)
    session.add(campaign)
    session.flush()
    for c in communities:
        session.add(CampaignCommunity(campaign_id=campaign.id, region_id=c.id))
    session.flush()
    added = refresh_campaign(session=session, actor=actor, origin=origin, campaign_id=campaign.id, audit=False)
    record(session=session, actor=actor, origin=origin, entity="campaign", entity_id=campaign.id, action="create",
           after={"name": data.name, "kind": data.kind, "communities": [c.code for c in communities],
                  "starts_on": data.starts_on.isoformat(), "ends_on": data.ends_on.isoformat(), "items": added})
    return campaign


def get_campaign(*, session: Session, actor: User, campaign_id: int) -> Campaign:
    """A campaign the actor may see, else NotFound."""
    found = session.scalar(select(Campaign).where(Campaign.id == campaign_id, _visible(actor))) \
        if 1 <= campaign_id <= 2**62 else None
    if found is None:
        raise not_found("清零行动", "Campaign", campaign_id)
    return found


def list_campaigns(*, session: Session, actor: User) -> list[Campaign]:
    """Campaigns the actor may see, newest first."""
    return list(session.scalars(select(Campaign).where(_visible(actor)).order_by(Campaign.starts_on.desc(),
                                                                                 Campaign.id.desc())))


def communities_of(*, session: Session, campaign_id: int) -> list[Region]:
    """The campaign's communities, by code."""
    return sorted((cc.region for cc in session.scalars(
        select(CampaignCommunity).where(CampaignCommunity.campaign_id == campaign_id))), key=lambda r: r.code)


def refresh_campaign(*, session: Session, actor: User, origin: Origin, campaign_id: int, audit: bool = True) -> int:
    """Put every unresolved dispute of the campaign's communities on its list (idempotent); returns how many were added."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    listed = set(session.scalars(select(CampaignItem.dispute_id).where(CampaignItem.campaign_id == campaign.id)))
    added = 0
    for community in communities_of(session=session, campaign_id=campaign.id):
        low, high = subtree_range(community.path)
        for dispute in session.scalars(select(Dispute).where(
                Dispute.region_path >= low, Dispute.region_path < high, Dispute.state.not_in(list(CLEARED)))):
            if dispute.id in listed:
                continue
            owner = session.scalar(select(Mediator.user_id).where(Mediator.id == dispute.mediator_id)) \
                if dispute.mediator_id else None
            session.add(CampaignItem(campaign_id=campaign.id, dispute_id=dispute.id, community_id=community.id,
                                     owner_user_id=owner or dispute.created_by_id, target_on=campaign.ends_on))
            listed.add(dispute.id)
            added += 1
    session.flush()
    if audit and added:
        record(session=session, actor=actor, origin=origin, entity="campaign", entity_id=campaign.id,
               action="refresh", after={"added": added})
    return added


def update_item(*, session: Session, actor: User, origin: Origin, campaign_id: int, item_id: int,
                owner_user_id: int | None, target_on: dt.date | None) -> CampaignItem:
    """Set the owner and target date of one listed dispute (audited)."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    item = session.get(CampaignItem, item_id)
    if item is None or item.campaign_id != campaign.id:
        raise not_found("清零事项", "Campaign item", item_id)
    before = {"owner_user_id": item.owner_user_id, "target_on": item.target_on.isoformat()}
    if owner_user_id is not None:
        owner = session.get(User, owner_user_id)
        if owner is None or not owner.active:
            raise not_found("用户", "User", owner_user_id)
        item.owner_user_id = owner.id
    if target_on is not None:
        if not campaign.starts_on <= target_on <= campaign.ends_on:
            raise InvalidInput("目标日期须在活动期限内", "The target date must fall within the campaign")
        item.target_on = target_on
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="campaign", entity_id=campaign.id,
           action="update_item", before=before,
           after={"item_id": item.id, "owner_user_id": item.owner_user_id, "target_on": item.target_on.isoformat()})
    return item


@dataclass
class CommunityProgress:
    """One community's line on the campaign board."""

    community: Region
    total: int = 0
    cleared: int = 0
    resolved: int = 0
    overdue: int = 0
    # Month ("2026-11") → disputes resolved in that month (any dispute of the community).
    monthly: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float | None:
        return round(self.cleared / self.total, 4) if self.total else None

    @property
    def open(self) -> int:
        return self.total - self.cleared


@dataclass
class CampaignBoard:
    """The campaign board: per-community progress, the months checked, and the items."""

    campaign: Campaign
    communities: list[CommunityProgress]
    months: list[str]
    items: list[CampaignItem]

    def month_passed(self, progress: CommunityProgress, month: str) -> bool:
        """The monthly check: at least one dispute resolved in the community that month."""
        return progress.monthly.get(month, 0) >= 1


def _months(first: dt.date, last: dt.date) -> list[str]:
    months, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        months.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return months


def board(*, session: Session, actor: User, campaign_id: int, today: dt.date | None = None) -> CampaignBoard:
    """Progress per community (listed, cleared, resolved, overdue) and the monthly check up to today."""
    campaign = get_campaign(session=session, actor=actor, campaign_id=campaign_id)
    tz = ZoneInfo(get_settings().timezone)
    today = today or dt.datetime.now(tz).date()
    communities = communities_of(session=session, campaign_id=campaign.id)
    progress = {c.id: CommunityProgress(c) for c in communities}
    items = list(session.scalars(select(CampaignItem).join(Dispute, Dispute.id == CampaignItem.dispute_id)
                                 .where(CampaignItem.campaign_id == campaign.id, dispute_scope(actor))
                                 .order_by(CampaignItem.target_on, CampaignItem.id)))
    for item in items:
        p = progress[item.community_id]
        p.total += 1
        cleared = item.dispute.state in CLEARED
        p.cleared += cleared
        p.resolved += item.dispute.outcome in RESOLVED_OUTCOMES
        p.overdue += (not cleared) and item.target_on < today
    months = _months(campaign.starts_on, min(campaign.ends_on, today)) if today >= campaign.starts_on else []
    start = dt.datetime.combine(campaign.starts_on, dt.time(), tzinfo=tz)
    end = dt.datetime.combine(campaign.ends_on + dt.timedelta(days=1), dt.time(), tzinfo=tz)
    counts: dict[tuple[int, str], int] = defaultdict(int)
    for c in communities:
        low, high = subtree_range(c.path)
        for outcome_at in session.scalars(select(Dispute.outcome_at).where(
                Dispute.region_path >= low, Dispute.region_path < high, Dispute.outcome.in_(RESOLVED_OUTCOMES),
                Dispute.outcome_at >= start, Dispute.outcome_at < end)):
            counts[(c.id, outcome_at.astimezone(tz).strftime("%Y-%m"))] += 1
    for c in communities:
        progress[c.id].monthly = {m: counts.get((c.id, m), 0) for m in months}
    return CampaignBoard(campaign, [progress[c.id] for c in communities], months, items)
