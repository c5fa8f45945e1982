"""Administration pages (admin role only): categories, routing rules, units, users, grids.

Each page lists what exists and carries a form to add more; every change goes through the
same audited service function as the API, and a refusal re-shows the form with its reason.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.auth.models import ROLE_LABELS, Role, User
from civicgrid.auth.schemas import UserCreate
from civicgrid.auth.service import create_user
from civicgrid.errors import DomainError, InvalidInput, not_found
from civicgrid.events import config
from civicgrid.events.deadlines import DEFAULT_DEADLINES, UNITS as DEADLINE_UNITS, category_specs
from civicgrid.events.models import REQUEST_TYPE_LABELS, Category, RequestType
from civicgrid.events.schemas import CategoryWrite, RoutingRuleWrite
from civicgrid.regions import service as regions
from civicgrid.regions.models import LEVEL_LABELS, Region, RegionLevel, subtree_range
from civicgrid.regions.pages import open_cases_per_grid
from civicgrid.units import service as units
from civicgrid.units.models import UNIT_KINDS
from civicgrid.web.deps import OriginDep, SessionDep
from civicgrid.web.i18n import request_lang
from civicgrid.web.pagekit import (
    AdminPageUser,
    FormValues,
    PageRoute,
    attempt,
    invalid_form,
    page,
    parse_int,
    redirect,
    refusal_context,
)

router = APIRouter(prefix="/admin", route_class=PageRoute, include_in_schema=False)

MAX_GEOJSON_BYTES = 20 * 1024 * 1024
GRIDS_PER_PAGE = 100
# Areas an admin may hang rules, units and user scopes on (grids are too fine for these pickers).
AREA_LEVELS = [RegionLevel.CITY, RegionLevel.DISTRICT, RegionLevel.STREET, RegionLevel.COMMUNITY]


def _areas(session: Session, admin: User, levels: list[RegionLevel] | None = None) -> list[Region]:
    return regions.subtree(session=session, path=admin.scope_path, levels=levels or AREA_LEVELS)


def _validate(model: type[BaseModel], data: dict[str, Any], labels: dict[str, tuple[str, str]]
              ) -> tuple[Any, DomainError | None]:
    """The form data as ``model``, or the field errors as one InvalidInput."""
    try:
        return model(**data), None
    except ValidationError as exc:
        return None, invalid_form(exc, labels)


def _blank_to_none(values: dict[str, str]) -> dict[str, Any]:
    return {k: (v.strip() if isinstance(v, str) else v) or None for k, v in values.items()}


def _done(request: Request) -> str:
    return request.query_params.get("done", "")


# --------------------------------------------------------------------------------------
# Overview
# --------------------------------------------------------------------------------------


@router.get("")
def admin_home(request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """The administration overview: what each page manages and how many there are."""
    low, high = subtree_range(admin.scope_path)
    counts = {
        "categories": session.scalar(select(func.count(Category.id))) or 0,
        "rules": len(config.list_rules(session=session)),
        "units": len(units.list_units(session=session, active_only=False)),
        "users": session.scalar(select(func.count(User.id)).where(User.scope_path >= low, User.scope_path < high))
        or 0,
        "grids": session.scalar(select(func.count(Region.id)).where(
            Region.level == RegionLevel.GRID, Region.path >= low, Region.path < high)) or 0,
    }
    return page(request, "admin/index.html", {"counts": counts}, user=admin, session=session, active="admin")


# --------------------------------------------------------------------------------------
# Categories
# --------------------------------------------------------------------------------------

CATEGORY_LABELS = {
    "code": ("代码", "Code"),
    "name_zh": ("中文名称", "Chinese name"),
    "name_en": ("英文名称", "English name"),
    "parent_id": ("上级类别", "Parent"),
    "request_type": ("诉求类型", "Request type"),
    "accept_amount": ("受理时限", "Acceptance deadline"),
    "accept_unit": ("受理时限单位", "Acceptance unit"),
    "finish_amount": ("办结时限", "Completion deadline"),
    "finish_unit": ("办结时限单位", "Completion unit"),
    "default_unit_id": ("默认承办单位", "Default unit"),
}


def _category_values(category: Category | None) -> dict[str, Any]:
    if category is None:
        return {"request_type": RequestType.HELP.value, "active": True, "auto_escalate": False, "public": False}
    return {
        "code": category.code, "name_zh": category.name_zh, "name_en": category.name_en,
        "parent_id": category.parent_id or "", "request_type": category.request_type.value,
        "accept_amount": _amount(category.accept_amount), "accept_unit": category.accept_unit or "",
        "finish_amount": _amount(category.finish_amount), "finish_unit": category.finish_unit,
        "default_unit_id": category.default_unit_id or "", "auto_escalate": category.auto_escalate,
        "active": category.active, "public": category.public,
    }


def _amount(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def _categories_page(request: Request, session: Session, admin: User, *, values: dict[str, Any] | None = None,
                     editing: Category | None = None, error: DomainError | None = None,
                     status_code: int = 200) -> Response:
    categories = config.list_categories(session=session)
    by_id = {c.id: c for c in categories}
    rows = [(c, by_id.get(c.parent_id) if c.parent_id else None, category_specs(c)) for c in categories]
    lang = request_lang(request)
    ctx = {
        "rows": rows, "parents": [c for c in categories if c.parent_id is None and (editing is None or c.id != editing.id)],
        "unit_choices": units.list_units(session=session),
        "units_by_id": {u.id: u for u in units.list_units(session=session, active_only=False)},
        "request_type_labels": REQUEST_TYPE_LABELS,
        "request_types": [(r.value, REQUEST_TYPE_LABELS[r]) for r in RequestType],
        "deadline_units": list(DEADLINE_UNITS.items()),
        "defaults": [(REQUEST_TYPE_LABELS[r], a, f) for r, (a, f) in DEFAULT_DEADLINES.items()],
        "values": FormValues(values if values is not None else _category_values(editing)),
        "editing": editing, "done": _done(request), **refusal_context(error, lang),
    }
    name = "admin/category_form.html" if editing is not None else "admin/categories.html"
    return page(request, name, ctx, user=admin, session=session, active="admin", status_code=status_code)


def _category_form(form: dict[str, str], auto_escalate: str, active: str, public: str) -> dict[str, Any]:
    data = _blank_to_none(form)
    data["auto_escalate"] = bool(auto_escalate)
    data["active"] = bool(active)
    data["public"] = bool(public)  # the form always says: an unticked box is "not public"
    data.setdefault("name_en", "")
    data["name_en"] = data["name_en"] or ""
    return data


CategoryField = Annotated[str, Form(max_length=200)]


@router.get("/categories")
def categories_page(request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """Every category with its request type and deadlines, and a form to add one."""
    return _categories_page(request, session, admin)


@router.post("/categories")
def create_category(request: Request, session: SessionDep, admin: AdminPageUser, origin: OriginDep,
                    code: CategoryField = "", name_zh: CategoryField = "", name_en: CategoryField = "",
                    parent_id: CategoryField = "", request_type: CategoryField = "", accept_amount: CategoryField = "",
                    accept_unit: CategoryField = "", finish_amount: CategoryField = "",
                    finish_unit: CategoryField = "", default_unit_id: CategoryField = "",
                    auto_escalate: CategoryField = "", active: CategoryField = "",
                    public: CategoryField = "") -> Response:
    """Add a category (deadlines left empty default from its request type)."""
    raw = {"code": code, "name_zh": name_zh, "name_en": name_en, "parent_id": parent_id,
           "request_type": request_type, "accept_amount": accept_amount, "accept_unit": accept_unit,
           "finish_amount": finish_amount, "finish_unit": finish_unit, "default_unit_id": default_unit_id}
    data, error = _validate(CategoryWrite, _category_form(raw, auto_escalate, active, public), CATEGORY_LABELS)
    if error is None:
        _, error = attempt(session, lambda: config.create_category(session=session, actor=admin, origin=origin,
                                                                   data=data))
    if error is not None:
        values = {**raw, "auto_escalate": bool(auto_escalate), "active": bool(active), "public": bool(public)}
        return _categories_page(request, session, admin, values=values, error=error, status_code=error.status)
    return redirect("/admin/categories?done=created")


@router.get("/categories/{category_id}")
def edit_category_page(request: Request, category_id: int, session: SessionDep, admin: AdminPageUser) -> Response:
    """The edit form of one category."""
    category = _category_or_404(session, category_id)
    return _categories_page(request, session, admin, editing=category)


def _category_or_404(session: Session, category_id: int) -> Category:
    category = session.get(Category, category_id) if 1 <= category_id <= 2**62 else None
    if category is None:
        raise not_found("类别", "Category", category_id)
    return category


@router.post("/categories/{category_id}")
def update_category(request: Request, category_id: int, session: SessionDep, admin: AdminPageUser,
                    origin: OriginDep, code: CategoryField = "", name_zh: CategoryField = "",
                    name_en: CategoryField = "", parent_id: CategoryField = "", request_type: CategoryField = "",
                    accept_amount: CategoryField = "", accept_unit: CategoryField = "",
                    finish_amount: CategoryField = "", finish_unit: CategoryField = "",
                    default_unit_id: CategoryField = "", auto_escalate: CategoryField = "",
                    active: CategoryField = "", public: CategoryField = "") -> Response:
    """Change a category; open cases keep the deadlines they were given."""
    category = _category_or_404(session, category_id)
    raw = {"code": code, "name_zh": name_zh, "name_en": name_en, "parent_id": parent_id,
           "request_type": request_type, "accept_amount": accept_amount, "accept_unit": accept_unit,
           "finish_amount": finish_amount, "finish_unit": finish_unit, "default_unit_id": default_unit_id}
    data, error = _validate(CategoryWrite, _category_form(raw, auto_escalate, active, public), CATEGORY_LABELS)
    if error is None:
        _, error = attempt(session, lambda: config.update_category(
            session=session, actor=admin, origin=origin, category_id=category.id, data=data))
    if error is not None:
        values = {**raw, "auto_escalate": bool(auto_escalate), "active": bool(active), "public": bool(public)}
        return _categories_page(request, session, admin, values=values, editing=category, error=error,
                                status_code=error.status)
    return redirect("/admin/categories?done=updated")


# --------------------------------------------------------------------------------------
# Routing rules
# --------------------------------------------------------------------------------------

RULE_LABELS = {
    "category_id": ("事件类别", "Category"),
    "region_id": ("区域", "Area"),
    "unit_id": ("承办单位", "Unit"),
    "note": ("说明", "Note"),
}


def _rules_page(request: Request, session: Session, admin: User, *, values: dict[str, Any] | None = None,
                error: DomainError | None = None, status_code: int = 200) -> Response:
    lang = request_lang(request)
    ctx = {
        "rules": config.list_rules(session=session),
        "categories": config.list_categories(session=session, active_only=True),
        "areas": _areas(session, admin), "unit_choices": units.list_units(session=session),
        "values": FormValues(values or {}), "done": _done(request), **refusal_context(error, lang),
    }
    return page(request, "admin/rules.html", ctx, user=admin, session=session, active="admin",
                status_code=status_code)


@router.get("/rules")
def rules_page(request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """Routing rules (category × area → unit), with a form to add one."""
    return _rules_page(request, session, admin)


@router.post("/rules")
def create_rule(request: Request, session: SessionDep, admin: AdminPageUser, origin: OriginDep,
                category_id: Annotated[str, Form(max_length=20)] = "",
                region_id: Annotated[str, Form(max_length=20)] = "",
                unit_id: Annotated[str, Form(max_length=20)] = "",
                note: Annotated[str, Form(max_length=400)] = "") -> Response:
    """Add a routing rule inside the admin's area."""
    raw = {"category_id": category_id, "region_id": region_id, "unit_id": unit_id, "note": note}
    data_in = _blank_to_none(raw)
    data_in["note"] = data_in["note"] or ""
    data, error = _validate(RoutingRuleWrite, data_in, RULE_LABELS)
    if error is None:
        _, error = attempt(session, lambda: config.create_rule(session=session, actor=admin, origin=origin, data=data))
    if error is not None:
        return _rules_page(request, session, admin, values=raw, error=error, status_code=error.status)
    return redirect("/admin/rules?done=created")


@router.post("/rules/{rule_id}/deactivate")
def deactivate_rule(request: Request, rule_id: int, session: SessionDep, admin: AdminPageUser,
                    origin: OriginDep) -> Response:
    """Switch a routing rule off (kept for the history of the cases it routed)."""
    _, error = attempt(session, lambda: config.deactivate_rule(session=session, actor=admin, origin=origin,
                                                               rule_id=rule_id))
    if error is not None:
        return _rules_page(request, session, admin, error=error, status_code=error.status)
    return redirect("/admin/rules?done=deactivated")


# --------------------------------------------------------------------------------------
# Units
# --------------------------------------------------------------------------------------


def _units_page(request: Request, session: Session, admin: User, *, values: dict[str, Any] | None = None,
                error: DomainError | None = None, status_code: int = 200) -> Response:
    lang = request_lang(request)
    ctx = {
        "rows": units.list_units(session=session, active_only=False), "kinds": list(UNIT_KINDS.items()),
        "kind_labels": UNIT_KINDS, "areas": _areas(session, admin),
        "values": FormValues(values or {"kind": "department"}), "done": _done(request),
        **refusal_context(error, lang),
    }
    return page(request, "admin/units.html", ctx, user=admin, session=session, active="admin",
                status_code=status_code)


@router.get("/units")
def units_page(request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """Units (departments, centres, communities…), with a form to add one."""
    return _units_page(request, session, admin)


@router.post("/units")
def create_unit(request: Request, session: SessionDep, admin: AdminPageUser, origin: OriginDep,
                code: Annotated[str, Form(max_length=80)] = "",
                name_zh: Annotated[str, Form(max_length=200)] = "",
                name_en: Annotated[str, Form(max_length=300)] = "",
                kind: Annotated[str, Form(max_length=40)] = "department",
                region_id: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Add a unit at an area of the admin's tree."""
    raw = {"code": code.strip(), "name_zh": name_zh.strip(), "name_en": name_en.strip(), "kind": kind,
           "region_id": region_id}
    error: DomainError | None = None
    area = parse_int(region_id)
    if not raw["code"] or not raw["name_zh"] or area is None:
        error = InvalidInput("请填写单位代码、名称并选择所在区域", "Give the unit's code and name and choose its area")
    else:
        _, error = attempt(session, lambda: units.create_unit(
            session=session, actor=admin, origin=origin, code=raw["code"], name_zh=raw["name_zh"],
            name_en=raw["name_en"], kind=kind, region_id=area))
    if error is not None:
        return _units_page(request, session, admin, values=raw, error=error, status_code=error.status)
    return redirect("/admin/units?done=created")


# --------------------------------------------------------------------------------------
# Users
# --------------------------------------------------------------------------------------

USER_LABELS = {
    "username": ("用户名", "User name"),
    "display_name": ("姓名", "Name"),
    "password": ("初始密码", "Initial password"),
    "role": ("角色", "Role"),
    "scope_region_id": ("管辖区域", "Area"),
    "unit_id": ("所属单位", "Unit"),
    "phone": ("电话", "Phone"),
}


def _users_page(request: Request, session: Session, admin: User, *, values: dict[str, Any] | None = None,
                error: DomainError | None = None, status_code: int = 200) -> Response:
    low, high = subtree_range(admin.scope_path)
    rows = session.scalars(select(User).where(User.scope_path >= low, User.scope_path < high)
                           .order_by(User.role, User.username))
    lang = request_lang(request)
    ctx = {
        "rows": list(rows), "roles": [(r.value, ROLE_LABELS[r]) for r in Role], "role_labels": ROLE_LABELS,
        "areas": _areas(session, admin, AREA_LEVELS + [RegionLevel.GRID]),
        "unit_choices": units.list_units(session=session),
        "values": FormValues(values or {"role": Role.OPERATOR.value}),
        "done": _done(request), **refusal_context(error, lang),
    }
    return page(request, "admin/users.html", ctx, user=admin, session=session, active="admin",
                status_code=status_code)


@router.get("/users")
def users_page(request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """The users of the admin's area, with a form to add one."""
    return _users_page(request, session, admin)


@router.post("/users")
def create_user_page(request: Request, session: SessionDep, admin: AdminPageUser, origin: OriginDep,
                     username: Annotated[str, Form(max_length=100)] = "",
                     display_name: Annotated[str, Form(max_length=200)] = "",
                     password: Annotated[str, Form(max_length=300)] = "",
                     role: Annotated[str, Form(max_length=20)] = "",
                     scope_region_id: Annotated[str, Form(max_length=20)] = "",
                     unit_id: Annotated[str, Form(max_length=20)] = "",
                     phone: Annotated[str, Form(max_length=60)] = "") -> Response:
    """Create a user scoped to an area (handlers also to a unit)."""
    raw = {"username": username, "display_name": display_name, "role": role, "scope_region_id": scope_region_id,
           "unit_id": unit_id, "phone": phone}
    data, error = _validate(UserCreate, {**_blank_to_none(raw), "password": password}, USER_LABELS)
    if error is None:
        _, error = attempt(session, lambda: create_user(session=session, actor=admin, origin=origin,
                                                        **data.model_dump()))
    if error is not None:
        return _users_page(request, session, admin, values=raw, error=error, status_code=error.status)
    return redirect("/admin/users?done=created")


# --------------------------------------------------------------------------------------
# Grids
# --------------------------------------------------------------------------------------


def _grids_page(request: Request, session: Session, admin: User, *, report: Any = None,
                error: DomainError | None = None, status_code: int = 200) -> Response:
    grids = regions.subtree(session=session, path=admin.scope_path, levels=[RegionLevel.GRID, RegionLevel.MICRO_GRID])
    counts = open_cases_per_grid(session=session, actor=admin)
    page_no = parse_int(request.query_params.get("page")) or 1
    start = (page_no - 1) * GRIDS_PER_PAGE
    parents = {r.id: r for r in _areas(session, admin, [RegionLevel.COMMUNITY, RegionLevel.GRID])}
    shown = [(g, parents.get(g.parent_id), counts.get(g.id, 0)) for g in grids[start:start + GRIDS_PER_PAGE]]
    lang = request_lang(request)
    ctx = {
        "rows": shown, "total": len(grids), "page_no": page_no, "level_labels": LEVEL_LABELS,
        "has_more": start + GRIDS_PER_PAGE < len(grids), "report": report, **refusal_context(error, lang),
    }
    return page(request, "admin/grids.html", ctx, user=admin, session=session, active="admin",
                status_code=status_code)


@router.get("/grids")
def grids_page(request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """The grids of the admin's area with their open-case counts, and the GeoJSON import form."""
    return _grids_page(request, session, admin)


@router.post("/grids/import")
def import_grids(request: Request, session: SessionDep, admin: AdminPageUser, origin: OriginDep,
                 file: UploadFile | None = None,
                 dry_run: Annotated[str, Form(max_length=10)] = "") -> Response:
    """Validate (and unless a dry run, apply) a GeoJSON FeatureCollection of regions; show the report."""
    content = file.file.read(MAX_GEOJSON_BYTES + 1) if file is not None else b""
    error: DomainError | None = None
    report = None
    if not content:
        error = InvalidInput("请选择要导入的 GeoJSON 文件", "Choose a GeoJSON file to import")
    elif len(content) > MAX_GEOJSON_BYTES:
        error = InvalidInput("文件超过 20 MB，请分批导入", "The file is larger than 20 MB; import it in parts")
    else:
        try:
            collection = json.loads(content.decode("utf-8-sig"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            error = InvalidInput(f"文件不是有效的 UTF-8 JSON：{exc}", f"The file is not valid UTF-8 JSON: {exc}")
        else:
            report, error = attempt(session, lambda: regions.import_geojson(
                session=session, actor=admin, origin=origin, feature_collection=collection,
                dry_run=bool(dry_run)))
    if error is not None:
        return _grids_page(request, session, admin, error=error, status_code=error.status)
    return _grids_page(request, session, admin, report=report)
