"""Primary keys drawn before the rows are inserted (``db.reserve_ids_for``), on both engines."""

from __future__ import annotations

from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import SYSTEM, record
from civicgrid.db import reserve_id, reserve_ids_for
from civicgrid.notifications.models import Notification
from tests.factories import build_world


def test_ids_for_several_tables_come_in_one_call_and_are_fresh(session):
    world = build_world(session)
    user = world.users["operator"]
    audit, notes = AuditEntry.__table__, Notification.__table__
    top_audit = session.scalar(select(func.coalesce(func.max(AuditEntry.id), 0)))
    ids = reserve_ids_for(session, {audit: 3, notes: 2})
    assert len(ids[audit]) == 3 and len(set(ids[audit])) == 3 and min(ids[audit]) > top_audit
    assert len(ids[notes]) == 2 and len(set(ids[notes])) == 2
    # Rows carrying them insert as they are.
    for entry_id in ids[audit]:
        record(session=session, actor=user, origin=SYSTEM, entity="test", entity_id=entry_id,
               action="ids").id = entry_id
    for user_id, note_id in zip([user.id, world.users["city_op"].id], ids[notes]):
        session.add(Notification(id=note_id, user_id=user_id, kind="to_register", case_id=None, text_zh="测试",
                                 text_en="test"))
    session.flush()
    assert sorted(session.scalars(select(AuditEntry.id).where(AuditEntry.entity == "test"))) == sorted(ids[audit])
    assert sorted(session.scalars(select(Notification.id).where(Notification.text_en == "test"))) == sorted(ids[notes])
    # The next draw starts past what was inserted.
    assert reserve_id(session, audit) > max(ids[audit])


def test_nothing_asked_nothing_drawn(session):
    audit = AuditEntry.__table__
    assert reserve_ids_for(session, {}) == {}
    assert reserve_ids_for(session, {audit: 0}) == {audit: []}
