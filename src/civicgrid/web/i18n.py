"""Language choice: zh-CN first, English available (cookie, user preference, Accept-Language)."""

from __future__ import annotations

from starlette.requests import Request

LANG_COOKIE = "cg_lang"


def request_lang(request: Request) -> str:
    """'zh' or 'en' for this request: explicit cookie, then Accept-Language, default zh."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in ("zh", "en"):
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return "en"
    return "zh"
