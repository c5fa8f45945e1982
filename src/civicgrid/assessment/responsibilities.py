"""Responsibility lists (责任清单/问题清单/成绩单): each unit's tasks for the year, their status and results.

Leaders, operators and administrators whose area holds the unit set the tasks; the unit's
handlers report progress and results. The report card (成绩单) puts the list's tally
beside the unit's KPIs and composite score for the same year.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.assessment.kpis import Period, local_day
from civicgrid.assessment.models import RESPONSIBILITY_KINDS, RESPONSIBILITY_STATUSES, ResponsibilityItem
from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.errors import Forbidden, InvalidInput, not_found
from civicgrid.units.models import Unit

SETTERS = {Role.LEADER, Role.OPERATOR, Role.ADMIN}


def _unit_for(session: Session, actor: User, unit_id: int) -> Unit:
    unit = session.get(Unit, unit_id)
    if unit is None:
        raise not_found("单位", "Unit", unit_id)
    if actor.role == Role.HANDLER:
        if actor.unit_id != unit.id:
            raise not_found("单位", "Unit", unit_id)
    elif actor.role not in SETTERS or not unit.region.path.startswith(actor.scope_path):
        raise not_found("单位", "Unit", unit_id)
    return unit


def _snapshot(item: ResponsibilityItem) -> dict:
    return {"kind": item.kind, "title": item.title, "target": item.target, "status": item.status,
            "result": item.result, "due_on": item.due_on.isoformat() if item.due_on else None}


def _check(kind: str | None, status: str | None, title: str | None) -> None:
    if kind is not None and kind not in RESPONSIBILITY_KINDS:
        raise InvalidInput("清单类型应为 duty（责任清单）或 problem（问题清单）", "Kind must be duty or problem",
                           allowed=list(RESPONSIBILITY_KINDS))
    if status is not None and status not in RESPONSIBILITY_STATUSES:
        raise InvalidInput("状态取值无效", "Unknown status", allowed=list(RESPONSIBILITY_STATUSES))
    if title is not None and not title.strip():
        raise InvalidInput("请填写任务名称", "Give the task a title")


def create_item(*, session: Session, actor: User, origin: Origin, unit_id: int, year: int, kind: str, title: str,
                detail: str = "", target: str = "", due_on: dt.date | None = None) -> ResponsibilityItem:
    """Add a task to a unit's list for ``year`` (leaders, operators, administrators over the unit); audited."""
    if actor.role not in SETTERS:
        raise Forbidden("只有领导、坐席或管理员可以下达清单任务", "Only leaders, operators or administrators set tasks")
    unit = _unit_for(session, actor, unit_id)
    _check(kind, None, title)
    if not 2000 <= year <= 2100:
        raise InvalidInput("年度无效", "Invalid year")
    item = ResponsibilityItem(unit_id=unit.id, year=year, kind=kind, title=title.strip()[:200], detail=detail.strip(),
                              target=target.strip()[:300], due_on=due_on, status="planned", result="",
                              created_by_id=actor.id)
    session.add(item)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="responsibility_item", entity_id=item.id,
           action="create", after=_snapshot(item))
    return item


def update_item(*, session: Session, actor: User, origin: Origin, item_id: int, status: str | None = None,
                result: str | None = None, title: str | None = None, target: str | None = None,
                due_on: dt.date | None = None) -> ResponsibilityItem:
    """Report progress (status, result) — the unit's handlers or a setter; only setters change title/target/due."""
    item = session.get(ResponsibilityItem, item_id)
    if item is None:
        raise not_found("清单任务", "Task", item_id)
    _unit_for(session, actor, item.unit_id)
    if actor.role == Role.HANDLER and (title is not None or target is not None or due_on is not None):
        raise Forbidden("承办单位只能更新进度和结果", "A unit reports progress and results only")
    _check(None, status, title)
    before = _snapshot(item)
    if status is not None:
        item.status = status
        item.done_on = local_day(utcnow()) if status == "done" else None
    if result is not None:
        item.result = result.strip()
    if title is not None:
        item.title = title.strip()[:200]
    if target is not None:
        item.target = target.strip()[:300]
    if due_on is not None:
        item.due_on = due_on
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="responsibility_item", entity_id=item.id,
           action="update", before=before, after=_snapshot(item))
    return item


def list_items(*, session: Session, actor: User, unit_id: int, year: int) -> list[ResponsibilityItem]:
    """A unit's tasks for ``year`` (duty list first, then problems), if the actor may see the unit."""
    _unit_for(session, actor, unit_id)
    return list(session.scalars(
        select(ResponsibilityItem).where(ResponsibilityItem.unit_id == unit_id, ResponsibilityItem.year == year)
        .order_by(ResponsibilityItem.kind, ResponsibilityItem.due_on.is_(None), ResponsibilityItem.due_on,
                  ResponsibilityItem.id)))


@dataclass
class Tally:
    """The list's tally for the report card."""

    total: int
    done: int
    in_progress: int
    planned: int
    late: int  # not done and past due

    @property
    def done_rate(self) -> float | None:
        return None if not self.total else self.done / self.total


def tally(items: list[ResponsibilityItem], today: dt.date) -> Tally:
    """Count the items by status; a task not done after its due day is late."""
    live = [i for i in items if i.status != "dropped"]
    return Tally(
        total=len(live), done=sum(i.status == "done" for i in live),
        in_progress=sum(i.status == "in_progress" for i in live), planned=sum(i.status == "planned" for i in live),
        late=sum(i.status != "done" and i.due_on is not None and i.due_on < today for i in live),
    )


def year_period(year: int) -> Period:
    """The calendar year as a KPI period."""
    return Period(dt.date(year, 1, 1), dt.date(year, 12, 31))
