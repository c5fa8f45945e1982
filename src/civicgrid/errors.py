"""Domain errors and their RFC 9457 problem+json rendering, in Chinese and English.

Services raise a ``DomainError`` subclass with both messages; the app turns it into
``application/problem+json``. Nothing here knows about HTTP routes.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal a person can act on. ``title_zh``/``title_en`` say what, ``detail_*`` say why."""

    status = 400
    type_slug = "bad-request"
    title_zh = "请求有误"
    title_en = "Bad request"

    def __init__(self, detail_zh: str, detail_en: str, **extra: Any) -> None:
        super().__init__(detail_en)
        self.detail_zh = detail_zh
        self.detail_en = detail_en
        self.extra = extra

    def problem(self, lang: str = "zh") -> dict[str, Any]:
        """The problem+json body; ``detail`` in the requested language, both always present."""
        zh = lang.startswith("zh")
        body = {
            "type": f"https://civicgrid.org/problems/{self.type_slug}",
            "title": self.title_zh if zh else self.title_en,
            "status": self.status,
            "detail": self.detail_zh if zh else self.detail_en,
            "detail_zh": self.detail_zh,
            "detail_en": self.detail_en,
        }
        body.update(self.extra)
        return body


class InvalidInput(DomainError):
    status = 422
    type_slug = "invalid-input"
    title_zh = "输入不符合要求"
    title_en = "Invalid input"


class NotFound(DomainError):
    status = 404
    type_slug = "not-found"
    title_zh = "未找到"
    title_en = "Not found"


class Forbidden(DomainError):
    status = 403
    type_slug = "forbidden"
    title_zh = "无权操作"
    title_en = "Forbidden"


class NotAuthenticated(DomainError):
    status = 401
    type_slug = "not-authenticated"
    title_zh = "请先登录"
    title_en = "Not authenticated"


class Conflict(DomainError):
    status = 409
    type_slug = "conflict"
    title_zh = "状态冲突"
    title_en = "Conflict"


class TooManyRequests(DomainError):
    status = 429
    type_slug = "too-many-requests"
    title_zh = "请求过于频繁"
    title_en = "Too many requests"


def not_found(kind_zh: str, kind_en: str, ident: object) -> NotFound:
    """A uniform 'X n does not exist (or is outside your area)' error; no leak of which."""
    return NotFound(
        f"{kind_zh} {ident} 不存在，或不在您的管辖范围内",
        f"{kind_en} {ident} does not exist or is outside your area",
    )
