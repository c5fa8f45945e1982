"""The region tree: city → district → street → community → grid → micro-grid."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

from sqlalchemy import JSON, Boolean, Enum, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.db import Base, BigId, UTCDateTime, utcnow


class RegionLevel(enum.StrEnum):
    """Levels of the tree; the order is the escalation ladder (上报)."""

    CITY = "city"
    DISTRICT = "district"
    STREET = "street"
    COMMUNITY = "community"
    GRID = "grid"
    MICRO_GRID = "micro_grid"

    @property
    def rank(self) -> int:
        return LEVEL_ORDER.index(self)

    @property
    def label_zh(self) -> str:
        return LEVEL_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return LEVEL_LABELS[self][1]


LEVEL_ORDER = list(RegionLevel)
LEVEL_LABELS = {
    RegionLevel.CITY: ("市", "City"),
    RegionLevel.DISTRICT: ("县（市、区）", "District"),
    RegionLevel.STREET: ("乡镇（街道）", "Street / township"),
    RegionLevel.COMMUNITY: ("社区（村）", "Community / village"),
    RegionLevel.GRID: ("网格", "Grid"),
    RegionLevel.MICRO_GRID: ("微网格", "Micro-grid"),
}

SPECIAL_GRID_KINDS = {
    "school": ("学校专属网格", "School grid"),
    "park": ("园区/公园专属网格", "Park grid"),
    "industrial": ("工业园区专属网格", "Industrial-zone grid"),
    "hospital": ("医院专属网格", "Hospital grid"),
    "market": ("市场专属网格", "Market grid"),
}


class Region(Base):
    """One node of the tree. ``path`` is ``/code/code/…/`` so a subtree is one index range."""

    __tablename__ = "region"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(20), unique=True, nullable=False)
    name_zh: Mapped[str] = mapped_column(String(100), nullable=False)
    name_en: Mapped[str] = mapped_column(String(150), default="")
    level: Mapped[RegionLevel] = mapped_column(Enum(RegionLevel, native_enum=False, length=20), nullable=False)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("region.id"), nullable=True)
    path: Mapped[str] = mapped_column(String(255), nullable=False)
    # Deferred: a polygon is kilobytes of JSON, and most reads of a region (a user's scope, a
    # case's place, a parent walk) never draw it; lists that do draw use undefer().
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True, deferred=True)
    area_m2: Mapped[float | None] = mapped_column(Float, nullable=True)
    centroid_lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    centroid_lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    special_kind: Mapped[str | None] = mapped_column(String(20), nullable=True)
    population: Mapped[int | None] = mapped_column(Integer, nullable=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    parent: Mapped[Region | None] = relationship(remote_side="Region.id", lazy="joined", innerjoin=False)

    __table_args__ = (
        Index("ix_region_path", "path"),
        Index("ix_region_parent", "parent_id"),
        Index("ix_region_level", "level"),
    )

    @property
    def name(self) -> str:
        return self.name_zh


class GridMember(Base):
    """A person assigned to a grid: its grid worker(s), its police officer, N-team members (二员同格, 2+N)."""

    __tablename__ = "grid_member"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False, index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id"), nullable=False, index=True)
    duty: Mapped[str] = mapped_column(String(20), nullable=False)  # grid_worker | police | team
    team_name: Mapped[str | None] = mapped_column(String(100), nullable=True)


GRID_DUTIES = {
    "grid_worker": ("网格员", "Grid worker"),
    "police": ("社区民警", "Community police"),
    "team": ("N支队伍成员", "Team member"),
}


def subtree_range(path: str) -> tuple[str, str]:
    """The [low, high) string range covering ``path`` and every descendant (index-friendly)."""
    return path, path + "~"
