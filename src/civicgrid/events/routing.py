"""Routing: which unit owns a case (category × region subtree → unit), and why.

The most specific rule wins: a deeper region beats a shallower one; for the same region
a rule for the leaf category beats one for its parent, which beats a category-less rule.
With no rule, the category's default unit serves, then the community's own unit.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid import reference
from civicgrid.events.models import Category, RoutingRule
from civicgrid.reference import ProcessCache
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


@dataclass(frozen=True)
class _Rule:
    """What routing needs of one rule: its match, its unit, and the names its reason quotes."""

    id: int
    category_id: int | None
    unit_id: int
    path: str
    region_name: str
    unit_name: str | None
    category_name: str | None


class RoutingTable:
    """Every active rule, each community's fallback unit and the units' names: all routing reads.

    Kept per process and rebuilt when a rule, unit, region or category changes
    (``reference.ProcessCache``): intake routes many cases a second from it without a query.
    Rules are held as plain rows with the names their reasons quote.
    """

    def __init__(self, rules: Iterable[_Rule], fallbacks: dict[str, tuple[str, int]],
                 unit_names: dict[int, str]) -> None:
        self.by_path: dict[str, list[_Rule]] = {}
        for rule in rules:
            self.by_path.setdefault(rule.path, []).append(rule)
        self.fallbacks = fallbacks  # community path → (its name, its active unit's id)
        self.unit_names = unit_names  # unit id → name

    @classmethod
    def current(cls, session: Session) -> RoutingTable:
        """The table as this transaction sees it (a query only when something changed)."""
        return _TABLE.get(session)

    @classmethod
    def read(cls, session: Session) -> RoutingTable:
        """Read the whole table from the database."""
        rules = [_Rule(*row) for row in session.execute(
            select(RoutingRule.id, RoutingRule.category_id, RoutingRule.unit_id, Region.path, Region.name_zh,
                   Unit.name_zh, Category.name_zh)
            .join(Region, Region.id == RoutingRule.region_id)
            .outerjoin(Unit, Unit.id == RoutingRule.unit_id)
            .outerjoin(Category, Category.id == RoutingRule.category_id)
            .where(RoutingRule.active.is_(True))
        )]
        fallbacks = {path: (name, unit_id) for path, name, unit_id in session.execute(
            select(Region.path, Region.name_zh, Unit.id)
            .join(Unit, Unit.region_id == Region.id)
            .where(Region.level == RegionLevel.COMMUNITY, Unit.active.is_(True))
            .order_by(Unit.id.desc())
        )}
        unit_names = {unit_id: name for unit_id, name in session.execute(select(Unit.id, Unit.name_zh))}
        return cls(rules, fallbacks, unit_names)

    def route(self, *, category: Category, region_path: str) -> RoutingDecision:
        """Choose the owning unit for a case of ``category`` located at ``region_path``."""
        ancestors = _ancestor_paths(region_path)
        wanted = {category.id, category.parent_id, None}
        rules = [rule for path in ancestors for rule in self.by_path.get(path, ()) if rule.category_id in wanted]
        return self._decide(category, ancestors, rules)

    def _decide(self, category: Category, ancestors: list[str], rules: list[_Rule]) -> RoutingDecision:
        def specificity(rule: _Rule) -> tuple[int, int]:
            cat_rank = 2 if rule.category_id == category.id else 1 if rule.category_id is not None else 0
            return (len(rule.path), cat_rank)

        if rules:
            rule = max(rules, key=specificity)
            what = rule.category_name if rule.category_id is not None else "所有类别"
            return RoutingDecision(
                rule.unit_id,
                rule.id,
                f"规则 #{rule.id}：{rule.region_name} 的「{what}」事件由 {rule.unit_name or ''} 办理",
            )
        if category.default_unit_id:
            name = self.unit_names.get(category.default_unit_id, "")
            return RoutingDecision(category.default_unit_id, None, f"无匹配规则，按类别默认单位 {name}")
        for path in reversed(ancestors):
            if path in self.fallbacks:
                name, unit_id = self.fallbacks[path]
                return RoutingDecision(unit_id, None, f"无匹配规则，由所在社区 {name} 兜底办理")
        return RoutingDecision(None, None, "无匹配规则，也无兜底单位，请人工指定")


_TABLE = ProcessCache(reference.watch("routing", RoutingRule, Unit, Region, Category), RoutingTable.read)


def route(*, session: Session, category: Category, region_path: str) -> RoutingDecision:
    """Choose the owning unit for one case of ``category`` located at ``region_path``."""
    return RoutingTable.current(session).route(category=category, region_path=region_path)
