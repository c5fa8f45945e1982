"""Users, sign-in with throttling, bearer tokens, page sessions and Open311 API keys."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import re
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import LANGUAGES, ApiKey, LoginAttempt, Role, User
from civicgrid.auth.passwords import hash_password, needs_rehash, verify_password
from civicgrid.db import utcnow
from civicgrid.errors import Conflict, InvalidInput, NotAuthenticated, TooManyRequests, not_found
from civicgrid.regions.models import Region
from civicgrid.settings import get_settings
from civicgrid.units.models import Unit

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD = 8


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return _serializer_for(get_settings().secret_key, salt)


@functools.lru_cache(maxsize=16)
def _serializer_for(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    # Built once per key: every request reads a token, and building one costs more than checking it.
    return URLSafeTimedSerializer(secret_key, salt=salt)


def create_user(
    *,
    session: Session,
    actor: User | None,
    origin: Origin,
    username: str,
    display_name: str,
    password: str,
    role: Role,
    scope_region_id: int,
    unit_id: int | None = None,
    phone: str | None = None,
) -> User:
    """Create a user scoped to a region (handlers also to a unit); audited, password hashed."""
    if not USERNAME_RE.match(username):
        raise InvalidInput(
            "用户名只能包含字母、数字、下划线、点和连字符，长度 2–64",
            "User name may contain letters, digits, '_', '.', '-' only, 2–64 characters",
        )
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(f"密码至少 {MIN_PASSWORD} 位", f"Password must have at least {MIN_PASSWORD} characters")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"用户名 {username} 已存在", f"User name {username} is already taken")
    region = session.get(Region, scope_region_id)
    if region is None:
        raise not_found("区域", "Region", scope_region_id)
    if actor is not None and not region.path.startswith(actor.scope_path):
        raise not_found("区域", "Region", scope_region_id)
    if role == Role.HANDLER and unit_id is None:
        raise InvalidInput("承办人必须属于一个单位", "A department handler must belong to a unit")
    if unit_id is not None and session.get(Unit, unit_id) is None:
        raise not_found("单位", "Unit", unit_id)
    user = User(
        username=username,
        display_name=display_name,
        password_hash=hash_password(password),
        role=role,
        scope_region_id=region.id,
        scope_path=region.path,
        unit_id=unit_id,
        phone=phone,
    )
    session.add(user)
    session.flush()
    record(
        session=session,
        actor=actor,
        origin=origin,
        entity="user",
        entity_id=user.id,
        action="create",
        after={"username": username, "role": role.value, "scope": region.code, "unit_id": unit_id},
    )
    return user


def authenticate(*, session: Session, username: str, password: str, address: str,
                 origin: Origin = Origin("auth")) -> User | None:
    """The user if the password matches; records failures and refuses throttled sign-ins.

    Returns None on a wrong password (the caller commits, so the failure is remembered)
    and raises TooManyRequests when the user name has failed too often recently. Every
    attempt, good or bad, goes to the audit trail (who tried which account from where).
    """
    settings = get_settings()
    window_start = utcnow() - dt.timedelta(minutes=settings.login_lockout_minutes)
    failures = session.scalar(
        select(func.count(LoginAttempt.id)).where(LoginAttempt.username == username, LoginAttempt.at >= window_start)
    )
    if failures >= settings.login_max_failures:
        raise TooManyRequests(
            f"登录失败次数过多，请 {settings.login_lockout_minutes} 分钟后再试",
            f"Too many failed sign-ins; try again in {settings.login_lockout_minutes} minutes",
        )
    user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
    if not verify_password(user.password_hash if user else None, password):
        session.add(LoginAttempt(username=username, address=address[:64]))
        record(session=session, actor=None, origin=origin, entity="user",
               entity_id=user.id if user else username, action="sign_in_failed",
               after={"username": username, "address": address[:64]})
        return None
    assert user is not None
    rehashed = needs_rehash(user.password_hash)
    if rehashed:
        user.password_hash = hash_password(password)
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
    record(session=session, actor=user, origin=origin, entity="user", entity_id=user.id, action="sign_in",
           after={"address": address[:64], "rehashed": rehashed})
    return user


def issue_token(user: User) -> str:
    """A signed bearer token for the API; revoked by bumping the user's token_version."""
    return _serializer("api-token").dumps({"uid": user.id, "v": user.token_version})


@dataclass(frozen=True)
class TokenClaim:
    """Who a signed bearer token or session cookie says its holder is.

    The signature proves we issued it; whether the account is still active and the token not
    revoked is a read of the user row (``claimed_user``), which grouped intake does for a whole
    group at once, in the transaction that takes the reports in.
    """

    user_id: int
    version: int


def _invalid_credentials() -> NotAuthenticated:
    return NotAuthenticated("凭据无效，请重新登录", "Invalid credentials; please sign in again")


def read_token(token: str) -> TokenClaim:
    """The claim a token carries if we signed it and it has not expired, else NotAuthenticated."""
    try:
        data = _serializer("api-token").loads(token, max_age=get_settings().token_ttl_hours * 3600)
    except SignatureExpired:
        raise NotAuthenticated("登录已过期，请重新登录", "Your sign-in has expired; please sign in again") from None
    except BadSignature:
        raise _invalid_credentials() from None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int) or not isinstance(data.get("v"), int):
        raise _invalid_credentials()
    return TokenClaim(data["uid"], data["v"])


def claimed_user(user: User | None, claim: TokenClaim) -> User:
    """``user`` (the row ``claim`` names) if it is active and the token not revoked, else NotAuthenticated."""
    if user is None or user.id != claim.user_id or not user.active or user.token_version != claim.version:
        raise _invalid_credentials()
    return user


def user_from_token(*, session: Session, token: str) -> User:
    """The active user a bearer token or session cookie names, or NotAuthenticated."""
    claim = read_token(token)
    return claimed_user(session.get(User, claim.user_id), claim)


def new_csrf_token() -> str:
    """A random token bound to a page session (double-submit in forms and the X-CSRF-Token header)."""
    return secrets.token_urlsafe(24)


def create_api_key(*, session: Session, actor: User | None, origin: Origin, name: str) -> tuple[ApiKey, str]:
    """A new Open311 API key; the raw key is returned once and only its hash is kept."""
    if not name.strip():
        raise InvalidInput("API 密钥需要名称", "An API key needs a name")
    raw = "cg_" + secrets.token_urlsafe(32)
    key = ApiKey(name=name.strip(), prefix=raw[:10], key_hash=hashlib.sha256(raw.encode()).hexdigest())
    session.add(key)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="api_key", entity_id=key.id, action="create",
           after={"name": key.name, "prefix": key.prefix})
    return key, raw


def api_key_valid(*, session: Session, raw: str | None) -> ApiKey | None:
    """The active key matching ``raw``, if any. Read on every request: a revoked key fails at once."""
    if not raw:
        return None
    digest = hashlib.sha256(raw.encode()).hexdigest()
    return session.scalar(select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.active.is_(True)))


def list_api_keys(*, session: Session) -> list[ApiKey]:
    """Every API key, active ones first, then by creation (the raw keys were never stored)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.active.desc(), ApiKey.id)))


def find_api_key(*, session: Session, ref: str) -> ApiKey:
    """The key ``ref`` names: ``#ID`` or ``ID``, or a name. A name shared by several keys names the one
    still active; if several are active the caller must use the id. NotFound / InvalidInput otherwise."""
    ref = ref.strip()
    digits = ref.removeprefix("#")
    by_id = None
    if digits.isascii() and digits.isdigit() and len(digits) <= 18:
        by_id = session.get(ApiKey, int(digits)) if 1 <= int(digits) <= 2**62 else None
        if ref.startswith("#"):
            if by_id is None:
                raise not_found("API 密钥", "API key", ref)
            return by_id
    named = list(session.scalars(select(ApiKey).where(ApiKey.name == ref).order_by(ApiKey.id)))
    active = [k for k in named if k.active]
    candidates = active or named
    if by_id is not None and candidates and candidates != [by_id]:
        raise InvalidInput(
            f"“{ref}”既是密钥编号又是密钥名称，请用 #{by_id.id} 指编号",
            f"“{ref}” is both a key id and a key name; write #{by_id.id} for the id",
        )
    if by_id is not None:
        return by_id
    if not candidates:
        raise not_found("API 密钥", "API key", ref)
    if len(candidates) > 1:
        ids = ", ".join(f"#{k.id}" for k in candidates)
        raise InvalidInput(f"有多个有效的 API 密钥名为“{ref}”（{ids}），请用编号指定",
                           f"Several active API keys are named “{ref}” ({ids}); name one by its id")
    return candidates[0]


def revoke_api_key(*, session: Session, actor: User | None, origin: Origin, ref: str) -> tuple[ApiKey, bool]:
    """Deactivate the key ``ref`` names (see find_api_key); Open311 refuses it from the next request.

    Returns (key, revoked_now); revoking a key that is already revoked changes nothing.
    """
    key = find_api_key(session=session, ref=ref)
    if not key.active:
        return key, False
    key.active = False
    key.revoked_at = utcnow()
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="api_key", entity_id=key.id, action="revoke",
           before={"active": True}, after={"active": False, "name": key.name, "prefix": key.prefix})
    return key, True


def set_user_lang(*, session: Session, user: User, origin: Origin, lang: str) -> bool:
    """Save the interface language ``user`` chose (zh or en); True if it changed. Audited."""
    if lang not in LANGUAGES:
        raise InvalidInput("语言只能是 zh 或 en", "The language must be zh or en", allowed=list(LANGUAGES))
    if user.lang == lang:
        return False
    before = user.lang
    user.lang = lang
    session.flush()
    record(session=session, actor=user, origin=origin, entity="user", entity_id=user.id, action="set_language",
           before={"lang": before}, after={"lang": lang})
    return True


def sees_path(user: User, path: str) -> bool:
    """Whether ``path`` lies in the user's region subtree."""
    return path.startswith(user.scope_path)
