"""Monthly reports: gather one region's month (the same KPI functions as the dashboard), render Excel and PDF,
store them, list them, and generate last month's on schedule.

A report reads the cases as a leader of that region sees them (the region's subtree), so
its numbers are the dashboard's for the same region and period, whoever generates it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.assessment import kpis, service as assessment
from civicgrid.assessment.kpis import Ctx, Kpis, Period, local_date, region_range, utc_offset_seconds
from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import Role, User
from civicgrid.db import unit_of_work, utcnow
from civicgrid.errors import Forbidden, InvalidInput, not_found
from civicgrid.events.models import CHANNEL_LABELS, Case, Category
from civicgrid.events.scope import case_scope
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.reports.models import MonthlyReport

log = logging.getLogger("civicgrid.reports")
FORMATS = ("xlsx", "pdf")
MEDIA_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}
GENERATORS = {Role.ADMIN, Role.LEADER, Role.OPERATOR}
# Levels whose regions get a report on schedule (city, districts, streets).
SCHEDULED_LEVELS = (RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET)


@dataclass(frozen=True)
class RegionReader:
    """A leader's view of one region: what a report reads (independent of who asked for it)."""

    region: Region
    id: int | None = None
    role: Role = Role.LEADER
    unit_id: int | None = None

    @property
    def scope_path(self) -> str:
        return self.region.path

    @property
    def scope_region(self) -> Region:
        return self.region

    @property
    def scope_region_id(self) -> int:
        return self.region.id


@dataclass
class ReportData:
    """Everything a monthly report shows."""

    region: Region
    period: Period
    generated_at: dt.datetime
    kpis: Kpis
    score: float | None
    grade: dict | None
    by_channel: list[tuple[str, str, int]] = field(default_factory=list)  # zh, en, n
    by_class: list[tuple[str, str, int]] = field(default_factory=list)
    top_categories: list[tuple[str, str, int]] = field(default_factory=list)
    daily: list[tuple[str, int, int]] = field(default_factory=list)  # day, received, closures
    region_ranking: list[assessment.Ranked] = field(default_factory=list)
    unit_ranking: list[assessment.Ranked] = field(default_factory=list)
    disputes: dict[str, Any] | None = None
    petitions: dict[str, Any] | None = None


def build_report(*, session: Session, region: Region, period: Period, now: dt.datetime | None = None) -> ReportData:
    """Gather the month of ``region`` (the same computations the dashboard and assessment pages use)."""
    now = now or utcnow()
    reader = RegionReader(region)
    k, score, grade = assessment.region_kpis(session=session, actor=reader, region=region, period=period, now=now)
    data = ReportData(region, period, now, k, score, grade)
    ctx = Ctx(period, now)
    base = [case_scope(reader), region_range(region.path), kpis.COHORTS["received"](ctx)]
    for channel, n in session.execute(select(Case.channel, func.count()).where(*base).group_by(Case.channel)
                                      .order_by(func.count().desc())):
        zh, en = CHANNEL_LABELS.get(channel, (str(channel), str(channel)))
        data.by_channel.append((zh, en, n))
    cats = {c.id: c for c in session.scalars(select(Category))}
    per_class: dict[int, int] = {}
    leaves: list[tuple[str, str, int]] = []
    for category_id, n in session.execute(select(Case.category_id, func.count()).where(*base)
                                          .group_by(Case.category_id).order_by(func.count().desc())):
        cat = cats.get(category_id)
        if cat is None:
            continue
        leaves.append((cat.name_zh, cat.name_en or cat.name_zh, n))
        cls = cat.parent_id or cat.id
        per_class[cls] = per_class.get(cls, 0) + n
    data.top_categories = leaves[:10]
    data.by_class = sorted(((cats[c].name_zh, cats[c].name_en or cats[c].name_zh, n) for c, n in per_class.items()),
                           key=lambda r: -r[2])
    offset = utc_offset_seconds(now)
    received = dict(session.execute(select(local_date(Case.received_at, offset), func.count()).where(*base)
                                    .group_by(local_date(Case.received_at, offset))).all())
    closed_where = [case_scope(reader), region_range(region.path), kpis.COHORTS["closed"](ctx)]
    closures = dict(session.execute(select(local_date(Case.closed_at, offset), func.count()).where(*closed_where)
                                    .group_by(local_date(Case.closed_at, offset))).all())
    for i in range(period.days):
        day = (period.first + dt.timedelta(days=i)).isoformat()
        data.daily.append((day, int(received.get(day, 0)), int(closures.get(day, 0))))
    data.region_ranking = assessment.region_ranking(session=session, actor=reader, region=region, period=period,
                                                    now=now)
    data.unit_ranking = assessment.unit_ranking(session=session, actor=reader, region=region, period=period, now=now)
    data.disputes = _disputes(session, reader, period)
    data.petitions = _petitions(session, region, period)
    return data


def _disputes(session: Session, reader: RegionReader, period: Period) -> dict[str, Any] | None:
    """Dispute figures from the mediation domain, when it is installed."""
    try:
        from civicgrid.mediation.stats import dispute_stats
    except ModuleNotFoundError:
        return None
    stats = dispute_stats(session=session, actor=reader, date_from=period.first,  # type: ignore[arg-type]
                          date_to=period.last + dt.timedelta(days=1))
    return {"total": stats.total, "mediated": stats.mediated, "agreements": stats.agreements,
            "success_rate": stats.success_rate, "performance_rate": stats.performance_rate,
            "criminal_risk": stats.criminal_risk, "by_type": dict(sorted(stats.by_type.items(), key=lambda kv: -kv[1]))}


def _petitions(session: Session, region: Region, period: Period) -> dict[str, Any] | None:
    """Petitions received in the month in the region, when the petitions domain is installed."""
    try:
        from civicgrid.petitions.models import Petition
    except ModuleNotFoundError:
        return None
    low, high = region.path, region.path + "~"
    where = [Petition.region_path >= low, Petition.region_path < high, Petition.received_at >= period.start,
             Petition.received_at < period.end]
    total = session.scalar(select(func.count()).select_from(Petition).where(*where)) or 0
    return {"total": int(total)}


# ---------------------------------------------------------------------------------------
# Generating, storing, listing
# ---------------------------------------------------------------------------------------


def render(data: ReportData, fmt: str) -> bytes:
    """The report file in ``fmt``."""
    if fmt == "xlsx":
        from civicgrid.reports.excel import render_xlsx

        return render_xlsx(data)
    if fmt == "pdf":
        from civicgrid.reports.pdf import render_pdf

        return render_pdf(data)
    raise InvalidInput("格式应为 xlsx 或 pdf", "The format must be xlsx or pdf", allowed=list(FORMATS))


def parse_month(text: str) -> Period:
    """A YYYY-MM month (InvalidInput otherwise)."""
    period = Period.parse(text, utcnow())
    if not period.is_month or not text:
        raise InvalidInput("月份格式应为 年-月，如 2026-11", "The month must be YYYY-MM")
    return period


def generate_report(*, session: Session, actor: User | None, origin: Origin, region_id: int, month: str,
                    formats: tuple[str, ...] = FORMATS, trigger: str = "demand",
                    now: dt.datetime | None = None) -> list[MonthlyReport]:
    """Generate (or regenerate) a region's report for a month in each format; audited."""
    now = now or utcnow()
    if actor is not None and actor.role not in GENERATORS:
        raise Forbidden("您的角色不能生成报告", "Your role may not generate reports")
    region = session.get(Region, region_id)
    if region is None or (actor is not None and not region.path.startswith(actor.scope_path)):
        raise not_found("区域", "Region", region_id)
    period = parse_month(month)
    if period.start > now:
        raise InvalidInput("不能生成未来月份的报告", "That month has not begun")
    for fmt in formats:
        if fmt not in FORMATS:
            raise InvalidInput("格式应为 xlsx 或 pdf", "The format must be xlsx or pdf", allowed=list(FORMATS))
    data = build_report(session=session, region=region, period=period, now=now)
    out = []
    for fmt in formats:
        content = render(data, fmt)
        row = session.scalar(select(MonthlyReport).where(MonthlyReport.region_id == region.id,
                                                         MonthlyReport.month == period.key, MonthlyReport.fmt == fmt))
        action = "regenerate" if row is not None else "generate"
        if row is None:
            row = MonthlyReport(region_id=region.id, region_path=region.path, month=period.key, fmt=fmt)
            session.add(row)
        row.trigger, row.generated_at = trigger, now
        row.generated_by_id = actor.id if actor is not None else None
        row.content, row.size, row.sha256 = content, len(content), hashlib.sha256(content).hexdigest()
        session.flush()
        record(session=session, actor=actor, origin=origin, entity="monthly_report", entity_id=row.id, action=action,
               after={"region_id": region.id, "month": period.key, "fmt": fmt, "sha256": row.sha256,
                      "trigger": trigger, "score": data.score, "received": int(data.kpis.counts["received"])})
        out.append(row)
    return out


def list_reports(*, session: Session, actor: User, region_id: int | None = None, limit: int = 200) -> list[MonthlyReport]:
    """Reports of regions in the actor's scope (or under ``region_id``), newest month first."""
    if actor.role not in GENERATORS:
        raise Forbidden("您的角色不能查看月度报告", "Your role may not read monthly reports")
    path = actor.scope_path
    if region_id is not None:
        region = session.get(Region, region_id)
        if region is None or not region.path.startswith(actor.scope_path):
            raise not_found("区域", "Region", region_id)
        path = region.path
    return list(session.scalars(
        select(MonthlyReport).where(MonthlyReport.region_path >= path, MonthlyReport.region_path < path + "~")
        .order_by(MonthlyReport.month.desc(), MonthlyReport.region_path, MonthlyReport.fmt).limit(limit)))


def get_report(*, session: Session, actor: User, report_id: int) -> MonthlyReport:
    """One report (with its bytes) if its region is in the actor's scope."""
    row = session.get(MonthlyReport, report_id)
    if row is None or actor.role not in GENERATORS or not row.region_path.startswith(actor.scope_path):
        raise not_found("报告", "Report", report_id)
    return row


def previous_month(now: dt.datetime) -> Period:
    """The last full local month before ``now``."""
    today = kpis.local_day(now)
    return Period.month(today.year, today.month).previous()


def generate_scheduled(*, session: Session, now: dt.datetime | None = None,
                       levels: tuple[RegionLevel, ...] = SCHEDULED_LEVELS, limit: int = 50) -> int:
    """Generate last month's report for regions at ``levels`` that do not have one yet (idempotent); returns how many."""
    now = now or utcnow()
    period = previous_month(now)
    done = select(MonthlyReport.region_id).where(MonthlyReport.month == period.key, MonthlyReport.fmt == "pdf")
    regions = session.scalars(select(Region).where(Region.level.in_(list(levels)), Region.active.is_(True),
                                                   Region.id.not_in(done)).order_by(Region.path).limit(limit)).all()
    for region in regions:
        generate_report(session=session, actor=None, origin=Origin("scheduler"), region_id=region.id,
                        month=period.key, trigger="schedule", now=now)
    return len(regions)


class ReportScheduler:
    """A daemon thread: every interval, the points job and any missing monthly reports (each its own unit of work)."""

    def __init__(self, interval_seconds: int) -> None:
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="civicgrid-assessment", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def run_once(self) -> None:
        from civicgrid.assessment import points

        for job in (points.run_once, _scheduled_reports_once):
            try:
                job()
            except Exception:  # one failed job must not stop the other or the loop; the next pass retries
                log.exception("assessment job %s failed", getattr(job, "__name__", job))

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            self.run_once()


def _scheduled_reports_once() -> int:
    with unit_of_work() as session:
        return generate_scheduled(session=session)
