"""Writing and reading the audit trail. Services call ``record`` in the transaction of the change."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.audit.models import AuditEntry


@dataclass(frozen=True)
class Origin:
    """Where a change came from: the channel (web, api, open311, cli, scheduler…) and request id."""

    channel: str = "system"
    request_id: str | None = None


SYSTEM = Origin("system")


def new_request_id() -> str:
    """A fresh request id: 32 hex digits, unique in practice, not a secret.

    Not ``uuid4``: it reads ``os.urandom``, which lets go of the GIL for the system call, and
    in a server process whose intake committer is busy the event loop then waits up to a
    switch interval (5 ms) to get it back, on every request (bench/bench_intake.py).
    Every worker process seeds ``random`` of its own (at start, and again after a fork).
    """
    return f"{random.getrandbits(128):032x}"


def record(
    *,
    session: Session,
    actor: Any | None,
    origin: Origin,
    entity: str,
    entity_id: object,
    action: str,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    from_state: str | None = None,
    to_state: str | None = None,
    note: str | None = None,
) -> AuditEntry:
    """Append one audit entry to the session (flushed with the change it describes)."""
    entry = AuditEntry(
        actor_id=getattr(actor, "id", None),
        actor_name=getattr(actor, "display_name", None) or getattr(actor, "username", None) or "system",
        channel=origin.channel,
        request_id=origin.request_id,
        entity=entity,
        entity_id=str(entity_id),
        action=action,
        before=before,
        after=after,
        from_state=from_state,
        to_state=to_state,
        note=note,
    )
    session.add(entry)
    return entry


def history(*, session: Session, entity: str, entity_id: object) -> list[AuditEntry]:
    """All entries for one record, oldest first."""
    stmt = (
        select(AuditEntry)
        .where(AuditEntry.entity == entity, AuditEntry.entity_id == str(entity_id))
        .order_by(AuditEntry.id)
    )
    return list(session.scalars(stmt))
