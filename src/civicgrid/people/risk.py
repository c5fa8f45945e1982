"""Five-colour risk (五色管控): configurable rules over the data, explained, overridable, audited.

A subject (a person under care, a place, a house, a grid) takes the most severe colour of
the rules that hold for it, green if none does. Each rule is a row of ``risk_rule``
(kind + parameters + colour + label), seeded from ``DEFAULT_RULES`` and editable by a
city. The stored ``RiskColour`` keeps the computed colour with every rule that held and
the facts behind it; a manual override (with a reason, optionally until a date) wins
over the computed colour while it lasts. Colours are recomputed when an input changes
(visits, inspections, cases, tenancies, care level) and nightly (``recompute_all``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, undefer

from civicgrid.audit.service import SYSTEM, Origin, record
from civicgrid.auth.models import User
from civicgrid.db import utcnow
from civicgrid.errors import Conflict, InvalidInput, not_found
from civicgrid.events.models import Case
from civicgrid.events.workflow import OPEN
from civicgrid.people import access
from civicgrid.people.models import (
    COLOUR_HEX,
    COLOUR_LABELS,
    CareRecord,
    CaseInvolvement,
    Colour,
    House,
    Person,
    Place,
    PlaceInspection,
    RiskColour,
    RiskRule,
    Tenancy,
)
from civicgrid.people.schemas import RiskRuleCreate, RiskRuleUpdate
from civicgrid.regions.importer import GRID_LEVELS
from civicgrid.regions.models import Region

SUBJECTS = {
    "care": ("重点人员", "Person under care"),
    "place": ("场所", "Place"),
    "house": ("房屋", "House"),
    "grid": ("网格", "Grid"),
}

# (code, subject, kind, params, colour, 中文, English)
DEFAULT_RULES: list[tuple[str, str, str, dict[str, Any], Colour, str, str]] = [
    ("care_level_key", "care", "care_level", {"level": "key"}, Colour.ORANGE,
     "管控等级为重点关注", "Care level is close attention"),
    ("care_level_focus", "care", "care_level", {"level": "focus"}, Colour.YELLOW,
     "管控等级为一般关注", "Care level is attention"),
    ("care_level_routine", "care", "care_level", {"level": "routine"}, Colour.BLUE,
     "管控等级为日常关怀", "Care level is routine care"),
    ("care_visit_overdue", "care", "visit_overdue", {"days": 0}, Colour.ORANGE,
     "走访逾期", "A visit is overdue"),
    ("care_visit_overdue_30", "care", "visit_overdue", {"days": 30}, Colour.RED,
     "走访逾期超过30天", "A visit is more than 30 days overdue"),
    ("care_recent_case", "care", "recent_cases", {"days": 90, "count": 1}, Colour.YELLOW,
     "近90天涉及事件", "Involved in a case in the last 90 days"),
    ("care_recent_cases_3", "care", "recent_cases", {"days": 90, "count": 3}, Colour.RED,
     "近90天涉及3起以上事件", "Involved in 3 or more cases in the last 90 days"),
    ("care_open_case", "care", "open_cases", {"count": 1}, Colour.ORANGE,
     "涉及未办结的事件或纠纷", "Involved in an open case or dispute"),
    ("place_failed_inspection", "place", "failed_inspection", {"days": 180}, Colour.ORANGE,
     "近180天检查未通过", "Failed an inspection in the last 180 days"),
    ("place_hazards", "place", "hazards", {"days": 180, "min": 3}, Colour.RED,
     "近180天检查发现3处以上隐患", "3 or more hazards found in the last 180 days"),
    ("place_not_inspected", "place", "not_inspected", {"days": 365}, Colour.YELLOW,
     "一年内未检查", "Not inspected for a year"),
    ("house_crowded_rent", "house", "tenants", {"min": 5}, Colour.YELLOW,
     "在租人员5人以上（疑似群租）", "5 or more current tenants (possible group renting)"),
    ("house_care_resident", "house", "care_residents", {"colours": ["red", "orange"]}, Colour.ORANGE,
     "居住有红色或橙色管控的重点人员", "Home of a person under care at red or orange"),
    ("grid_red_subjects", "grid", "subjects_at", {"colour": "red", "min": 1}, Colour.ORANGE,
     "网格内有红色管控对象", "A subject in the grid is red"),
    ("grid_red_subjects_3", "grid", "subjects_at", {"colour": "red", "min": 3}, Colour.RED,
     "网格内红色管控对象3个以上", "3 or more subjects in the grid are red"),
    ("grid_orange_subjects", "grid", "subjects_at", {"colour": "orange", "min": 3}, Colour.YELLOW,
     "网格内橙色管控对象3个以上", "3 or more subjects in the grid are orange"),
    ("grid_open_cases", "grid", "open_cases", {"min": 10}, Colour.YELLOW,
     "网格内未办结事件10件以上", "10 or more open cases in the grid"),
]


def seed_rules(*, session: Session) -> int:
    """Insert the default rules that are missing (by code); returns how many were added."""
    have = set(session.scalars(select(RiskRule.code)))
    added = 0
    for code, subject, kind, params, colour, zh, en in DEFAULT_RULES:
        if code not in have:
            session.add(RiskRule(code=code, subject=subject, kind=kind, params=params, colour=colour.value,
                                 label_zh=zh, label_en=en, active=True))
            added += 1
    session.flush()
    return added


# --------------------------------------------------------------------------------------
# Rule kinds an administrator can configure: what each kind checks and its parameters
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One parameter of a rule kind: ``int`` (low–high), ``level`` (a care level), ``colour`` or ``colours``."""

    name: str
    type: str
    zh: str
    en: str
    low: int = 0
    high: int = 3650


_DAYS = Param("days", "int", "天数", "Days", 1, 3650)
# subject → kind → (中文, English, parameters)
RULE_KINDS: dict[str, dict[str, tuple[str, str, tuple[Param, ...]]]] = {
    "care": {
        "care_level": ("管控等级", "Care level", (Param("level", "level", "管控等级", "Care level"),)),
        "visit_overdue": ("走访逾期", "Visit overdue", (Param("days", "int", "逾期超过天数", "Overdue by more than days",
                                                             0, 3650),)),
        "recent_cases": ("近期涉及事件", "Recent cases", (_DAYS, Param("count", "int", "事件数（至少）", "Cases (at least)",
                                                                       1, 1000))),
        "open_cases": ("涉及未办结事件", "Open cases", (Param("count", "int", "事件数（至少）", "Cases (at least)", 1, 1000),)),
    },
    "place": {
        "failed_inspection": ("检查未通过", "Failed inspection", (_DAYS,)),
        "hazards": ("检查发现隐患", "Hazards found", (_DAYS, Param("min", "int", "隐患数（至少）", "Hazards (at least)",
                                                                  1, 1000))),
        "not_inspected": ("长期未检查", "Not inspected", (_DAYS,)),
    },
    "house": {
        "tenants": ("在租人数", "Current tenants", (Param("min", "int", "人数（至少）", "Tenants (at least)", 1, 1000),)),
        "care_residents": ("居住重点人员", "Home of a person under care",
                           (Param("colours", "colours", "重点人员颜色", "Colours of the person"),)),
    },
    "grid": {
        "subjects_at": ("网格内某颜色对象", "Subjects of a colour in the grid",
                        (Param("colour", "colour", "颜色", "Colour"), Param("min", "int", "个数（至少）", "At least", 1, 10000))),
        "open_cases": ("网格内未办结事件", "Open cases in the grid",
                       (Param("min", "int", "件数（至少）", "Cases (at least)", 1, 100000),)),
    },
}


def rule_params(*, subject: str, kind: str, raw: dict[str, Any]) -> dict[str, Any]:
    """The parameters of a rule of ``subject``/``kind``, checked against the kind's parameter list."""
    from civicgrid.people.models import CARE_LEVELS

    spec = RULE_KINDS.get(subject, {}).get(kind)
    if spec is None:
        raise InvalidInput(f"规则类型 {subject}/{kind} 不存在", f"Unknown rule kind {subject}/{kind}",
                           allowed={s: list(k) for s, k in RULE_KINDS.items()})
    unknown = sorted(set(raw) - {p.name for p in spec[2]})
    if unknown:
        raise InvalidInput(f"规则参数 {'、'.join(unknown)} 不适用于该类型", f"Parameters {', '.join(unknown)} do not apply",
                           unknown=unknown)
    colours = [c.value for c in Colour]
    out: dict[str, Any] = {}
    for p in spec[2]:
        value = raw.get(p.name)
        if value is None or value == "" or value == []:
            raise InvalidInput(f"请填写{p.zh}", f"Give {p.en.lower()}")
        if p.type == "int":
            try:
                number = int(str(value).strip())
            except ValueError:
                raise InvalidInput(f"{p.zh}应为整数", f"{p.en} must be a whole number") from None
            if not p.low <= number <= p.high:
                raise InvalidInput(f"{p.zh}应在 {p.low}–{p.high} 之间", f"{p.en} must be between {p.low} and {p.high}")
            out[p.name] = number
        elif p.type == "level":
            if not isinstance(value, str) or value not in CARE_LEVELS:
                raise InvalidInput(f"管控等级 {value!r} 无效", f"Unknown care level {value!r}", allowed=list(CARE_LEVELS))
            out[p.name] = value
        elif p.type == "colour":
            if not isinstance(value, str) or value not in colours:
                raise InvalidInput(f"颜色 {value!r} 无效", f"Unknown colour {value!r}", allowed=colours)
            out[p.name] = value
        else:  # colours
            chosen = [value] if isinstance(value, str) else value if isinstance(value, list) else None
            if not chosen or any(not isinstance(c, str) or c not in colours for c in chosen):
                raise InvalidInput(f"{p.zh}须从红、橙、黄、蓝、绿中选择", f"{p.en}: choose from red, orange, yellow, blue, green",
                                   allowed=colours)
            out[p.name] = [c for c in colours if c in chosen]
    return out


def _colour(value: str) -> str:
    if value not in {c.value for c in Colour}:
        raise InvalidInput(f"颜色 {value!r} 无效，应为红、橙、黄、蓝、绿之一",
                           f"Colour {value!r} is invalid; use red, orange, yellow, blue or green")
    return value


def _rule_view(rule: RiskRule) -> dict[str, Any]:
    return {"code": rule.code, "subject": rule.subject, "kind": rule.kind, "params": dict(rule.params or {}),
            "colour": rule.colour, "label_zh": rule.label_zh, "label_en": rule.label_en, "active": rule.active}


def list_rules(*, session: Session, actor: User, subject: str | None = None) -> list[RiskRule]:
    """The risk rules (active or not), by subject then id."""
    access.require(actor, "read")
    stmt = select(RiskRule).order_by(RiskRule.subject, RiskRule.id)
    if subject:
        stmt = stmt.where(RiskRule.subject == subject)
    return list(session.scalars(stmt))


def create_rule(*, session: Session, actor: User, origin: Origin, data: RiskRuleCreate) -> RiskRule:
    """Add a five-colour rule of a known kind with checked parameters; administrators only, audited."""
    access.require(actor, "configure")
    if data.subject not in SUBJECTS:
        raise InvalidInput(f"风险对象类型 {data.subject!r} 无效", f"Unknown risk subject {data.subject!r}",
                           allowed=list(SUBJECTS))
    params = rule_params(subject=data.subject, kind=data.kind, raw=data.params)
    if session.scalar(select(RiskRule.id).where(RiskRule.code == data.code)) is not None:
        raise Conflict(f"规则代码 {data.code} 已存在", f"Rule code {data.code} already exists")
    rule = RiskRule(code=data.code, subject=data.subject, kind=data.kind, params=params, colour=_colour(data.colour),
                    label_zh=data.label_zh.strip(), label_en=data.label_en.strip(), active=data.active)
    session.add(rule)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="risk_rule", entity_id=rule.id, action="create",
           after=_rule_view(rule))
    return rule


def update_rule(*, session: Session, actor: User, origin: Origin, rule_id: int, data: RiskRuleUpdate) -> RiskRule:
    """Change a rule's parameters, colour, labels or activity (its subject and kind stay); administrators only.

    Colours follow at the next recompute of each subject (an input change, the nightly pass, or ``recompute_now``).
    """
    access.require(actor, "configure")
    rule = session.get(RiskRule, rule_id) if 1 <= rule_id <= 2**62 else None
    if rule is None:
        raise not_found("风险规则", "Risk rule", rule_id)
    before = _rule_view(rule)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("params") is not None:
        rule.params = rule_params(subject=rule.subject, kind=rule.kind, raw=changes["params"])
    if changes.get("colour") is not None:
        rule.colour = _colour(changes["colour"])
    if changes.get("label_zh") is not None:
        rule.label_zh = changes["label_zh"].strip()
    if changes.get("label_en") is not None:
        rule.label_en = changes["label_en"].strip()
    if changes.get("active") is not None:
        rule.active = changes["active"]
    session.flush()
    after = _rule_view(rule)
    if after != before:
        record(session=session, actor=actor, origin=origin, entity="risk_rule", entity_id=rule.id, action="update",
               before=before, after=after)
    return rule


def recompute_now(*, session: Session, actor: User, origin: Origin) -> dict[str, int]:
    """Recompute every colour now (after a rule change), instead of waiting for the nightly pass; audited."""
    access.require(actor, "configure")
    counts = recompute_all(session=session, origin=origin)
    record(session=session, actor=actor, origin=origin, entity="risk_rule", entity_id=0, action="recompute",
           after=counts)
    return counts


def worst(colours: list[str]) -> Colour:
    """The most severe of some colours (green for none)."""
    found = [Colour(c) for c in colours]
    return max(found, key=lambda c: c.severity) if found else Colour.GREEN


# --------------------------------------------------------------------------------------
# Rule kinds: each returns the facts when the rule holds, None otherwise
# --------------------------------------------------------------------------------------

Facts = dict[str, Any] | None


def _care(session: Session, care: CareRecord, rule: RiskRule, now: dt.datetime) -> Facts:
    p = rule.params or {}
    if rule.kind == "care_level":
        return {"level": care.level} if care.level == p.get("level") else None
    if rule.kind == "visit_overdue":
        if care.next_visit_due is None:
            return None
        late = now - care.next_visit_due
        if late > dt.timedelta(days=p.get("days", 0)):
            return {"due": care.next_visit_due.isoformat(), "days_overdue": late.days}
        return None
    if rule.kind == "recent_cases":
        since = now - dt.timedelta(days=p.get("days", 90))
        n = session.scalar(
            select(func.count(CaseInvolvement.id)).join(Case, Case.id == CaseInvolvement.case_id)
            .where(CaseInvolvement.person_id == care.person_id, Case.received_at >= since)) or 0
        return {"cases": n, "days": p.get("days", 90)} if n >= p.get("count", 1) else None
    if rule.kind == "open_cases":
        n = session.scalar(
            select(func.count(CaseInvolvement.id)).join(Case, Case.id == CaseInvolvement.case_id)
            .where(CaseInvolvement.person_id == care.person_id, Case.state.in_([s.value for s in OPEN]))) or 0
        return {"open_cases": n} if n >= p.get("count", 1) else None
    return None


def _place(session: Session, place: Place, rule: RiskRule, now: dt.datetime) -> Facts:
    p = rule.params or {}
    since = now - dt.timedelta(days=p.get("days", 180))
    if rule.kind == "failed_inspection":
        n = session.scalar(select(func.count(PlaceInspection.id)).where(
            PlaceInspection.place_id == place.id, PlaceInspection.at >= since, PlaceInspection.passed.is_(False))) or 0
        return {"failed_inspections": n} if n else None
    if rule.kind == "hazards":
        n = session.scalar(select(func.coalesce(func.sum(PlaceInspection.hazards), 0)).where(
            PlaceInspection.place_id == place.id, PlaceInspection.at >= since)) or 0
        return {"hazards": int(n)} if n >= p.get("min", 1) else None
    if rule.kind == "not_inspected":
        last = session.scalar(select(func.max(PlaceInspection.at)).where(PlaceInspection.place_id == place.id))
        if last is None:
            return {"last_inspection": None}
        if last.tzinfo is None:
            last = last.replace(tzinfo=dt.UTC)
        return {"last_inspection": last.isoformat()} if last < since else None
    return None


def _house(session: Session, house: House, rule: RiskRule, now: dt.datetime) -> Facts:
    p = rule.params or {}
    if rule.kind == "tenants":
        today = now.date()
        n = session.scalar(select(func.count(Tenancy.id)).where(
            Tenancy.house_id == house.id, Tenancy.start_date <= today,
            (Tenancy.end_date.is_(None)) | (Tenancy.end_date >= today))) or 0
        return {"tenants": n} if n >= p.get("min", 5) else None
    if rule.kind == "care_residents":
        names = list(session.scalars(
            select(Person.name).join(CareRecord, CareRecord.person_id == Person.id)
            .where(Person.house_id == house.id, CareRecord.active.is_(True),
                   CareRecord.colour.in_(p.get("colours", ["red"])))))
        return {"persons": len(names)} if names else None
    return None


def _grid(session: Session, grid: Region, rule: RiskRule, now: dt.datetime) -> Facts:
    p = rule.params or {}
    if rule.kind == "subjects_at":
        n = session.scalar(select(func.count(RiskColour.id)).where(
            RiskColour.subject != "grid", RiskColour.colour == p.get("colour", "red"),
            RiskColour.region_path >= grid.path, RiskColour.region_path < grid.path + "~")) or 0
        return {"subjects": n, "colour": p.get("colour", "red")} if n >= p.get("min", 1) else None
    if rule.kind == "open_cases":
        n = session.scalar(select(func.count(Case.id)).where(
            Case.grid_id == grid.id, Case.state.in_([s.value for s in OPEN]))) or 0
        return {"open_cases": n} if n >= p.get("min", 10) else None
    return None


_EVALUATORS: dict[str, Callable[..., Facts]] = {"care": _care, "place": _place, "house": _house, "grid": _grid}
_MODELS: dict[str, Any] = {"care": CareRecord, "place": Place, "house": House, "grid": Region}


def _subject(session: Session, subject: str, subject_id: int) -> Any:
    model = _MODELS.get(subject)
    if model is None:
        raise InvalidInput(f"风险对象类型 {subject!r} 无效", f"Unknown risk subject {subject!r}")
    return session.get(model, subject_id)


def _grid_of(subject: str, obj: Any) -> int | None:
    if subject == "grid":
        return None
    return obj.grid_id


def evaluate(*, session: Session, subject: str, obj: Any, now: dt.datetime | None = None) -> tuple[Colour, list[dict[str, Any]]]:
    """The computed colour of one subject and every rule that held, with its facts."""
    now = now or utcnow()
    rules = session.scalars(select(RiskRule).where(RiskRule.subject == subject, RiskRule.active.is_(True))
                            .order_by(RiskRule.id))
    held: list[dict[str, Any]] = []
    if subject == "care" and not obj.active:
        return Colour.GREEN, held
    for rule in rules:
        facts = _EVALUATORS[subject](session, obj, rule, now)
        if facts is not None:
            held.append({"rule": rule.code, "colour": rule.colour, "label_zh": rule.label_zh,
                         "label_en": rule.label_en, "facts": facts})
    held.sort(key=lambda h: -Colour(h["colour"]).severity)
    return worst([h["colour"] for h in held]), held


def _effective(row: RiskColour, today: dt.date) -> str:
    if row.override_colour and (row.override_until is None or row.override_until >= today):
        return row.override_colour
    return row.computed_colour


def recompute(*, session: Session, subject: str, subject_id: int, origin: Origin = SYSTEM,
              now: dt.datetime | None = None, cascade: bool = True) -> RiskColour | None:
    """Recompute one subject's colour; audit a change; then its grid's (and a care subject's house's)."""
    now = now or utcnow()
    obj = _subject(session, subject, subject_id)
    if obj is None:
        return None
    colour, held = evaluate(session=session, subject=subject, obj=obj, now=now)
    row = session.scalar(select(RiskColour).where(RiskColour.subject == subject, RiskColour.subject_id == subject_id))
    if row is None:
        row = RiskColour(subject=subject, subject_id=subject_id, region_path=obj.path if subject == "grid" else obj.region_path,
                         colour=colour.value, computed_colour=colour.value, explanation=held, computed_at=now)
        session.add(row)
        before = None
    else:
        before = row.colour
        row.computed_colour, row.explanation, row.computed_at = colour.value, held, now
        row.region_path = obj.path if subject == "grid" else obj.region_path
    row.colour = _effective(row, now.date())
    session.flush()
    if before != row.colour:
        record(session=session, actor=None, origin=origin, entity=f"risk_{subject}", entity_id=subject_id,
               action="colour", from_state=before, to_state=row.colour,
               after={"rules": [h["rule"] for h in held]})
        if subject == "care":
            _care_colour_changed(session, obj, row.colour)
    if cascade:
        if subject == "care":
            person = session.get(Person, obj.person_id)
            if person is not None and person.house_id is not None:
                recompute(session=session, subject="house", subject_id=person.house_id, origin=origin, now=now,
                          cascade=False)
        grid_id = _grid_of(subject, obj)
        if grid_id is not None:
            recompute(session=session, subject="grid", subject_id=grid_id, origin=origin, now=now, cascade=False)
    return row


def _care_colour_changed(session: Session, care: CareRecord, colour: str) -> None:
    # The visit schedule follows the colour: re-plan the next visit from the last one.
    from civicgrid.people.care import plan_next_visit

    care.colour = colour
    plan_next_visit(session=session, care=care)


def override(*, session: Session, actor: User, origin: Origin, subject: str, subject_id: int, colour: str,
             reason: str, until: dt.date | None = None) -> RiskColour:
    """Set a subject's colour by hand (manual judgement), with a reason; audited."""
    access.require(actor, "risk_override")
    if colour not in {c.value for c in Colour}:
        raise InvalidInput(f"颜色 {colour!r} 无效，应为红、橙、黄、蓝、绿之一",
                           f"Colour {colour!r} is invalid; use red, orange, yellow, blue or green")
    if len((reason or "").strip()) < 4:
        raise InvalidInput("调整风险颜色须说明理由（至少4个字）", "State a reason (at least 4 characters)")
    row = colour_of(session=session, actor=actor, subject=subject, subject_id=subject_id)
    before = {"colour": row.colour, "override": row.override_colour}
    row.override_colour, row.override_reason, row.override_by_id, row.override_until = colour, reason.strip(), actor.id, until
    old = row.colour
    row.colour = _effective(row, utcnow().date())
    session.flush()
    record(session=session, actor=actor, origin=origin, entity=f"risk_{subject}", entity_id=subject_id,
           action="override", from_state=old, to_state=row.colour, note=reason.strip(), before=before,
           after={"colour": row.colour, "override": colour, "until": until.isoformat() if until else None})
    if subject == "care" and old != row.colour:
        _care_colour_changed(session, _subject(session, "care", subject_id), row.colour)
    obj = _subject(session, subject, subject_id)
    grid_id = _grid_of(subject, obj)
    if grid_id is not None:
        recompute(session=session, subject="grid", subject_id=grid_id, origin=origin, cascade=False)
    return row


def clear_override(*, session: Session, actor: User, origin: Origin, subject: str, subject_id: int, reason: str) -> RiskColour:
    """Return a subject to its computed colour; audited."""
    access.require(actor, "risk_override")
    row = colour_of(session=session, actor=actor, subject=subject, subject_id=subject_id)
    old = row.colour
    row.override_colour = row.override_reason = row.override_by_id = row.override_until = None
    row.colour = row.computed_colour
    session.flush()
    record(session=session, actor=actor, origin=origin, entity=f"risk_{subject}", entity_id=subject_id,
           action="clear_override", from_state=old, to_state=row.colour, note=reason)
    if subject == "care" and old != row.colour:
        _care_colour_changed(session, _subject(session, "care", subject_id), row.colour)
    # Like an override, clearing one moves the subject's grid at once.
    grid_id = _grid_of(subject, _subject(session, subject, subject_id))
    if grid_id is not None:
        recompute(session=session, subject="grid", subject_id=grid_id, origin=origin, cascade=False)
    return row


def colour_of(*, session: Session, actor: User, subject: str, subject_id: int) -> RiskColour:
    """The stored colour of a subject in the actor's area (computed now if it has none yet)."""
    if subject == "care":
        access.require(actor, "care_read")
    else:
        access.require(actor, "read")
    obj = _subject(session, subject, subject_id)
    path = None if obj is None else (obj.path if subject == "grid" else obj.region_path)
    if path is None or not access.path_in_scope(path, actor):
        raise not_found(SUBJECTS.get(subject, ("对象", "Subject"))[0], SUBJECTS.get(subject, ("对象", "Subject"))[1],
                        subject_id)
    row = session.scalar(select(RiskColour).where(RiskColour.subject == subject, RiskColour.subject_id == subject_id))
    return row or recompute(session=session, subject=subject, subject_id=subject_id)  # type: ignore[return-value]


def recompute_all(*, session: Session, now: dt.datetime | None = None, origin: Origin = Origin("scheduler")) -> dict[str, int]:
    """The nightly pass: every active care record, place, house with a colour or tenants, then every grid."""
    now = now or utcnow()
    counts = {"care": 0, "place": 0, "house": 0, "grid": 0}
    care_ids = session.scalars(select(CareRecord.id).where(CareRecord.active.is_(True))).all()
    place_ids = session.scalars(select(Place.id)).all()
    house_ids = session.scalars(select(House.id).where(
        House.id.in_(select(Tenancy.house_id)) | House.id.in_(select(Person.house_id).where(Person.under_care.is_(True)))
        | House.id.in_(select(RiskColour.subject_id).where(RiskColour.subject == "house")))).all()
    for subject, ids in (("care", care_ids), ("place", place_ids), ("house", house_ids)):
        for subject_id in ids:
            recompute(session=session, subject=subject, subject_id=subject_id, now=now, origin=origin, cascade=False)
            counts[subject] += 1
    for grid_id in session.scalars(select(Region.id).where(Region.level.in_(list(GRID_LEVELS)))).all():
        recompute(session=session, subject="grid", subject_id=grid_id, now=now, origin=origin, cascade=False)
        counts["grid"] += 1
    return counts


def grid_map(*, session: Session, actor: User) -> dict[str, Any]:
    """A GeoJSON FeatureCollection of the actor's grids coloured by risk (for the map layer)."""
    access.require(actor, "read")
    low, high = actor.scope_path, actor.scope_path + "~"
    grids = session.scalars(select(Region).options(undefer(Region.geometry)).where(
        Region.level.in_(list(GRID_LEVELS)), Region.path >= low, Region.path < high, Region.geometry.is_not(None)))
    colours = {r.subject_id: r for r in session.scalars(select(RiskColour).where(
        RiskColour.subject == "grid", RiskColour.region_path >= low, RiskColour.region_path < high))}
    features = []
    for grid in grids:
        row = colours.get(grid.id)
        colour = Colour(row.colour) if row else Colour.GREEN
        features.append({
            "type": "Feature", "geometry": grid.geometry,
            "properties": {"grid_id": grid.id, "code": grid.code, "name": grid.name_zh, "name_zh": grid.name_zh,
                           "name_en": grid.name_en or grid.name_zh, "colour": colour.value,
                           "fill": COLOUR_HEX[colour], "label_zh": COLOUR_LABELS[colour][0],
                           "label_en": COLOUR_LABELS[colour][1],
                           "reasons_zh": [h["label_zh"] for h in (row.explanation if row else [])],
                           "reasons_en": [h["label_en"] for h in (row.explanation if row else [])]},
        })
    return {"type": "FeatureCollection", "features": features}
