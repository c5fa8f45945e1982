"""Petition service functions: registration with repeat and group detection, the one
``transition()`` over the declared workflow (with the 信访工作条例 deadlines), conversion
to a dispute or a case, and the queries behind the desk, the leader list and the board.

Every function takes keyword-only ``session``, ``actor`` and ``origin``, never commits,
and writes its audit entry in the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin, history, record
from civicgrid.auth.models import Role, User
from civicgrid.calendar.service import get_calendar
from civicgrid.db import utcnow
from civicgrid.errors import Forbidden, InvalidInput, not_found
from civicgrid.events.deadlines import fallback_note
from civicgrid.mediation.flowtable import Step
from civicgrid.mediation.parties import resolve_person
from civicgrid.mediation.schemas import DisputeFromCase
from civicgrid.mediation.service import desk_for
from civicgrid.notifications.service import desk_operators, notify, unit_handlers
from civicgrid.people import access as people_access, service as people
from civicgrid.people.identity import is_citizen_id
from civicgrid.people.models import Person
from civicgrid.petitions.documents import DocumentIn
from civicgrid.petitions.models import (
    GROUP_THRESHOLD,
    HIGHER_LEVELS,
    MAX_REPRESENTATIVES,
    HigherLevelVisit,
    Petition,
    Petitioner,
    PetitionLink,
    PetitionSubject,
    snapshot,
)
from civicgrid.petitions.schemas import (
    CaseFromPetition,
    HigherVisitIn,
    PetitionCreate,
)
from civicgrid.petitions.workflow import WORKFLOW, Clock, Guard, PetitionState
from civicgrid.regions.models import Region, subtree_range
from civicgrid.regions.service import within_region
from civicgrid.settings import get_settings
from civicgrid.units.models import Unit

# 信访工作条例 (2022): decide on acceptance within 15 days of receipt, answer within 60 days
# of acceptance, extend by at most 30 with approval; (re-)review requested within 30 days
# and decided within 30. Counted here in working days on the official calendar.
ACCEPT_DAYS = 15
ANSWER_DAYS = 60
MAX_EXTENSION_DAYS = 30
REVIEW_WINDOW_DAYS = 30
REVIEW_DAYS = 30
# Reminders go out this many working days before a deadline.
REMIND_DAYS = 3
# Same subject in the same community within this many days is shown as related.
SAME_SUBJECT_WINDOW_DAYS = 180
INTAKE_ROLES = {Role.OPERATOR, Role.ADMIN}


# -- scope and reading ----------------------------------------------------------------


def petition_scope(actor: User):
    """The WHERE clause restricting petitions to what ``actor`` may see."""
    if actor.role == Role.HANDLER:
        return Petition.unit_id == actor.unit_id if actor.unit_id else false()
    if actor.role == Role.CITIZEN:
        return false()
    low, high = subtree_range(actor.scope_path)
    area = and_(Petition.region_path >= low, Petition.region_path < high)
    if actor.role == Role.LEADER:
        return or_(area, Petition.leader_user_id == actor.id)
    return area


def get_petition(*, session: Session, actor: User, petition_id: int, for_update: bool = False) -> Petition:
    """The petition if ``actor`` may see it, else NotFound."""
    if not 1 <= petition_id <= 2**62:
        raise not_found("信访事项", "Petition", petition_id)
    stmt = select(Petition).where(petition_scope(actor), Petition.id == petition_id)
    if for_update:
        stmt = stmt.with_for_update(of=Petition)
    petition = session.scalar(stmt)
    if petition is None:
        raise not_found("信访事项", "Petition", petition_id)
    return petition


def guard_allows(guard: str, actor: User, petition: Petition) -> bool:
    """Whether the actor stands in the relation to the petition that ``guard`` names."""
    desk = actor.role != Role.HANDLER and petition.desk_path.startswith(actor.scope_path)
    unit = actor.unit_id is not None and petition.unit_id == actor.unit_id and actor.role == Role.HANDLER
    if guard == Guard.DESK:
        return desk
    if guard == Guard.UNIT:
        return unit
    if guard == Guard.UNIT_OR_DESK:
        return unit or desk
    if guard == Guard.HIGHER:
        return petition.region_path.startswith(actor.scope_path) and \
            actor.scope_region.level.rank < petition.level.rank
    raise AssertionError(guard)


def condition_holds(condition: str | None, petition: Petition, now: dt.datetime) -> bool:
    """The conditions that depend on the petition alone (parameters are checked on firing)."""
    if condition == "extension_days":
        return petition.extension_days_requested is None and petition.extension_days == 0
    if condition == "extension_pending":
        return petition.extension_days_requested is not None
    if condition == "review_window":
        return petition.review_window_until is not None and now <= petition.review_window_until
    return True


def allowed_actions(*, actor: User, petition: Petition, now: dt.datetime | None = None) -> list[Step]:
    """The steps ``actor`` may fire on ``petition`` now."""
    now = now or utcnow()
    return WORKFLOW.allowed(state=petition.state, role=actor.role,
                            guard_ok=lambda g: guard_allows(g, actor, petition),
                            condition_ok=lambda c: condition_holds(c, petition, now))


# -- subjects -------------------------------------------------------------------------


def list_subjects(*, session: Session, active_only: bool = True) -> list[PetitionSubject]:
    """Petition subjects in display order."""
    stmt = select(PetitionSubject).order_by(PetitionSubject.sort_order, PetitionSubject.code)
    if active_only:
        stmt = stmt.where(PetitionSubject.active.is_(True))
    return list(session.scalars(stmt))


def subject_by_code(*, session: Session, code: str) -> PetitionSubject:
    """The active subject with ``code``, else InvalidInput naming the choices."""
    found = session.scalar(select(PetitionSubject).where(PetitionSubject.code == code,
                                                         PetitionSubject.active.is_(True)))
    if found is None:
        raise InvalidInput(f"信访事项类别 {code} 不存在或已停用", f"Petition subject {code} does not exist or is inactive",
                           allowed=[s.code for s in list_subjects(session=session)])
    return found


def save_subject(*, session: Session, actor: User, origin: Origin, code: str, name_zh: str, name_en: str = "",
                 unit_id: int | None = None, sort_order: int = 0, active: bool = True) -> PetitionSubject:
    """Create or update a subject and the window it is routed to (configuration); audited."""
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise not_found("单位", "Unit", unit_id)
    found = session.scalar(select(PetitionSubject).where(PetitionSubject.code == code))
    before = {"name_zh": found.name_zh, "unit_id": found.unit_id, "active": found.active} if found else None
    if found is None:
        found = PetitionSubject(code=code)
        session.add(found)
    found.name_zh, found.name_en, found.unit_id = name_zh, name_en, unit_id
    found.sort_order, found.active = sort_order, active
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="petition_subject", entity_id=found.id,
           action="update" if before else "create", before=before,
           after={"code": code, "name_zh": name_zh, "unit_id": unit_id, "active": active})
    return found


# -- repeat and group detection ---------------------------------------------------------


@dataclass
class Related:
    """An earlier petition related to the one at hand, and why."""

    petition: Petition
    reasons: list[str] = field(default_factory=list)


def detect_related(*, session: Session, actor: User, person_ids: list[int], subject_id: int | None = None,
                   region_path: str | None = None, exclude_id: int | None = None,
                   now: dt.datetime | None = None, limit: int = 50, everywhere: bool = False,
                   group_name: str | None = None) -> list[Related]:
    """Earlier petitions by the same person (and on the same subject), on the same subject in the
    same community, or by the same group (a group visit sharing any of these people, or with
    the same group name); newest first.

    Within the actor's area, or with ``everywhere`` in every area (registration links across
    districts; what the actor is then shown of other areas is ``elsewhere_of``'s business)."""
    now = now or utcnow()
    found: dict[int, Related] = {}

    def add(p: Petition, reason: str) -> None:
        if exclude_id is not None and p.id == exclude_id:
            return
        item = found.setdefault(p.id, Related(p))
        if reason not in item.reasons:
            item.reasons.append(reason)

    scope = true() if everywhere else petition_scope(actor)
    if person_ids:
        rows = session.execute(
            select(Petition, Petitioner.person_id).join(Petitioner, Petitioner.petition_id == Petition.id)
            .where(scope, Petitioner.person_id.in_(person_ids)).order_by(Petition.received_at.desc()).limit(limit * 4))
        for p, _ in rows:
            add(p, "same_person")
            if subject_id is not None and p.subject_id == subject_id:
                add(p, "same_subject")  # the same person on the same matter again (同一信访事项)
            if p.is_group:
                add(p, "same_group")  # a group visit that one of these people joined
    if group_name and group_name.strip():
        rows = session.scalars(select(Petition).where(
            scope, Petition.group_name == group_name.strip(), Petition.is_group.is_(True))
            .order_by(Petition.received_at.desc()).limit(limit))
        for p in rows:
            add(p, "same_group")
    if subject_id is not None and region_path:
        community = _community_path(region_path)
        low, high = subtree_range(community)
        since = now - dt.timedelta(days=SAME_SUBJECT_WINDOW_DAYS)
        rows = session.scalars(select(Petition).where(
            scope, Petition.subject_id == subject_id, Petition.region_path >= low, Petition.region_path < high,
            Petition.received_at >= since).order_by(Petition.received_at.desc()).limit(limit))
        for p in rows:
            add(p, "same_subject")
    ordered = sorted(found.values(), key=lambda r: (r.petition.received_at, r.petition.id), reverse=True)
    return ordered[:limit]


def _community_path(region_path: str) -> str:
    # City/district/street/community are the first four codes of the path; deeper levels roll up.
    codes = [c for c in region_path.strip("/").split("/") if c]
    return "/" + "/".join(codes[:4]) + "/"


@dataclass
class Elsewhere:
    """A linked petition outside the actor's sight: that it exists, where (district and desk)
    and on which day, and why it is linked — never its number, title, request, state or people."""

    direction: str  # "earlier" | "later" (relative to the petition at hand; "earlier" in a lookup)
    reasons: list[str]
    area_code: str
    area_zh: str
    area_en: str
    received_on: dt.date


def _visible_ids(session: Session, actor: User, ids: set[int]) -> set[int]:
    if not ids:
        return set()
    return set(session.scalars(select(Petition.id).where(petition_scope(actor), Petition.id.in_(list(ids)))))


def _areas_of(session: Session, petitions: list[Petition]) -> dict[int, tuple[str, str, str]]:
    """petition id → (desk code, 中文 area, English area): the district and the desk that received it."""
    codes: set[str] = set()
    for p in petitions:
        path = [c for c in p.desk_path.strip("/").split("/") if c]
        codes.update(path[1:2] + path[-1:])
    regions = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(codes)))} if codes else {}
    out: dict[int, tuple[str, str, str]] = {}
    for p in petitions:
        path = [c for c in p.desk_path.strip("/").split("/") if c]
        chain = [regions[c] for c in dict.fromkeys(path[1:2] + path[-1:]) if c in regions]
        out[p.id] = (path[-1] if path else "", " ".join(r.name_zh for r in chain),
                     " / ".join(r.name_en or r.name_zh for r in chain))
    return out


def _local_day(instant: dt.datetime) -> dt.date:
    return instant.astimezone(ZoneInfo(get_settings().timezone)).date()


def _elsewhere(session: Session, rows: list[tuple[Petition, str, list[str]]]) -> list[Elsewhere]:
    areas = _areas_of(session, [p for p, _, _ in rows])
    items = [Elsewhere(direction, reasons, *areas[p.id], received_on=_local_day(p.received_at))
             for p, direction, reasons in rows]
    return sorted(items, key=lambda e: e.received_on, reverse=True)


def elsewhere_of(*, session: Session, actor: User, petition: Petition, limit: int = 50) -> list[Elsewhere]:
    """The petitions linked to this one (earlier or later) that lie outside the actor's sight,
    reduced to where and when: a desk learns a repeat exists in another area, not its contents."""
    links = session.execute(
        select(PetitionLink.related_id, PetitionLink.petition_id, PetitionLink.reason)
        .where(or_(PetitionLink.petition_id == petition.id, PetitionLink.related_id == petition.id))
        .order_by(PetitionLink.id)).all()
    reasons: dict[tuple[int, str], list[str]] = defaultdict(list)
    for related_id, petition_id, reason in links:
        key = (related_id, "earlier") if petition_id == petition.id else (petition_id, "later")
        if reason not in reasons[key]:
            reasons[key].append(reason)
    ids = {other for other, _ in reasons}
    hidden = ids - _visible_ids(session, actor, ids)
    if not hidden:
        return []
    found = {p.id: p for p in session.scalars(select(Petition).where(Petition.id.in_(list(hidden))))}
    rows = [(found[other], direction, r) for (other, direction), r in reasons.items() if other in found]
    return _elsewhere(session, rows)[:limit]


def later_of(*, session: Session, actor: User, petition: Petition) -> list[Related]:
    """Later petitions that were linked to this one on their registration (those the actor may see)."""
    return _linked(session, actor, petition, this=PetitionLink.related_id, other=PetitionLink.petition_id)


@dataclass
class Lookup:
    """What the desk learns while typing an ID number or a name."""

    persons: list[Person]
    history: list[Related]
    petition_counts: dict[int, int]
    # Petitions of these persons in other areas: where and when only.
    elsewhere: list[Elsewhere] = field(default_factory=list)
    elsewhere_counts: dict[int, int] = field(default_factory=dict)


def lookup(*, session: Session, actor: User, id_number: str | None = None, name: str | None = None,
           limit: int = 10) -> Lookup:
    """Known persons for a (complete) ID number or a name prefix, their petition history in the
    actor's area, and where and when they petitioned elsewhere (no details of other areas)."""
    persons: list[Person] = []
    number = (id_number or "").strip()
    if number and is_citizen_id(number):
        person = people.find_by_document(session=session, kind="resident", number=number)
        if person is not None:
            persons = [person]
    elif name and len(name.strip()) >= 2 and people_access.may(actor, "read"):
        persons = list(session.scalars(people.visible_persons(actor).where(
            people.name_prefix(session, name.strip())).order_by(Person.name, Person.id).limit(limit)))
    ids = [p.id for p in persons]
    counts: dict[int, int] = defaultdict(int)
    if ids:
        for person_id, n in session.execute(
                select(Petitioner.person_id, func.count()).join(Petition, Petition.id == Petitioner.petition_id)
                .where(petition_scope(actor), Petitioner.person_id.in_(ids)).group_by(Petitioner.person_id)):
            counts[person_id] = n
    related = detect_related(session=session, actor=actor, person_ids=ids) if ids else []
    elsewhere: list[Elsewhere] = []
    elsewhere_counts: dict[int, int] = defaultdict(int)
    if ids:
        everywhere = detect_related(session=session, actor=actor, person_ids=ids, everywhere=True)
        seen = {r.petition.id for r in related}
        hidden = {r.petition.id for r in everywhere if r.petition.id not in seen}
        hidden -= _visible_ids(session, actor, hidden)
        rows = [(r.petition, "earlier", r.reasons) for r in everywhere if r.petition.id in hidden]
        elsewhere = _elsewhere(session, rows)
        if hidden:
            for person_id, n in session.execute(
                    select(Petitioner.person_id, func.count()).where(
                        Petitioner.petition_id.in_(list(hidden)), Petitioner.person_id.in_(ids))
                    .group_by(Petitioner.person_id)):
                elsewhere_counts[person_id] = n
    return Lookup(persons=persons, history=related, petition_counts=dict(counts), elsewhere=elsewhere,
                  elsewhere_counts=dict(elsewhere_counts))


# -- registration ---------------------------------------------------------------------


def petition_number(petition: Petition) -> str:
    """The human number: ``XF`` + local registration date + zero-padded id."""
    local = petition.received_at.astimezone(ZoneInfo(get_settings().timezone))
    return f"XF{local:%Y%m%d}{petition.id:06d}"


def _find_by_key(session: Session, key: str | None) -> Petition | None:
    if not key:
        return None
    return session.scalar(select(Petition).where(Petition.idempotency_key == key))


def _set_due(session: Session, petition: Petition, due: dt.datetime | None, kind: str | None) -> None:
    petition.due_at, petition.due_kind = due, kind
    petition.due_soon = petition.overdue = False


def _add_working_days(session: Session, start: dt.datetime, days: int, petition: Petition) -> dt.datetime:
    deadline = get_calendar(session=session).add_working_days(start, days)
    note = fallback_note(deadline.fallback_years)
    if note:
        petition.calendar_note = note
    return deadline.due


def register_petition(*, session: Session, actor: User, origin: Origin, data: PetitionCreate,
                      now: dt.datetime | None = None,
                      documents: list[DocumentIn] | None = None) -> tuple[Petition, bool]:
    """Register a visit, letter or online petition with its documents (信访材料); returns
    (petition, created). Idempotent by key.

    Repeat detection looks in every area: the same person, the same group or the same person
    on the same subject at a desk of another district is linked too; what this desk is then
    shown of that other area is only where and when (``elsewhere_of``)."""
    from civicgrid.petitions import documents as petition_documents

    existing = _find_by_key(session, data.client_key)
    if existing is not None:
        return existing, False
    if actor.role not in INTAKE_ROLES:
        raise Forbidden("只有信访接待人员（综治中心坐席）可以登记信访", "Only reception staff may register petitions")
    documents = [d for d in (documents or []) if d.content or d.filename]
    if len(documents) > petition_documents.MAX_AT_REGISTRATION:
        raise InvalidInput(f"登记时最多上传 {petition_documents.MAX_AT_REGISTRATION} 份材料",
                           f"At most {petition_documents.MAX_AT_REGISTRATION} documents at registration")
    for doc in documents:  # refuse a bad file before anything is written
        petition_documents.check_document(doc)
    now = now or utcnow()
    if data.received_at is not None and data.received_at > now + dt.timedelta(minutes=5):
        raise InvalidInput("登记时间不能晚于当前时间", "received_at cannot be in the future")
    subject = subject_by_code(session=session, code=data.subject_code)
    region = actor.scope_region
    if data.region_code:
        region = session.scalar(select(Region).where(Region.code == data.region_code))
        if region is None or not region.path.startswith(actor.scope_path):
            raise InvalidInput(f"区域代码 {data.region_code} 不存在或不在您的管辖范围内",
                               f"Region {data.region_code} does not exist or is outside your area")
    representatives = sum(1 for p in data.petitioners if p.is_representative)
    if representatives > MAX_REPRESENTATIVES:
        raise InvalidInput(f"集体访推选代表不超过 {MAX_REPRESENTATIVES} 人",
                           f"A group chooses at most {MAX_REPRESENTATIVES} representatives")
    head_count = max(data.head_count, len(data.petitioners))
    desk = desk_for(region)
    received = data.received_at or now
    petition = Petition(
        idempotency_key=data.client_key, form=data.form, subject_id=subject.id, subject=subject,
        title=data.title or data.request.replace("\n", " ")[:40], request=data.request, facts=data.facts,
        level_visited=data.level_visited, head_count=head_count, is_group=head_count >= GROUP_THRESHOLD,
        group_name=data.group_name, region_id=region.id, region_path=region.path, desk_region_id=desk.id,
        desk_path=desk.path, level=desk.level, state=PetitionState.REGISTERED, received_at=received,
        created_by_id=actor.id,
    )
    try:
        with session.begin_nested():
            session.add(petition)
            session.flush()
    except IntegrityError:
        existing = _find_by_key(session, data.client_key)
        if existing is not None:
            return existing, False
        raise
    petition.number = petition_number(petition)
    petition.accept_due_at = _add_working_days(session, received, ACCEPT_DAYS, petition)
    _set_due(session, petition, petition.accept_due_at, "accept")
    person_ids: list[int] = []
    for p in data.petitioners:
        person = resolve_person(session=session, actor=actor, origin=origin, region=region, person_id=p.person_id,
                                id_number=p.id_number, name=p.name, phone=p.phone)
        if person.id in person_ids:
            raise InvalidInput("同一信访人不能重复登记", "The same petitioner is listed twice")
        person_ids.append(person.id)
        session.add(Petitioner(petition_id=petition.id, person_id=person.id,
                               is_representative=p.is_representative or len(data.petitioners) == 1))
    session.flush()
    related = detect_related(session=session, actor=actor, person_ids=person_ids, subject_id=subject.id,
                             region_path=region.path, exclude_id=petition.id, now=received, everywhere=True,
                             group_name=data.group_name)
    for r in related:
        for reason in r.reasons:
            session.add(PetitionLink(petition_id=petition.id, related_id=r.petition.id, reason=reason))
    petition.repeat_count = sum(1 for r in related if "same_person" in r.reasons)
    elsewhere = {r.petition.id for r in related} - _visible_ids(session, actor, {r.petition.id for r in related})
    if data.level_visited in HIGHER_LEVELS:
        local_day = received.astimezone(ZoneInfo(get_settings().timezone)).date()
        session.add(HigherLevelVisit(petition_id=petition.id, level=data.level_visited, visited_on=local_day,
                                     recorded_by_id=actor.id, note="登记时记录"))
        petition.higher_visits_count = 1
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="petition", entity_id=petition.id, action="intake",
           to_state=petition.state.value, note=f"{subject.name_zh}：{petition.title}",
           after={"form": data.form, "subject": subject.code, "region": region.code, "head_count": head_count,
                  "is_group": petition.is_group, "petitioners": len(person_ids),
                  "repeat_count": petition.repeat_count, "related": [r.petition.id for r in related],
                  "related_elsewhere": sorted(elsewhere), "documents": len(documents),
                  "level_visited": data.level_visited, "accept_due_at": petition.accept_due_at.isoformat()})
    for doc in documents:
        petition_documents.attach(session=session, actor=actor, origin=origin, petition=petition, doc=doc,
                                  now=received)
    notify_about(session, desk_operators(session=session, desk_region_id=desk.id), "to_register", petition,
            "新信访事项待分流" + ("（重复信访）" if petition.repeat_count else ""), "New petition to triage")
    return petition, True


# -- the one transition ---------------------------------------------------------------


@dataclass
class PetitionParams:
    """What an action may carry besides its name."""

    note: str | None = None
    unit_id: int | None = None
    leader_user_id: int | None = None
    extension_days: int | None = None
    higher_visit: HigherVisitIn | None = None
    dispute: DisputeFromCase | None = None
    case: CaseFromPetition | None = None


def transition(*, session: Session, actor: User, origin: Origin, petition_id: int, action: str,
               params: PetitionParams | None = None, now: dt.datetime | None = None) -> Petition:
    """Fire ``action`` on a petition, checking the workflow table; audited in the same transaction."""
    params = params or PetitionParams()
    now = now or utcnow()
    petition = get_petition(session=session, actor=actor, petition_id=petition_id, for_update=True)
    s = WORKFLOW.check(action=action, state=petition.state, role=actor.role,
                       guard_ok=lambda g: guard_allows(g, actor, petition),
                       condition_ok=lambda c: condition_holds(c, petition, now), note=params.note)
    before = snapshot(petition)
    from_state = petition.state
    extra = _apply(session=session, actor=actor, origin=origin, petition=petition, s=s, params=params, now=now)
    _clock(session, petition, s, params, now)
    if s.target is not None:
        petition.state = s.target
    if petition.state in WORKFLOW.terminal and petition.closed_at is None:
        petition.closed_at = now
    petition.updated_at = now
    record(session=session, actor=actor, origin=origin, entity="petition", entity_id=petition.id, action=s.action,
           from_state=from_state.value, to_state=petition.state.value, note=params.note, before=before,
           after=snapshot(petition) | extra)
    session.flush()
    return petition


def _clock(session: Session, petition: Petition, s: Step, params: PetitionParams, now: dt.datetime) -> None:
    if s.clock is None:
        return
    if s.clock == Clock.ANSWER:
        petition.answer_due_at = _add_working_days(session, now, ANSWER_DAYS, petition)
        _set_due(session, petition, petition.answer_due_at, "answer")
    elif s.clock == Clock.EXTEND:
        assert petition.answer_due_at is not None
        petition.answer_due_at = _add_working_days(session, petition.answer_due_at, petition.extension_days, petition)
        _set_due(session, petition, petition.answer_due_at, "answer")
    elif s.clock == Clock.REVIEW_WINDOW:
        petition.review_window_until = _add_working_days(session, now, REVIEW_WINDOW_DAYS, petition)
        _set_due(session, petition, None, None)
    elif s.clock == Clock.REVIEW:
        kind = "re_review" if s.action == "request_re_review" else "review"
        _set_due(session, petition, _add_working_days(session, now, REVIEW_DAYS, petition), kind)
    elif s.clock == Clock.STOP:
        _set_due(session, petition, None, None)


def _apply(*, session: Session, actor: User, origin: Origin, petition: Petition, s: Step, params: PetitionParams,
           now: dt.datetime) -> dict[str, Any]:
    """The effects of each action beyond state and clock; returns extra fields for the history."""
    a = s.action
    if a == "triage":
        unit_id = params.unit_id or petition.subject.unit_id
        unit = session.get(Unit, unit_id) if unit_id else None
        if unit is None or not unit.active:
            raise InvalidInput(*WORKFLOW.conditions["unit"])
        petition.unit_id = unit.id
        petition.triaged_at = now
        notify_about(session, unit_handlers(session=session, unit_id=unit.id), "assigned", petition,
                "新转送信访事项", "Petition sent to your window")
        return {"unit": unit.code}
    if a == "return":
        petition.unit_id = None
        petition.triaged_at = None
        notify_about(session, desk_operators(session=session, desk_region_id=petition.desk_region_id), "returned",
                petition, f"信访事项被退回（{params.note}）", f"Petition returned ({params.note})")
        return {}
    if a == "accept":
        petition.accepted_at = now
        return {"accepted_late": bool(petition.accept_due_at and now > petition.accept_due_at)}
    if a == "not_accept":
        petition.not_accepted_reason = params.note
        return {}
    if a == "request_extension":
        days = params.extension_days
        if not days or not 1 <= days <= MAX_EXTENSION_DAYS:
            raise InvalidInput(f"请填写延期天数（1–{MAX_EXTENSION_DAYS} 日）",
                               f"Give the extension in days (1–{MAX_EXTENSION_DAYS})")
        petition.extension_days_requested = days
        notify_about(session, desk_operators(session=session, desk_region_id=petition.desk_region_id), "extension",
                petition, f"申请延期 {days} 日", f"Extension of {days} days requested")
        return {"extension_days": days}
    if a == "approve_extension":
        petition.extension_days = petition.extension_days_requested or 0
        petition.extension_days_requested = None
        notify_about(session, unit_handlers(session=session, unit_id=petition.unit_id), "extension", petition,
                "延期已批准", "Extension approved")
        return {"extension_days": petition.extension_days}
    if a == "deny_extension":
        petition.extension_days_requested = None
        notify_about(session, unit_handlers(session=session, unit_id=petition.unit_id), "extension", petition,
                "延期被驳回", "Extension denied")
        return {}
    if a == "answer":
        petition.answered_at = now
        petition.answer = params.note
        return {"answered_late": bool(petition.answer_due_at and now > petition.answer_due_at)}
    if a == "request_review":
        petition.review_requested_at = now
        return {}
    if a == "decide_review":
        petition.reviewed_at = now
        petition.review_opinion = params.note
        return {}
    if a == "request_re_review":
        petition.re_review_requested_at = now
        return {}
    if a == "decide_re_review":
        petition.re_reviewed_at = now
        petition.re_review_opinion = params.note
        return {}
    if a == "close":
        return {}
    if a == "assign_leader":
        leader = session.get(User, params.leader_user_id) if params.leader_user_id else None
        if leader is None or leader.role != Role.LEADER or not leader.active \
                or not petition.region_path.startswith(leader.scope_path):
            raise InvalidInput(*WORKFLOW.conditions["leader"])
        petition.leader_user_id = leader.id
        notify_about(session, [leader], "assigned", petition, "领导包案", "You own this petition")
        return {"leader": leader.display_name}
    if a == "to_dispute":
        return _to_dispute(session, actor, origin, petition, params, now)
    if a == "to_case":
        return _to_case(session, actor, origin, petition, params)
    if a == "record_higher_visit":
        visit = params.higher_visit
        if visit is None:
            raise InvalidInput("请填写越级走访的层级和日期", "Give the level and date of the visit")
        session.add(HigherLevelVisit(petition_id=petition.id, level=visit.level, visited_on=visit.visited_on,
                                     place=visit.place, note=params.note or "", recorded_by_id=actor.id))
        petition.higher_visits_count += 1
        return {"level": visit.level, "visited_on": visit.visited_on.isoformat()}
    if a == "supervise":
        petition.supervision_count += 1
        users = unit_handlers(session=session, unit_id=petition.unit_id) + desk_operators(
            session=session, desk_region_id=petition.desk_region_id)
        if petition.leader_user_id:
            leader = session.get(User, petition.leader_user_id)
            users += [leader] if leader else []
        notify_about(session, users, "supervised", petition, f"督办（{params.note}）", f"Supervision ({params.note})")
        return {}
    raise AssertionError(a)


def _to_dispute(session: Session, actor: User, origin: Origin, petition: Petition, params: PetitionParams,
                now: dt.datetime) -> dict[str, Any]:
    from civicgrid.mediation.models import DisputeParty
    from civicgrid.mediation.schemas import DisputeCreate
    from civicgrid.mediation.service import register_dispute

    if params.dispute is None:
        raise InvalidInput(*WORKFLOW.conditions["dispute_type"])
    region = session.get(Region, petition.region_id)
    description = petition.request + (f"\n\n{petition.facts}" if petition.facts else "")
    data = DisputeCreate(type_code=params.dispute.type_code, title=petition.title, description=description,
                         amount=params.dispute.amount, people_count=max(petition.head_count, 1),
                         risk_level=params.dispute.risk_level, criminal_risk=params.dispute.criminal_risk)
    dispute, _ = register_dispute(session=session, actor=actor, origin=origin, data=data, source="petition",
                                  petition_id=petition.id, region=region, now=now)
    # The petitioners are the applicants; they were matched to the base data at registration.
    for p in petitioners_of(session=session, petition_id=petition.id):
        session.add(DisputeParty(dispute_id=dispute.id, role="applicant", person_id=p.person_id))
    session.flush()
    return {"dispute_id": dispute.id, "dispute_number": dispute.number}


def _to_case(session: Session, actor: User, origin: Origin, petition: Petition,
             params: PetitionParams) -> dict[str, Any]:
    from civicgrid.events.intake import intake_case
    from civicgrid.events.models import Channel
    from civicgrid.events.schemas import CaseCreate

    if params.case is None:
        raise InvalidInput(*WORKFLOW.conditions["category"])
    region = session.get(Region, petition.region_id)
    assert region is not None
    names = [p.person.name for p in petitioners_of(session=session, petition_id=petition.id)]
    case, _ = intake_case(session=session, actor=actor, origin=origin, data=CaseCreate(
        channel=Channel.PETITION, category_code=params.case.category_code, title=petition.title,
        description=petition.request, region_code=region.code, reporter_name="、".join(names)[:100] or None,
        client_key=f"petition-{petition.id}"))
    petition.case_id = case.id
    return {"case_id": case.id, "case_number": case.number}


def notify_about(session: Session, users: list[User], kind: str, petition: Petition, zh: str, en: str) -> None:
    """Tell ``users`` about the record in their inbox (number and title in both languages)."""
    notify(session=session, users=users, kind=kind, case_id=None,
           text_zh=f"{zh}：{petition.number} {petition.title}"[:300],
           text_en=f"{en}: {petition.number} {petition.title}"[:300])


def responsible_users(*, session: Session, petition: Petition) -> list[User]:
    """Who answers for a petition now: its window's handlers, the owning leader and the desk."""
    users = unit_handlers(session=session, unit_id=petition.unit_id) + desk_operators(
        session=session, desk_region_id=petition.desk_region_id)
    if petition.leader_user_id:
        leader = session.get(User, petition.leader_user_id)
        if leader is not None and leader.active:
            users.append(leader)
    return users


# -- queries --------------------------------------------------------------------------


def petitioners_of(*, session: Session, petition_id: int) -> list[Petitioner]:
    """The petitioners, representatives first."""
    return petitioners_of_many(session=session, petition_ids=[petition_id]).get(petition_id, [])


def petitioners_of_many(*, session: Session, petition_ids: Collection[int]) -> dict[int, list[Petitioner]]:
    """``petitioners_of`` for a page of petitions, in one read."""
    found: dict[int, list[Petitioner]] = defaultdict(list)
    if petition_ids:
        for row in session.scalars(select(Petitioner).where(Petitioner.petition_id.in_(list(petition_ids)))):
            found[row.petition_id].append(row)
    return {pid: sorted(rows, key=lambda p: (not p.is_representative, p.id)) for pid, rows in found.items()}


def related_of(*, session: Session, actor: User, petition: Petition) -> list[Related]:
    """The earlier petitions linked to this one at registration (those the actor may see)."""
    return _linked(session, actor, petition, this=PetitionLink.petition_id, other=PetitionLink.related_id)


def _linked(session: Session, actor: User, petition: Petition, *, this: Any, other: Any) -> list[Related]:
    """The petitions at the ``other`` end of the links whose ``this`` end is ``petition``, each with the
    reasons it was linked, those the actor may see, latest received first."""
    links = session.execute(select(other, PetitionLink.reason)
                            .where(this == petition.id).order_by(PetitionLink.id)).all()
    by_id: dict[int, list[str]] = defaultdict(list)
    for other_id, reason in links:
        by_id[other_id].append(reason)
    if not by_id:
        return []
    rows = session.scalars(select(Petition).where(petition_scope(actor), Petition.id.in_(list(by_id))))
    return sorted((Related(p, by_id[p.id]) for p in rows), key=lambda r: r.petition.received_at, reverse=True)


def higher_visits_of(*, session: Session, petition_id: int) -> list[HigherLevelVisit]:
    """Visits to higher levels, oldest first."""
    return list(session.scalars(select(HigherLevelVisit).where(HigherLevelVisit.petition_id == petition_id)
                                .order_by(HigherLevelVisit.visited_on, HigherLevelVisit.id)))


@dataclass
class LinkedOutcome:
    """The dispute or case a petition became, and where it stands."""

    kind: str  # "dispute" | "case"
    id: int
    number: str | None
    state: str
    label: tuple[str, str]


def linked_outcome(*, session: Session, petition: Petition) -> LinkedOutcome | None:
    """What became of a transferred petition: its dispute's or its case's state."""
    return linked_outcomes(session=session, petitions=[petition]).get(petition.id)


def linked_outcomes(*, session: Session, petitions: Sequence[Petition]) -> dict[int, LinkedOutcome]:
    """``linked_outcome`` for a page of petitions, in two reads; petitions that became nothing are left out."""
    from civicgrid.events.models import Case
    from civicgrid.events.workflow import STATE_LABELS as CASE_LABELS
    from civicgrid.mediation.models import Dispute
    from civicgrid.mediation.workflow import STATE_LABELS as DISPUTE_LABELS

    if not petitions:
        return {}
    found: dict[int, LinkedOutcome] = {}
    for dispute in session.scalars(select(Dispute).where(Dispute.petition_id.in_([p.id for p in petitions]))
                                   .order_by(Dispute.id)):
        found.setdefault(dispute.petition_id, LinkedOutcome("dispute", dispute.id, dispute.number,
                                                            dispute.state.value, DISPUTE_LABELS[dispute.state]))
    case_ids = {p.case_id for p in petitions if p.case_id is not None and p.id not in found}
    if case_ids:
        cases = {c.id: c for c in session.scalars(select(Case).where(Case.id.in_(list(case_ids))))}
        for petition in petitions:
            case = cases.get(petition.case_id) if petition.id not in found else None
            if case is not None:
                found[petition.id] = LinkedOutcome("case", case.id, case.number, case.state.value,
                                                   CASE_LABELS[case.state])
    return found


def timeline(*, session: Session, actor: User, petition_id: int) -> list[AuditEntry]:
    """The petition's append-only history, oldest first."""
    petition = get_petition(session=session, actor=actor, petition_id=petition_id)
    return history(session=session, entity="petition", entity_id=petition.id)


@dataclass
class PetitionFilter:
    """Filters of the petition list (pages and API share it)."""

    state: list[str] | None = None
    subject_code: str | None = None
    region_id: int | None = None
    unit_id: int | None = None
    led_by_me: bool = False
    overdue: bool | None = None
    repeat: bool | None = None
    group: bool | None = None
    q: str | None = None


def list_petitions(*, session: Session, actor: User, filters: PetitionFilter, page: int = 1,
                   size: int = 20) -> tuple[list[Petition], int]:
    """(petitions, total): newest first, scoped to the actor."""
    page, size = max(page, 1), min(max(size, 1), 200)
    where = [petition_scope(actor)]
    if filters.state:
        where.append(Petition.state.in_(filters.state))
    if filters.subject_code:
        where.append(Petition.subject_id == select(PetitionSubject.id)
                     .where(PetitionSubject.code == filters.subject_code).scalar_subquery())
    if filters.region_id:
        where += within_region(session=session, path_column=Petition.region_path, region_id=filters.region_id)
    if filters.unit_id:
        where.append(Petition.unit_id == filters.unit_id)
    if filters.led_by_me:
        where.append(Petition.leader_user_id == actor.id)
    if filters.overdue is not None:
        where.append(Petition.overdue.is_(filters.overdue))
    if filters.repeat is not None:
        where.append(Petition.repeat_count > 0 if filters.repeat else Petition.repeat_count == 0)
    if filters.group is not None:
        where.append(Petition.is_group.is_(filters.group))
    if filters.q:
        where.append(Petition.title.like(f"%{filters.q}%") | (Petition.number == filters.q))
    total = session.scalar(select(func.count(Petition.id)).where(*where)) or 0
    rows = session.scalars(select(Petition).where(*where).order_by(Petition.received_at.desc(), Petition.id.desc())
                           .offset((page - 1) * size).limit(size))
    return list(rows), total


@dataclass
class BoardRow:
    """A petition on the deadline board with its running deadline and what is left of it."""

    petition: Petition
    remaining_seconds: float
    bucket: str  # overdue | due_soon | on_track


def deadline_board(*, session: Session, actor: User, now: dt.datetime | None = None,
                   leader_only: bool = False, limit: int = 500) -> list[BoardRow]:
    """Open petitions with a running deadline, most urgent first, bucketed by working time left."""
    now = now or utcnow()
    calendar = get_calendar(session=session)
    stmt = select(Petition).where(petition_scope(actor), Petition.due_at.is_not(None),
                                  Petition.state.in_(list(WORKFLOW.open)))
    if leader_only:
        stmt = stmt.where(Petition.leader_user_id == actor.id)
    rows: list[BoardRow] = []
    for p in session.scalars(stmt.order_by(Petition.due_at).limit(limit)):
        assert p.due_at is not None
        if p.due_at <= now:
            remaining, bucket = -(now - p.due_at).total_seconds(), "overdue"
        else:
            remaining = calendar.working_seconds_between(now, p.due_at)
            bucket = "due_soon" if remaining <= REMIND_DAYS * 86400 else "on_track"
        rows.append(BoardRow(p, remaining, bucket))
    return rows
