"""Units: list and create."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import User
from civicgrid.errors import Conflict, InvalidInput, not_found
from civicgrid.regions.models import Region
from civicgrid.units.models import UNIT_KINDS, Unit


def list_units(*, session: Session, active_only: bool = True) -> list[Unit]:
    """All units (cases can be dispatched to any unit, including a city department)."""
    stmt = select(Unit).order_by(Unit.code)
    if active_only:
        stmt = stmt.where(Unit.active.is_(True))
    return list(session.scalars(stmt))


def create_unit(*, session: Session, actor: User | None, origin: Origin, code: str, name_zh: str,
                name_en: str, kind: str, region_id: int) -> Unit:
    """Add a unit at a region in the actor's area; audited."""
    if kind not in UNIT_KINDS:
        raise InvalidInput(f"单位类型 {kind} 无效", f"Unknown unit kind {kind}", allowed=list(UNIT_KINDS))
    region = session.get(Region, region_id)
    if region is None or (actor is not None and not region.path.startswith(actor.scope_path)):
        raise not_found("区域", "Region", region_id)
    if session.scalar(select(Unit.id).where(Unit.code == code)) is not None:
        raise Conflict(f"单位代码 {code} 已存在", f"Unit code {code} already exists")
    unit = Unit(code=code, name_zh=name_zh, name_en=name_en, kind=kind, region_id=region.id)
    session.add(unit)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="unit", entity_id=unit.id, action="create",
           after={"code": code, "name_zh": name_zh, "kind": kind, "region": region.code})
    return unit
