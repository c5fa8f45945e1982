"""Open311 GeoReport v2 over the case pipeline: services are categories, service requests are cases.

Plain functions taking a ``session``; none of them commits. Requests come in through the
one intake (channel ``open311``, no signed-in actor) and are read back publicly, so the
read side is built to withhold what is personal: reporter contact data is never shown,
contact details typed into free text are masked, petition visits are not published at all,
and categories about individuals (disputes, public-security clues, welfare) show status
and dates only.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError
from sqlalchemy import case as sql_case, func, or_, select
from sqlalchemy.orm import Session, aliased, lazyload

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import ApiKey
from civicgrid.auth.service import api_key_valid
from civicgrid.db import utcnow
from civicgrid.errors import DomainError
from civicgrid.events.config import list_categories
from civicgrid.events.deadlines import category_specs
from civicgrid.events.intake import intake_case
from civicgrid.events.models import REQUEST_TYPE_LABELS, Case, Category, Channel
from civicgrid.events.schemas import CaseCreate, mask_phone
from civicgrid.events.workflow import STATE_LABELS, CaseState
from civicgrid.open311.formats import parse_w3c, w3c
from civicgrid.open311.models import Open311Submission
from civicgrid.regions.models import Region
from civicgrid.settings import get_settings
from civicgrid.units.models import Unit

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# Category groups about individuals: requests in them are listed without details or location.
RESTRICTED_GROUPS = frozenset({"GV01", "GV02", "GV04"})
# Petition visits (信访) are confidential by regulation and are not Open311 service requests.
UNPUBLISHED_CHANNELS = frozenset({Channel.PETITION})
CLOSED_STATES = frozenset({CaseState.CLOSED, CaseState.REJECTED})
DEFAULT_WINDOW = dt.timedelta(days=90)
MAX_RESULTS = 1000
# How far a chain of merges (A merged into B, later B into C) is followed to find the master.
MERGE_HOPS = 3
SUBMISSION_ACTION = "open311_request"
# The rate limits count the requests filed within this sliding window (settings: per key, per address).
RATE_WINDOW = dt.timedelta(seconds=60)
TEXT_LIMITS = {"first_name": 50, "last_name": 50, "email": 254, "device_id": 100, "account_id": 100,
               "media_url": 2000}

_MOBILE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d{9}(?!\d)")
_LANDLINE = re.compile(r"(?<!\d)0\d{2,3}-\d{7,8}(?!\d)")
_ID_CARD = re.compile(r"(?<![0-9A-Za-z])\d{17}[0-9Xx](?![0-9A-Za-z])")
# Anchored at the start of an ASCII run and bounded, so a long text without '@' stays linear.
_EMAIL_IN_TEXT = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]{1,64}@([A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63})+)")
# An e-mail address as a person types it: an ASCII local part of dot-separated atoms (RFC 5322,
# no quoted forms) and a domain of at least two labels, internationalised ones (例子.中国) allowed.
_EMAIL_LOCAL = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")
_DOMAIN_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
_CJK_NAME = re.compile(r"[\u3400-\u9fff·]+")
_FIELD_PARAMS = {"description": "description", "lat": "lat", "lon": "long", "address": "address_string",
                 "region_code": "address_id", "reporter_name": "first_name/last_name", "reporter_phone": "phone"}


class Open311Error(Exception):
    """A refusal in the spec's terms: the HTTP status and one or more (Chinese, English) descriptions."""

    def __init__(self, status: int, *messages: tuple[str, str], headers: Mapping[str, str] | None = None) -> None:
        super().__init__("; ".join(en for _, en in messages))
        self.status = status
        self.messages = messages
        self.headers = dict(headers or {})

    def errors(self, lang: str) -> list[tuple[int, str]]:
        """(code, description) pairs in the caller's language; the code is the HTTP status."""
        return [(self.status, zh if lang == "zh" else en) for zh, en in self.messages]

    @classmethod
    def from_domain(cls, error: DomainError) -> Open311Error:
        """The spec's form of a civicgrid refusal: invalid input is a 400, the rest keep their status."""
        return cls(400 if error.status == 422 else error.status, (error.detail_zh, error.detail_en))


@dataclass(frozen=True)
class ApiClient:
    """The Open311 client behind an API key, standing as the actor of its audit entries."""

    display_name: str
    id: None = None


def _nul_free(value: str | None) -> bool:
    """Whether ``value`` can reach the database: PostgreSQL refuses NUL characters in text."""
    return value is None or "\x00" not in value


def _t(lang: str, zh: str, en: str) -> str:
    return zh if lang == "zh" else en


def _name(item: Category | Unit | Region, lang: str) -> str:
    return item.name_zh if lang == "zh" else (item.name_en or item.name_zh)


# ---------------------------------------------------------------------------------------
# Services (categories)
# ---------------------------------------------------------------------------------------


def _offered(categories: Sequence[Category]) -> list[Category]:
    """Active public leaf categories: the ones a citizen can file a report under."""
    parents = {c.parent_id for c in categories if c.parent_id is not None}
    return [c for c in categories if c.active and c.public and c.id not in parents]


def is_restricted(category: Category) -> bool:
    """Whether requests of this category are about individuals and published without details."""
    return category.code in RESTRICTED_GROUPS or (
        category.parent is not None and category.parent.code in RESTRICTED_GROUPS
    )


def _completion(category: Category, lang: str) -> str:
    _, finish = category_specs(category)
    return finish.label(lang)


def service_notice(category: Category, lang: str) -> str:
    """What happens to a request of this category: its type and the completion deadline."""
    zh, en = REQUEST_TYPE_LABELS[category.request_type]
    return _t(lang, f"{zh}类事件，立案后{_completion(category, 'zh')}内办结",
              f"{en}: to be completed within {_completion(category, 'en')} of registration")


def _service(category: Category, lang: str) -> dict[str, Any]:
    group = category.parent
    name = _name(category, lang)
    if lang == "zh" and category.description_zh:
        description = category.description_zh
    else:
        description = service_notice(category, lang)
    names = [category.name_zh, category.name_en]
    if group is not None:
        names += [group.name_zh, group.name_en]
    keywords = [n for n in dict.fromkeys(names) if n and n != name]
    return {
        "service_code": category.code,
        "service_name": name,
        "description": description,
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join(keywords),
        "group": _name(group, lang) if group is not None else None,
    }


def list_services(*, session: Session, lang: str) -> list[dict[str, Any]]:
    """GET services: every active public leaf category, grouped under its parent."""
    return [_service(c, lang) for c in _offered(list_categories(session=session))]


def _service_category(session: Session, code: str | None, *, filing: bool = False) -> Category:
    """The offered category ``code`` names; 404 if there is none. A category that exists but is not
    public is a 404 when read (it is not in the list) and a 400 saying so when a request is filed."""
    if not code:
        raise Open311Error(400, ("缺少 service_code", "service_code was not provided"))
    category = session.scalar(select(Category).where(Category.code == code)) if _nul_free(code) else None
    has_children = category is not None and session.scalar(
        select(Category.id).where(Category.parent_id == category.id).limit(1)
    ) is not None
    if category is None or not category.active or has_children or (not category.public and not filing):
        raise Open311Error(404, (f"服务 {code} 不存在，请从服务列表中选择",
                                 f"service_code {code} was not found; choose one from the service list"))
    if not category.public:
        raise Open311Error(400, (
            f"服务 {code}（{category.name_zh}）不通过 Open311 接口受理，请拨打 12345 热线或到所在社区反映",
            f"service_code {code} ({category.name_en or category.name_zh}) is not offered through Open311; "
            "report it to the 12345 hotline or the community office"))
    return category


def service_definition(*, session: Session, code: str) -> dict[str, Any]:
    """GET a service definition: no service takes extra attributes, so the list is empty."""
    category = _service_category(session, code)
    return {"service_code": category.code, "attributes": []}


def discovery(*, session: Session, endpoint_url: str, lang: str) -> dict[str, Any]:
    """The Service Discovery document; its changeset moves when the service list was last edited."""
    changed = session.scalar(select(func.max(AuditEntry.at)).where(AuditEntry.entity == "category"))
    changed = changed or session.scalar(select(func.min(AuditEntry.at)))
    # Full precision, so two edits within one second still move the (sortable) changeset.
    changeset = changed.astimezone(dt.UTC).isoformat() if changed else "1970-01-01T00:00:00+00:00"
    return {
        "changeset": changeset,
        "contact": _t(lang, "请联系本市综治中心系统管理员", "Contact the system administrator of the city governance centre"),
        "key_service": _t(lang, "API 密钥由系统管理员签发（civicgrid apikey create --name 名称）",
                          "API keys are issued by the system administrator (civicgrid apikey create --name NAME)"),
        "endpoints": [{
            "specification": SPECIFICATION,
            "url": endpoint_url,
            "changeset": changeset,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }


# ---------------------------------------------------------------------------------------
# POST a service request
# ---------------------------------------------------------------------------------------


def _reporter_name(first: str | None, last: str | None) -> str | None:
    parts = [p for p in (first, last) if p]
    if not parts:
        return None
    if all(_CJK_NAME.fullmatch(p) for p in parts):
        # Chinese names are written family name first, without a space.
        return f"{last or ''}{first or ''}"
    return " ".join(parts)


def _coordinate(value: str | None, param: str, problems: list[tuple[str, str]]) -> float | None:
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        problems.append((f"{param} 应为 WGS84 经纬度数值", f"{param} must be a WGS84 coordinate in decimal degrees"))
        return None
    return number


def valid_email(value: str) -> bool:
    """Whether ``value`` is an e-mail address one could send to (its form; nothing is looked up)."""
    local, at, domain = value.rpartition("@")
    if not at or len(local) > 64 or not _EMAIL_LOCAL.fullmatch(local):
        return False
    try:
        domain = domain.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    labels = domain.split(".")
    return (len(labels) >= 2 and len(domain) <= 253 and all(_DOMAIN_LABEL.fullmatch(label) for label in labels)
            and not labels[-1].isdigit())


def _check_extras(fields: Mapping[str, str], problems: list[tuple[str, str]]) -> None:
    for param, limit in TEXT_LIMITS.items():
        value = fields.get(param)
        if value is not None and len(value) > limit:
            problems.append((f"{param} 过长（最多 {limit} 个字符）", f"{param} is too long (at most {limit} characters)"))
    email = fields.get("email")
    if email is not None and len(email) <= TEXT_LIMITS["email"] and not valid_email(email):
        problems.append(("email 不是有效的电子邮件地址", "email is not a valid e-mail address"))
    media = fields.get("media_url")
    if media is not None:
        parts = urlsplit(media)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
            problems.append(("media_url 应为 http(s) 地址", "media_url must be an http(s) URL"))


def _case_create(fields: Mapping[str, str], category: Category) -> CaseCreate:
    """Map the spec's form fields onto a CaseCreate, or raise a 400 naming every bad field."""
    problems: list[tuple[str, str]] = []
    lat = _coordinate(fields.get("lat"), "lat", problems)
    lon = _coordinate(fields.get("long"), "long", problems)
    if ("lat" in fields) != ("long" in fields):
        problems.append(("lat 与 long 须同时提供", "lat and long must be sent together"))
    if not ({"lat", "long"} <= fields.keys() or "address_string" in fields or "address_id" in fields):
        problems.append(("缺少位置：请提供 lat 与 long、address_string 或 address_id",
                         "A location is required: lat & long, address_string or address_id"))
    _check_extras(fields, problems)
    if problems:
        raise Open311Error(400, *problems)
    try:
        return CaseCreate(
            channel=Channel.OPEN311,
            category_code=category.code,
            description=fields.get("description") or category.name_zh,
            lat=lat,
            lon=lon,
            address=fields.get("address_string"),
            region_code=fields.get("address_id"),
            reporter_name=_reporter_name(fields.get("first_name"), fields.get("last_name")),
            reporter_phone=fields.get("phone"),
        )
    except ValidationError as exc:
        messages = []
        for err in exc.errors():
            param = _FIELD_PARAMS.get(str(err["loc"][0]) if err["loc"] else "", "request")
            messages.append((f"参数 {param} 无效（{err['msg']}）", f"{param}: {err['msg']}"))
        raise Open311Error(400, *messages) from None


def _rate_limited(session: Session, column: Any, value: Any, limit: int, now: dt.datetime) -> int | None:
    """Seconds until one more request is allowed, if ``limit`` requests with ``column == value`` were
    filed within the last RATE_WINDOW; None if one more is allowed now (or ``limit`` is 0: no limit)."""
    if limit <= 0:
        return None
    since = now - RATE_WINDOW
    recent = select(Open311Submission.at).where(column == value, Open311Submission.at > since)
    count = session.scalar(select(func.count()).select_from(recent.subquery())) or 0
    if count < limit:
        return None
    # The request that has to leave the window before the count drops below the limit.
    freeing = session.scalar(recent.order_by(Open311Submission.at).offset(count - limit).limit(1))
    if freeing is None:  # filed and gone between the two queries
        return None
    return max(1, math.ceil((freeing + RATE_WINDOW - now).total_seconds()))


def _too_many(retry_after: int, whose: tuple[str, str], limit: int) -> Open311Error:
    return Open311Error(429, (
        f"{whose[0]}提交过于频繁（每分钟最多 {limit} 件），请 {retry_after} 秒后再试",
        f"Too many requests from {whose[1]} (at most {limit} a minute); retry in {retry_after} seconds",
    ), headers={"Retry-After": str(retry_after)})


def check_rate_limits(*, session: Session, key: ApiKey | None, client_address: str,
                      now: dt.datetime) -> None:
    """Refuse (429 with Retry-After) a client that filed its per-minute share of requests already.

    Counted in the database (``open311_submission``), so the limits hold across worker processes;
    refused requests (400s, 403s, 429s) file nothing and do not count. ``key`` None checks only the
    address (before the key is known, so an address over its limit is refused whatever it sends).
    """
    settings = get_settings()
    if key is None:
        limit = settings.open311_rate_limit_per_address
        wait = _rate_limited(session, Open311Submission.client_address, client_address[:64], limit, now)
        if wait is not None:
            raise _too_many(wait, ("此地址", "this address"), limit)
        return
    limit = settings.open311_rate_limit_per_key
    wait = _rate_limited(session, Open311Submission.api_key_id, key.id, limit, now)
    if wait is not None:
        raise _too_many(wait, ("此 API 密钥", "this api_key"), limit)


def create_request(*, session: Session, origin: Origin, form: Mapping[str, str], lang: str,
                   client_address: str = "", now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """POST a service request: check the API key and the rate limits, map the form onto a case and
    run the one intake.

    Empty parameters count as absent (the spec's rule for optional arguments). What the client
    sent beyond the case's own fields — e-mail, media URL, the name as first and last name, the
    phone, device and account ids — is kept in ``open311_submission`` with the key and the address
    it came from; an audit entry names the client in the case history. All in one savepoint.
    """
    now = now or utcnow()
    fields = {k: v.strip() for k, v in form.items() if v is not None and v.strip()}
    unreadable = sorted(k for k, v in fields.items() if not _nul_free(v) or not _nul_free(k))
    if unreadable:
        names = ", ".join(repr(k.replace("\x00", "")) for k in unreadable)
        raise Open311Error(400, (f"参数 {names} 含有不允许的空字符（NUL）", f"{names} contains a NUL character"))
    check_rate_limits(session=session, key=None, client_address=client_address, now=now)
    if "api_key" not in fields:
        raise Open311Error(403, ("缺少 api_key，无法提交", "api_key is missing -- can't proceed with create_request"))
    key = api_key_valid(session=session, raw=fields["api_key"])
    if key is None:
        raise Open311Error(403, ("api_key 无效或已停用，无法提交",
                                 "Invalid api_key received -- can't proceed with create_request"))
    # When the key was last used (`civicgrid apikey list`; use, not a change: not audited). Writing
    # it first also locks the key's row (PostgreSQL) until this request commits, so concurrent
    # requests with one key are counted one after the other.
    key.last_used_at = now
    session.flush()
    check_rate_limits(session=session, key=key, client_address=client_address, now=now)
    category = _service_category(session, fields.get("service_code"), filing=True)
    data = _case_create(fields, category)
    extras = {p: fields.get(p) for p in ("media_url", "email", "device_id", "account_id")}
    try:
        # A savepoint: a refusal leaves nothing behind in the request's unit of work.
        with session.begin_nested():
            case, _ = intake_case(session=session, actor=None, origin=origin, data=data)
            submission = Open311Submission(
                case_id=case.id, api_key_id=key.id, client_address=client_address[:64],
                first_name=fields.get("first_name"), last_name=fields.get("last_name"), phone=fields.get("phone"),
                at=now, **extras,
            )
            session.add(submission)
            session.flush()
            record(
                session=session,
                actor=ApiClient(f"Open311 {key.name} ({key.prefix}…)"),
                origin=origin,
                entity="case",
                entity_id=case.id,
                action=SUBMISSION_ACTION,
                after={"api_key_id": key.id, "api_key": key.prefix, "submission_id": submission.id, **extras},
            )
    except DomainError as exc:
        raise Open311Error.from_domain(exc) from None
    return [{
        "service_request_id": public_id(case),
        "token": case.external_token,
        "service_notice": service_notice(category, lang),
        "account_id": None,
    }]


# ---------------------------------------------------------------------------------------
# GET requests
# ---------------------------------------------------------------------------------------


def public_id(case: Case) -> str:
    """The service_request_id of a case: its case number."""
    return case.number or str(case.id)


def _request_query():
    """Published cases with the id of their final master (merges followed MERGE_HOPS deep) and the
    state that decides their Open311 status."""
    hops = [aliased(Case, name=f"master{i}") for i in range(1, MERGE_HOPS + 1)]
    merged = CaseState.MERGED
    state_whens = [(Case.state != merged, Case.state)]
    master_whens = [(Case.state != merged, None)]
    for hop in hops[:-1]:
        state_whens.append((hop.state != merged, hop.state))
        master_whens.append((hop.state != merged, hop.id))
    effective_state = func.coalesce(sql_case(*state_whens, else_=hops[-1].state), Case.state)
    final_master = sql_case(*master_whens, else_=hops[-1].id)
    stmt = select(Case, final_master.label("master_id")).options(lazyload(Case.unit), lazyload(Case.grid))
    previous = Case
    for hop in hops:
        stmt = stmt.outerjoin(hop, hop.id == previous.merged_into_id)
        previous = hop
    stmt = stmt.where(Case.channel.not_in(list(UNPUBLISHED_CHANNELS)))
    return stmt, effective_state


def _parse_ids(values: Sequence[str]) -> tuple[list[str], list[int]]:
    numbers = [v for v in values if v.isascii() and v.isdigit()]
    ids = [int(v) for v in numbers if len(v) <= 18 and 1 <= int(v) <= 2**62]
    return numbers, ids


def _window(start_date: str | None, end_date: str | None, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    tz = get_settings().timezone
    bad = []
    start = end = None
    for param, value, is_end in (("start_date", start_date, False), ("end_date", end_date, True)):
        if not value:
            continue
        try:
            parsed = parse_w3c(value, tz, end=is_end)
        except ValueError:
            bad.append((f"{param} 应为 W3C 日期时间，例如 2026-11-01T00:00:00+08:00",
                        f"{param} must be a W3C datetime, e.g. 2026-11-01T00:00:00Z"))
            continue
        if is_end:
            end = parsed
        else:
            start = parsed
    if bad:
        raise Open311Error(400, *bad)
    try:
        if start is None and end is None:
            start, end = now - DEFAULT_WINDOW, now
        elif end is None:
            end = start + DEFAULT_WINDOW
        elif start is None:
            start = end - DEFAULT_WINDOW
    except OverflowError:
        raise Open311Error(400, ("日期超出范围", "The date is out of range")) from None
    if start > end:
        raise Open311Error(400, ("start_date 不能晚于 end_date", "start_date must not be after end_date"))
    if end - start > DEFAULT_WINDOW:
        raise Open311Error(400, ("查询时间跨度不能超过 90 天", "start_date and end_date may not span more than 90 days"))
    return start, end


def list_requests(
    *,
    session: Session,
    lang: str,
    service_request_ids: Sequence[str] = (),
    service_codes: Sequence[str] = (),
    statuses: Sequence[str] = (),
    start_date: str | None = None,
    end_date: str | None = None,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """GET requests: newest first, at most 1,000, within 90 days (by default the last 90).

    ``service_request_ids`` (case numbers or internal ids) override every other filter.
    """
    stmt, effective_state = _request_query()
    if service_request_ids:
        numbers, ids = _parse_ids(service_request_ids[:MAX_RESULTS])
        stmt = stmt.where(or_(Case.number.in_(numbers), Case.id.in_(ids)))
    else:
        wanted = {s.lower() for s in statuses}
        unknown = sorted(wanted - {"open", "closed"})
        if unknown:
            raise Open311Error(400, (f"status 只能是 open 或 closed（收到 {', '.join(unknown)}）",
                                     f"status must be open or closed (got {', '.join(unknown)})"))
        start, end = _window(start_date, end_date, now or utcnow())
        stmt = stmt.where(Case.received_at >= start, Case.received_at <= end)
        if not all(_nul_free(code) for code in service_codes):
            raise Open311Error(400, ("service_code 含有不允许的空字符（NUL）", "service_code contains a NUL character"))
        if service_codes:
            stmt = stmt.join(Category, Category.id == Case.category_id).where(Category.code.in_(list(service_codes)))
        if wanted == {"closed"}:
            stmt = stmt.where(effective_state.in_(list(CLOSED_STATES)))
        elif wanted == {"open"}:
            stmt = stmt.where(effective_state.not_in(list(CLOSED_STATES)))
    stmt = stmt.order_by(Case.received_at.desc(), Case.id.desc()).limit(MAX_RESULTS)
    rows = session.execute(stmt).unique().all()
    return _views(session, [(row[0], row[1]) for row in rows], lang)


def get_request(*, session: Session, lang: str, service_request_id: str) -> list[dict[str, Any]]:
    """GET one request by case number or internal id; 404 if it is unknown or not published."""
    stmt, _ = _request_query()
    numbers, ids = _parse_ids([service_request_id])
    rows = session.execute(stmt.where(or_(Case.number.in_(numbers), Case.id.in_(ids)))).unique().all()
    # A case number wins over an internal id that happens to have the same digits.
    rows.sort(key=lambda row: row[0].number != service_request_id)
    if not rows:
        raise Open311Error(404, (f"服务请求 {service_request_id} 不存在",
                                 f"service_request_id {service_request_id} was not found"))
    return _views(session, [(rows[0][0], rows[0][1])], lang)


def request_from_token(*, session: Session, token: str) -> list[dict[str, Any]]:
    """GET service_request_id from a token (the one POST returned)."""
    case = session.scalar(select(Case).options(lazyload(Case.unit), lazyload(Case.grid))
                          .where(Case.external_token == token, Case.channel == Channel.OPEN311)) \
        if _nul_free(token) else None
    if case is None:
        raise Open311Error(404, (f"令牌 {token} 不存在", f"token {token} was not found"))
    return [{"service_request_id": public_id(case), "token": case.external_token}]


# ---------------------------------------------------------------------------------------
# Building the public view of a case
# ---------------------------------------------------------------------------------------


def scrub(text: str | None, case: Case) -> str | None:
    """Free text with contact details masked: phone numbers, ID card numbers, e-mail, the reporter's name."""
    if not text:
        return text
    text = _ID_CARD.sub(lambda m: m[0][:6] + "*" * 8 + m[0][-4:], text)
    text = _MOBILE.sub(lambda m: mask_phone(m[0]), text)
    text = _LANDLINE.sub(lambda m: mask_phone(m[0]), text)
    text = _EMAIL_IN_TEXT.sub(lambda m: "***@" + m[1], text)
    if case.reporter_phone and len(case.reporter_phone) >= 5:
        text = text.replace(case.reporter_phone, mask_phone(case.reporter_phone))
    name = case.reporter_name
    if name and len(name) >= 2:
        text = text.replace(name, name[0] + "*" * (len(name) - 1))
    return text


@dataclass
class _Context:
    """What the views of one page of cases share, each loaded with one query."""

    masters: dict[int, Case]
    units: dict[int, Unit]
    regions: dict[int, Region]
    region_names: dict[str, Region]
    media: dict[int, str]
    lang: str
    tz: str


def _context(session: Session, rows: Sequence[tuple[Case, int | None]], lang: str) -> _Context:
    master_ids = {m for _, m in rows if m is not None}
    masters = {c.id: c for c in session.scalars(
        select(Case).options(lazyload(Case.unit), lazyload(Case.grid)).where(Case.id.in_(master_ids)))
    } if master_ids else {}
    effective = [masters.get(m, c) if m is not None else c for c, m in rows]
    unit_ids = {c.unit_id or c.suggested_unit_id for c in effective} - {None}
    units = {u.id: u for u in session.scalars(select(Unit).where(Unit.id.in_(unit_ids)))} if unit_ids else {}
    columns = (Region.id, Region.code, Region.name_zh, Region.name_en, Region.path, Region.level)
    region_ids = {c.region_id for c, _ in rows}
    regions = {r.id: r for r in session.execute(select(*columns).where(Region.id.in_(region_ids)))} \
        if region_ids else {}
    codes = {code for c, _ in rows if not c.address and c.region_id in regions
             for code in regions[c.region_id].path.strip("/").split("/")}
    region_names = {r.code: r for r in session.execute(select(*columns).where(Region.code.in_(codes)))} \
        if codes else {}
    case_ids = [c.id for c, _ in rows]
    media = {}
    if case_ids:
        media = dict(session.execute(
            select(Open311Submission.case_id, Open311Submission.media_url).where(
                Open311Submission.case_id.in_(case_ids), Open311Submission.media_url.is_not(None))
        ).all())
    return _Context(masters, units, regions, region_names, media, lang, get_settings().timezone)


def _address(case: Case, ctx: _Context) -> str | None:
    """The reporter's address, or else the names of the regions the case lies in."""
    if case.address:
        return case.address
    region = ctx.regions.get(case.region_id)
    if region is None:
        return None
    chain = [ctx.region_names[c] for c in region.path.strip("/").split("/") if c in ctx.region_names]
    if ctx.lang == "zh":
        return "".join(r.name_zh for r in chain)
    # Most specific first, as the spec asks of addresses.
    return ", ".join(r.name_en or r.name_zh for r in reversed(chain))


def _status_notes(case: Case, master: Case | None, restricted: bool, ctx: _Context) -> str:
    effective = master or case
    zh, en = STATE_LABELS[effective.state]
    notes = _t(ctx.lang, zh, en)
    if effective.state in CLOSED_STATES and effective.resolution_note and not restricted:
        notes = scrub(effective.resolution_note, effective)
    if master is not None:
        number = public_id(master)
        return _t(ctx.lang, f"已合并到服务请求 {number}（{notes}）", f"Merged into service request {number} ({notes})")
    return notes


def _view(case: Case, master: Case | None, ctx: _Context) -> dict[str, Any]:
    effective = master or case
    closed = effective.state in CLOSED_STATES
    restricted = is_restricted(case.category)
    unit = ctx.units.get(effective.unit_id or effective.suggested_unit_id)
    if closed:
        updated = effective.closed_at or effective.updated_at
    else:
        updated = max(case.updated_at, effective.updated_at)
    region = ctx.regions.get(case.region_id)
    return {
        "service_request_id": public_id(case),
        "status": "closed" if closed else "open",
        "status_notes": _status_notes(case, master, restricted, ctx),
        "service_name": _name(case.category, ctx.lang),
        "service_code": case.category.code,
        "description": None if restricted else scrub(case.description, case),
        "agency_responsible": _name(unit, ctx.lang) if unit is not None else None,
        "service_notice": service_notice(case.category, ctx.lang),
        "requested_datetime": w3c(case.received_at, ctx.tz),
        "updated_datetime": w3c(updated, ctx.tz),
        "expected_datetime": w3c(effective.finish_due_at, ctx.tz),
        "address": None if restricted else _address(case, ctx),
        "address_id": None if restricted or region is None else region.code,
        "zipcode": None,
        "lat": None if restricted else case.lat,
        "long": None if restricted else case.lon,
        "media_url": None if restricted else ctx.media.get(case.id),
    }


def _views(session: Session, rows: Sequence[tuple[Case, int | None]], lang: str) -> list[dict[str, Any]]:
    ctx = _context(session, rows, lang)
    return [_view(case, ctx.masters.get(master_id) if master_id is not None else None, ctx)
            for case, master_id in rows]

