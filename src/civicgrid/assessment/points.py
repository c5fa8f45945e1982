"""Grid-worker points (网格员积分): automatic rules read from the history, caps, manual adjustments, standings.

The rules are data (``RULES``): each names the history entries it scores (entity and
action in the audit trail, with an optional condition), who earns the points (the one
who acted, or the grid worker who reported the case), the points, and its daily and
monthly caps. Administrators may override points, caps and activity per rule
(``point_rule`` rows). ``award_points`` is the job that reads new history entries and
writes point entries; it is idempotent (one entry per rule, worker and history entry)
and safe with several processes.

A capped entry is still written, with the points it would have earned and the 0 (or
fewer) points it got, so a worker sees why. Deductions are never capped. Any domain can
earn points for its work by writing the audit entry a rule names — the contract is in
docs/kpis.md.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.assessment.kpis import local_day, local_tz
from civicgrid.assessment.models import PointCursor, PointEntry, PointRule
from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.errors import Forbidden, InvalidInput, not_found
from civicgrid.events.models import Case


@dataclass(frozen=True)
class AutoRule:
    """One automatic rule: which history entries it scores, for whom, how much, with which caps."""

    code: str
    zh: str
    en: str
    points: int
    entity: str
    action: str
    beneficiary: str  # actor | reporter
    daily_cap: int | None = None
    monthly_cap: int | None = None
    condition: Callable[[AuditEntry], bool] | None = None
    active: bool = True

    def matches(self, entry: AuditEntry) -> bool:
        return entry.entity == self.entity and entry.action == self.action and (
            self.condition is None or self.condition(entry))


def _after(key: str, value) -> Callable[[AuditEntry], bool]:
    return lambda e: bool(e.after) and e.after.get(key) == value


RULES: tuple[AutoRule, ...] = (
    AutoRule("patrol_checkin", "巡查签到", "Patrol check-in", 1, "patrol", "checkin", "actor", daily_cap=2),
    AutoRule("safe_report", "无事报平安", "All-clear report", 1, "patrol", "safe_report", "actor", daily_cap=1),
    AutoRule("case_reported", "上报事件被立案", "Reported case registered", 2, "case", "register", "reporter",
             daily_cap=10, monthly_cap=120),
    AutoRule("case_self_handled", "自行处置事件", "Case handled on site", 3, "case", "handle_on_site", "actor",
             daily_cap=15, monthly_cap=150),
    AutoRule("verification_done", "完成核查", "Verification done", 1, "case", "verify", "actor", daily_cap=10),
    AutoRule("visit_on_time", "按时走访", "Visit on time", 2, "care_record", "visit", "actor", daily_cap=10,
             condition=_after("late", False)),
    AutoRule("visit_late", "走访超时", "Late visit", -2, "care_record", "visit", "actor",
             condition=_after("late", True)),
    AutoRule("report_rejected", "上报不予立案", "Report rejected", -1, "case", "reject", "reporter"),
)
RULE = {r.code: r for r in RULES}
MANUAL = "manual"
# Automatic points a worker can earn in one month, all rules together (deductions and manual adjustments aside).
MONTHLY_TOTAL_CAP = 300
# The job re-reads this many history ids behind its cursor: an entry committed late (a long transaction)
# is still scored; the unique key makes the re-read harmless.
REREAD_WINDOW = 500
BATCH = 5_000
ORIGIN = Origin("scheduler")


def rules(*, session: Session) -> list[AutoRule]:
    """The rules in force: the defaults with any stored overrides of points, caps and activity."""
    overrides = {r.code: r for r in session.scalars(select(PointRule))}
    out = []
    for rule in RULES:
        o = overrides.get(rule.code)
        out.append(rule if o is None else replace(rule, points=o.points, daily_cap=o.daily_cap,
                                                  monthly_cap=o.monthly_cap, active=o.active))
    return out


def update_rule(*, session: Session, actor: User, origin: Origin, code: str, points: int,
                daily_cap: int | None, monthly_cap: int | None, active: bool = True) -> AutoRule:
    """Override a rule's points and caps (administrators); audited."""
    if actor.role != Role.ADMIN:
        raise Forbidden("只有系统管理员可以修改积分规则", "Only administrators may change point rules")
    if code not in RULE:
        raise not_found("积分规则", "Point rule", code)
    if not -100 <= points <= 100 or points == 0:
        raise InvalidInput("分值应为 −100 到 100 之间的非零整数", "Points must be a non-zero integer from -100 to 100")
    for cap in (daily_cap, monthly_cap):
        if cap is not None and not 0 < cap <= 10_000:
            raise InvalidInput("上限应为 1–10000 或留空", "Caps must be 1–10000 or empty")
    current = next(r for r in rules(session=session) if r.code == code)
    row = session.get(PointRule, code)
    if row is None:
        row = PointRule(code=code)
        session.add(row)
    row.points, row.daily_cap, row.monthly_cap, row.active, row.updated_at = (
        points, daily_cap, monthly_cap, active, utcnow())
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="point_rule", entity_id=code, action="update",
           before={"points": current.points, "daily_cap": current.daily_cap, "monthly_cap": current.monthly_cap,
                   "active": current.active},
           after={"points": points, "daily_cap": daily_cap, "monthly_cap": monthly_cap, "active": active})
    return next(r for r in rules(session=session) if r.code == code)


# ---------------------------------------------------------------------------------------
# The job
# ---------------------------------------------------------------------------------------


def _cursor(session: Session) -> PointCursor:
    cursor = session.scalar(select(PointCursor).where(PointCursor.name == "audit").with_for_update())
    if cursor is None:
        cursor = PointCursor(name="audit", last_audit_id=0)
        session.add(cursor)
        session.flush()
    return cursor


def _sum(session: Session, *where) -> int:
    return int(session.scalar(select(func.coalesce(func.sum(PointEntry.points), 0)).where(*where)) or 0)


def _capped(session: Session, rule: AutoRule, user_id: int, day: dt.date, month: str) -> tuple[int, str]:
    """The points this entry gets after the caps, and the reason it got fewer (empty if none)."""
    points = rule.points
    if points <= 0:
        return points, ""
    notes = []
    if rule.daily_cap is not None:
        left = rule.daily_cap - _sum(session, PointEntry.user_id == user_id, PointEntry.rule_code == rule.code,
                                     PointEntry.day == day)
        if left < points:
            points = max(left, 0)
            notes.append(f"已达该项每日上限 {rule.daily_cap} 分")
    if rule.monthly_cap is not None:
        left = rule.monthly_cap - _sum(session, PointEntry.user_id == user_id, PointEntry.rule_code == rule.code,
                                       PointEntry.month == month)
        if left < points:
            points = max(left, 0)
            notes.append(f"已达该项每月上限 {rule.monthly_cap} 分")
    auto = [r.code for r in RULES]
    left = MONTHLY_TOTAL_CAP - _sum(session, PointEntry.user_id == user_id, PointEntry.rule_code.in_(auto),
                                    PointEntry.month == month, PointEntry.points > 0)
    if left < points:
        points = max(left, 0)
        notes.append(f"已达每月自动积分总上限 {MONTHLY_TOTAL_CAP} 分")
    return points, "；".join(notes)


def award_points(*, session: Session, now: dt.datetime | None = None) -> int:
    """Score the history entries written since the last run; returns how many point entries were written."""
    active = [r for r in rules(session=session) if r.active]
    if not active:
        return 0
    cursor = _cursor(session)
    keys = {(r.entity, r.action) for r in active}
    actions = sorted({a for _, a in keys})
    start = max(cursor.last_audit_id - REREAD_WINDOW, 0)
    entries = list(session.scalars(
        select(AuditEntry).where(AuditEntry.id > start, AuditEntry.action.in_(actions))
        .order_by(AuditEntry.id).limit(BATCH)))
    written = 0
    workers: dict[int, bool] = {}
    for entry in entries:
        for rule in active:
            if not rule.matches(entry):
                continue
            user_id, case = _beneficiary(session, rule, entry)
            if user_id is None:
                continue
            if user_id not in workers:
                user = session.get(User, user_id)
                workers[user_id] = user is not None and user.role == Role.GRID_WORKER
            if not workers[user_id]:
                continue
            source = f"audit:{entry.id}"
            if session.scalar(select(PointEntry.id).where(PointEntry.user_id == user_id,
                                                          PointEntry.rule_code == rule.code,
                                                          PointEntry.source_key == source)) is not None:
                continue
            day = local_day(entry.at)
            month = day.strftime("%Y-%m")
            points, note = _capped(session, rule, user_id, day, month)
            what = f"事件 {case.number}" if case is not None and case.number else f"{entry.entity} {entry.entity_id}"
            reason = f"{rule.zh}：{what}" + (f"（{note}，本条计 {points} 分）" if note else "")
            with session.begin_nested():
                session.add(PointEntry(user_id=user_id, rule_code=rule.code, points=points, raw_points=rule.points,
                                       reason=reason, case_id=case.id if case is not None else None,
                                       source_key=source, occurred_at=entry.at, day=day, month=month))
            written += 1
    if entries:
        cursor.last_audit_id = max(cursor.last_audit_id, entries[-1].id)
    else:
        last = session.scalar(select(func.max(AuditEntry.id))) or 0
        cursor.last_audit_id = max(cursor.last_audit_id, last)
    session.flush()
    return written


def _beneficiary(session: Session, rule: AutoRule, entry: AuditEntry) -> tuple[int | None, Case | None]:
    case = None
    if entry.entity == "case":
        try:
            case = session.get(Case, int(entry.entity_id))
        except ValueError:
            case = None
    if rule.beneficiary == "reporter":
        return (case.reporter_user_id if case is not None else None), case
    return entry.actor_id, case


def run_once() -> int:
    """One pass of the points job in its own unit of work (the background loop calls this)."""
    from civicgrid.db import unit_of_work

    with unit_of_work() as session:
        return award_points(session=session)


# ---------------------------------------------------------------------------------------
# Check-ins, adjustments, reading
# ---------------------------------------------------------------------------------------

CHECKIN_KINDS = {"checkin": ("巡查签到", "Patrol check-in"), "safe_report": ("无事报平安", "All-clear report")}


def check_in(*, session: Session, actor: User, origin: Origin, kind: str, note: str | None = None,
             lat: float | None = None, lon: float | None = None) -> AuditEntry:
    """A grid worker's patrol check-in or all-clear report (无事报平安) for their grid; earns points via the rules."""
    if actor.role != Role.GRID_WORKER:
        raise Forbidden("只有网格员可以巡查签到", "Only grid workers check in on patrol")
    if kind not in CHECKIN_KINDS:
        raise InvalidInput("签到类型应为 checkin 或 safe_report", "Kind must be checkin or safe_report",
                           allowed=list(CHECKIN_KINDS))
    return record(session=session, actor=actor, origin=origin, entity="patrol", entity_id=actor.scope_region_id,
                  action=kind, note=(note or "").strip()[:500] or None,
                  after={"grid_id": actor.scope_region_id, "lat": lat, "lon": lon})


def adjust_points(*, session: Session, actor: User, origin: Origin, worker_id: int, points: int, reason: str,
                  now: dt.datetime | None = None) -> PointEntry:
    """A manual adjustment with a reason, by a leader, operator or administrator over the worker's area; audited."""
    if actor.role not in (Role.LEADER, Role.OPERATOR, Role.ADMIN):
        raise Forbidden("您的角色不能调整积分", "Your role may not adjust points")
    worker = session.get(User, worker_id)
    if worker is None or worker.role != Role.GRID_WORKER or not worker.scope_path.startswith(actor.scope_path):
        raise not_found("网格员", "Grid worker", worker_id)
    if points == 0 or not -50 <= points <= 50:
        raise InvalidInput("调整分值应为 −50 到 50 之间的非零整数", "An adjustment is a non-zero integer from -50 to 50")
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise InvalidInput("请填写调整原因", "Give the reason for the adjustment")
    now = now or utcnow()
    day = local_day(now)
    entry = PointEntry(user_id=worker.id, rule_code=MANUAL, points=points, raw_points=points,
                       reason=f"人工调整：{reason[:300]}（{actor.display_name}）", source_key=f"manual:{uuid.uuid4().hex}",
                       occurred_at=now, day=day, month=day.strftime("%Y-%m"), created_by_id=actor.id)
    session.add(entry)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="point_entry", entity_id=entry.id, action="adjust",
           note=reason[:300], after={"worker_id": worker.id, "points": points, "month": entry.month})
    return entry


@dataclass
class PointsSummary:
    """A worker's month: total, per rule, and every entry with its reason."""

    worker: User
    month: str
    total: int
    by_rule: list[tuple[str, tuple[str, str], int, int]]  # code, label, entries, points
    entries: list[PointEntry]


def rule_label(code: str) -> tuple[str, str]:
    if code == MANUAL:
        return ("人工调整", "Manual adjustment")
    rule = RULE.get(code)
    return (rule.zh, rule.en) if rule else (code, code)


def worker_points(*, session: Session, actor: User, worker_id: int, month: str) -> PointsSummary:
    """A worker's points for a month: their own, or any worker in a leader's/operator's/admin's area."""
    worker = session.get(User, worker_id)
    visible = worker is not None and worker.role == Role.GRID_WORKER and (
        worker.id == actor.id
        or (actor.role in (Role.LEADER, Role.OPERATOR, Role.ADMIN) and worker.scope_path.startswith(actor.scope_path)))
    if not visible:
        raise not_found("网格员", "Grid worker", worker_id)
    entries = list(session.scalars(select(PointEntry).where(PointEntry.user_id == worker.id, PointEntry.month == month)
                                   .order_by(PointEntry.occurred_at.desc(), PointEntry.id.desc())))
    per: dict[str, list[int]] = {}
    for e in entries:
        acc = per.setdefault(e.rule_code, [0, 0])
        acc[0] += 1
        acc[1] += e.points
    by_rule = [(code, rule_label(code), n, pts) for code, (n, pts) in sorted(per.items(), key=lambda kv: -kv[1][1])]
    return PointsSummary(worker, month, sum(e.points for e in entries), by_rule, entries)


@dataclass
class WorkerStanding:
    worker_id: int
    name: str
    grid_id: int
    total: int
    rank: int
    previous_rank: int | None

    @property
    def rank_change(self) -> int | None:
        return None if self.previous_rank is None else self.previous_rank - self.rank


def standings(*, session: Session, actor: User, path: str, month: str) -> list[WorkerStanding]:
    """Grid workers under ``path`` (within the actor's scope) by points this month, with the change since last month."""
    if not path.startswith(actor.scope_path):
        return []
    from civicgrid.regions.models import subtree_range

    low, high = subtree_range(path)
    workers = list(session.scalars(select(User).where(User.role == Role.GRID_WORKER, User.active.is_(True),
                                                      User.scope_path >= low, User.scope_path < high)))
    if not workers:
        return []
    ids = [w.id for w in workers]
    prev_month = _previous_month(month)

    def totals(m: str) -> dict[int, int]:
        rows = session.execute(select(PointEntry.user_id, func.sum(PointEntry.points))
                               .where(PointEntry.month == m, PointEntry.user_id.in_(ids))
                               .group_by(PointEntry.user_id)).all()
        return {uid: int(total or 0) for uid, total in rows}

    def ranks(t: dict[int, int]) -> dict[int, int]:
        ordered = sorted(workers, key=lambda w: (-t.get(w.id, 0), w.display_name))
        out, rank, last = {}, 0, None
        for i, w in enumerate(ordered, start=1):
            if t.get(w.id, 0) != last:
                rank, last = i, t.get(w.id, 0)
            out[w.id] = rank
        return out

    now_t, prev_t = totals(month), totals(prev_month)
    now_r, prev_r = ranks(now_t), ranks(prev_t)
    rows = [WorkerStanding(w.id, w.display_name, w.scope_region_id, now_t.get(w.id, 0), now_r[w.id],
                           prev_r.get(w.id) if prev_t else None) for w in workers]
    return sorted(rows, key=lambda r: (r.rank, r.name))


def _previous_month(month: str) -> str:
    year, mon = int(month[:4]), int(month[5:7])
    return f"{year - 1}-12" if mon == 1 else f"{year}-{mon - 1:02d}"


def current_month(now: dt.datetime | None = None) -> str:
    """This local month as YYYY-MM."""
    return (now or utcnow()).astimezone(local_tz()).strftime("%Y-%m")
