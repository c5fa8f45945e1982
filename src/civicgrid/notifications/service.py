"""Sending and reading inbox notifications."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session, lazyload

from civicgrid import reference
from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.notifications.models import KINDS, Notification
from civicgrid.reference import ProcessCache


@dataclass(frozen=True)
class Note:
    """One message for the inboxes of several users (known by id)."""

    user_ids: Iterable[int]
    kind: str
    case_id: int | None
    text_zh: str
    text_en: str


def send(*, session: Session, notes: Iterable[Note]) -> int:
    """Put each note in its recipients' inboxes (once per user), all in one INSERT; returns how many.

    One statement for any number of notes: a group of reports taken in together tells every desk
    at once (``events.intake``). Pending changes are flushed first, so a note may name a case
    added in the same transaction.
    """
    created_at = utcnow()
    rows = []
    for note in notes:
        assert note.kind in KINDS, note.kind
        rows += [{"user_id": user_id, "kind": note.kind, "case_id": note.case_id, "text_zh": note.text_zh,
                  "text_en": note.text_en, "created_at": created_at} for user_id in dict.fromkeys(note.user_ids)]
    session.flush()
    if rows:
        # inline(): nothing to read back, not even one row's id (no RETURNING).
        session.execute(insert(Notification.__table__).inline(), rows)
    return len(rows)


def notify(*, session: Session, users: Iterable[User], kind: str, case_id: int | None, text_zh: str, text_en: str) -> int:
    """Put one notification in each user's inbox; returns how many were sent."""
    return send(session=session, notes=[Note([u.id for u in users], kind, case_id, text_zh, text_en)])


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
