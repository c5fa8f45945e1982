"""Unit API."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from civicgrid.units import service
from civicgrid.web.deps import AdminUser, CurrentUser, OriginDep, SessionDep

router = APIRouter(prefix="/api/units", tags=["units"])


class UnitWrite(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.\-]+$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field("", max_length=150)
    kind: str = Field("department", max_length=20)
    region_id: int = Field(ge=1, le=2**62)


class UnitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    code: str
    name_zh: str
    name_en: str
    kind: str
    region_id: int
    active: bool


@router.get("", response_model=list[UnitRead])
def units(session: SessionDep, user: CurrentUser) -> list[UnitRead]:
    return [UnitRead.model_validate(u) for u in service.list_units(session=session)]


@router.post("", response_model=UnitRead, status_code=201)
def create_unit(data: UnitWrite, session: SessionDep, user: AdminUser, origin: OriginDep) -> UnitRead:
    return UnitRead.model_validate(service.create_unit(session=session, actor=user, origin=origin, **data.model_dump()))
