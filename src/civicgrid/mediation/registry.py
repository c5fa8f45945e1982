"""The mediation registry: dispute types, organisations and mediators, their load, and the
suggested assignee for a dispute (分流建议)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import User
from civicgrid.errors import Conflict, InvalidInput, not_found
from civicgrid.mediation.models import ORG_KINDS, Dispute, DisputeType, MediationOrg, Mediator
from civicgrid.mediation.workflow import DisputeState
from civicgrid.regions.models import Region, RegionLevel

# States in which a dispute occupies its organisation and mediator (their load).
LOADING = (DisputeState.ROUTED, DisputeState.MEDIATING, DisputeState.FAILED)
ORG_LEVELS = (RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY)
# Where a dispute should be mediated by its risk (小事不出村、大事不出镇、矛盾不上交).
LEVEL_BY_RISK = {
    "low": RegionLevel.COMMUNITY,
    "medium": RegionLevel.STREET,
    "high": RegionLevel.DISTRICT,
    "major": RegionLevel.DISTRICT,
}


# -- dispute types --------------------------------------------------------------------


def list_types(*, session: Session, active_only: bool = True) -> list[DisputeType]:
    """The dispute types in display order."""
    stmt = select(DisputeType).order_by(DisputeType.sort_order, DisputeType.code)
    if active_only:
        stmt = stmt.where(DisputeType.active.is_(True))
    return list(session.scalars(stmt))


def type_by_code(*, session: Session, code: str) -> DisputeType:
    """The active dispute type with ``code``, else InvalidInput naming the choices."""
    found = session.scalar(select(DisputeType).where(DisputeType.code == code, DisputeType.active.is_(True)))
    if found is None:
        raise InvalidInput(f"纠纷类型 {code} 不存在或已停用", f"Dispute type {code} does not exist or is inactive",
                           allowed=[t.code for t in list_types(session=session)])
    return found


def save_type(*, session: Session, actor: User, origin: Origin, code: str, name_zh: str, name_en: str = "",
              group_threshold: int = 5, mediation_days: int = 22, sort_order: int = 0,
              active: bool = True) -> DisputeType:
    """Create or update a dispute type (types are configuration); audited."""
    if group_threshold < 2 or not 1 <= mediation_days <= 180:
        raise InvalidInput("群体性纠纷人数须不少于 2，调解期限须在 1–180 个工作日之间",
                           "The group threshold must be at least 2 and the period 1–180 working days")
    found = session.scalar(select(DisputeType).where(DisputeType.code == code))
    before = _type_dict(found) if found else None
    if found is None:
        found = DisputeType(code=code)
        session.add(found)
    found.name_zh, found.name_en = name_zh, name_en
    found.group_threshold, found.mediation_days = group_threshold, mediation_days
    found.sort_order, found.active = sort_order, active
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="dispute_type", entity_id=found.id,
           action="update" if before else "create", before=before, after=_type_dict(found))
    return found


def _type_dict(t: DisputeType) -> dict[str, Any]:
    return {"code": t.code, "name_zh": t.name_zh, "group_threshold": t.group_threshold,
            "mediation_days": t.mediation_days, "active": t.active}


# -- organisations and mediators ------------------------------------------------------


def create_org(*, session: Session, actor: User, origin: Origin, code: str, name_zh: str, kind: str,
               region_id: int, name_en: str = "", specialties: list[str] | None = None, capacity: int = 30,
               unit_id: int | None = None, phone: str | None = None, address: str | None = None) -> MediationOrg:
    """Register a mediation organisation at a region in the actor's area; audited."""
    if kind not in ORG_KINDS:
        raise InvalidInput(f"调解组织类型 {kind} 无效", f"Unknown organisation kind {kind}", allowed=list(ORG_KINDS))
    region = session.get(Region, region_id)
    if region is None or not region.path.startswith(actor.scope_path):
        raise not_found("区域", "Region", region_id)
    if region.level not in ORG_LEVELS:
        raise InvalidInput("调解组织须设在市、区县、乡镇（街道）或社区（村）",
                           "A mediation organisation sits at a city, district, street or community")
    if session.scalar(select(MediationOrg.id).where(MediationOrg.code == code)) is not None:
        raise Conflict(f"调解组织代码 {code} 已存在", f"Organisation code {code} already exists")
    _check_type_codes(session, specialties or [])
    if capacity < 1:
        raise InvalidInput("受理容量须大于 0", "Capacity must be positive")
    org = MediationOrg(code=code, name_zh=name_zh, name_en=name_en, kind=kind, region_id=region.id,
                       region_path=region.path, level=region.level, specialties=list(specialties or []),
                       capacity=capacity, unit_id=unit_id, phone=phone, address=address)
    session.add(org)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="mediation_org", entity_id=org.id, action="create",
           after={"code": code, "name_zh": name_zh, "kind": kind, "region": region.code,
                  "specialties": org.specialties, "capacity": capacity})
    return org


def add_mediator(*, session: Session, actor: User, origin: Origin, org_id: int, name: str,
                 user_id: int | None = None, title: str = "", phone: str | None = None,
                 specialties: list[str] | None = None, max_load: int = 10) -> Mediator:
    """Register a mediator of an organisation (with a user account they can act); audited."""
    org = get_org(session=session, org_id=org_id)
    if user_id is not None:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise not_found("用户", "User", user_id)
        if session.scalar(select(Mediator.id).where(Mediator.org_id == org.id, Mediator.user_id == user_id)):
            raise Conflict(f"{user.display_name} 已是该组织的调解员", f"{user.display_name} is already a mediator here")
    _check_type_codes(session, specialties or [])
    if max_load < 1:
        raise InvalidInput("同时承办上限须大于 0", "The load limit must be positive")
    mediator = Mediator(org_id=org.id, user_id=user_id, name=name, title=title, phone=phone,
                        specialties=list(specialties or []), max_load=max_load)
    session.add(mediator)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="mediator", entity_id=mediator.id, action="create",
           after={"org": org.code, "name": name, "user_id": user_id, "specialties": mediator.specialties})
    return mediator


def get_org(*, session: Session, org_id: int) -> MediationOrg:
    """The organisation with this id, or NotFound."""
    org = session.get(MediationOrg, org_id) if 1 <= org_id <= 2**62 else None
    if org is None:
        raise not_found("调解组织", "Mediation organisation", org_id)
    return org


def list_orgs(*, session: Session, within: str | None = None, active_only: bool = True) -> list[MediationOrg]:
    """Organisations (optionally those in a region subtree), by level then code."""
    stmt = select(MediationOrg)
    if within:
        stmt = stmt.where(MediationOrg.region_path >= within, MediationOrg.region_path < within + "~")
    if active_only:
        stmt = stmt.where(MediationOrg.active.is_(True))
    return sorted(session.scalars(stmt), key=lambda o: (o.level.rank, o.code))


def list_mediators(*, session: Session, org_id: int, active_only: bool = True) -> list[Mediator]:
    """An organisation's mediators by name."""
    stmt = select(Mediator).where(Mediator.org_id == org_id)
    if active_only:
        stmt = stmt.where(Mediator.active.is_(True))
    return list(session.scalars(stmt.order_by(Mediator.name, Mediator.id)))


def mediator_records(*, session: Session, user: User) -> list[Mediator]:
    """The active mediator registrations of a user (one per organisation)."""
    return list(session.scalars(select(Mediator).where(Mediator.user_id == user.id, Mediator.active.is_(True))))


def org_loads(*, session: Session, org_ids: list[int] | None = None) -> dict[int, int]:
    """Open disputes per organisation."""
    stmt = select(Dispute.org_id, func.count()).where(Dispute.state.in_(LOADING), Dispute.org_id.is_not(None))
    if org_ids is not None:
        stmt = stmt.where(Dispute.org_id.in_(org_ids))
    return {org_id: n for org_id, n in session.execute(stmt.group_by(Dispute.org_id))}


def mediator_loads(*, session: Session, org_id: int) -> dict[int, int]:
    """Open disputes per mediator of an organisation."""
    stmt = (select(Dispute.mediator_id, func.count())
            .where(Dispute.state.in_(LOADING), Dispute.org_id == org_id, Dispute.mediator_id.is_not(None))
            .group_by(Dispute.mediator_id))
    return {m: n for m, n in session.execute(stmt)}


def _check_type_codes(session: Session, codes: list[str]) -> None:
    known = {t.code for t in list_types(session=session, active_only=False)}
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise InvalidInput(f"未知的纠纷类型：{'、'.join(unknown)}", f"Unknown dispute types: {', '.join(unknown)}",
                           allowed=sorted(known))


# -- the suggested assignee -----------------------------------------------------------


@dataclass
class Suggestion:
    """An organisation (and its best mediator) for a dispute, with the reasons it ranks where it does."""

    org: MediationOrg
    mediator: Mediator | None
    score: float
    load: int
    reasons: list[tuple[str, str]] = field(default_factory=list)

    @property
    def full(self) -> bool:
        return self.load >= self.org.capacity


def target_level(dispute: Dispute) -> RegionLevel:
    """The level a dispute should be mediated at: by its risk, group size, and never below its desk."""
    level = LEVEL_BY_RISK.get(dispute.risk_level, RegionLevel.COMMUNITY)
    if dispute.is_group and level.rank > RegionLevel.STREET.rank:
        level = RegionLevel.STREET
    return level if level.rank <= dispute.level.rank else dispute.level


def covering_paths(region_path: str) -> list[str]:
    """The materialised paths of a region and all its ancestors: ``/a/b/`` → ``/a/``, ``/a/b/``."""
    codes = [c for c in region_path.strip("/").split("/") if c]
    return ["/" + "/".join(codes[: i + 1]) + "/" for i in range(len(codes))]


def suggest(*, session: Session, dispute: Dispute, limit: int = 5) -> list[Suggestion]:
    """Organisations covering the dispute's area, ranked by specialty, level and free capacity."""
    orgs = list(session.scalars(select(MediationOrg).where(
        MediationOrg.active.is_(True), MediationOrg.region_path.in_(covering_paths(dispute.region_path)))))
    code = dispute.type.code
    level = target_level(dispute)
    loads = org_loads(session=session, org_ids=[o.id for o in orgs])
    ranked: list[Suggestion] = []
    for org in orgs:
        if org.specialties and code not in org.specialties:
            continue  # an industry organisation only takes its own kinds of dispute
        if org.level.rank > dispute.level.rank:
            continue  # an escalated dispute does not go back below its desk
        reasons: list[tuple[str, str]] = []
        score = 0.0
        if org.specialties:
            score += 3
            reasons.append(("专业对口", "specialised in this type"))
        if org.level == level:
            score += 2
            reasons.append(("层级匹配", "right level"))
        elif org.level.rank > level.rank:
            score -= 2
            reasons.append(("层级偏低", "level too low for the risk"))
        load = loads.get(org.id, 0)
        ratio = load / org.capacity
        score -= 2 * ratio
        if load >= org.capacity:
            score -= 5
            reasons.append(("已满负荷", "at capacity"))
        else:
            reasons.append((f"在办 {load}/{org.capacity}", f"load {load}/{org.capacity}"))
        ranked.append(Suggestion(org=org, mediator=None, score=round(score, 3), load=load, reasons=reasons))
    ranked.sort(key=lambda s: (-s.score, s.org.level.rank * -1, s.org.id))
    ranked = ranked[:limit]
    for s in ranked:
        s.mediator = suggest_mediator(session=session, org_id=s.org.id, type_code=code)
    return ranked


def suggest_mediator(*, session: Session, org_id: int, type_code: str) -> Mediator | None:
    """The organisation's best free mediator: specialty first, then the lightest load."""
    loads = mediator_loads(session=session, org_id=org_id)
    candidates = [m for m in list_mediators(session=session, org_id=org_id) if loads.get(m.id, 0) < m.max_load]
    if not candidates:
        return None
    return min(candidates, key=lambda m: (type_code not in (m.specialties or []),
                                          loads.get(m.id, 0) / m.max_load, m.id))
