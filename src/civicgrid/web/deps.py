"""FastAPI dependencies shared by every domain's routes: session, current user, origin, roles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, new_request_id
from civicgrid.auth.models import Role, User
from civicgrid.auth.service import TokenClaim, claimed_user, read_token
from civicgrid.db import unit_of_work
from civicgrid.errors import Forbidden, NotAuthenticated

SESSION_COOKIE = "cg_session"
CSRF_COOKIE = "cg_csrf"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_session() -> Iterator[Session]:
    """One unit of work per request: committed when the route returns, rolled back if it raises."""
    with unit_of_work() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def request_id(request: Request) -> str:
    """The caller's X-Request-ID, or a fresh one (echoed back by the middleware)."""
    rid = getattr(request.state, "request_id", None)
    if rid is None:
        rid = request.headers.get("x-request-id") or new_request_id()
        request.state.request_id = rid
    return rid


def _channel(request: Request) -> str:
    path = request.url.path
    if path.startswith("/open311"):
        return "open311"
    if path.startswith("/api"):
        return "api"
    return "web"


# The dependencies that only look at the request or at another dependency's result are
# ``async def``: FastAPI runs a plain ``def`` dependency in its thread pool, a hop that costs
# more than the work (see bench/bench_intake.py).


async def get_origin(request: Request) -> Origin:
    """Where this change comes from, for the audit trail."""
    return Origin(channel=_channel(request), request_id=request_id(request))


OriginDep = Annotated[Origin, Depends(get_origin)]


def _check_csrf(request: Request) -> None:
    # Cookie-authenticated writes must prove they come from our own pages (double submit).
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token") or getattr(request.state, "form_csrf", None)
    if not sent or sent != request.cookies.get(CSRF_COOKIE):
        raise Forbidden("页面已过期或来源不明，请刷新页面后重试", "The page is stale or not ours (CSRF); reload and retry")


def _claim_if_any(request: Request) -> TokenClaim | None:
    """What the bearer token or, for our pages, the session cookie claims (signature checked), if any."""
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return read_token(auth[7:].strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        claim = read_token(cookie)
        _check_csrf(request)
        return claim
    return None


def get_optional_user(request: Request, session: SessionDep) -> User | None:
    """The signed-in user from a bearer token or the page session cookie, if any."""
    claim = _claim_if_any(request)
    return None if claim is None else claimed_user(session.get(User, claim.user_id), claim)


def _please_sign_in() -> NotAuthenticated:
    return NotAuthenticated("请先登录", "Please sign in first")


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    """The signed-in user, or 401."""
    if user is None:
        raise _please_sign_in()
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


async def get_claim(request: Request) -> TokenClaim:
    """Who the bearer token or session cookie says the caller is, checked by its signature only.

    For grouped intake, which checks the account (active, token not revoked) for the whole
    group in the transaction that takes the reports in: the request reads no row and holds no
    connection while it waits, and costs no trip to the thread pool.
    """
    claim = _claim_if_any(request)
    if claim is None:
        raise _please_sign_in()
    return claim


SignedClaim = Annotated[TokenClaim, Depends(get_claim)]
OptionalUser = Annotated[User | None, Depends(get_optional_user)]


def require_roles(*roles: Role):
    """A dependency returning the current user if their role is one of ``roles``, else 403."""

    async def dependency(user: CurrentUser) -> User:
        if user.role not in roles:
            raise Forbidden(
                "您的角色无权进行此操作",
                "Your role may not do this",
            )
        return user

    return dependency


AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]
