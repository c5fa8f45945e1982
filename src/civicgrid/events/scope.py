"""Who sees which cases: the region subtree (handlers: their unit; citizens: their own reports).

Applied inside the query, so a list, a count and a lookup by id obey the same rule.
"""

from __future__ import annotations

from sqlalchemy import Select, and_, false, select

from civicgrid.auth.models import Role, User
from civicgrid.events.models import Case
from civicgrid.regions.models import subtree_range


def visible_cases(actor: User) -> Select:
    """``select(Case)`` restricted to what ``actor`` may see."""
    return select(Case).where(case_scope(actor))


def case_scope(actor: User):
    """The WHERE clause of ``visible_cases`` (for counts and aggregates)."""
    if actor.role == Role.HANDLER:
        return Case.unit_id == actor.unit_id if actor.unit_id else false()
    if actor.role == Role.CITIZEN:
        return Case.reporter_user_id == actor.id
    low, high = subtree_range(actor.scope_path)
    return and_(Case.region_path >= low, Case.region_path < high)
