"""Plumbing shared by the page routes of every domain: page errors, the page shell, forms.

``PageRoute`` is the route class of every HTML page. It copies a form's hidden ``csrf``
field to ``request.state.form_csrf`` *before* the dependencies run (so the shared
double-submit check in ``web.deps`` sees it), sends a signed-out browser to the login
page, and shows any refusal (DomainError) as a page in the user's language instead of
problem+json — never a 500 for a refusal.

A refusal caught by ``PageRoute`` would otherwise be committed by the request's unit of
work (function-scoped dependencies close after the route class returns), so routes run
every mutating service call through :func:`attempt`, which wraps it in a savepoint.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicgrid.auth.models import Role, User
from civicgrid.errors import DomainError, Forbidden, InvalidInput, NotAuthenticated
from civicgrid.notifications.service import unread_count
from civicgrid.web.deps import SAFE_METHODS, CurrentUser, SessionDep
from civicgrid.web.i18n import request_lang
from civicgrid.web.templating import render

T = TypeVar("T")
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


# --------------------------------------------------------------------------------------
# Navigation: which menu items a role sees (decided here, drawn by base.html)
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NavItem:
    """One entry of the top menu."""

    key: str
    href: str
    zh: str
    en: str


REPORTING_ROLES = {Role.OPERATOR, Role.GRID_WORKER, Role.CITIZEN}
MAP_ROLES = {Role.ADMIN, Role.OPERATOR, Role.HANDLER, Role.GRID_WORKER, Role.LEADER}
PEOPLE_ROLES = {Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.LEADER}  # people.access.READ_ROLES
# Dashboard, assessment and reports (the assessment domain's pages).
LEADING_ROLES = {Role.ADMIN, Role.OPERATOR, Role.LEADER}
# Mediation centre and petition reception (mediators and windows are handlers).
MEDIATION_ROLES = {Role.ADMIN, Role.OPERATOR, Role.HANDLER, Role.LEADER}


def nav_for(user: User | None) -> list[NavItem]:
    """The menu of a signed-in user (empty when signed out)."""
    if user is None:
        return []
    items = [NavItem("inbox", "/inbox", "我的待办", "My tasks"), NavItem("cases", "/cases", "事件列表", "Cases")]
    if user.role in REPORTING_ROLES:
        items.append(NavItem("new", "/cases/new", "登记事件", "New case"))
    if user.role in MAP_ROLES:
        items.append(NavItem("map", "/map", "网格地图", "Grid map"))
    if user.role in PEOPLE_ROLES:
        items.append(NavItem("people", "/people", "实有人口", "Residents"))
        items.append(NavItem("care", "/care", "重点人群", "People under care"))
    if user.role in LEADING_ROLES:
        items.append(NavItem("dashboard", "/dashboard", "指挥大屏", "Dashboard"))
        items.append(NavItem("assessment", "/assessment", "考核排名", "Assessment"))
        items.append(NavItem("reports", "/reports", "月度报告", "Reports"))
    if user.role in MEDIATION_ROLES:
        items.append(NavItem("mediation", "/mediation", "矛盾调解", "Mediation"))
        items.append(NavItem("petitions", "/petitions", "信访接待", "Petitions"))
    if user.role == Role.GRID_WORKER:
        items.append(NavItem("points", "/assessment/points", "我的积分", "My points"))
    if user.role == Role.ADMIN:
        items.append(NavItem("admin", "/admin", "系统管理", "Administration"))
    return items


# --------------------------------------------------------------------------------------
# Page dependencies
# --------------------------------------------------------------------------------------


async def page_user(request: Request, session: SessionDep, user: CurrentUser) -> User:
    """The signed-in user of a page (kept on the request so an error page still shows the menu)."""
    request.state.page_user = user
    request.state.page_session = session
    return user


PageUser = Annotated[User, Depends(page_user)]


def require_page_roles(*roles: Role) -> Callable[[User], Awaitable[User]]:
    """A page dependency admitting only ``roles`` (others get a 403 page)."""

    async def dependency(user: PageUser) -> User:
        return admit_to_page(user, roles)

    return dependency


def admit_to_page(user: User, roles: Collection[Role]) -> User:
    """``user`` if their role may open a page for ``roles``, else the 403 page."""
    if user.role not in roles:
        raise Forbidden("您的角色无权访问此页面", "Your role may not open this page")
    return user


AdminPageUser = Annotated[User, Depends(require_page_roles(Role.ADMIN))]


# --------------------------------------------------------------------------------------
# Rendering and redirects
# --------------------------------------------------------------------------------------


def is_htmx(request: Request) -> bool:
    """Whether the request comes from htmx (and wants a fragment back)."""
    return request.headers.get("hx-request") == "true"


def page(request: Request, name: str, context: Mapping[str, Any] | None = None, *, user: User | None,
         session: Session | None, active: str = "", status_code: int = 200,
         headers: Mapping[str, str] | None = None) -> Response:
    """Render a full page (or fragment) with the shell: menu, unread count, current user."""
    unread = unread_count(session=session, user=user) if user is not None and session is not None else 0
    ctx = {"user": user, "nav": nav_for(user), "active": active, "unread": unread,
           "role_label": (user.role.label_zh, user.role.label_en) if user else None}
    ctx.update(context or {})
    return render(request, name, ctx, status_code=status_code, headers=headers)


def safe_next(target: str | None, default: str = "/inbox") -> str:
    """``target`` if it is a path on this site, else ``default`` (no open redirects)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urllib.parse.urlsplit(target)
    if parts.scheme or parts.netloc:
        return default
    return target


def redirect(url: str) -> RedirectResponse:
    """A 303 See Other (the answer to a successful form POST)."""
    return RedirectResponse(url, status_code=303)


def attempt(session: Session, call: Callable[[], T]) -> tuple[T | None, DomainError | None]:
    """Run a service call in a savepoint: (result, None), or (None, error) with its changes undone."""
    try:
        with session.begin_nested():
            return call(), None
    except DomainError as exc:
        return None, exc


def error_text(error: DomainError | None, lang: str) -> str:
    """A refusal's message in ``lang`` (empty for None)."""
    if error is None:
        return ""
    return error.detail_en if lang == "en" else error.detail_zh


def error_list(error: DomainError | None, lang: str) -> list[str]:
    """The itemised reasons a refusal carries in ``errors`` (validation problems), in ``lang``."""
    if error is None:
        return []
    items = error.extra.get("errors") or []
    key = "message_en" if lang == "en" else "message_zh"
    return [str(item.get(key) or item.get("message_zh") or "") for item in items if isinstance(item, dict)]


def refusal_context(error: DomainError | None, lang: str) -> dict[str, Any]:
    """A refusal as a form page shows it: ``error`` (its message) and ``error_items`` (its reasons), in ``lang``."""
    return {"error": error_text(error, lang), "error_items": error_list(error, lang)}


_ZH_KINDS = {
    "missing": "必填",
    "string_too_short": "内容太短",
    "string_too_long": "内容太长",
    "int_parsing": "应为整数",
    "float_parsing": "应为数字",
    "less_than_equal": "数值过大",
    "less_than": "数值过大",
    "greater_than_equal": "数值过小",
    "greater_than": "数值过小",
    "enum": "取值不在允许范围内",
    "literal_error": "取值不在允许范围内",
    "string_pattern_mismatch": "格式不正确",
    "value_error": "取值无效",
}


_LOC_NOISE = ("query", "body", "path", "form", "cookie", "header")


def invalid_form(exc: ValidationError | RequestValidationError,
                 labels: Mapping[str, tuple[str, str]] | None = None) -> InvalidInput:
    """A form's validation errors as one InvalidInput naming each field by its on-screen label."""
    labels = labels or {}
    errors = []
    for err in exc.errors():
        loc = [p for p in err.get("loc", ()) if p not in _LOC_NOISE]
        field = str(loc[0]) if loc else ""
        zh_name, en_name = labels.get(field, (field or "表单", field or "form"))
        zh = f"{zh_name}：{_ZH_KINDS.get(err.get('type', ''), '取值无效')}"
        en = f"{en_name}: {err.get('msg', 'invalid value')}"
        errors.append({"field": field, "message_zh": zh, "message_en": en})
    return InvalidInput("表单填写有误，请检查标出的项目", "Please correct the marked fields", errors=errors)


class FormValues(dict):
    """A form's values for re-showing it: a field never filled in reads as the empty string."""

    def __missing__(self, key: str) -> str:
        return ""


def parse_int(value: Any) -> int | None:
    """A form or query value as a positive id-sized int; None if empty or not a number."""
    if value is None or str(value).strip() == "":
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if 1 <= number <= 2**62 else None


# --------------------------------------------------------------------------------------
# The route class
# --------------------------------------------------------------------------------------


def _login_target(request: Request) -> str:
    if request.method in SAFE_METHODS:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    else:
        here = urllib.parse.urlsplit(request.headers.get("referer", "")).path or "/inbox"
    return "/login?" + urllib.parse.urlencode({"next": safe_next(here)})


def _refusal_page(request: Request, error: DomainError) -> Response:
    user = getattr(request.state, "page_user", None)
    session = getattr(request.state, "page_session", None)
    lang = request_lang(request)
    ctx = {"error": error, "message": error_text(error, lang), "items": error_list(error, lang),
           "title": error.title_en if lang == "en" else error.title_zh}
    if is_htmx(request):
        # Show the refusal in the page's message area instead of replacing the target.
        return page(request, "_alert.html", ctx, user=user, session=None, status_code=error.status,
                    headers={"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"})
    return page(request, "error.html", ctx, user=user, session=session, status_code=error.status)


def _http_error(status: int) -> DomainError:
    texts = {
        400: ("请求格式有误", "Malformed request"),
        404: ("页面不存在", "No such page"),
        405: ("不支持该请求方法", "Method not allowed"),
        413: ("上传内容过大", "Upload too large"),
    }
    zh, en = texts.get(status, ("请求失败", "Request failed"))
    error = DomainError(zh, en)
    error.status, error.title_zh, error.title_en = status, zh, en
    return error


class PageRoute(APIRoute):
    """Route class of HTML pages: form CSRF before auth, login redirects, refusals as pages."""

    def get_route_handler(self) -> Callable:
        """Wrap FastAPI's handler (dependencies included) with the page behaviour."""
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            if request.method not in SAFE_METHODS:
                content_type = request.headers.get("content-type", "")
                if content_type.startswith(FORM_TYPES):
                    try:
                        form = await request.form()
                    except Exception:  # a torn multipart body: refuse as a page, not a 500
                        return _refusal_page(request, _http_error(400))
                    value = form.get("csrf")
                    request.state.form_csrf = value if isinstance(value, str) else None
            try:
                return await handler(request)
            except NotAuthenticated:
                target = _login_target(request)
                if is_htmx(request):
                    return Response(status_code=200, headers={"HX-Redirect": target})
                return redirect(target)
            except DomainError as exc:
                return _refusal_page(request, exc)
            except RequestValidationError as exc:
                return _refusal_page(request, invalid_form(exc))
            except StarletteHTTPException as exc:
                return _refusal_page(request, _http_error(exc.status_code))

        return page_handler

