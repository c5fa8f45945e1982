"""Users and credentials. A user's scope is a node of the region tree; they see its subtree."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Enum, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from civicgrid.db import Base, BigId, UTCDateTime, utcnow
from civicgrid.regions.models import Region
from civicgrid.units.models import Unit

LANG_AUTO = "auto"
LANGUAGES = ("zh", "en")


class Role(enum.StrEnum):
    """What a user does in civicgrid (see docs/glossary.md)."""

    ADMIN = "admin"
    OPERATOR = "operator"
    HANDLER = "handler"
    GRID_WORKER = "grid_worker"
    LEADER = "leader"
    CITIZEN = "citizen"

    @property
    def label_zh(self) -> str:
        return ROLE_LABELS[self][0]

    @property
    def label_en(self) -> str:
        return ROLE_LABELS[self][1]


ROLE_LABELS = {
    Role.ADMIN: ("系统管理员", "System administrator"),
    Role.OPERATOR: ("综治中心坐席/指挥员", "Centre operator"),
    Role.HANDLER: ("职能部门承办人", "Department handler"),
    Role.GRID_WORKER: ("网格员", "Grid worker"),
    Role.LEADER: ("领导", "Leader"),
    Role.CITIZEN: ("群众", "Citizen"),
}


class User(Base):
    """A person who signs in. ``scope_path`` copies the scope region's path for fast filtering."""

    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    display_name: Mapped[str] = mapped_column(String(100), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(255), nullable=False)
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=20), nullable=False)
    scope_region_id: Mapped[int] = mapped_column(ForeignKey("region.id"), nullable=False)
    scope_path: Mapped[str] = mapped_column(String(255), nullable=False)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(30), nullable=True)
    # The interface language the user chose on the pages (zh or en); "auto" until they choose:
    # then the browser decides (cg_lang cookie, Accept-Language). See web/i18n.py.
    lang: Mapped[str] = mapped_column(String(5), default=LANG_AUTO)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    token_version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    scope_region: Mapped[Region] = relationship(lazy="joined")
    unit: Mapped[Unit | None] = relationship(lazy="joined")

    # Every intake and transition notifies the operators at a desk and the handlers of a unit.
    __table_args__ = (
        Index("ix_app_user_scope_role", "scope_region_id", "role"),
        Index("ix_app_user_unit_role", "unit_id", "role"),
    )


class ApiKey(Base):
    """An Open311 API key: only its SHA-256 is stored; the key is shown once at creation."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False)
    prefix: Mapped[str] = mapped_column(String(12), nullable=False)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When a request last presented the key (Open311 POST), and when it was revoked (migration 0009).
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginAttempt(Base):
    """Failed sign-ins, kept in the database so throttling holds across worker processes."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), nullable=False)
    address: Mapped[str] = mapped_column(String(64), nullable=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    __table_args__ = (Index("ix_login_attempt_user_at", "username", "at"),)
