"""Who sees which disputes: the region subtree, plus disputes routed to an organisation the
user mediates for. Department handlers who mediate see only the latter; citizens none.

Applied inside the query, so a list, a count and a lookup by id obey the same rule.
"""

from __future__ import annotations

from sqlalchemy import and_, false, or_, select

from civicgrid.auth.models import Role, User
from civicgrid.mediation.models import Dispute, Mediator
from civicgrid.regions.models import subtree_range


def mediator_orgs(actor: User):
    """The organisations ``actor`` is an active registered mediator of (a subquery)."""
    return select(Mediator.org_id).where(Mediator.user_id == actor.id, Mediator.active.is_(True))


def dispute_scope(actor: User):
    """The WHERE clause restricting disputes to what ``actor`` may see."""
    in_org = Dispute.org_id.in_(mediator_orgs(actor))
    if actor.role == Role.HANDLER:
        return in_org
    if actor.role == Role.CITIZEN:
        return false()
    low, high = subtree_range(actor.scope_path)
    return or_(and_(Dispute.region_path >= low, Dispute.region_path < high), in_org)


def visible_disputes(actor: User):
    """``select(Dispute)`` restricted to what ``actor`` may see."""
    return select(Dispute).where(dispute_scope(actor))
