"""Sign-in for the API, the current user, and user administration."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from civicgrid.auth import service
from civicgrid.auth.models import User
from civicgrid.auth.schemas import TokenRead, TokenRequest, UserCreate, UserRead
from civicgrid.db import unit_of_work
from civicgrid.errors import NotAuthenticated
from civicgrid.settings import get_settings
from civicgrid.web.deps import AdminUser, CurrentUser, OriginDep, SessionDep

router = APIRouter(tags=["auth"])


def client_address(request: Request) -> str:
    """The caller's address (for throttling)."""
    return request.client.host if request.client else "unknown"


@router.post("/api/auth/token", response_model=TokenRead)
def token(data: TokenRequest, request: Request, origin: OriginDep) -> TokenRead:
    """Exchange a user name and password for a bearer token (throttled after repeated failures)."""
    # Its own unit of work: a failed attempt must be remembered even though we answer 401.
    with unit_of_work() as session:
        user = service.authenticate(session=session, username=data.username, password=data.password,
                                    address=client_address(request), origin=origin)
        issued = service.issue_token(user) if user is not None else None
    if issued is None:
        raise NotAuthenticated("用户名或密码错误", "Wrong user name or password")
    return TokenRead(access_token=issued, expires_in=get_settings().token_ttl_hours * 3600)


@router.get("/api/me", response_model=UserRead)
def me(user: CurrentUser) -> UserRead:
    return UserRead.model_validate(user)


@router.get("/api/users", response_model=list[UserRead])
def users(session: SessionDep, admin: AdminUser) -> list[UserRead]:
    """Users whose scope lies in the admin's area."""
    rows = session.scalars(
        select(User).where(User.scope_path >= admin.scope_path, User.scope_path < admin.scope_path + "~")
        .order_by(User.id)
    )
    return [UserRead.model_validate(u) for u in rows]


@router.post("/api/users", response_model=UserRead, status_code=201)
def create_user(data: UserCreate, session: SessionDep, admin: AdminUser, origin: OriginDep) -> UserRead:
    user = service.create_user(session=session, actor=admin, origin=origin, **data.model_dump())
    return UserRead.model_validate(user)
