"""Assessment services: schemes (weights and grades), composite scores, rankings, and the subjects a user may judge.

The composite score (综合指标值) of a subject is the weighted mean of its rates, on 0–100:
``score = 100 × Σ wᵢ·vᵢ / Σ wᵢ`` over the rates that have a value (a rate with nothing to
judge drops out and the others' weights are renormalised; no rate at all → no score).
Rates where lower is better (rework, extension) enter as ``1 − rate``. The grade is the
first threshold the score reaches. Rankings order by score (ties share a rank: 1, 2, 2, 4)
and show the change against the previous period.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from civicgrid.assessment import kpis
from civicgrid.assessment.kpis import RATE, Grouping, Kpis, Period, Subject
from civicgrid.assessment.models import AssessmentScheme
from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.errors import InvalidInput, not_found
from civicgrid.events import tally
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.units.models import Unit

TARGETS = ("unit", "region")

DEFAULT_WEIGHTS: dict[str, dict[str, float]] = {
    "unit": {
        "on_time_closure_rate": 25, "closure_rate": 15, "on_time_handling_rate": 15, "satisfaction_rate": 20,
        "accurate_dispatch_rate": 10, "rework_rate": 10, "extension_rate": 5,
    },
    "region": {
        "on_time_registration_rate": 10, "accurate_registration_rate": 10, "closure_rate": 15,
        "on_time_closure_rate": 20, "on_time_handling_rate": 10, "satisfaction_rate": 20, "rework_rate": 10,
        "extension_rate": 5,
    },
}
DEFAULT_GRADES: list[dict[str, Any]] = [
    {"min": 90, "grade": "A", "zh": "优秀", "en": "Excellent"},
    {"min": 80, "grade": "B", "zh": "良好", "en": "Good"},
    {"min": 60, "grade": "C", "zh": "合格", "en": "Pass"},
    {"min": 0, "grade": "D", "zh": "不合格", "en": "Fail"},
]
# Who may open assessment pages and rankings (handlers see their own unit's card).
JUDGES = {Role.ADMIN, Role.LEADER, Role.OPERATOR}


@dataclass(frozen=True)
class Scheme:
    """Weights per rate key, grade thresholds (highest first) and the registration limit in minutes."""

    target: str
    weights: dict[str, float]
    grades: list[dict[str, Any]]
    register_limit_minutes: int = kpis.DEFAULT_REGISTER_LIMIT_MINUTES

    def score(self, k: Kpis) -> float | None:
        """The composite score 0–100 (None when no weighted rate has a value)."""
        rates = k.rates
        total = weight_sum = 0.0
        for key, weight in self.weights.items():
            value = rates.get(key)
            if value is None or weight <= 0:
                continue
            if RATE[key].lower_is_better:
                value = 1 - value
            total += weight * value
            weight_sum += weight
        if weight_sum == 0:
            return None
        return round(100 * total / weight_sum, 2)

    def grade(self, score: float | None) -> dict[str, Any] | None:
        """The grade a score reaches (None for no score)."""
        if score is None:
            return None
        for g in sorted(self.grades, key=lambda g: -g["min"]):
            if score >= g["min"]:
                return g
        return None


def get_scheme(*, session: Session, target: str) -> Scheme:
    """The scheme in force for ``target`` ('unit' or 'region'): the stored one, else the defaults."""
    if target not in TARGETS:
        raise InvalidInput("考核对象应为 unit 或 region", "The target must be unit or region")
    row = session.scalar(select(AssessmentScheme).where(AssessmentScheme.target == target))
    if row is None:
        return Scheme(target, dict(DEFAULT_WEIGHTS[target]), [dict(g) for g in DEFAULT_GRADES])
    return Scheme(target, dict(row.weights), list(row.grades), row.register_limit_minutes)


def update_scheme(*, session: Session, actor: User, origin: Origin, target: str, weights: dict[str, float],
                  grades: list[dict[str, Any]] | None = None, register_limit_minutes: int | None = None) -> Scheme:
    """Replace the weights (and optionally grades and registration limit) of a scheme; admins only; audited."""
    if actor.role != Role.ADMIN:
        from civicgrid.errors import Forbidden

        raise Forbidden("只有系统管理员可以修改考核方案", "Only administrators may change the assessment scheme")
    before = get_scheme(session=session, target=target)
    unknown = sorted(set(weights) - set(RATE))
    if unknown:
        raise InvalidInput(f"未知的考核指标：{'、'.join(unknown)}", f"Unknown KPI: {', '.join(unknown)}",
                           allowed=sorted(RATE))
    if any(not isinstance(w, (int, float)) or w < 0 or w > 1000 for w in weights.values()):
        raise InvalidInput("权重应为 0–1000 之间的数", "Weights must be numbers from 0 to 1000")
    if sum(weights.values()) <= 0:
        raise InvalidInput("至少一项指标的权重应大于 0", "At least one weight must be above 0")
    grades = grades if grades is not None else before.grades
    _check_grades(grades)
    limit = register_limit_minutes if register_limit_minutes is not None else before.register_limit_minutes
    if not 1 <= limit <= 7 * 24 * 60:
        raise InvalidInput("立案时限应为 1 分钟到 7 天", "The registration limit must be 1 minute to 7 days")
    row = session.scalar(select(AssessmentScheme).where(AssessmentScheme.target == target))
    if row is None:
        row = AssessmentScheme(target=target)
        session.add(row)
    row.weights, row.grades, row.register_limit_minutes = dict(weights), list(grades), limit
    row.updated_at, row.updated_by_id = utcnow(), actor.id
    session.flush()
    if target == "region" and limit != before.register_limit_minutes:
        # The case tallies count on-time registrations with the regions' limit: recount them
        # (the periodic job rebuilds; until then the KPIs read the cases).
        tally.mark_stale(session=session, register_limit_minutes=limit)
    record(session=session, actor=actor, origin=origin, entity="assessment_scheme", entity_id=target,
           action="update", before={"weights": before.weights, "grades": before.grades,
                                    "register_limit_minutes": before.register_limit_minutes},
           after={"weights": row.weights, "grades": row.grades, "register_limit_minutes": limit})
    return get_scheme(session=session, target=target)


def _check_grades(grades: list[dict[str, Any]]) -> None:
    if not grades:
        raise InvalidInput("至少需要一个等级", "At least one grade is needed")
    for g in grades:
        if not isinstance(g, dict) or not isinstance(g.get("min"), (int, float)) or not g.get("grade"):
            raise InvalidInput("等级应包含 min（分数下限）和 grade（等级名）", "Each grade needs 'min' and 'grade'")
    if not any(g["min"] <= 0 for g in grades):
        raise InvalidInput("最低等级的分数下限应为 0", "The lowest grade must start at 0")


# ---------------------------------------------------------------------------------------
# Rankings
# ---------------------------------------------------------------------------------------


@dataclass
class Ranked:
    """One row of a ranking table."""

    key: int
    name_zh: str
    name_en: str
    kpis: Kpis
    score: float | None
    grade: dict[str, Any] | None
    rank: int | None = None
    previous_rank: int | None = None
    previous_score: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def rank_change(self) -> int | None:
        """Places gained since the previous period (positive: moved up)."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank

    @property
    def score_change(self) -> float | None:
        if self.score is None or self.previous_score is None:
            return None
        return round(self.score - self.previous_score, 2)


def rank_rows(rows: list[Ranked]) -> list[Ranked]:
    """Order by score (no score last) and assign competition ranks (1, 2, 2, 4)."""
    rows.sort(key=lambda r: (r.score is None, -(r.score or 0), r.name_zh))
    rank = 0
    last_score = None
    for i, row in enumerate(rows, start=1):
        if row.score is None:
            row.rank = None
            continue
        if row.score != last_score:
            rank, last_score = i, row.score
        row.rank = rank
    return rows


def _ranks(rows: list[Ranked]) -> dict[int, tuple[int | None, float | None]]:
    return {r.key: (r.rank, r.score) for r in rank_rows(rows)}


def scoped_region(*, session: Session, actor: User, region_id: int | None) -> Region:
    """The region a page is about: ``region_id`` if within the actor's scope, else NotFound; default the scope."""
    if region_id is None:
        return actor.scope_region
    region = session.get(Region, region_id)
    if region is None or not region.path.startswith(actor.scope_path):
        raise not_found("区域", "Region", region_id)
    return region


def child_regions(*, session: Session, region: Region, with_geometry: bool = False) -> list[Region]:
    """The active children of a region, by code (with their polygons when a map draws them)."""
    stmt = select(Region).where(Region.parent_id == region.id, Region.active.is_(True)).order_by(Region.code)
    if with_geometry:
        stmt = stmt.options(undefer(Region.geometry))
    return list(session.scalars(stmt))


def region_ranking(*, session: Session, actor: User, region: Region, period: Period,
                   now: dt.datetime | None = None) -> list[Ranked]:
    """The children of ``region`` ranked by composite score, with the change since the previous period."""
    now = now or utcnow()
    scheme = get_scheme(session=session, target="region")
    children = child_regions(session=session, region=region)
    if not children:
        return []
    grouping = Grouping("children", region, tuple(children))

    def rows_for(p: Period) -> list[Ranked]:
        groups = kpis.compute_groups(session=session, actor=actor, period=p, grouping=grouping,
                                     subject=kpis.region_subject(region), now=now,
                                     register_limit_minutes=scheme.register_limit_minutes)
        out = []
        for child in children:
            k = groups.get(child.id, Kpis())
            score = scheme.score(k)
            out.append(Ranked(child.id, child.name_zh, child.name_en or child.name_zh, k, score, scheme.grade(score),
                              extra={"level": child.level.value, "population": child.population}))
        return out

    current = rows_for(period)
    previous = _ranks(rows_for(period.previous()))
    for row in current:
        row.previous_rank, row.previous_score = previous.get(row.key, (None, None))
    return rank_rows(current)


def unit_ranking(*, session: Session, actor: User, region: Region, period: Period,
                 now: dt.datetime | None = None) -> list[Ranked]:
    """Units with cases in ``region`` (within the actor's scope) ranked by composite score, with the change."""
    now = now or utcnow()
    scheme = get_scheme(session=session, target="unit")
    subject = kpis.region_subject(region)

    def groups_for(p: Period) -> dict[object, Kpis]:
        return kpis.compute_groups(session=session, actor=actor, period=p, grouping=Grouping("unit"),
                                   subject=subject, now=now, register_limit_minutes=scheme.register_limit_minutes)

    current, before = groups_for(period), groups_for(period.previous())
    ids = {k for k in (*current, *before) if isinstance(k, int)}
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(ids)))} if ids else {}

    def rows(groups: dict[object, Kpis]) -> list[Ranked]:
        out = []
        for uid, unit in units.items():
            k = groups.get(uid, Kpis())
            score = scheme.score(k)
            out.append(Ranked(uid, unit.name_zh, unit.name_en or unit.name_zh, k, score, scheme.grade(score),
                              extra={"kind": unit.kind}))
        return out

    previous = _ranks(rows(before))
    now_rows = [r for r in rows(current) if any(r.kpis.counts.values())]
    for row in now_rows:
        row.previous_rank, row.previous_score = previous.get(row.key, (None, None))
    return rank_rows(now_rows)


def unit_kpis(*, session: Session, actor: User, unit_id: int, period: Period,
              now: dt.datetime | None = None) -> tuple[Unit, Kpis, float | None, dict | None]:
    """One unit's KPIs, score and grade (handlers: only their own unit)."""
    unit = session.get(Unit, unit_id)
    if unit is None or (actor.role == Role.HANDLER and actor.unit_id != unit_id):
        raise not_found("单位", "Unit", unit_id)
    if actor.role in (Role.GRID_WORKER, Role.CITIZEN):
        raise not_found("单位", "Unit", unit_id)
    scheme = get_scheme(session=session, target="unit")
    k = kpis.compute(session=session, actor=actor, period=period, subject=Subject("unit", unit_id),
                     now=now or utcnow(), register_limit_minutes=scheme.register_limit_minutes)
    score = scheme.score(k)
    return unit, k, score, scheme.grade(score)


def region_kpis(*, session: Session, actor: User, region: Region, period: Period,
                now: dt.datetime | None = None) -> tuple[Kpis, float | None, dict | None]:
    """One region's KPIs, score and grade (the region must be in the actor's scope: see scoped_region)."""
    scheme = get_scheme(session=session, target="region")
    k = kpis.compute(session=session, actor=actor, period=period, subject=kpis.region_subject(region),
                     now=now or utcnow(), register_limit_minutes=scheme.register_limit_minutes)
    score = scheme.score(k)
    return k, score, scheme.grade(score)


def level_label(level: RegionLevel) -> tuple[str, str]:
    return level.label_zh, level.label_en
