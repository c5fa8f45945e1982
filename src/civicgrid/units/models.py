"""Responsible units: departments (职能部门), governance centres (综治中心), communities."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.db import Base, BigId
from civicgrid.regions.models import Region

UNIT_KINDS = {
    "department": ("职能部门", "Department"),
    "centre": ("综治中心", "Governance centre"),
    "community": ("社区（村）", "Community"),
    "street": ("乡镇（街道）", "Street office"),
    "enterprise": ("企事业单位", "Enterprise"),
}


class Unit(Base):
    """A unit that owns and handles cases; it sits at a region (its jurisdiction)."""

    __tablename__ = "unit"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(40), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(150), default="")
    kind: Mapped[str] = mapped_column(String(20), default="department")
    region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False, index=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    region: Mapped[Region] = relationship(lazy="joined")
