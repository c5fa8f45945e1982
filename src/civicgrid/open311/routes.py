"""Open311 GeoReport v2 endpoints under /open311/v2 (and the discovery file at /open311).

Thin: read the parameters, call the service, render in the format the path names. Every
answer, errors included, is in the spec's JSON or XML, never problem+json or a 422: the
routes take their input as plain strings so FastAPI has nothing to reject first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException

from civicgrid.auth.routes import client_address
from civicgrid.open311 import service
from civicgrid.open311.formats import FORMATS, format_of, render, render_errors, split_values
from civicgrid.open311.service import Open311Error
from civicgrid.web.deps import OriginDep, SessionDep
from civicgrid.web.i18n import request_lang

router = APIRouter(prefix="/open311", tags=["open311"])

MAX_FORM_BYTES = 256 * 1024
MAX_FORM_FIELDS = 200
FORM_TYPES = ("", "application/x-www-form-urlencoded")


def _answer(request: Request, fmt: str, root_tag: str, build: Callable[[], Any]) -> Response:
    """Run ``build`` and render its result, or the spec's error list, in ``fmt``."""
    lang = request_lang(request)
    if fmt not in FORMATS:
        return render_errors("xml", 404, [(404, "Unknown format; use .xml or .json" if lang == "en"
                                           else "不支持的格式，请使用 .xml 或 .json")])
    try:
        return render(fmt, root_tag, build())
    except Open311Error as exc:
        return render_errors(fmt, exc.status, exc.errors(lang), headers=exc.headers or None)


@dataclass
class Submission:
    """The parameters of a POST (query string, then body), or why the body could not be read."""

    fields: dict[str, str] = field(default_factory=dict)
    problem: Open311Error | None = None


async def read_submission(request: Request) -> Submission:
    """Read a form-encoded (or multipart) POST body without letting FastAPI answer for us."""
    fields = dict(request.query_params)
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    try:
        if kind in FORM_TYPES:
            body = bytearray()
            async for chunk in request.stream():
                body += chunk
                if len(body) > MAX_FORM_BYTES:
                    return Submission(problem=Open311Error(413, ("请求内容过大", "The request body is too large")))
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
            fields.update(pairs)
        elif kind == "multipart/form-data":
            form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_FORM_BYTES)
            fields.update({k: v for k, v in form.items() if isinstance(v, str)})
        else:
            return Submission(problem=Open311Error(400, (
                "请以 application/x-www-form-urlencoded 格式提交",
                "Send the request as application/x-www-form-urlencoded")))
    except (UnicodeDecodeError, ValueError, HTTPException):
        return Submission(problem=Open311Error(400, ("请求内容无法解析（须为 UTF-8 表单）",
                                                     "The request body is not a readable UTF-8 form")))
    return Submission(fields=fields)


@router.get("/discovery.{fmt}", summary="Open311 service discovery")
def get_discovery(fmt: str, request: Request, session: SessionDep) -> Response:
    """The Service Discovery document pointing at the GeoReport v2 endpoint."""
    url = str(request.url_for("get_services", fmt="xml")).removesuffix("/services.xml")
    return _answer(request, fmt, "discovery",
                   lambda: service.discovery(session=session, endpoint_url=url, lang=request_lang(request)))


@router.get("/v2/services.{fmt}", summary="GeoReport v2: service list")
def get_services(fmt: str, request: Request, session: SessionDep) -> Response:
    """Every active leaf category as a service."""
    return _answer(request, fmt, "services",
                   lambda: service.list_services(session=session, lang=request_lang(request)))


@router.get("/v2/services/{service_code}.{fmt}", summary="GeoReport v2: service definition")
def get_service_definition(service_code: str, fmt: str, request: Request, session: SessionDep) -> Response:
    """One service's definition (no extra attributes)."""
    return _answer(request, fmt, "service_definition",
                   lambda: service.service_definition(session=session, code=service_code))


@router.post("/v2/requests.{fmt}", summary="GeoReport v2: create a service request")
def post_request(
    fmt: str,
    request: Request,
    submission: Annotated[Submission, Depends(read_submission)],
    session: SessionDep,
    origin: OriginDep,
) -> Response:
    """Create a case through the one intake; needs an API key; rate-limited per key and per address."""

    def build() -> list[dict[str, Any]]:
        if submission.problem is not None:
            raise submission.problem
        return service.create_request(session=session, origin=origin, form=submission.fields,
                                      lang=request_lang(request), client_address=client_address(request))

    return _answer(request, fmt, "service_requests", build)


@router.get("/v2/requests.{fmt}", summary="GeoReport v2: query service requests")
def get_requests(fmt: str, request: Request, session: SessionDep) -> Response:
    """Requests newest first, at most 1,000, within 90 days; public."""
    q = request.query_params
    return _answer(request, fmt, "service_requests", lambda: service.list_requests(
        session=session,
        lang=request_lang(request),
        service_request_ids=split_values(q.getlist("service_request_id")),
        service_codes=split_values(q.getlist("service_code")),
        statuses=split_values(q.getlist("status")),
        start_date=q.get("start_date") or None,
        end_date=q.get("end_date") or None,
    ))


@router.get("/v2/requests/{service_request_id}.{fmt}", summary="GeoReport v2: one service request")
def get_request(service_request_id: str, fmt: str, request: Request, session: SessionDep) -> Response:
    """One request by case number (or internal id)."""
    return _answer(request, fmt, "service_requests", lambda: service.get_request(
        session=session, lang=request_lang(request), service_request_id=service_request_id))


@router.get("/v2/tokens/{token}.{fmt}", summary="GeoReport v2: service_request_id from a token")
def get_token(token: str, fmt: str, request: Request, session: SessionDep) -> Response:
    """The service_request_id a POST's token stands for."""
    return _answer(request, fmt, "service_requests",
                   lambda: service.request_from_token(session=session, token=token))


@router.api_route("/{rest:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"],
                  include_in_schema=False)
def not_found(rest: str, request: Request) -> Response:
    """Anything else under /open311: 405 if the path exists with other methods, else 404, in the spec's form."""
    fmt = format_of(request.url.path)
    zh = request_lang(request) == "zh"
    allowed = sorted({
        method
        for route in router.routes
        if isinstance(route, APIRoute) and route.endpoint is not not_found
        and route.path_regex.match(request.scope["path"])
        for method in route.methods
    })
    if allowed:
        methods = ", ".join(allowed)
        text = f"不支持 {request.method} 请求，请使用 {methods}" if zh else \
            f"Method {request.method} not allowed; use {methods}"
        return render_errors(fmt, 405, [(405, text)], headers={"Allow": methods})
    text = f"地址 {request.url.path} 没有 Open311 资源" if zh else f"No Open311 resource at {request.url.path}"
    return render_errors(fmt, 404, [(404, text)])
