"""Sending and reading inbox notifications."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, lazyload

from civicgrid import reference
from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.notifications.models import KINDS, Notification
from civicgrid.reference import ProcessCache


def notify(*, session: Session, users: Iterable[User], kind: str, case_id: int | None, text_zh: str, text_en: str) -> int:
    """Put one notification in each user's inbox; returns how many were sent."""
    return len(notify_ids(session=session, user_ids=[u.id for u in users], kind=kind, case_id=case_id,
                          text_zh=text_zh, text_en=text_en))


def notify_ids(*, session: Session, user_ids: Iterable[int], kind: str, case_id: int | None, text_zh: str,
               text_en: str) -> list[Notification]:
    """``notify`` for recipients known by id only (the cached desk operators of intake); returns the notifications."""
    assert kind in KINDS, kind
    sent = [Notification(user_id=user_id, kind=kind, case_id=case_id, text_zh=text_zh, text_en=text_en)
            for user_id in dict.fromkeys(user_ids)]
    session.add_all(sent)
    return sent


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
    return list(session.scalars(select(User).options(*_RECIPIENT_ONLY).where(
        User.scope_region_id == desk_region_id, User.role == Role.OPERATOR, User.active.is_(True))))


def _read_desks(session: Session) -> dict[int, tuple[int, ...]]:
    found: dict[int, list[int]] = {}
    for user_id, region_id in session.execute(select(User.id, User.scope_region_id).where(
            User.role == Role.OPERATOR, User.active.is_(True)).order_by(User.id)):
        found.setdefault(region_id, []).append(user_id)
    return {region_id: tuple(ids) for region_id, ids in found.items()}


# Who sits at which centre: read on every intake, changed when a user is (reference.py).
_DESKS = ProcessCache(reference.watch("desk_operators", User), _read_desks)


def desks_operator_ids(*, session: Session, desk_region_ids: Collection[int]) -> dict[int, tuple[int, ...]]:
    """The ids of the active operators of several centres, by centre region id (kept per process)."""
    desks = _DESKS.get(session)
    return {region_id: desks[region_id] for region_id in desk_region_ids if region_id in desks}


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
