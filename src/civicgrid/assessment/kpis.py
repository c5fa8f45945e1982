"""The KPIs (考核指标) — every formula in one place, computed from the cases and their history.

Each **count** is a predicate over ``case`` rows: a *cohort* (the cases a period selects
by one timestamp: received, registered, due, resolved, closed — or the open cases now)
and a *condition* inside it. The same predicate serves three readers, so they cannot
disagree: the aggregate queries (a ``SUM(CASE WHEN …)`` per count, one query per cohort),
the drill-down lists ("every number is a link to the cases behind it") and the reports.
Two counts come from the history instead (dispatches and returns are events: a case can
be dispatched, returned and dispatched again); they read the audit trail.

Each **rate** is a quotient of counts; a rate whose denominator is zero is ``None``
("—", nothing to judge), never 0 % or 100 %. docs/kpis.md is the readable version of
this module, formula by formula; tests build small histories by hand and check each one.

Periods are half-open ``[start, end)`` instants bounded by local midnights (Asia/Shanghai
by default). Figures of a past period are read from the cases as they stand when computed
(a monthly report freezes them on the day it is generated).
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import BigInteger, Float, String, and_, case, cast, false, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement

from civicgrid.audit.models import AuditEntry
from civicgrid.auth.models import Role, User
from civicgrid.errors import InvalidInput
from civicgrid.events import tally
from civicgrid.events.models import Case, CaseTally
from civicgrid.events.scope import case_scope
from civicgrid.events.workflow import OPEN, CaseState
from civicgrid.regions.models import Region, subtree_range
from civicgrid.settings import get_settings

# ---------------------------------------------------------------------------------------
# Periods
# ---------------------------------------------------------------------------------------


def local_tz() -> ZoneInfo:
    """The city's time zone: periods start and end at its midnights."""
    return ZoneInfo(get_settings().timezone)


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=local_tz()).astimezone(dt.UTC)


_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class Period:
    """Local days ``first``..``last`` (inclusive) as the UTC instants ``[start, end)``."""

    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        return _midnight(self.first)

    @property
    def end(self) -> dt.datetime:
        return _midnight(self.last + dt.timedelta(days=1))

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def is_month(self) -> bool:
        return self.first.day == 1 and self.last == _month_last(self.first)

    @property
    def key(self) -> str:
        """``2026-11`` for a calendar month, ``2026-11-01..2026-11-15`` otherwise (parse() reads both)."""
        if self.is_month:
            return self.first.strftime("%Y-%m")
        return f"{self.first.isoformat()}..{self.last.isoformat()}"

    def label(self, lang: str = "zh") -> str:
        """How a page names the period."""
        if self.is_month:
            return f"{self.first.year}年{self.first.month}月" if lang != "en" else self.first.strftime("%B %Y")
        if self.first == self.last:
            return self.first.isoformat()
        return f"{self.first.isoformat()} – {self.last.isoformat()}"

    def previous(self) -> Period:
        """The period before: the previous calendar month for a month, else as many days just before."""
        if self.is_month:
            last = self.first - dt.timedelta(days=1)
            return Period.month(last.year, last.month)
        return Period(self.first - dt.timedelta(days=self.days), self.first - dt.timedelta(days=1))

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        first = dt.date(year, month, 1)
        return cls(first, _month_last(first))

    @classmethod
    def day(cls, day: dt.date) -> Period:
        return cls(day, day)

    @classmethod
    def last_days(cls, n: int, now: dt.datetime) -> Period:
        """The ``n`` local days ending today."""
        today = local_day(now)
        return cls(today - dt.timedelta(days=n - 1), today)

    @classmethod
    def parse(cls, text: str | None, now: dt.datetime) -> Period:
        """``YYYY-MM`` or ``YYYY-MM-DD..YYYY-MM-DD``; empty means the current month. InvalidInput otherwise."""
        text = (text or "").strip()
        if not text:
            today = local_day(now)
            return cls.month(today.year, today.month)
        m = _MONTH.match(text)
        try:
            if m:
                return cls.month(int(m.group(1)), int(m.group(2)))
            r = _RANGE.match(text)
            if r:
                first, last = dt.date.fromisoformat(r.group(1)), dt.date.fromisoformat(r.group(2))
                if first <= last and (last - first).days <= 3660:
                    return cls(first, last)
        except ValueError:
            pass
        raise InvalidInput(
            f"考核期「{text[:40]}」格式有误：应为 年-月（如 2026-11）或 起始日..结束日",
            f"Bad period '{text[:40]}': use YYYY-MM or YYYY-MM-DD..YYYY-MM-DD",
        )


def _month_last(first: dt.date) -> dt.date:
    return first.replace(day=_calendar.monthrange(first.year, first.month)[1])


def local_day(instant: dt.datetime) -> dt.date:
    """The local calendar day of an aware instant."""
    return instant.astimezone(local_tz()).date()


# ---------------------------------------------------------------------------------------
# SQL helpers
# ---------------------------------------------------------------------------------------


class seconds_between(FunctionElement):  # noqa: N801 — reads like the SQL function it renders
    """``later - earlier`` in seconds, on SQLite and PostgreSQL alike."""

    type = Float()
    inherit_cache = True
    name = "seconds_between"


@compiles(seconds_between)
def _seconds_pg(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return f"EXTRACT(EPOCH FROM ({compiler.process(later, **kw)} - {compiler.process(earlier, **kw)}))"


@compiles(seconds_between, "sqlite")
def _seconds_sqlite(element, compiler, **kw):
    later, earlier = list(element.clauses)
    return f"((julianday({compiler.process(later, **kw)}) - julianday({compiler.process(earlier, **kw)})) * 86400.0)"


class local_date(FunctionElement):  # noqa: N801
    """The local calendar day (``YYYY-MM-DD`` text) of a UTC timestamp, given the zone's offset in seconds."""

    type = String()
    inherit_cache = True
    name = "local_date"


@compiles(local_date)
def _local_date_pg(element, compiler, **kw):
    column, offset = list(element.clauses)
    # The offset is rendered inline so SELECT and GROUP BY carry the same expression text.
    secs = compiler.process(offset, **{**kw, "literal_binds": True})
    return f"to_char({compiler.process(column, **kw)} + make_interval(secs => {secs}), 'YYYY-MM-DD')"


@compiles(local_date, "sqlite")
def _local_date_sqlite(element, compiler, **kw):
    column, offset = list(element.clauses)
    secs = compiler.process(offset, **{**kw, "literal_binds": True})
    return f"date({compiler.process(column, **kw)}, '{secs} seconds')"


def utc_offset_seconds(now: dt.datetime) -> int:
    """The local zone's UTC offset at ``now`` (Asia/Shanghai has no daylight saving: always +8 h)."""
    offset = now.astimezone(local_tz()).utcoffset()
    return int(offset.total_seconds()) if offset is not None else 0


def _in(column, period: Period) -> ColumnElement[bool]:
    return and_(column >= period.start, column < period.end)


def _unindexed(column):
    """``column`` wrapped so a planner cannot pick an index on it (keeps SQLite on the period's timestamp
    index: ``state = 'closed'`` alone matches most of a city's history)."""
    return func.coalesce(column, column)


def region_range(path: str) -> ColumnElement[bool]:
    """Cases located in the region at ``path`` or below (one index range)."""
    return area_range(Case.region_path, path)


# ---------------------------------------------------------------------------------------
# The context a count is evaluated in
# ---------------------------------------------------------------------------------------

DEFAULT_REGISTER_LIMIT_MINUTES = 120


@dataclass(frozen=True)
class Ctx:
    """A period, the instant of evaluation, and the one tunable inside a count (registration limit)."""

    period: Period
    now: dt.datetime
    register_limit_minutes: int = DEFAULT_REGISTER_LIMIT_MINUTES


# ---------------------------------------------------------------------------------------
# Cohorts and counts
# ---------------------------------------------------------------------------------------

S = CaseState
OPEN_STATES = sorted(s.value for s in OPEN)

COHORTS: dict[str, Callable[[Ctx], ColumnElement[bool]]] = {
    # Reports that came in during the period (every channel, duplicates included).
    "received": lambda c: _in(Case.received_at, c.period),
    # Cases registered (立案) during the period, including on-site handling and direct answers.
    "registered": lambda c: _in(Case.registered_at, c.period),
    # Cases whose completion deadline falls in the period (应结案), duplicates merged away excluded.
    "due": lambda c: and_(_in(Case.finish_due_at, c.period), Case.state != S.MERGED),
    # Cases whose (latest) resolution falls in the period (处置); rework clears a resolution.
    "resolved": lambda c: _in(Case.resolved_at, c.period),
    # Cases closed (结案) during the period; rejected and merged reports are not closures.
    "closed": lambda c: and_(_in(Case.closed_at, c.period), _unindexed(Case.state) == S.CLOSED),
    # Open cases now (no period): the live counters.
    "open": lambda c: Case.state.in_(OPEN_STATES),
}

ON_TIME = Case.resolved_at <= Case.finish_due_at


@dataclass(frozen=True)
class Count:
    """A count of cases (or, for ``cohort == 'history'``, of history events)."""

    key: str
    zh: str
    en: str
    cohort: str
    condition: Callable[[Ctx], ColumnElement[bool]] | None = None
    doc_zh: str = ""
    doc_en: str = ""

    def where(self, ctx: Ctx) -> ColumnElement[bool]:
        """The full predicate over ``case`` (cohort and condition)."""
        if self.cohort == "history":
            return Case.id.in_(_event_case_ids(self.key, ctx))
        base = COHORTS[self.cohort](ctx)
        return base if self.condition is None else and_(base, self.condition(ctx))


COUNTS: tuple[Count, ...] = (
    Count("received", "受理数", "Received", "received",
          doc_zh="期内接报的事件（各渠道，含重复件）", doc_en="reports received in the period, every channel"),
    Count("registered", "立案数", "Registered", "registered",
          doc_zh="期内立案的事件（含网格自行处置、直接答复）", doc_en="cases registered in the period"),
    Count("registered_on_time", "按时立案数", "Registered on time", "registered",
          # A millisecond of slack: SQLite's julianday arithmetic is not exact to the microsecond.
          lambda c: seconds_between(Case.registered_at, Case.received_at) <= c.register_limit_minutes * 60 + 0.001,
          "立案时间 − 接报时间 ≤ 立案时限", "registered within the registration limit of receipt"),
    Count("registered_inaccurate", "误立案数", "Registered in error", "registered",
          lambda c: Case.state == S.MERGED,
          "立案后被认定为重复件并合并", "registered, then merged as a duplicate"),
    Count("self_handled", "自行处置数", "Handled at grid level", "registered",
          lambda c: Case.self_handled.is_(True),
          "网格员就地处置（自行处置）", "handled on site by the grid worker"),
    Count("dispatched", "派遣数", "Dispatches", "history",
          doc_zh="期内的派遣次数（同一事件再派遣另计）", doc_en="dispatch events in the period"),
    Count("returned", "退回数", "Returns", "history",
          doc_zh="期内承办单位退回的次数", doc_en="return events in the period"),
    Count("due", "应结案数", "Due", "due",
          doc_zh="办结时限落在期内的事件（不含被合并的重复件）", doc_en="cases whose completion deadline falls in the period"),
    Count("deferred", "缓办数", "Deferred", "due", lambda c: Case.state == S.SUSPENDED,
          "应结案事件中当前挂起（缓办）的", "due cases that are suspended"),
    Count("closed", "结案数", "Closed", "due", lambda c: Case.state == S.CLOSED,
          "应结案事件中已结案的", "due cases that are closed"),
    Count("closed_on_time", "按期结案数", "Closed on time", "due",
          lambda c: and_(Case.state == S.CLOSED, ON_TIME),
          "应结案事件中已结案且在时限内处置完毕的", "due cases closed, resolved by the deadline"),
    Count("handled_on_time", "按期处置数", "Handled on time", "due",
          lambda c: and_(Case.state != S.SUSPENDED, ON_TIME),
          "应结案事件中在时限内处置完毕的（处置完毕 ≤ 办结时限）", "due cases resolved by the deadline"),
    Count("overdue", "超期数", "Overdue", "due",
          lambda c: and_(Case.state != S.SUSPENDED, or_(
              Case.resolved_at > Case.finish_due_at,
              and_(Case.resolved_at.is_(None), Case.finish_due_at < c.now))),
          "应结案事件中（挂起除外）处置晚于时限、或未处置且已过时限的",
          "due cases (not suspended) resolved late, or unresolved past the deadline"),
    Count("handled", "处置数", "Handled", "resolved",
          doc_zh="期内处置完毕的事件（以最近一次处置为准）", doc_en="cases resolved in the period (latest resolution)"),
    Count("reworked", "返工数", "Reworked", "resolved", lambda c: Case.rework_count > 0,
          "期内处置完毕、且曾被返工（核查不通过或回访不满意重办）的", "resolved cases that were sent back at least once"),
    Count("extended", "延期数", "Extended", "resolved", lambda c: Case.extensions_count > 0,
          "期内处置完毕、且获批过延期的", "resolved cases that had an approved extension"),
    Count("closures", "办结数", "Closures", "closed",
          doc_zh="期内结案的事件", doc_en="cases closed in the period"),
    Count("rated", "回访数", "Rated", "closed", lambda c: Case.satisfaction.is_not(None),
          "期内结案且有满意度评价的", "cases closed in the period with a satisfaction rating"),
    Count("satisfied", "满意数", "Satisfied", "closed",
          lambda c: Case.satisfaction.in_(["satisfied", "basically"]),
          "期内结案、评价为满意或基本满意的", "rated satisfied or basically satisfied"),
    Count("open_now", "在办数", "Open now", "open",
          doc_zh="当前未办结的事件（不限期间）", doc_en="cases open now"),
    Count("overdue_now", "当前超期数", "Overdue now", "open", lambda c: Case.overdue.is_(True),
          "当前未办结且已标记超期的", "open cases flagged overdue now"),
)
COUNT = {c.key: c for c in COUNTS}

# Sum of handling time over the 'handled' cohort (for the average): resolution − registration − suspension.
HANDLING_SECONDS = seconds_between(Case.resolved_at, Case.registered_at) - func.coalesce(Case.suspended_seconds, 0.0)


# ---------------------------------------------------------------------------------------
# Rates
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """``numerator / denominator`` of counts (``1 − …`` when ``complement``); None when nothing to judge."""

    key: str
    zh: str
    en: str
    numerator: str
    denominator: tuple[str, ...]  # counts added; a leading '-' subtracts
    complement: bool = False
    lower_is_better: bool = False
    formula_zh: str = ""

    def denominator_value(self, counts: dict[str, float]) -> float:
        total = 0.0
        for term in self.denominator:
            total += -counts[term[1:]] if term.startswith("-") else counts[term]
        return total

    def value(self, counts: dict[str, float]) -> float | None:
        """The rate in [0, 1], or None when the denominator is zero."""
        den = self.denominator_value(counts)
        if den <= 0:
            return None
        share = counts[self.numerator] / den
        value = 1 - share if self.complement else share
        return min(max(value, 0.0), 1.0)


RATES: tuple[Rate, ...] = (
    Rate("on_time_registration_rate", "按时立案率", "On-time registration rate", "registered_on_time",
         ("registered",), formula_zh="按时立案数 / 立案数"),
    Rate("accurate_registration_rate", "准确立案率", "Accurate registration rate", "registered_inaccurate",
         ("registered",), complement=True, formula_zh="1 − 误立案数 / 立案数"),
    Rate("accurate_dispatch_rate", "准确派遣率", "Accurate dispatch rate", "returned", ("dispatched",),
         complement=True, formula_zh="1 − 退回数 / 派遣数"),
    Rate("on_time_handling_rate", "按期处置率", "On-time handling rate", "handled_on_time", ("due", "-deferred"),
         formula_zh="按期处置数 / (应结案数 − 缓办数)"),
    Rate("closure_rate", "结案率", "Closure rate", "closed", ("due", "-deferred"),
         formula_zh="结案数 / (应结案数 − 缓办数)"),
    Rate("on_time_closure_rate", "按期结案率", "On-time closure rate", "closed_on_time", ("due", "-deferred"),
         formula_zh="按期结案数 / (应结案数 − 缓办数)"),
    Rate("rework_rate", "返工率", "Rework rate", "reworked", ("handled",), lower_is_better=True,
         formula_zh="返工数 / 处置数"),
    Rate("extension_rate", "延期率", "Extension rate", "extended", ("handled",), lower_is_better=True,
         formula_zh="延期数 / 处置数"),
    Rate("satisfaction_rate", "满意率", "Satisfaction rate", "satisfied", ("rated",),
         formula_zh="满意数（满意 + 基本满意）/ 回访数"),
)
RATE = {r.key: r for r in RATES}


@dataclass
class Kpis:
    """The counts, rates and average handling time of one subject in one period."""

    counts: dict[str, float] = field(default_factory=lambda: {c.key: 0 for c in COUNTS})
    handling_seconds: float = 0.0

    @property
    def rates(self) -> dict[str, float | None]:
        return {r.key: r.value(self.counts) for r in RATES}

    @property
    def avg_handling_hours(self) -> float | None:
        """平均处置时长 = Σ(处置完毕 − 立案 − 挂起时长) / 处置数, in hours; None when nothing was handled."""
        handled = self.counts["handled"]
        return None if not handled else self.handling_seconds / handled / 3600

    def add(self, other: Kpis) -> None:
        for key, value in other.counts.items():
            self.counts[key] = self.counts.get(key, 0) + value
        self.handling_seconds += other.handling_seconds

    def as_dict(self) -> dict:
        """JSON-ready: counts as ints, rates as fractions (None where nothing to judge)."""
        return {
            "counts": {k: int(v) for k, v in self.counts.items()},
            "rates": self.rates,
            "avg_handling_hours": self.avg_handling_hours,
        }


# ---------------------------------------------------------------------------------------
# Subjects and grouping
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """Whose KPIs: a region's subtree, a unit (its current cases / its events), or a grid worker's reports."""

    kind: str  # region | unit | worker | all
    id: int | None = None
    path: str | None = None  # a region's path (for a unit: only its cases inside that region)

    def case_filter(self) -> ColumnElement[bool] | None:
        if self.kind == "region":
            assert self.path is not None
            return region_range(self.path)
        if self.kind == "unit":
            # A unit's cases, optionally only those inside a region (``path``).
            return Case.unit_id == self.id if self.path is None else and_(Case.unit_id == self.id,
                                                                          region_range(self.path))
        if self.kind == "worker":
            return Case.reporter_user_id == self.id
        return None

    def event_filter(self) -> ColumnElement[bool] | None:
        if self.kind == "region":
            assert self.path is not None
            return region_range(self.path)
        if self.kind == "unit":
            return _event_unit() == self.id if self.path is None else and_(_event_unit() == self.id,
                                                                           region_range(self.path))
        if self.kind == "worker":
            return false()  # grid workers are not dispatched to
        return None


def region_subject(region: Region) -> Subject:
    return Subject("region", region.id, region.path)


def _event_unit():
    # A dispatch names the unit it went to; a return, the unit that sent it back.
    return case(
        (AuditEntry.action == "dispatch", AuditEntry.after["unit_id"].as_integer()),
        else_=AuditEntry.before["unit_id"].as_integer(),
    )


_EVENT_ACTIONS = {"dispatched": "dispatch", "returned": "return"}


def _event_case_ids(key: str, ctx: Ctx, unit_id: int | None = None):
    stmt = select(cast(AuditEntry.entity_id, BigInteger)).where(
        AuditEntry.entity == "case", AuditEntry.action == _EVENT_ACTIONS[key], _in(AuditEntry.at, ctx.period))
    if unit_id is not None:
        stmt = stmt.where(_event_unit() == unit_id)
    return stmt


@dataclass(frozen=True)
class Grouping:
    """How to split a computation: by child region of ``parent``, by unit, by reporting grid worker."""

    kind: str  # children | unit | worker
    parent: Region | None = None
    children: tuple[Region, ...] = ()


def _case_key(grouping: Grouping | None):
    if grouping is None:
        return literal(0)
    if grouping.kind == "unit":
        return Case.unit_id
    if grouping.kind == "worker":
        return Case.reporter_user_id
    lengths = {len(r.path) for r in grouping.children}
    if len(lengths) == 1:
        # Children of one parent share a path length when codes at a level have one length: group by prefix.
        return func.substr(Case.region_path, 1, lengths.pop())
    return Case.region_path


def _resolve_key(grouping: Grouping | None, raw) -> object | None:
    if grouping is None or grouping.kind != "children":
        return raw if grouping is not None else 0
    for child in grouping.children:
        if raw is not None and str(raw).startswith(child.path):
            return child.id
    return None


# ---------------------------------------------------------------------------------------
# Computing
# ---------------------------------------------------------------------------------------


def count_measures(
    *,
    session: Session,
    actor: User,
    ctx: Ctx,
    subject: Subject | None = None,
    grouping: Grouping | None = None,
    keys: Iterable[str] | None = None,
    with_handling: bool = True,
    use_tally: bool = True,
) -> dict[object, Kpis]:
    """The named counts (default: all) per group key, in the actor's scope: one query per cohort.

    Whole past days come from the case tallies (events/tally.py) when the question fits one
    of their ledgers; today, and any question that does not fit, from the cases themselves.
    Both give the same numbers (tests/assessment/test_tally_kpis.py); ``use_tally=False``
    forces the cases.
    """
    wanted = [COUNT[k] for k in (keys or COUNT)]
    results: dict[object, Kpis] = {}
    by_cohort: dict[str, list[Count]] = {}
    for count in wanted:
        by_cohort.setdefault(count.cohort, []).append(count)
    day_ledger, month_ledger = tally_plan(actor, subject, grouping) if use_tally else (None, None)
    limit = tally.usable_limit(session) if day_ledger or month_ledger else None
    today = local_day(ctx.now)
    last_past = min(ctx.period.last, today - dt.timedelta(days=1))
    # Where each stretch of the period is read: (ledger or None for the cases, stretch).
    stretches: list[tuple[str | None, Period]] = []
    for stretch, whole_month in _month_stretches(ctx.period.first, last_past):
        stretches.append((month_ledger if whole_month and month_ledger else day_ledger, stretch))
    by_source: dict[tuple[str | None, Period | None], list[Count]] = {}
    for cohort, counts in by_cohort.items():
        fits = limit is not None and (cohort != "registered" or limit == ctx.register_limit_minutes) and (
            # A handler's events are those of the cases now with their unit, not those naming it.
            cohort != "history" or actor.role != Role.HANDLER)
        if cohort == "open":
            by_source.setdefault((day_ledger if fits else None, None), []).extend(counts)
            continue
        for ledger, stretch in stretches:
            by_source.setdefault((ledger if fits else None, stretch), []).extend(counts)
        if ctx.period.last >= today:
            # Today (and later): "overdue" depends on the instant, and these cases are few.
            by_source.setdefault((None, Period(max(ctx.period.first, today), ctx.period.last)), []).extend(counts)
    for (ledger, stretch), counts in by_source.items():
        if ledger is not None:
            # One pass over the tallies for all the cohorts they answer in this stretch.
            _tally_counts(session, ledger, actor, subject, grouping, counts, stretch, with_handling, results)
            continue
        part = ctx if stretch is None else Ctx(stretch, ctx.now, ctx.register_limit_minutes)
        cohorts: dict[str, list[Count]] = {}
        for c in counts:
            cohorts.setdefault(c.cohort, []).append(c)
        for cohort, cs in cohorts.items():
            _case_counts(session, actor, part, subject, grouping, cohort, cs, with_handling, results)
    return results


def _case_counts(session: Session, actor: User, ctx: Ctx, subject: Subject | None, grouping: Grouping | None,
                 cohort: str, counts: Sequence[Count], with_handling: bool, results: dict[object, Kpis]) -> None:
    """One cohort's counts read from the cases (and, for dispatches and returns, the history)."""
    if cohort == "history":
        _history_counts(session, actor, ctx, subject, grouping, counts, results)
        return
    scope = [case_scope(actor)]
    if subject is not None and subject.case_filter() is not None:
        scope.append(subject.case_filter())
    key_col = _case_key(grouping)
    cols = [
        (func.count() if c.condition is None else func.sum(case((c.condition(ctx), 1), else_=0))).label(c.key)
        for c in counts
    ]
    if cohort == "resolved" and with_handling:
        cols.append(func.sum(HANDLING_SECONDS).label("_handling"))
    stmt = select(key_col.label("_key"), *cols).where(*scope, COHORTS[cohort](ctx)).group_by(key_col)
    if cohort in COVER_INDEX and _wide_or_short(actor, subject, ctx.period):
        # SQLite would otherwise range over the region index, which for a city is every case.
        stmt = stmt.with_hint(Case, f"INDEXED BY {COVER_INDEX[cohort]}", "sqlite")
    for row in session.execute(stmt).mappings():
        key = _resolve_key(grouping, row["_key"])
        if key is None:
            continue
        kpis = results.setdefault(key, Kpis())
        for c in counts:
            kpis.counts[c.key] += row[c.key] or 0
        if "_handling" in row:
            kpis.handling_seconds += float(row["_handling"] or 0)


# The covering index of each period cohort (events/models.py COHORT_INDEXES).
COVER_INDEX = {"received": "ix_case_received_cover", "registered": "ix_case_registered_cover",
               "due": "ix_case_due_cover", "resolved": "ix_case_resolved_cover", "closed": "ix_case_closed_cover"}


def _wide_or_short(actor: User, subject: Subject | None, period: Period) -> bool:
    """Whether the period's timestamp index beats the region index: a day or two, or a street or wider."""
    if period.days <= 2:
        return True
    paths = [] if actor.role in (Role.HANDLER, Role.CITIZEN) else [actor.scope_path]
    if subject is not None and subject.path is not None:
        paths.append(subject.path)
    if subject is not None and subject.kind == "worker":
        return False
    return bool(paths) and max(tally.path_depth(p) for p in paths) <= tally.LEDGER_DEPTH[tally.AREA]


# ---------------------------------------------------------------------------------------
# Reading the case tallies
# ---------------------------------------------------------------------------------------

# Where each count is in the tallies: (tally cohort, the counter columns summed).
TALLIED: dict[str, tuple[str, tuple[str, ...]]] = {
    "received": ("received", ("n",)),
    "registered": ("registered", ("n",)),
    "registered_on_time": ("registered", ("registered_on_time",)),
    "registered_inaccurate": ("registered", ("registered_inaccurate",)),
    "self_handled": ("registered", ("self_handled",)),
    "dispatched": ("dispatch", ("n",)),
    "returned": ("return", ("n",)),
    "due": ("due", ("n",)),
    "deferred": ("due", ("deferred",)),
    "closed": ("due", ("closed_now",)),
    "closed_on_time": ("due", ("closed_on_time",)),
    "handled_on_time": ("due", ("handled_on_time",)),
    # On a past day every deadline has passed: overdue = resolved late + still unresolved.
    "overdue": ("due", ("resolved_late", "unresolved")),
    "handled": ("resolved", ("n",)),
    "reworked": ("resolved", ("reworked",)),
    "extended": ("resolved", ("extended",)),
    "closures": ("closed", ("n",)),
    "rated": ("closed", ("rated",)),
    "satisfied": ("closed", ("satisfied",)),
    "open_now": ("open", ("n",)),
    "overdue_now": ("open", ("overdue_now",)),
}


def tally_plan(actor: User, subject: Subject | None, grouping: Grouping | None) -> tuple[str | None, str | None]:
    """The tally ledgers that answer this question exactly — (for any days, for whole months) — or None
    where the cases must be read.

    The area ledger keeps streets with all units together; the unit ledger keeps units within
    districts per day, the unit-month ledger units within streets per month. A question fits
    when every region it names (the viewer's scope, the subject, the children it is split by)
    is at most as deep as the ledger keeps, and it asks about units only through a unit ledger
    (a handler's scope is their unit). A grid worker's reports are never tallied.
    """
    if actor.role == Role.CITIZEN or (actor.role == Role.HANDLER and not actor.unit_id):
        return None, None
    if (subject is not None and subject.kind == "worker") or (grouping is not None and grouping.kind == "worker"):
        return None, None
    by_unit = actor.role == Role.HANDLER or (subject is not None and subject.kind == "unit") or (
        grouping is not None and grouping.kind == "unit")
    paths = [] if actor.role == Role.HANDLER else [actor.scope_path]
    if subject is not None and subject.path is not None:
        paths.append(subject.path)
    if grouping is not None and grouping.kind == "children":
        paths.extend(r.path for r in grouping.children)
    depth = max((tally.path_depth(p) for p in paths), default=0)

    def fits(ledger: str) -> str | None:
        return ledger if depth <= tally.LEDGER_DEPTH[ledger] else None

    if by_unit:
        return fits(tally.UNIT), fits(tally.UNIT_MONTH)
    return fits(tally.AREA), fits(tally.AREA)


def _month_stretches(first: dt.date, last: dt.date) -> list[tuple[Period, bool]]:
    """``first..last`` cut at month ends, each stretch with whether it is a whole calendar month."""
    out = []
    start = first
    while start <= last:
        month_end = _month_last(start)
        end = min(month_end, last)
        out.append((Period(start, end), start.day == 1 and end == month_end))
        start = end + dt.timedelta(days=1)
    return out


def _tally_counts(session: Session, ledger: str, actor: User, subject: Subject | None, grouping: Grouping | None,
                  counts: Sequence[Count], period: Period | None, with_handling: bool,
                  results: dict[object, Kpis]) -> None:
    t = CaseTally.__table__.c
    where = [t.ledger == ledger]
    if actor.role == Role.HANDLER:
        where.append(t.unit_id == actor.unit_id)
    else:
        where.append(area_range(t.area_path, actor.scope_path))
    if subject is not None and subject.path is not None:
        where.append(area_range(t.area_path, subject.path))
    if subject is not None and subject.kind == "unit":
        where.append(t.unit_id == subject.id)
    if grouping is None:
        key_col = literal(0)
    elif grouping.kind == "unit":
        key_col = t.unit_id
    else:
        lengths = {len(r.path) for r in grouping.children}
        key_col = func.substr(t.area_path, 1, lengths.pop()) if len(lengths) == 1 else t.area_path
    # One row per group: each count is a sum, over its cohort's rows, of its counter columns.
    sums = []
    for c in counts:
        name, summed = TALLIED[c.key]
        in_cohort = t.cohort == name
        total = None
        for col in summed:
            part = func.sum(case((in_cohort, t[col]), else_=0))
            total = part if total is None else total + part
        sums.append(total.label(c.key))
    tally_cohorts = sorted({TALLIED[c.key][0] for c in counts})
    if "resolved" in tally_cohorts and with_handling:
        sums.append(func.sum(case((t.cohort == "resolved", t.handling_seconds), else_=0.0)).label("_handling"))
    where.append(t.cohort.in_(tally_cohorts))
    if period is not None:
        where.append(and_(t.day >= period.first, t.day <= period.last))
    stmt = select(key_col.label("_key"), *sums).where(*where).group_by(key_col)
    keys = [c.key for c in counts]
    for row in session.execute(stmt).mappings():
        raw = row["_key"]
        if grouping is not None and grouping.kind == "unit" and raw == 0:
            raw = None  # the unit ledgers keep "no unit" as 0; the cases as NULL
        key = _resolve_key(grouping, raw)
        if key is None:
            continue
        kpis = results.setdefault(key, Kpis())
        for count_key in keys:
            kpis.counts[count_key] += int(row[count_key] or 0)
        if "_handling" in row:
            kpis.handling_seconds += float(row["_handling"] or 0)


def area_range(column, path: str) -> ColumnElement[bool]:
    """``column`` (a materialised path) within the subtree at ``path``."""
    low, high = subtree_range(path)
    return and_(column >= low, column < high)


def _history_counts(session: Session, actor: User, ctx: Ctx, subject: Subject | None, grouping: Grouping | None,
                    counts: Sequence[Count], results: dict[object, Kpis]) -> None:
    actions = [_EVENT_ACTIONS[c.key] for c in counts]
    case_id = cast(AuditEntry.entity_id, BigInteger)
    if grouping is not None and grouping.kind == "unit":
        key_col = _event_unit()
    elif grouping is not None and grouping.kind == "worker":
        return  # grid workers are not dispatched to
    else:
        key_col = _case_key(grouping)
    where = [AuditEntry.entity == "case", AuditEntry.action.in_(actions), _in(AuditEntry.at, ctx.period),
             case_scope(actor)]
    if subject is not None and subject.event_filter() is not None:
        where.append(subject.event_filter())
    stmt = (
        select(key_col.label("_key"), AuditEntry.action, func.count())
        .select_from(AuditEntry).join(Case, Case.id == case_id)
        .where(*where).group_by(key_col, AuditEntry.action)
    )
    by_action = {_EVENT_ACTIONS[c.key]: c.key for c in counts}
    for raw, action, n in session.execute(stmt):
        key = _resolve_key(grouping, raw)
        if key is None:
            continue
        results.setdefault(key, Kpis()).counts[by_action[action]] += n


def compute(*, session: Session, actor: User, period: Period, subject: Subject | None = None,
            now: dt.datetime, register_limit_minutes: int = DEFAULT_REGISTER_LIMIT_MINUTES) -> Kpis:
    """Every KPI of one subject (default: all the actor sees) for one period."""
    ctx = Ctx(period, now, register_limit_minutes)
    keys = [c.key for c in COUNTS if c.cohort != "open"]
    return count_measures(session=session, actor=actor, ctx=ctx, subject=subject, keys=keys).get(0, Kpis())


def compute_groups(*, session: Session, actor: User, period: Period, grouping: Grouping,
                   subject: Subject | None = None, now: dt.datetime,
                   register_limit_minutes: int = DEFAULT_REGISTER_LIMIT_MINUTES) -> dict[object, Kpis]:
    """Every KPI per group (child region id, unit id or worker id) for one period."""
    ctx = Ctx(period, now, register_limit_minutes)
    keys = [c.key for c in COUNTS if c.cohort != "open"]
    return count_measures(session=session, actor=actor, ctx=ctx, subject=subject, grouping=grouping, keys=keys)


def measure_filter(key: str, ctx: Ctx, subject: Subject | None) -> list[ColumnElement[bool]]:
    """The WHERE clauses listing the cases behind count ``key`` (the drill-down of a number)."""
    count = COUNT[key]
    if count.cohort == "history":
        unit_id = subject.id if subject is not None and subject.kind == "unit" else None
        where = [Case.id.in_(_event_case_ids(key, ctx, unit_id))]
        if subject is not None and subject.path is not None:
            where.append(region_range(subject.path))
        if subject is not None and subject.kind == "worker":
            where.append(false())
        return where
    where = [count.where(ctx)]
    if subject is not None and subject.case_filter() is not None:
        where.append(subject.case_filter())
    return where
