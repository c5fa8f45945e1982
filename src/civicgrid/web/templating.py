"""The pages' Jinja2 environment: ``t(zh, en)``, local-time and duration formatting, labels.

Templates format; they do not decide. Everything a template shows as a choice (which
actions, which menu items, overdue or not) arrives computed from the route. What lives
here is presentation only: picking the language of a (zh, en) pair, showing an instant
in the city's time zone, spelling out a remaining time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from civicgrid import __version__
from civicgrid.auth.service import new_csrf_token
from civicgrid.events.workflow import STATE_LABELS, CaseState
from civicgrid.settings import get_settings
from civicgrid.web.deps import CSRF_COOKIE
from civicgrid.web.i18n import request_lang

TEMPLATE_DIR = Path(__file__).parent / "templates"

# State → badge colour class; one place, so the list, the detail and the inbox agree.
STATE_TONES: dict[CaseState, str] = {
    CaseState.REPORTED: "new",
    CaseState.REGISTERED: "waiting",
    CaseState.DISPATCHED: "waiting",
    CaseState.ACCEPTED: "working",
    CaseState.SUSPENDED: "paused",
    CaseState.RESOLVED: "check",
    CaseState.VERIFIED: "check",
    CaseState.CALLED_BACK: "check",
    CaseState.CLOSED: "done",
    CaseState.REJECTED: "void",
    CaseState.MERGED: "void",
}


# The language of the page being rendered. Macros imported without context (``{% from … import
# badge %}``) cannot see the page's ``lang`` variable, so render() also sets it here.
_page_lang: ContextVar[str | None] = ContextVar("civicgrid_page_lang", default=None)


def _lang(ctx: Mapping[str, Any]) -> str:
    lang = ctx.get("lang") or _page_lang.get()
    return "en" if lang == "en" else "zh"


@pass_context
def t(ctx: Mapping[str, Any], zh: str, en: str) -> str:
    """The text in the page's language: ``{{ t('事件', 'Case') }}``."""
    return en if _lang(ctx) == "en" else zh


@pass_context
def label(ctx: Mapping[str, Any], pair: Any, fallback: str = "") -> str:
    """Pick from a (zh, en) pair, e.g. the values of STATE_LABELS or CHANNEL_LABELS."""
    if not pair:
        return fallback
    zh, en = pair[0], pair[1]
    return (en or zh) if _lang(ctx) == "en" else zh


@pass_context
def state_label(ctx: Mapping[str, Any], state: Any) -> str:
    """A case state's label in the page's language."""
    zh, en = STATE_LABELS[CaseState(state)]
    return en if _lang(ctx) == "en" else zh


def state_tone(state: Any) -> str:
    """The badge colour class of a case state (``badge-<tone>``)."""
    return STATE_TONES[CaseState(state)]


@pass_context
def name_of(ctx: Mapping[str, Any], obj: Any) -> str:
    """``name_en`` of a region, unit or category in English (falling back to ``name_zh``), else ``name_zh``."""
    if obj is None:
        return ""
    if _lang(ctx) == "en":
        return getattr(obj, "name_en", "") or obj.name_zh
    return obj.name_zh


def local_tz() -> ZoneInfo:
    """The city's time zone (settings.timezone, Asia/Shanghai by default)."""
    return ZoneInfo(get_settings().timezone)


def localtime(value: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware instant shown in the city's local time; empty for None."""
    if value is None:
        return ""
    if value.tzinfo is None:  # stored values are aware; be lenient with anything else
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(local_tz()).strftime(fmt)


def iso_local(value: dt.datetime | None) -> str:
    """The instant as ISO 8601 with the local offset (for ``<time datetime=…>``)."""
    if value is None:
        return ""
    return value.astimezone(local_tz()).isoformat(timespec="minutes")


@pass_context
def duration(ctx: Mapping[str, Any], seconds: float | None) -> str:
    """A length of time spelt out coarsely: ``2天3小时`` / ``2 d 3 h``; the sign is ignored."""
    if seconds is None:
        return ""
    total = int(abs(seconds) // 60)
    days, rest = divmod(total, 24 * 60)
    hours, minutes = divmod(rest, 60)
    en = _lang(ctx) == "en"
    parts: list[str] = []
    if days:
        parts.append(f"{days} d" if en else f"{days}天")
    if hours:
        parts.append(f"{hours} h" if en else f"{hours}小时")
    if not days and (minutes or not parts):
        parts.append(f"{minutes} min" if en else f"{minutes}分钟")
    return (" " if en else "").join(parts)


def thousands(value: int | None) -> str:
    """``12345`` → ``12,345``."""
    return "" if value is None else f"{value:,}"


def static(path: str) -> str:
    """URL of a file under web/static, versioned so a release refreshes browser caches."""
    return f"/static/{path}?v={__version__}"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(t=t, label=label, state_label=state_label, state_tone=state_tone, name_of=name_of,
                       static=static, version=__version__)
    env.filters.update(localtime=localtime, iso_local=iso_local, duration=duration, thousands=thousands,
                       label=label, name_of=name_of)
    return env


env = _environment()


def csrf_token(request: Request) -> str:
    """This browser's CSRF token (the ``cg_csrf`` cookie), minting one if it has none yet."""
    token = getattr(request.state, "csrf_token", None) or request.cookies.get(CSRF_COOKIE)
    if not token:
        token = new_csrf_token()
    request.state.csrf_token = token
    return token


def set_csrf_cookie(request: Request, response: HTMLResponse, token: str) -> None:
    """Send ``token`` as the ``cg_csrf`` cookie unless the browser already holds it (readable by JS)."""
    if request.cookies.get(CSRF_COOKIE) != token:
        response.set_cookie(CSRF_COOKIE, token, httponly=False, samesite="lax", path="/",
                            secure=request.url.scheme == "https")


def render(request: Request, name: str, context: Mapping[str, Any] | None = None, *,
           status_code: int = 200, headers: Mapping[str, str] | None = None) -> HTMLResponse:
    """Render a template for this request: adds ``lang``, ``csrf`` and ``request``; sets the CSRF cookie."""
    token = csrf_token(request)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    ctx: dict[str, Any] = {"request": request, "lang": request_lang(request), "csrf": token,
                           "path": request.url.path, "here": here}
    ctx.update(context or {})
    marker = _page_lang.set(ctx["lang"])
    try:
        html = env.get_template(name).render(ctx)
    finally:
        _page_lang.reset(marker)
    response = HTMLResponse(html, status_code=status_code, headers=dict(headers or {}))
    set_csrf_cookie(request, response, token)
    return response
