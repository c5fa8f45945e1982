"""The case list (事件列表) behind the /cases page and GET /api/cases: every filter, one query.

``CaseFilter`` holds every filter; ``list_cases`` applies all of them together with the actor's
scope (``events.scope``), inside the query, so a filter can never widen what the user may see.
Date bounds are instants: ``*_from`` inclusive, ``*_to`` exclusive (the pages turn a local day
into its whole span).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from civicgrid.auth.models import Role, User
from civicgrid.errors import InvalidInput, not_found
from civicgrid.events import search
from civicgrid.events.models import Case
from civicgrid.events.scope import case_scope
from civicgrid.regions.models import Region, subtree_range
from civicgrid.regions.service import within_region
from civicgrid.units.models import Unit

# (filter field prefix, column, Chinese and English name of the range)
RANGES = (
    ("received", Case.received_at, ("接报日期", "received date")),
    ("registered", Case.registered_at, ("立案日期", "registration date")),
    ("closed", Case.closed_at, ("结案日期", "closing date")),
)


@dataclass
class CaseFilter:
    """The filters of the case list (one filter serves the pages and the API)."""

    state: list[str] | None = None
    category_id: int | None = None
    region_id: int | None = None
    channel: str | None = None
    unit_id: int | None = None
    overdue: bool | None = None
    received_from: dt.datetime | None = None
    received_to: dt.datetime | None = None
    registered_from: dt.datetime | None = None
    registered_to: dt.datetime | None = None
    closed_from: dt.datetime | None = None
    closed_to: dt.datetime | None = None
    q: str | None = None
    desk_only: bool = False


# Beyond this the page says "10,000+": an exact count over millions of rows costs more than the page.
COUNT_CAP = 10_000
# A text search counts to 1,000 ("1,000+"): counting a common word's matches further means reading
# each of them (85,000 for 垃圾 in a city of 1,000,000 cases), and nobody reads that many hits.
TEXT_COUNT_CAP = 1_000
# On SQLite a text search with up to this many matches starts from them (2 µs a match, sorted after);
# with more it walks a newest-first or an area index and checks each case against them.
SEARCH_DRIVE_LIMIT = 10_000


# Bounds outside these years are typing mistakes (and near year 1 or 9999 cannot even be stored).
FIRST_YEAR, LAST_YEAR = 1900, 2999


def range_problems(filters: CaseFilter) -> list[tuple[str, str]]:
    """(zh, en) for every date bound out of range and every range whose start is not before its end."""
    problems = []
    for prefix, _, (zh, en) in RANGES:
        low, high = getattr(filters, f"{prefix}_from", None), getattr(filters, f"{prefix}_to", None)
        if any(b is not None and not FIRST_YEAR <= b.year <= LAST_YEAR for b in (low, high)):
            problems.append((f"{zh}须在 {FIRST_YEAR}–{LAST_YEAR} 年之间",
                             f"The {en} must lie between the years {FIRST_YEAR} and {LAST_YEAR}"))
        elif low is not None and high is not None and low >= high:
            problems.append((f"{zh}的开始须早于结束", f"The {en} range must start before it ends"))
    return problems


def list_cases(
    *, session: Session, actor: User, filters: CaseFilter, page: int = 1, size: int = 20
) -> tuple[list[Case], int, bool, bool]:
    """(cases, total, total_is_exact, has_more): newest first, scoped to the actor, every filter combined.

    A reversed date range is refused (InvalidInput, both languages); an unknown region or unit
    is NotFound. The total is exact up to COUNT_CAP.
    """
    problems = range_problems(filters)
    if problems:
        raise InvalidInput("；".join(zh for zh, _ in problems), "; ".join(en for _, en in problems))
    page = max(page, 1)
    size = min(max(size, 1), 200)
    where = [case_scope(actor)]
    if filters.state:
        where.append(Case.state.in_(filters.state))
    if filters.category_id:
        where.append(Case.category_id == filters.category_id)
    if filters.region_id:
        where += within_region(session=session, path_column=Case.region_path, region_id=filters.region_id)
    if filters.channel:
        where.append(Case.channel == filters.channel)
    if filters.unit_id:
        if session.get(Unit, filters.unit_id) is None:
            raise not_found("单位", "Unit", filters.unit_id)
        where.append(Case.unit_id == filters.unit_id)
    if filters.overdue is not None:
        where.append(Case.overdue.is_(filters.overdue))
    for prefix, column, _ in RANGES:
        low, high = getattr(filters, f"{prefix}_from"), getattr(filters, f"{prefix}_to")
        if low is not None:
            where.append(column >= low)
        if high is not None:
            where.append(column < high)
    if filters.q and filters.q.strip():
        where.append(search.matches(session, filters.q))
    if filters.desk_only:
        where.append(Case.desk_region_id == actor.scope_region_id)
    stmt = (
        select(Case).where(*where).order_by(Case.received_at.desc(), Case.id.desc())
        .offset((page - 1) * size).limit(size + 1)
    )
    capped = select(Case.id).where(*where)
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        # The best plan depends on the values (the scope's range, how common the words are, the cap).
        # psycopg prepares a statement run 5 times, and PostgreSQL's generic plan for it, blind to
        # those values, took 230–460 ms for a text search where a plan for the values took 25 ms.
        session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    text_search = search.is_text(filters.q)
    cap = TEXT_COUNT_CAP if text_search else COUNT_CAP
    index = _sqlite_search_index(session, actor, filters) if dialect == "sqlite" and text_search else None
    if index:  # a text search's count goes the same way as its page
        capped = capped.with_hint(Case, f"INDEXED BY {index}", "sqlite")
    total = session.scalar(select(func.count()).select_from(capped.limit(cap + 1).subquery())) or 0
    if dialect == "sqlite" and not text_search:
        index = _sqlite_walk(actor, filters, total)
    if index:
        stmt = stmt.with_hint(Case, f"INDEXED BY {index}", "sqlite")
    rows = list(session.scalars(stmt))
    has_more = len(rows) > size
    return rows[:size], min(total, cap), total <= cap, has_more


# SQLite's planner, for a list of many cases, takes the scope's path range (or the index of a
# filter such as the open states) and sorts everything it finds: 15 s for a city of 1,000,000
# cases unfiltered, 133 ms for its 30,000 open cases. Walking the newest-first index
# ix_case_received_order, the path checked inside it, stops after a page: milliseconds. For a
# few matches the walk is the slow plan (it reads the whole index to find them), so the count,
# taken first, decides: above this many matches the page walks (bench/bench_case_list.py).
WALK_ABOVE = 2_000


def _sqlite_walk(actor: User, filters: CaseFilter, total: int) -> str | None:
    """The index an operator's list walks: a category's own, in list order with the path inside it,
    whatever the count (the planner took the older ix_case_category_received and read each case
    for its path: 57 ms against 14 for a community); the newest-first index for many cases, unless
    another filter has an index in list order (overdue, unit), which the planner takes already."""
    if actor.role in (Role.HANDLER, Role.CITIZEN) or filters.overdue or filters.unit_id:
        return None
    if filters.category_id:
        return "ix_case_category_order"
    return "ix_case_received_order" if total > WALK_ABOVE else None


def _sqlite_search_index(session: Session, actor: User, filters: CaseFilter) -> str | None:
    """The index SQLite should walk for a text search (``search.is_text``) with many matches, or None.

    With few matches the planner starts from them: fetching and sorting a few thousand is quick.
    With many (85,000 for 垃圾) it would still fetch every one (190 ms); instead walk the cases in
    list order, each checked against the matches: the handler's unit's cases, the newest-first index
    for a city or district, the area's own path range for a street or smaller.
    """
    if actor.role == Role.CITIZEN:
        return None
    if search.match_count(session, filters.q, SEARCH_DRIVE_LIMIT + 1) <= SEARCH_DRIVE_LIMIT:
        return None
    if actor.role == Role.HANDLER:
        return "ix_case_unit_received"
    region = session.get(Region, filters.region_id) if filters.region_id else None
    path = region.path if region is not None else actor.scope_path
    broad = path.strip("/").count("/") <= 1  # the city or a district
    return "ix_case_received_order" if broad else "ix_case_region_received"


def unit_choices(*, session: Session, actor: User) -> list[Unit]:
    """The units whose cases the actor's list can hold: units of the scope's subtree and of the regions
    above it (a district's cases go to district and city departments); a handler: their own unit."""
    if actor.role == Role.HANDLER:
        return [actor.unit] if actor.unit is not None else []
    codes = [c for c in actor.scope_path.strip("/").split("/") if c]
    ancestors = ["/" + "/".join(codes[:i]) + "/" for i in range(1, len(codes))]
    low, high = subtree_range(actor.scope_path)
    stmt = (select(Unit).join(Region, Region.id == Unit.region_id)
            .where(Unit.active.is_(True), ((Region.path >= low) & (Region.path < high)) | Region.path.in_(ancestors))
            .order_by(Region.path, Unit.code))
    return list(session.scalars(stmt))
