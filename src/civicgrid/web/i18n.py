"""Language choice: zh-CN first, English available (user preference, cookie, Accept-Language)."""

from __future__ import annotations

from starlette.requests import Request

LANG_COOKIE = "cg_lang"
LANGUAGES = ("zh", "en")


def request_lang(request: Request) -> str:
    """'zh' or 'en' for this request.

    On a page of a signed-in user, the language they saved (``User.lang``, set by the switch in
    the header) wins; then the explicit ``cg_lang`` cookie, then Accept-Language; default zh.
    ``request.state.page_user`` is set by the pages' user dependency (web/pagekit.py), so the API
    and Open311 (no page user) follow the cookie and Accept-Language as before.
    """
    user = getattr(request.state, "page_user", None)
    saved = getattr(user, "lang", None)
    if saved in LANGUAGES:
        return saved
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    if accept.startswith("en"):
        return "en"
    return "zh"
