"""Configuring the loop: categories (事件分类) and routing rules (派遣规则). Admin only, audited."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import User
from civicgrid.errors import Conflict, InvalidInput, not_found
from civicgrid.events.deadlines import DEFAULT_DEADLINES
from civicgrid.events.models import Category, RoutingRule
from civicgrid.events.schemas import CategoryWrite, RoutingRuleWrite
from civicgrid.regions.models import Region
from civicgrid.units.models import Unit

MAX_ID = 2**62  # ids beyond this cannot exist (BIGINT); looking them up would overflow the driver


def list_categories(*, session: Session, active_only: bool = False) -> list[Category]:
    """All categories, parents before children, by code."""
    stmt = select(Category).order_by(Category.code)
    if active_only:
        stmt = stmt.where(Category.active.is_(True))
    return list(session.scalars(stmt))


def _category_fields(session: Session, data: CategoryWrite) -> dict:
    accept_default, finish_default = DEFAULT_DEADLINES[data.request_type]
    if data.parent_id is not None and session.get(Category, data.parent_id) is None:
        raise not_found("上级类别", "Parent category", data.parent_id)
    if data.default_unit_id is not None and session.get(Unit, data.default_unit_id) is None:
        raise not_found("单位", "Unit", data.default_unit_id)
    if (data.accept_amount is None) != (data.accept_unit is None):
        raise InvalidInput("受理时限的数值和单位须同时填写", "Give both the acceptance amount and its unit")
    if (data.finish_amount is None) != (data.finish_unit is None):
        raise InvalidInput("办结时限的数值和单位须同时填写", "Give both the completion amount and its unit")
    fields = data.model_dump()
    if data.public is None:
        fields.pop("public")  # kept as it is (a new category: not public)
    if data.accept_amount is None and accept_default is not None:
        fields["accept_amount"], fields["accept_unit"] = accept_default.amount, accept_default.unit
    if data.finish_amount is None:
        fields["finish_amount"], fields["finish_unit"] = finish_default.amount, finish_default.unit
    return fields


def create_category(*, session: Session, actor: User, origin: Origin, data: CategoryWrite) -> Category:
    """Add a category; deadlines default from its request type."""
    if session.scalar(select(Category.id).where(Category.code == data.code)) is not None:
        raise Conflict(f"类别代码 {data.code} 已存在", f"Category code {data.code} already exists")
    category = Category(**{"public": False, **_category_fields(session, data)})
    session.add(category)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="category", entity_id=category.id,
           action="create", after={**data.model_dump(mode="json"), "public": category.public})
    return category


def update_category(*, session: Session, actor: User, origin: Origin, category_id: int,
                    data: CategoryWrite) -> Category:
    """Change a category; open cases keep the deadlines they were given."""
    category = session.get(Category, category_id) if 1 <= category_id <= MAX_ID else None
    if category is None:
        raise not_found("类别", "Category", category_id)
    clash = session.scalar(select(Category.id).where(Category.code == data.code, Category.id != category_id))
    if clash is not None:
        raise Conflict(f"类别代码 {data.code} 已存在", f"Category code {data.code} already exists")
    if data.parent_id == category_id:
        raise InvalidInput("类别不能是自己的上级", "A category cannot be its own parent")
    before = {c: getattr(category, c) for c in ("code", "name_zh", "finish_amount", "finish_unit", "active", "public")}
    for key, value in _category_fields(session, data).items():
        setattr(category, key, value)
    record(session=session, actor=actor, origin=origin, entity="category", entity_id=category.id,
           action="update", before=before, after={**data.model_dump(mode="json"), "public": category.public})
    return category


def list_rules(*, session: Session) -> list[RoutingRule]:
    """All routing rules."""
    return list(session.scalars(select(RoutingRule).order_by(RoutingRule.id)))


def create_rule(*, session: Session, actor: User, origin: Origin, data: RoutingRuleWrite) -> RoutingRule:
    """Add a routing rule inside the admin's area."""
    region = session.get(Region, data.region_id)
    if region is None or not region.path.startswith(actor.scope_path):
        raise not_found("区域", "Region", data.region_id)
    if session.get(Unit, data.unit_id) is None:
        raise not_found("单位", "Unit", data.unit_id)
    if data.category_id is not None and session.get(Category, data.category_id) is None:
        raise not_found("类别", "Category", data.category_id)
    rule = RoutingRule(**data.model_dump())
    session.add(rule)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="routing_rule", entity_id=rule.id,
           action="create", after=data.model_dump())
    return rule


def deactivate_rule(*, session: Session, actor: User, origin: Origin, rule_id: int) -> RoutingRule:
    """Switch a rule off (kept for the history of cases it routed)."""
    rule = session.get(RoutingRule, rule_id) if 1 <= rule_id <= MAX_ID else None
    if rule is None or not rule.region.path.startswith(actor.scope_path):
        raise not_found("派遣规则", "Routing rule", rule_id)
    rule.active = False
    record(session=session, actor=actor, origin=origin, entity="routing_rule", entity_id=rule.id,
           action="deactivate", before={"active": True}, after={"active": False})
    return rule
