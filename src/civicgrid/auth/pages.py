"""Sign-in, sign-out and the language switch (pages)."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import Response

from civicgrid.auth import service
from civicgrid.auth.routes import client_address
from civicgrid.errors import DomainError, NotAuthenticated
from civicgrid.settings import get_settings
from civicgrid.web.deps import CSRF_COOKIE, SESSION_COOKIE, OriginDep, SessionDep
from civicgrid.web.i18n import LANG_COOKIE, LANGUAGES, request_lang
from civicgrid.web.pagekit import PageRoute, error_text, page, redirect, safe_next

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LANG_MAX_AGE = 365 * 24 * 3600


def _form_csrf_ok(request: Request, sent: str) -> bool:
    """The double-submit rule for forms sent before there is a session (login, logout)."""
    cookie = request.cookies.get(CSRF_COOKIE)
    return bool(sent) and bool(cookie) and secrets.compare_digest(sent, cookie)


def _login_page(request: Request, *, next_url: str, username: str = "", error: str = "",
                status_code: int = 200) -> Response:
    return page(request, "login.html", {"next": next_url, "username": username, "error": error},
                user=None, session=None, status_code=status_code)


@router.get("/")
def home(request: Request) -> Response:
    """The site root: the task inbox when signed in, else the sign-in page."""
    return redirect("/inbox" if request.cookies.get(SESSION_COOKIE) else "/login")


@router.get("/login")
def login_form(request: Request, next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """The sign-in form."""
    return _login_page(request, next_url=safe_next(next))


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Check the password (throttled), then set the session cookie and a fresh CSRF cookie."""
    lang = request_lang(request)
    target = safe_next(next)
    username = username.strip()
    if not _form_csrf_ok(request, csrf):
        return _login_page(request, next_url=target, username=username, status_code=403,
                           error="页面已过期，请重新提交" if lang == "zh" else "The page expired; please submit again")
    if not username or not password:
        return _login_page(request, next_url=target, username=username, status_code=422,
                           error="请输入用户名和密码" if lang == "zh" else "Enter your user name and password")
    # No savepoint here: a failed attempt must be committed so throttling counts it.
    try:
        user = service.authenticate(session=session, username=username, password=password,
                                    address=client_address(request))
    except DomainError as exc:  # throttled
        return _login_page(request, next_url=target, username=username, error=error_text(exc, lang),
                           status_code=exc.status)
    if user is None:
        wrong = NotAuthenticated("用户名或密码错误", "Wrong user name or password")
        return _login_page(request, next_url=target, username=username, error=error_text(wrong, lang),
                           status_code=401)
    response = redirect(target)
    secure = request.url.scheme == "https"
    response.set_cookie(SESSION_COOKIE, service.issue_token(user), max_age=get_settings().token_ttl_hours * 3600,
                        httponly=True, samesite="lax", secure=secure, path="/")
    # A new CSRF token per sign-in, so a token planted before sign-in is useless after it.
    response.set_cookie(CSRF_COOKIE, service.new_csrf_token(), httponly=False, samesite="lax", secure=secure,
                        path="/")
    if user.lang in LANGUAGES:
        # The saved preference also for the pages seen signed out (the sign-in page after signing out).
        response.set_cookie(LANG_COOKIE, user.lang, max_age=LANG_MAX_AGE, samesite="lax", secure=secure, path="/")
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form(max_length=100)] = "") -> Response:
    """Forget the session cookie (only from our own pages: the form carries the CSRF token)."""
    if not _form_csrf_ok(request, csrf):
        return redirect("/inbox")
    response = redirect("/login")
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


# Fetch metadata of a navigation a page of ours (or the user, typing or from a bookmark) started.
OWN_NAVIGATION = {"same-origin", "none"}


def _signed_in(session, request: Request):
    """The user behind the session cookie, or None (an expired or forged cookie is just signed out here)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    try:
        return service.user_from_token(session=session, token=cookie)
    except DomainError:
        return None


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, session: SessionDep, origin: OriginDep,
                    next: Annotated[str | None, Query(max_length=500)] = None) -> Response:
    """Switch the interface language (zh or en) and go back where we were.

    Remembered in the ``cg_lang`` cookie, and for a signed-in user saved as their preference
    (``User.lang``, audited), which their pages follow on every device from then on. The switch
    is a link, so it is a GET: a switch another site started (``Sec-Fetch-Site: cross-site`` or
    ``same-site``) sets the cookie but never writes the preference.
    """
    response = redirect(safe_next(next, default="/"))
    if code in LANGUAGES:
        response.set_cookie(LANG_COOKIE, code, max_age=LANG_MAX_AGE, samesite="lax", path="/",
                            secure=request.url.scheme == "https")
        user = _signed_in(session, request)
        if user is not None and request.headers.get("sec-fetch-site", "none") in OWN_NAVIGATION:
            service.set_user_lang(session=session, user=user, origin=origin, lang=code)
    return response
