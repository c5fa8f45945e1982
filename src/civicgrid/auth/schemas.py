"""Auth and user schemas."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from civicgrid.auth.models import Role


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenRead(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: str = Field(min_length=2, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    password: str = Field(min_length=8, max_length=256)
    role: Role
    scope_region_id: int = Field(ge=1, le=2**62)
    unit_id: int | None = Field(None, ge=1, le=2**62)
    phone: str | None = Field(None, max_length=30)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    display_name: str
    role: Role
    scope_region_id: int
    unit_id: int | None
    active: bool
