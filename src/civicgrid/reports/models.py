"""Generated monthly reports: the file bytes live in the database, so every worker process can serve them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.db import Base, BigId, UTCDateTime, utcnow
from civicgrid.regions.models import Region


class MonthlyReport(Base):
    """One region's report for one month in one format; regenerating replaces the file (and is audited)."""

    __tablename__ = "monthly_report"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    region_path: Mapped[str] = mapped_column(String(255), nullable=False)
    month: Mapped[str] = mapped_column(String(7), nullable=False)  # YYYY-MM
    fmt: Mapped[str] = mapped_column(String(4), nullable=False)  # xlsx | pdf
    trigger: Mapped[str] = mapped_column(String(10), nullable=False)  # schedule | demand
    generated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    generated_by_id: Mapped[int | None] = mapped_column(ForeignKey("app_user.id"), nullable=True)
    size: Mapped[int] = mapped_column(Integer, nullable=False)
    sha256: Mapped[str] = mapped_column(String(64), nullable=False)
    content: Mapped[bytes] = mapped_column(LargeBinary, nullable=False, deferred=True)

    region: Mapped[Region] = relationship(lazy="joined")

    __table_args__ = (UniqueConstraint("region_id", "month", "fmt", name="uq_monthly_report_region_month_fmt"),)
