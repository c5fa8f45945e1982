"""The dashboard's numbers: live counters, map layer, trends, top lists, hotspots — scoped, with their links.

Every count is one of ``assessment.kpis``'s counts (same predicate, same scope rule), and
every number carries the URL of the list behind it (``assessment.links``). The region a
dashboard shows must lie in the viewer's scope; the scope rule of the cases
(``events.scope.case_scope``) is applied on top, so a street leader sees their street.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from civicgrid.assessment import kpis
from civicgrid.assessment.kpis import Ctx, Grouping, Kpis, Period, local_date, region_range, utc_offset_seconds
from civicgrid.assessment.links import count_url
from civicgrid.assessment.service import child_regions, region_kpis, scoped_region
from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.events import tally
from civicgrid.events.models import CHANNEL_LABELS, URGENCY_LABELS, Case, CaseTally, Category, Urgency
from civicgrid.events.scope import case_scope
from civicgrid.events.workflow import STATE_LABELS
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.units.models import Unit

VIEWERS = {Role.ADMIN, Role.LEADER, Role.OPERATOR}
MEASURES = {
    "open_now": ("在办事件", "Open cases"),
    "overdue_now": ("超期事件", "Overdue cases"),
    "per_1000": ("近30天每千人事件数", "Cases per 1,000 residents (30 days)"),
    "risk": ("五色风险", "Risk colour"),
}
RISK_ORDER = ["green", "blue", "yellow", "orange", "red"]
RISK_LABELS = {"red": ("红", "Red"), "orange": ("橙", "Orange"), "yellow": ("黄", "Yellow"), "blue": ("蓝", "Blue"),
               "green": ("绿", "Green")}
COUNTER_KEYS = ("received", "registered", "open_now", "overdue_now", "closures", "rated", "satisfied")


def today_period(now: dt.datetime) -> Period:
    """Today, local."""
    return Period.day(kpis.local_day(now))


# ---------------------------------------------------------------------------------------
# Live counters
# ---------------------------------------------------------------------------------------


def counters(*, session: Session, actor: User, region: Region, now: dt.datetime | None = None) -> dict[str, Any]:
    """Today's received, registered, closed and satisfaction, and open/overdue now, each with its list URL."""
    now = now or utcnow()
    period = today_period(now)
    ctx = Ctx(period, now)
    k = kpis.count_measures(session=session, actor=actor, ctx=ctx, subject=kpis.region_subject(region),
                            keys=COUNTER_KEYS, with_handling=False).get(0, Kpis())
    c = k.counts
    out: dict[str, Any] = {"day": period.first.isoformat(), "region_id": region.id}
    for key in ("received", "registered", "open_now", "overdue_now", "closures"):
        out[key] = {"value": int(c[key]), "href": count_url(key, period=period, region_id=region.id)}
    rate = k.rates["satisfaction_rate"]
    out["satisfaction"] = {"value": None if rate is None else round(rate * 100, 1), "rated": int(c["rated"]),
                           "href": count_url("rated", period=period, region_id=region.id)}
    return out


# ---------------------------------------------------------------------------------------
# Map
# ---------------------------------------------------------------------------------------


def breadcrumb(*, session: Session, actor: User, region: Region) -> list[Region]:
    """From the viewer's scope region down to ``region`` (never above the scope)."""
    codes = [c for c in region.path.strip("/").split("/") if c]
    found = {r.code: r for r in session.scalars(select(Region).where(Region.code.in_(codes)))}
    chain = [found[c] for c in codes if c in found]
    return [r for r in chain if r.path.startswith(actor.scope_path)]


def _risk_colours(session: Session, paths: list[str]) -> dict[str, str]:
    """Worst grid risk colour under each path (五色管控, from the people domain when it is installed)."""
    try:
        from civicgrid.people.models import RiskColour
    except ModuleNotFoundError:
        return {}
    out: dict[str, str] = {}
    for path in paths:
        low, high = path, path + "~"
        colours = session.scalars(select(RiskColour.colour).where(
            RiskColour.subject == "grid", RiskColour.region_path >= low, RiskColour.region_path < high)).all()
        ranked = [c for c in colours if c in RISK_ORDER]
        if ranked:
            out[path] = max(ranked, key=RISK_ORDER.index)
    return out


def map_layer(*, session: Session, actor: User, region: Region, now: dt.datetime | None = None) -> dict[str, Any]:
    """The region's children as GeoJSON features with every map measure (or, for a grid, its open cases)."""
    now = now or utcnow()
    children = child_regions(session=session, region=region, with_geometry=True)
    areas = children or [region]
    grouping = Grouping("children", region, tuple(areas))
    snap = kpis.count_measures(session=session, actor=actor, ctx=Ctx(today_period(now), now),
                               subject=kpis.region_subject(region), grouping=grouping,
                               keys=("open_now", "overdue_now"), with_handling=False)
    month = Period.last_days(30, now)
    recent = kpis.count_measures(session=session, actor=actor, ctx=Ctx(month, now),
                                 subject=kpis.region_subject(region), grouping=grouping, keys=("received",),
                                 with_handling=False)
    risk = _risk_colours(session, [a.path for a in areas])
    features = []
    for area in areas:
        s = snap.get(area.id, Kpis()).counts
        received = recent.get(area.id, Kpis()).counts["received"]
        per_1000 = round(received * 1000 / area.population, 2) if area.population else None
        features.append({
            "type": "Feature", "geometry": area.geometry,
            "properties": {
                "id": area.id, "name": area.name_zh, "name_en": area.name_en or area.name_zh, "code": area.code,
                "level": area.level.value, "population": area.population, "drill": bool(children),
                "open_now": int(s["open_now"]), "overdue_now": int(s["overdue_now"]),
                "received_30d": int(received), "per_1000": per_1000, "risk": risk.get(area.path),
                "href_open": count_url("open_now", region_id=area.id),
                "href_overdue": count_url("overdue_now", region_id=area.id),
                "href_received": count_url("received", period=month, region_id=area.id),
            },
        })
    points = [] if children else grid_cases(session=session, actor=actor, region=region)
    return {"type": "FeatureCollection", "features": features, "cases": points, "leaf": not children,
            "measures": {k: {"zh": v[0], "en": v[1]} for k, v in MEASURES.items()}}


def grid_cases(*, session: Session, actor: User, region: Region, limit: int = 200) -> list[dict[str, Any]]:
    """The open cases of a grid (or any leaf region) with a position, newest first, for the map and the list."""
    rows = session.scalars(
        select(Case).where(case_scope(actor), region_range(region.path), Case.state.in_(kpis.OPEN_STATES))
        .order_by(Case.received_at.desc()).limit(limit)).all()
    return [{"id": c.id, "number": c.number, "title": c.title, "lat": c.lat, "lon": c.lon, "state": c.state.value,
             "state_zh": STATE_LABELS[c.state][0], "state_en": STATE_LABELS[c.state][1], "overdue": bool(c.overdue),
             "href": f"/cases/{c.id}"} for c in rows]


# ---------------------------------------------------------------------------------------
# Trends, top lists, hotspots
# ---------------------------------------------------------------------------------------


def _classes(session: Session) -> dict[int, Category]:
    """Every category by id (to fold leaves into their class)."""
    return {c.id: c for c in session.scalars(select(Category))}


def _received_by(session: Session, actor: User, region: Region, period: Period, now: dt.datetime,
                 use_tally: bool) -> tuple[dict[tuple[str, int], int], dict[tuple[str, str], int]]:
    """Reports received per (local day, category) and per (local day, channel) in the period.

    Whole past days of a district or wider come from the trend tallies (events/tally.py); today,
    and narrower areas, from the cases.
    """
    by_category: dict[tuple[str, int], int] = {}
    by_channel: dict[tuple[str, str], int] = {}
    today = kpis.local_day(now)
    direct = period
    wide = max(tally.path_depth(region.path), tally.path_depth(actor.scope_path)) <= tally.LEDGER_DEPTH[tally.TREND]
    if (use_tally and wide and actor.role not in (Role.HANDLER, Role.CITIZEN) and period.first < today
            and tally.usable_limit(session) is not None):
        last_past = min(period.last, today - dt.timedelta(days=1))
        t = CaseTally.__table__.c
        stmt = (select(t.day, t.cohort, t.unit_id, func.sum(t.n))
                .where(t.ledger == tally.TREND, t.cohort.in_(["rcat", "rchan"]), t.day >= period.first,
                       t.day <= last_past, kpis.area_range(t.area_path, region.path),
                       kpis.area_range(t.area_path, actor.scope_path))
                .group_by(t.day, t.cohort, t.unit_id))
        for on, cohort, value, n in session.execute(stmt):
            if not n:
                continue
            d = on.isoformat()
            if cohort == "rcat":
                by_category[(d, int(value))] = by_category.get((d, int(value)), 0) + int(n)
            else:
                channel = tally.CHANNEL_BY_NUMBER.get(int(value), str(value))
                by_channel[(d, channel)] = by_channel.get((d, channel), 0) + int(n)
        if period.last < today:
            return by_category, by_channel
        direct = Period(today, period.last)
    day = local_date(Case.received_at, utc_offset_seconds(now))
    base = [case_scope(actor), region_range(region.path), kpis.COHORTS["received"](Ctx(direct, now))]
    for d, category_id, n in session.execute(select(day, Case.category_id, func.count()).where(*base)
                                             .group_by(day, Case.category_id)):
        by_category[(d, category_id)] = by_category.get((d, category_id), 0) + n
    for d, channel, n in session.execute(select(day, Case.channel, func.count()).where(*base)
                                         .group_by(day, Case.channel)):
        by_channel[(d, channel.value)] = by_channel.get((d, channel.value), 0) + n
    return by_category, by_channel


def trends(*, session: Session, actor: User, region: Region, days: int = 30,
           now: dt.datetime | None = None, use_tally: bool = True) -> dict[str, Any]:
    """Reports received per local day for the last ``days`` days, by category class (top 6 + other) and by channel."""
    now = now or utcnow()
    period = Period.last_days(days, now)
    labels = [(period.first + dt.timedelta(days=i)).isoformat() for i in range(period.days)]
    index = {d: i for i, d in enumerate(labels)}
    cats = _classes(session)
    received_by_category, received_by_channel = _received_by(session, actor, region, period, now, use_tally)
    by_class: dict[int, list[int]] = {}
    for (d, category_id), n in received_by_category.items():
        cat = cats.get(category_id)
        cls = cat.parent_id if cat is not None and cat.parent_id is not None else category_id
        series = by_class.setdefault(cls, [0] * len(labels))
        if d in index:
            series[index[d]] += n
    ranked = sorted(by_class.items(), key=lambda kv: -sum(kv[1]))
    top, rest = ranked[:6], ranked[6:]
    category_series = [{"id": cid, "name": cats[cid].name_zh if cid in cats else str(cid),
                        "name_en": (cats[cid].name_en or cats[cid].name_zh) if cid in cats else str(cid),
                        "data": data, "total": sum(data),
                        "href": count_url("received", period=period, region_id=region.id, category_id=cid,
                                          category_is_leaf=False)} for cid, data in top]
    if rest:
        other = [sum(vals) for vals in zip(*[d for _, d in rest])]
        category_series.append({"id": None, "name": "其他", "name_en": "Other", "data": other, "total": sum(other),
                                "href": count_url("received", period=period, region_id=region.id)})
    by_channel: dict[str, list[int]] = {}
    for (d, channel), n in received_by_channel.items():
        series = by_channel.setdefault(channel, [0] * len(labels))
        if d in index:
            series[index[d]] += n
    channel_series = [{"id": ch, "name": CHANNEL_LABELS[ch][0] if ch in CHANNEL_LABELS else ch,
                       "name_en": CHANNEL_LABELS[ch][1] if ch in CHANNEL_LABELS else ch, "data": data,
                       "total": sum(data), "href": count_url("received", period=period, region_id=region.id,
                                                             channel=ch)}
                      for ch, data in sorted(by_channel.items(), key=lambda kv: -sum(kv[1]))]
    day_links = [count_url("received", period=Period.day(period.first + dt.timedelta(days=i)), region_id=region.id)
                 for i in range(period.days)]
    return {"days": labels, "day_links": day_links, "by_category": category_series, "by_channel": channel_series,
            "period": period.key}


def top_categories(*, session: Session, actor: User, region: Region, days: int = 30, limit: int = 10,
                   now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """The most reported leaf categories of the last ``days`` days."""
    now = now or utcnow()
    period = Period.last_days(days, now)
    by_category, _ = _received_by(session, actor, region, period, now, use_tally=True)
    totals: dict[int, int] = {}
    for (_day, category_id), n in by_category.items():
        totals[category_id] = totals.get(category_id, 0) + n
    rows = sorted(((cid, n) for cid, n in totals.items() if n), key=lambda r: (-r[1], r[0]))[:limit]
    cats = {c.id: c for c in session.scalars(select(Category).where(Category.id.in_([r[0] for r in rows])))} \
        if rows else {}
    return [{"id": cid, "name": cats[cid].name_zh, "name_en": cats[cid].name_en or cats[cid].name_zh, "count": n,
             "href": count_url("received", period=period, region_id=region.id, category_id=cid)}
            for cid, n in rows if cid in cats]


def units_most_overdue(*, session: Session, actor: User, region: Region, limit: int = 10,
                       now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Units with the most open overdue cases in the region now."""
    now = now or utcnow()
    per_unit = kpis.count_measures(session=session, actor=actor, ctx=Ctx(today_period(now), now),
                                   subject=kpis.region_subject(region), grouping=Grouping("unit"),
                                   keys=["overdue_now"], with_handling=False)
    rows = sorted(((uid, int(k.counts["overdue_now"])) for uid, k in per_unit.items()
                   if isinstance(uid, int) and k.counts["overdue_now"]), key=lambda r: (-r[1], r[0]))[:limit]
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_([r[0] for r in rows])))} if rows else {}
    return [{"id": uid, "name": units[uid].name_zh, "name_en": units[uid].name_en or units[uid].name_zh, "count": n,
             "href": count_url("overdue_now", region_id=region.id, unit_id=uid)} for uid, n in rows if uid in units]


def urgent_cases(*, session: Session, actor: User, region: Region, limit: int = 8) -> list[dict[str, Any]]:
    """The latest open urgent (紧急/特急) cases in the region."""
    rows = session.scalars(
        select(Case).where(case_scope(actor), region_range(region.path), Case.state.in_(kpis.OPEN_STATES),
                           Case.urgency.in_([Urgency.HIGH, Urgency.EMERGENCY]))
        .order_by(Case.received_at.desc()).limit(limit)).all()
    return [{"id": c.id, "number": c.number, "title": c.title, "urgency": c.urgency.value,
             "urgency_zh": URGENCY_LABELS[c.urgency][0], "urgency_en": URGENCY_LABELS[c.urgency][1],
             "state_zh": STATE_LABELS[c.state][0], "state_en": STATE_LABELS[c.state][1],
             "received_at": c.received_at.isoformat(), "overdue": bool(c.overdue), "href": f"/cases/{c.id}"}
            for c in rows]


def hotspots(*, session: Session, actor: User, region: Region, limit: int = 8,
             now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Grids with the fastest rise: reports in the last 7 days minus the 7 days before (at least 3 this week)."""
    now = now or utcnow()
    week = Period.last_days(7, now)
    before = week.previous()
    in_week = and_(Case.received_at >= week.start, Case.received_at < week.end)
    rows = session.execute(
        select(Case.grid_id,
               func.sum(case((in_week, 1), else_=0)).label("this_week"),
               func.count().label("both"))
        .where(case_scope(actor), region_range(region.path), Case.grid_id.is_not(None),
               Case.received_at >= before.start, Case.received_at < week.end)
        .group_by(Case.grid_id)).all()
    ranked = []
    for grid_id, this_week, both in rows:
        this_week = int(this_week or 0)
        last_week = int(both) - this_week
        if this_week >= 3 and this_week > last_week:
            ranked.append((this_week - last_week, this_week, last_week, grid_id))
    ranked.sort(key=lambda r: (-r[0], -r[1], r[3]))
    ranked = ranked[:limit]
    grids = {g.id: g for g in session.scalars(select(Region).where(Region.id.in_([r[3] for r in ranked])))} \
        if ranked else {}
    return [{"id": gid, "name": grids[gid].name_zh, "name_en": grids[gid].name_en or grids[gid].name_zh,
             "this_week": tw, "last_week": lw, "rise": rise,
             "rise_pct": None if lw == 0 else round(100 * rise / lw),
             "href": count_url("received", period=week, region_id=gid), "dashboard": f"/dashboard?region={gid}"}
            for rise, tw, lw, gid in ranked if gid in grids]


def month_kpis(*, session: Session, actor: User, region: Region, period: Period,
               now: dt.datetime | None = None) -> dict[str, Any]:
    """The region's KPIs, score and grade for a period (what the monthly report shows for the same period)."""
    k, score, grade = region_kpis(session=session, actor=actor, region=region, period=period, now=now)
    data = k.as_dict()
    data["links"] = {key: count_url(key, period=period, region_id=region.id) for key in data["counts"]
                     if kpis.COUNT[key].cohort != "open"}
    data.update(period=period.key, score=score, grade=grade)
    return data


@dataclass(frozen=True)
class RegionView:
    """What the dashboard page needs about its region."""

    region: Region
    breadcrumb: list[Region]
    parent: Region | None
    is_leaf: bool


def region_view(*, session: Session, actor: User, region_id: int | None) -> RegionView:
    """The dashboard's region (NotFound outside the viewer's scope), its breadcrumb and the way back up."""
    region = scoped_region(session=session, actor=actor, region_id=region_id)
    crumbs = breadcrumb(session=session, actor=actor, region=region)
    parent = crumbs[-2] if len(crumbs) > 1 else None
    leaf = region.level in (RegionLevel.GRID, RegionLevel.MICRO_GRID) or not child_regions(session=session,
                                                                                               region=region)
    return RegionView(region, crumbs, parent, leaf)

