"""Sending and reading inbox notifications."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, lazyload

from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.notifications.models import KINDS, Notification


def notify(*, session: Session, users: Iterable[User], kind: str, case_id: int | None, text_zh: str, text_en: str) -> int:
    """Put one notification in each user's inbox; returns how many were sent."""
    assert kind in KINDS, kind
    n = 0
    for user in {u.id: u for u in users}.values():
        session.add(Notification(user_id=user.id, kind=kind, case_id=case_id, text_zh=text_zh, text_en=text_en))
        n += 1
    return n


# Recipients are only addressed: their region and unit (eagerly joined on every other read) load on access.
_RECIPIENT_ONLY = (lazyload(User.scope_region), lazyload(User.unit))


def unit_handlers(*, session: Session, unit_id: int | None) -> list[User]:
    """The active handlers of a unit."""
    if unit_id is None:
        return []
    return list(session.scalars(select(User).options(*_RECIPIENT_ONLY).where(
        User.unit_id == unit_id, User.role == Role.HANDLER, User.active.is_(True))))


def desk_operators(*, session: Session, desk_region_id: int) -> list[User]:
    """The operators sitting at a centre (scoped exactly to that region)."""
    return desks_operators(session=session, desk_region_ids={desk_region_id}).get(desk_region_id, [])


def desks_operators(*, session: Session, desk_region_ids: Collection[int]) -> dict[int, list[User]]:
    """The operators of several centres at once, by centre region id."""
    if not desk_region_ids:
        return {}
    found: dict[int, list[User]] = {}
    for user in session.scalars(select(User).options(*_RECIPIENT_ONLY).where(
            User.scope_region_id.in_(desk_region_ids), User.role == Role.OPERATOR, User.active.is_(True))):
        found.setdefault(user.scope_region_id, []).append(user)
    return found


def inbox(*, session: Session, user: User, unread_only: bool = False, limit: int = 50) -> list[Notification]:
    """The user's newest notifications."""
    stmt = select(Notification).where(Notification.user_id == user.id)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    return list(session.scalars(stmt.order_by(Notification.id.desc()).limit(limit)))


def unread_count(*, session: Session, user: User) -> int:
    """How many unread notifications the user has."""
    return session.scalar(
        select(func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    ) or 0


def mark_read(*, session: Session, user: User, ids: list[int] | None = None) -> int:
    """Mark the given (or all) of the user's notifications read; returns how many."""
    stmt = update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if ids:
        stmt = stmt.where(Notification.id.in_(ids))
    return session.execute(stmt.values(read_at=utcnow())).rowcount or 0
