"""Routing: which unit owns a case (category × region subtree → unit), and why.

The most specific rule wins: a deeper region beats a shallower one; for the same region
a rule for the leaf category beats one for its parent, which beats a category-less rule.
With no rule, the category's default unit serves, then the community's own unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from civicgrid.events.models import Category, RoutingRule
from civicgrid.regions.models import Region, RegionLevel
from civicgrid.units.models import Unit


@dataclass(frozen=True)
class RoutingDecision:
    """The unit chosen (or None), the rule that chose it, and a sentence saying why."""

    unit_id: int | None
    rule_id: int | None
    reason: str


def _ancestor_paths(path: str) -> list[str]:
    parts = [p for p in path.split("/") if p]
    return ["/" + "/".join(parts[: i + 1]) + "/" for i in range(len(parts))]


def route(*, session: Session, category: Category, region_path: str) -> RoutingDecision:
    """Choose the owning unit for a case of ``category`` located at ``region_path``."""
    ancestors = _ancestor_paths(region_path)
    category_ids = [category.id] + ([category.parent_id] if category.parent_id else [])
    rules = session.execute(
        select(RoutingRule, Region.path)
        .join(Region, Region.id == RoutingRule.region_id)
        .where(
            RoutingRule.active.is_(True),
            Region.path.in_(ancestors),
            or_(RoutingRule.category_id.in_(category_ids), RoutingRule.category_id.is_(None)),
        )
    ).all()

    def specificity(row) -> tuple[int, int]:
        rule, path = row
        cat_rank = 2 if rule.category_id == category.id else 1 if rule.category_id is not None else 0
        return (len(path), cat_rank)

    if rules:
        rule, path = max(rules, key=specificity)
        what = rule.category.name_zh if rule.category else "所有类别"
        return RoutingDecision(
            rule.unit_id,
            rule.id,
            f"规则 #{rule.id}：{rule.region.name_zh} 的「{what}」事件由 {rule.unit.name_zh} 办理",
        )
    if category.default_unit_id:
        unit = session.get(Unit, category.default_unit_id)
        return RoutingDecision(category.default_unit_id, None, f"无匹配规则，按类别默认单位 {unit.name_zh if unit else ''}")
    community = session.scalar(
        select(Region).where(Region.path.in_(ancestors), Region.level == RegionLevel.COMMUNITY)
    )
    if community is not None:
        unit_id = session.scalar(select(Unit.id).where(Unit.region_id == community.id, Unit.active.is_(True)))
        if unit_id is not None:
            return RoutingDecision(unit_id, None, f"无匹配规则，由所在社区 {community.name_zh} 兜底办理")
    return RoutingDecision(None, None, "无匹配规则，也无兜底单位，请人工指定")
