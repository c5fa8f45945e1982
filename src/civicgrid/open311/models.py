"""What an Open311 client sent with a service request, beyond what the case itself holds.

One row per request filed through ``POST requests``: the key and address it came from (the
rate limits count these rows), and the spec's contact and media fields as they were sent.
The case keeps its own copy of the reporter's name and phone (``reporter_name``,
``reporter_phone``) for the desk; the e-mail, media URL and device and account ids live here
only. None of the contact fields is ever published (docs/open311.md, Privacy).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from civicgrid.db import Base, BigId, UTCDateTime, utcnow


class Open311Submission(Base):
    """One service request filed through Open311 (migration 0009)."""

    __tablename__ = "open311_submission"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("case.id"), nullable=False, unique=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_key.id"), nullable=True)
    client_address: Mapped[str] = mapped_column(String(64), nullable=False, default="")
    first_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    last_name: Mapped[str | None] = mapped_column(String(50), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    media_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    device_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    account_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (
        # The rate limits: requests per key and per client address within the window.
        Index("ix_open311_submission_key_at", "api_key_id", "at"),
        Index("ix_open311_submission_address_at", "client_address", "at"),
    )
