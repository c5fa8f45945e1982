"""One intake for every channel (多端口收集、一端口交办): locate, classify, route, idempotent."""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import Role, User
from civicgrid.db import reserve_ids_for, utcnow
from civicgrid.errors import Conflict, DomainError, Forbidden, InvalidInput
from civicgrid.events.models import Case, Category, Channel
from civicgrid.events.routing import RoutingDecision, RoutingTable
from civicgrid.events.schemas import CaseCreate
from civicgrid.events.scope import visible_cases
from civicgrid.events.search import document_terms
from civicgrid.events.workflow import CaseState
from civicgrid.notifications.service import Note, desks_operator_ids, send
from civicgrid.regions import service as regions
from civicgrid.regions.geometry import Location
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
    *, session: Session, actor: User | None, data: CaseCreate, point: Location | None = None
) -> tuple[Region, Region | None, str]:
    """(where the case is, its grid if any, location status) from position, address or region code.

    ``point`` is the grid lookup of the report's position when the caller already made it.
    """
    # Public channels are not bound to the staff member's area (see intake_case), so neither is the address.
    bound = actor is not None and actor.role != Role.CITIZEN and data.channel not in PUBLIC_CHANNELS
    root = actor.scope_path if bound else "/"
    if data.lat is not None and data.lon is not None:
        loc = point or regions.locate_point(session=session, lon=data.lon, lat=data.lat)
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


@dataclass(frozen=True)
class IntakeRequest:
    """One report to take in: who sends it (None for anonymous public channels), from where, what."""

    actor: User | None
    origin: Origin
    data: CaseCreate


@dataclass(frozen=True)
class IntakeOutcome:
    """The case a request made (created) or named again (a repeated client key), or why it was refused."""

    case: Case | None = None
    created: bool = False
    error: DomainError | None = None


class _Batch:
    """What a group of reports needs from the database, each read once for the whole group."""

    def __init__(self, session: Session, requests: Sequence[IntakeRequest]) -> None:
        self.session = session
        codes = {r.data.category_code for r in requests}
        self.categories = {c.code: c for c in session.scalars(
            select(Category).where(Category.code.in_(codes), Category.active.is_(True)))}
        self.existing = self._existing(requests)
        self.places: list[Region] = []

    def _existing(self, requests: Sequence[IntakeRequest]) -> dict[tuple[Channel, str], Case]:
        keys = {(r.data.channel, r.data.client_key) for r in requests if r.data.client_key}
        if not keys:
            return {}
        rows = self.session.scalars(select(Case).where(
            Case.channel.in_({c for c, _ in keys}), Case.idempotency_key.in_({k for _, k in keys})))
        return {(c.channel, c.idempotency_key): c for c in rows if (c.channel, c.idempotency_key) in keys}

    def preload_places(self, region_ids: set[int]) -> None:
        """Regions the reports fell in, with their parents, into the session (``locate`` then reads no rows)."""
        if region_ids:
            # Held here: the identity map keeps objects only while something refers to them.
            self.places = list(self.session.scalars(
                select(Region).where(Region.id.in_(region_ids)).options(joinedload(Region.parent))))

    def category(self, code: str) -> Category:
        category = self.categories.get(code)
        if category is None:
            raise InvalidInput(
                f"事件类别 {code} 不存在或已停用，请从类别列表中选择",
                f"Category {code} does not exist or is inactive; choose one from the category list",
            )
        return category


@dataclass
class _Placed:
    """A report that passed every check, with where it goes and who owns it."""

    index: int
    request: IntakeRequest
    category: Category
    region: Region
    grid: Region | None
    status: str
    desk: Region


def _as_sent(request: IntakeRequest) -> IntakeRequest:
    """A citizen reports as themselves, through the citizen channel, whatever channel they name."""
    if request.actor is not None and request.actor.role == Role.CITIZEN and request.data.channel != Channel.CITIZEN_WEB:
        return IntakeRequest(request.actor, request.origin,
                             request.data.model_copy(update={"channel": Channel.CITIZEN_WEB}))
    return request


def _check(request: IntakeRequest, now: dt.datetime) -> None:
    data, actor = request.data, request.actor
    if data.received_at is not None and data.received_at > now + dt.timedelta(minutes=5):
        raise InvalidInput("接报时间不能晚于当前时间", "received_at cannot be in the future")
    if data.received_at is not None and (actor is None or actor.role not in BACKDATE_ROLES):
        raise Forbidden("只有坐席或管理员可以补录历史接报时间", "Only operators and admins may back-date a report")


def _check_area(actor: User | None, data: CaseCreate, region: Region) -> None:
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


def _new_case(placed: _Placed, decision: RoutingDecision, now: dt.datetime) -> Case:
    data, actor, category, region, grid = (placed.request.data, placed.request.actor, placed.category,
                                           placed.region, placed.grid)
    title = data.title or data.description.replace("\n", " ")[:40]
    return Case(
        channel=data.channel,
        idempotency_key=data.client_key,
        category_id=category.id,
        category=category,
        request_type=category.request_type,
        urgency=data.urgency,
        title=title,
        description=data.description,
        address=data.address,
        search_terms=document_terms(title, data.address, data.description),
        lat=data.lat,
        lon=data.lon,
        location_status=placed.status,
        grid_id=grid.id if grid else None,
        region_id=region.id,
        region_path=region.path,
        level=placed.desk.level,
        desk_region_id=placed.desk.id,
        desk_path=placed.desk.path,
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


def intake_cases(*, session: Session, requests: Sequence[IntakeRequest]) -> list[IntakeOutcome]:
    """Take in a group of reports in one flush; one outcome per request, in order.

    A report that fails a check gets its error and the others go on. Reading what the group
    needs once (categories, places, routing rules, desk operators) and writing it in one
    flush is what lets the API take reports in at volume (see ``intake_queue``). A client
    key repeated within the group names the first report's case. Two groups racing with the
    same key meet at the unique index: the flush raises ``IntegrityError`` for the whole
    group, and the caller takes the group in again one by one (``intake_case``).
    """
    now = utcnow()
    requests = [_as_sent(r) for r in requests]
    batch = _Batch(session, requests)
    outcomes: list[IntakeOutcome | None] = [None] * len(requests)
    located: list[tuple[int, IntakeRequest, Category]] = []
    for i, request in enumerate(requests):
        key = (request.data.channel, request.data.client_key)
        if request.data.client_key and key in batch.existing:
            try:
                outcomes[i] = IntakeOutcome(_replay(session, request.actor, batch.existing[key]), False)
            except DomainError as error:
                outcomes[i] = IntakeOutcome(error=error)
            continue
        try:
            _check(request, now)
            located.append((i, request, batch.category(request.data.category_code)))
        except DomainError as error:
            outcomes[i] = IntakeOutcome(error=error)

    placed: list[_Placed] = []
    positioned = [(i, r.data) for i, r, _ in located if r.data.lat is not None and r.data.lon is not None]
    points = dict(zip([i for i, _ in positioned], regions.locate_points(
        session=session, lons=[d.lon for _, d in positioned], lats=[d.lat for _, d in positioned])))
    batch.preload_places({loc.grid_id for loc in points.values() if loc.grid_id is not None})
    for i, request, category in located:
        try:
            region, grid, status = locate(session=session, actor=request.actor, data=request.data,
                                          point=points.get(i))
            _check_area(request.actor, request.data, region)
            placed.append(_Placed(i, request, category, region, grid, status, _desk_for(session, region)))
        except DomainError as error:
            outcomes[i] = IntakeOutcome(error=error)

    table = RoutingTable.current(session)
    operators = desks_operator_ids(session=session, desk_region_ids={p.desk.id for p in placed})
    first: dict[tuple[Channel, str], _Placed] = {}
    fresh: list[_Placed] = []
    for p in placed:
        key = (p.request.data.channel, p.request.data.client_key)
        if p.request.data.client_key and key in first:
            continue  # the same key twice in one group: the second names the first's case (below)
        if p.request.data.client_key:
            first[key] = p
        fresh.append(p)
    timezone = get_settings().timezone
    made: list[tuple[_Placed, RoutingDecision, Case]] = []
    # Every row the group writes carries its id, drawn in one round trip: the case number is
    # made from it, and rows with their ids are inserted without RETURNING (``reserve_ids_for``).
    ids = reserve_ids_for(session, {Case.__table__: len(fresh), AuditEntry.__table__: len(fresh)})
    audit_ids = iter(ids[AuditEntry.__table__])
    for p, case_id in zip(fresh, ids[Case.__table__]):
        decision = table.route(category=p.category, region_path=p.region.path)
        case = _new_case(p, decision, now)
        case.id = case_id
        case.number = case_number(case, timezone)
        session.add(case)
        made.append((p, decision, case))
    notes: list[Note] = []
    for p, decision, case in made:
        data = p.request.data
        entry = record(
            session=session,
            actor=p.request.actor,
            origin=p.request.origin,
            entity="case",
            entity_id=case.id,
            action="intake",
            to_state=CaseState.REPORTED.value,
            note=f"{p.category.name_zh}：{case.title}",
            after={"channel": data.channel.value, "category": p.category.code, "region": p.region.code,
                   "location_status": p.status, "routing": decision.reason},
        )
        entry.id = next(audit_ids)
        notes.append(Note(operators.get(p.desk.id, ()), "to_register", case.id,
                          f"新事件待立案：{case.title}", f"New report to register: {case.title}"))
        outcomes[p.index] = IntakeOutcome(case, True)
    # After the cases and their entries are flushed (the notes name the cases), in one statement.
    send(session=session, notes=notes)
    for p in placed:
        if outcomes[p.index] is None:
            # A key repeated within the group: the first report's case, on the same terms as a
            # key repeated later (its sender, or someone who may see it).
            winner = outcomes[first[(p.request.data.channel, p.request.data.client_key)].index]
            assert winner is not None and winner.case is not None
            try:
                outcomes[p.index] = IntakeOutcome(_replay(session, p.request.actor, winner.case), False)
            except DomainError as error:
                outcomes[p.index] = IntakeOutcome(error=error)
    assert all(o is not None for o in outcomes)
    return outcomes  # type: ignore[return-value]


def intake_case(
    *, session: Session, actor: User | None, origin: Origin, data: CaseCreate
) -> tuple[Case, bool]:
    """Accept one report from any channel; returns (case, created). The same client key returns the same case."""
    request = _as_sent(IntakeRequest(actor, origin, data))
    data = request.data
    if data.client_key:
        # A savepoint, so a concurrent request with the same key loses cleanly to the winner.
        try:
            with session.begin_nested():
                (outcome,) = intake_cases(session=session, requests=[request])
        except IntegrityError:
            existing = _find_existing(session, data.channel, data.client_key)
            if existing is None:
                raise
            return _replay(session, actor, existing), False
    else:
        (outcome,) = intake_cases(session=session, requests=[request])
    if outcome.error is not None:
        raise outcome.error
    assert outcome.case is not None
    return outcome.case, outcome.created
