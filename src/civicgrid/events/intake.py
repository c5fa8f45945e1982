"""One intake for every channel (多端口收集、一端口交办): locate, classify, route, idempotent."""

from __future__ import annotations

import datetime as dt
import secrets
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import Role, User
from civicgrid.db import reserve_id, utcnow
from civicgrid.errors import Conflict, Forbidden, InvalidInput
from civicgrid.events.models import Case, Category, Channel
from civicgrid.events.routing import route
from civicgrid.events.schemas import CaseCreate
from civicgrid.events.scope import visible_cases
from civicgrid.events.workflow import CaseState
from civicgrid.notifications.service import desk_operators, notify
from civicgrid.regions import service as regions
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.settings import get_settings

# Channels whose reporters are not staff: their reports are not bound to a staff scope.
PUBLIC_CHANNELS = {Channel.CITIZEN_WEB, Channel.OPEN311, Channel.HOTLINE, Channel.POLICE_110}
# Roles allowed to back-date a report (bulk history import, hotline hand-over).
BACKDATE_ROLES = {Role.ADMIN, Role.OPERATOR}


def _find_existing(session: Session, channel: Channel, key: str | None) -> Case | None:
    if not key:
        return None
    return session.scalar(select(Case).where(Case.channel == channel, Case.idempotency_key == key))


def _replay(session: Session, actor: User | None, case: Case) -> Case:
    """The case a repeated client key names, but only for its first sender or someone who may see it."""
    if actor is None or session.scalar(visible_cases(actor).where(Case.id == case.id)) is not None:
        return case
    first_sender = session.scalar(
        select(AuditEntry.actor_id).where(AuditEntry.entity == "case", AuditEntry.entity_id == str(case.id),
                                          AuditEntry.action == "intake")
    )
    if first_sender == actor.id:
        return case
    # Someone else's key: refuse without showing whose case it is.
    raise Conflict("该 client_key 已被另一条上报使用，请换一个", "This client_key was used by another report; use a new one")


def _category(session: Session, code: str) -> Category:
    category = session.scalar(select(Category).where(Category.code == code, Category.active.is_(True)))
    if category is None:
        raise InvalidInput(
            f"事件类别 {code} 不存在或已停用，请从类别列表中选择",
            f"Category {code} does not exist or is inactive; choose one from the category list",
        )
    return category


def _region_from_address(session: Session, address: str, within: str) -> Region | None:
    # Longest region name contained in the address, most detailed level first.
    candidates = session.scalars(
        select(Region).where(
            Region.path >= within,
            Region.path < within + "~",
            Region.level.in_([RegionLevel.GRID, RegionLevel.COMMUNITY, RegionLevel.STREET, RegionLevel.DISTRICT]),
        )
    )
    best: Region | None = None
    for region in candidates:
        if region.name_zh and region.name_zh in address:
            if best is None or (region.level.rank, len(region.name_zh)) > (best.level.rank, len(best.name_zh)):
                best = region
    return best


def _desk_for(session: Session, region: Region) -> Region:
    """The centre that registers a case located at ``region``: its community, or the region itself above that."""
    if region.level.rank <= RegionLevel.COMMUNITY.rank:
        return region
    node = region
    while node.level.rank > RegionLevel.COMMUNITY.rank and node.parent is not None:
        node = node.parent
    return node


def locate(
    *, session: Session, actor: User | None, data: CaseCreate
) -> tuple[Region, Region | None, str]:
    """(where the case is, its grid if any, location status) from position, address or region code."""
    # Public channels are not bound to the staff member's area (see intake_case), so neither is the address.
    bound = actor is not None and actor.role != Role.CITIZEN and data.channel not in PUBLIC_CHANNELS
    root = actor.scope_path if bound else "/"
    if data.lat is not None and data.lon is not None:
        loc = regions.locate_point(session=session, lon=data.lon, lat=data.lat)
        if loc.grid_id is not None:
            # With its community: the desk that registers the case (_desk_for) is read next.
            grid = session.get(Region, loc.grid_id, options=[joinedload(Region.parent)])
            assert grid is not None
            return grid, grid, "snapped" if loc.snapped else "inside"
        if not data.region_code:
            # Outside every grid: the case stays at the community or street that holds the point.
            area = regions.containing_area(session=session, lon=data.lon, lat=data.lat)
            if area is not None:
                return area, None, "outside"
    if data.region_code:
        region = session.scalar(select(Region).where(Region.code == data.region_code))
        if region is None:
            raise InvalidInput(f"区域代码 {data.region_code} 不存在", f"Region code {data.region_code} does not exist")
        grid = region if region.level in (RegionLevel.GRID, RegionLevel.MICRO_GRID) else None
        return region, grid, "outside" if data.lat is not None else "none"
    if data.address:
        region = _region_from_address(session, data.address, root if root != "/" else "")
        if region is not None:
            grid = region if region.level == RegionLevel.GRID else None
            return region, grid, "outside" if data.lat is not None else "none"
    if actor is not None and actor.role not in (Role.CITIZEN,):
        # Staff report from their own area when nothing else places the case.
        return actor.scope_region, None, "outside" if data.lat is not None else "none"
    raise InvalidInput(
        "无法确定事件位置：请在地图上选点、填写详细地址或选择所属区域",
        "Cannot place the case: give a map position, a detailed address or a region",
    )


def case_number(case: Case, tz: str) -> str:
    """The human case number: local registration date and a zero-padded id."""
    local = case.received_at.astimezone(ZoneInfo(tz))
    return f"{local:%Y%m%d}{case.id:07d}"


def intake_case(
    *, session: Session, actor: User | None, origin: Origin, data: CaseCreate
) -> tuple[Case, bool]:
    """Accept a report from any channel; returns (case, created). The same client key returns the same case."""
    existing = _find_existing(session, data.channel, data.client_key)
    if existing is not None:
        return _replay(session, actor, existing), False
    now = utcnow()
    if data.received_at is not None and data.received_at > now + dt.timedelta(minutes=5):
        raise InvalidInput("接报时间不能晚于当前时间", "received_at cannot be in the future")
    if data.received_at is not None and (actor is None or actor.role not in BACKDATE_ROLES):
        raise Forbidden("只有坐席或管理员可以补录历史接报时间", "Only operators and admins may back-date a report")
    category = _category(session, data.category_code)
    region, grid, status = locate(session=session, actor=actor, data=data)
    if (
        actor is not None
        and actor.role not in (Role.CITIZEN,)
        and data.channel not in PUBLIC_CHANNELS
        and not region.path.startswith(actor.scope_path)
    ):
        raise Forbidden(
            f"事件位置（{region.name_zh}）不在您的管辖范围内",
            f"The case location ({region.name_en or region.name_zh}) is outside your area",
        )
    desk = _desk_for(session, region)
    decision = route(session=session, category=category, region_path=region.path)
    title = data.title or data.description.replace("\n", " ")[:40]
    case = Case(
        channel=data.channel,
        idempotency_key=data.client_key,
        category_id=category.id,
        category=category,
        request_type=category.request_type,
        urgency=data.urgency,
        title=title,
        description=data.description,
        address=data.address,
        lat=data.lat,
        lon=data.lon,
        location_status=status,
        grid_id=grid.id if grid else None,
        region_id=region.id,
        region_path=region.path,
        level=desk.level,
        desk_region_id=desk.id,
        desk_path=desk.path,
        state=CaseState.REPORTED,
        suggested_unit_id=decision.unit_id,
        routing_rule_id=decision.rule_id,
        routing_reason=decision.reason,
        reporter_name=data.reporter_name,
        reporter_phone=data.reporter_phone,
        reporter_user_id=actor.id if actor is not None and actor.role in (Role.CITIZEN, Role.GRID_WORKER) else None,
        external_token=secrets.token_hex(8) if data.channel == Channel.OPEN311 else None,
        received_at=data.received_at or now,
    )
    case.id = reserve_id(session, Case.__table__)
    case.number = case_number(case, get_settings().timezone)
    if data.client_key:
        try:
            # A savepoint, so a concurrent request with the same key loses cleanly to the winner.
            with session.begin_nested():
                session.add(case)
                session.flush()
        except IntegrityError:
            existing = _find_existing(session, data.channel, data.client_key)
            if existing is not None:
                return _replay(session, actor, existing), False
            raise
    else:
        session.add(case)
    record(
        session=session,
        actor=actor,
        origin=origin,
        entity="case",
        entity_id=case.id,
        action="intake",
        to_state=CaseState.REPORTED.value,
        note=f"{category.name_zh}：{title}",
        after={"channel": data.channel.value, "category": category.code, "region": region.code,
               "location_status": status, "routing": decision.reason},
    )
    notify(
        session=session,
        users=desk_operators(session=session, desk_region_id=desk.id),
        kind="to_register",
        case_id=case.id,
        text_zh=f"新事件待立案：{title}",
        text_en=f"New report to register: {title}",
    )
    return case, True


