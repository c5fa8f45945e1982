"""Every error leaves as RFC 9457 problem+json with Chinese and English text."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError, StatementError
from starlette.exceptions import HTTPException as StarletteHTTPException

from civicgrid.errors import DomainError
from civicgrid.web.i18n import request_lang

log = logging.getLogger("civicgrid")
PROBLEM = "application/problem+json"

_HTTP_TEXT = {
    400: ("请求格式有误", "Malformed request"),
    401: ("请先登录", "Please sign in first"),
    403: ("无权访问", "Forbidden"),
    404: ("请求的地址不存在", "No such address"),
    405: ("不支持该请求方法", "Method not allowed"),
    406: ("不支持请求的格式", "Requested format not available"),
    413: ("上传内容过大", "Upload too large"),
    415: ("不支持的内容类型", "Unsupported content type"),
    429: ("请求过于频繁", "Too many requests"),
}


def problem_response(request: Request, error: DomainError) -> JSONResponse:
    """Render a DomainError for this request's language."""
    body = error.problem(request_lang(request))
    body["instance"] = request.url.path
    return JSONResponse(body, status_code=error.status, media_type=PROBLEM)


def _field_message(err: dict) -> tuple[str, str]:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path", "form"))
    kind = err.get("type", "")
    en = f"{loc or 'input'}: {err.get('msg', 'invalid value')}"
    zh_kinds = {
        "missing": "缺少必填项",
        "string_too_short": "内容太短",
        "string_too_long": "内容太长",
        "int_parsing": "应为整数",
        "float_parsing": "应为数字",
        "less_than_equal": "数值过大",
        "greater_than_equal": "数值过小",
        "enum": "取值不在允许范围内",
        "literal_error": "取值不在允许范围内",
        "json_invalid": "JSON 格式错误",
        "model_attributes_type": "格式错误",
        "datetime_from_date_parsing": "日期时间格式错误",
        "datetime_parsing": "日期时间格式错误",
        "date_from_datetime_parsing": "日期格式错误",
        "value_error": "取值无效",
        "string_pattern_mismatch": "格式不正确",
    }
    zh = f"{loc or '输入'}：{zh_kinds.get(kind, '取值无效')}"
    return zh, en


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        return problem_response(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = []
        for err in exc.errors():
            zh, en = _field_message(err)
            errors.append({"field": [str(p) for p in err.get("loc", ())], "message_zh": zh, "message_en": en})
        detail_zh = "；".join(e["message_zh"] for e in errors[:5])
        detail_en = "; ".join(e["message_en"] for e in errors[:5])
        from civicgrid.errors import InvalidInput

        return problem_response(request, InvalidInput(detail_zh, detail_en, errors=errors))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        zh, en = _HTTP_TEXT.get(exc.status_code, ("请求失败", "Request failed"))
        err = DomainError(zh, en)
        err.status = exc.status_code
        err.type_slug = f"http-{exc.status_code}"
        err.title_zh, err.title_en = zh, en
        resp = problem_response(request, err)
        if exc.headers:
            resp.headers.update(exc.headers)
        return resp

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: Exception):
        # The database (or the SQLite driver) refused a value the schemas let through: a number
        # beyond BIGINT, a NUL character in text. That is bad input, not a server fault.
        log.warning("unstorable value on %s: %s", request.url.path, exc)
        from civicgrid.errors import InvalidInput

        return problem_response(request, InvalidInput(
            "输入的数值超出范围，或含有无法保存的字符", "A value is out of range or contains a character that cannot be stored"))

    @app.exception_handler(OperationalError)
    async def _database_busy(request: Request, exc: OperationalError):
        # SQLite has one writer; past busy_timeout under a burst the honest answer is "retry".
        if "database is locked" not in str(getattr(exc, "orig", exc)):
            return await _unexpected(request, exc)
        err = DomainError("系统繁忙，请稍后重试（未保存任何内容）", "The system is busy; nothing was saved, please retry")
        err.status, err.type_slug = 503, "busy"
        err.title_zh, err.title_en = "系统繁忙", "Busy"
        response = problem_response(request, err)
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(StatementError)
    async def _database_refused(request: Request, exc: StatementError):
        # A value the database cannot store (a NUL character in PostgreSQL text, a number out of
        # range) is bad input that slipped past a schema: the transaction is rolled back, say why.
        text = str(getattr(exc, "orig", exc))
        if isinstance(exc, DataError) or "NUL" in text or isinstance(getattr(exc, "orig", None), ValueError):
            from civicgrid.errors import InvalidInput

            log.warning("database refused a value on %s: %s", request.url.path, text[:200])
            return problem_response(request, InvalidInput(
                "输入包含无法保存的字符或超出范围的数值，请检查后重试",
                "The input has characters that cannot be stored or numbers out of range; check and retry",
            ))
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        log.exception("unexpected error on %s", request.url.path)
        err = DomainError("服务器内部错误，已记录，请稍后重试", "Internal error; it has been logged, please retry later")
        err.status = 500
        err.type_slug = "internal"
        err.title_zh, err.title_en = "服务器错误", "Server error"
        return problem_response(request, err)
