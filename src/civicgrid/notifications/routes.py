"""Inbox API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from civicgrid.notifications import service
from civicgrid.web.deps import CurrentUser, SessionDep

router = APIRouter(prefix="/api/notifications", tags=["notifications"])


class NotificationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    case_id: int | None
    text_zh: str
    text_en: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class MarkRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[Annotated[int, Field(ge=1, le=2**62)]] | None = Field(None, max_length=500)


@router.get("", response_model=list[NotificationRead])
def inbox(session: SessionDep, user: CurrentUser, unread_only: bool = False) -> list[NotificationRead]:
    return [NotificationRead.model_validate(n) for n in service.inbox(session=session, user=user,
                                                                        unread_only=unread_only)]


@router.post("/read")
def mark_read(data: MarkRead, session: SessionDep, user: CurrentUser) -> dict:
    return {"marked": service.mark_read(session=session, user=user, ids=data.ids)}
