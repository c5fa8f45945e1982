"""One notification for one user."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.db import Base, BigId, UTCDateTime, utcnow


class Notification(Base):
    """An inbox item. ``kind`` is one of KINDS; read ones keep ``read_at``."""

    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), nullable=False)
    kind: Mapped[str] = mapped_column(String(30), nullable=False)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("case.id"), nullable=True)
    text_zh: Mapped[str] = mapped_column(String(300), nullable=False)
    text_en: Mapped[str] = mapped_column(String(300), nullable=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_notification_user_unread", "user_id", "read_at", "id"),)


KINDS = {
    "assigned": ("新派遣", "New assignment"),
    "to_register": ("待立案", "Awaiting registration"),
    "due_soon": ("即将到期", "Due soon"),
    "overdue": ("已超期", "Overdue"),
    "returned": ("被退回", "Returned"),
    "rework": ("返工", "Rework"),
    "supervised": ("督办", "Supervision"),
    "escalated": ("上报", "Escalated"),
    "extension": ("延期申请", "Extension request"),
    "resolved": ("待核查", "Awaiting verification"),
    "visit_missed": ("走访逾期", "Care visit missed"),
    "care_case": ("重点人员涉事", "Case involves a person under care"),
}
