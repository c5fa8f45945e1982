"""Administration pages of the people domain: care types with their visit schedules, and five-colour rules.

Admin only (``AdminPageUser``; the services check the ``configure`` permission again). Thin like every page:
the form becomes the API's schema, the service validates, changes and audits; a refusal re-shows the form
with its reason in the user's language.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from pydantic import ValidationError

from civicgrid.people import care, risk
from civicgrid.people.models import CARE_LEVELS, COLOUR_HEX, COLOUR_LABELS, Colour
from civicgrid.people.schemas import CareTypeUpdate, CareTypeWrite, RiskRuleCreate, RiskRuleUpdate
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

router = APIRouter(prefix="/admin/people", route_class=PageRoute, include_in_schema=False)

COLOURS = [c.value for c in Colour]
TYPE_LABELS = {
    "code": ("类型代码", "Code"), "name_zh": ("中文名称", "Chinese name"), "name_en": ("英文名称", "English name"),
    "parent_code": ("上级类型", "Parent"), "visit_days": ("走访周期（天）", "Visit interval (days)"),
    "sort": ("排序", "Order"),
}
RULE_LABELS = {
    "code": ("规则代码", "Code"), "colour": ("颜色", "Colour"), "label_zh": ("中文说明", "Chinese label"),
    "label_en": ("英文说明", "English label"), "params": ("参数", "Parameters"), "subject": ("对象", "Subject"),
    "kind": ("规则类型", "Rule kind"),
}


def _colours() -> list[dict[str, Any]]:
    return [{"value": c.value, "label": COLOUR_LABELS[c], "hex": COLOUR_HEX[c]} for c in Colour]


# --------------------------------------------------------------------------------------
# Care types and their visit schedules
# --------------------------------------------------------------------------------------


def _type_values(t: Any | None) -> dict[str, Any]:
    if t is None:
        return {"active": True, "sort": "100", **{f"days_{c}": str(d) for c, d in care.DEFAULT_VISIT_DAYS.items()}}
    return {"code": t.code, "name_zh": t.name_zh, "name_en": t.name_en, "parent_code": t.parent_code or "",
            "sort": str(t.sort), "active": t.active,
            **{f"days_{c}": str((t.visit_days or {}).get(c, care.DEFAULT_VISIT_DAYS[c])) for c in COLOURS}}


def _types_page(request: Request, session, admin, *, values: dict[str, Any] | None = None, editing=None, error=None,
                status_code: int = 200) -> Response:
    types = care.all_care_types(session=session)
    return page(request, "people/admin_care_types.html", {
        "types": types, "parents": [t for t in types if t.parent_code is None and (editing is None or t.code != editing.code)],
        "editing": editing, "values": FormValues(values or _type_values(editing)), "colours": _colours(),
        "done": request.query_params.get("done", ""), "section": "care_types",
        **refusal_context(error, request_lang(request)),
    }, user=admin, session=session, active="admin", status_code=status_code)


def _days(form: dict[str, str]) -> dict[str, str]:
    return {c: form[f"days_{c}"].strip() for c in COLOURS}


def _days_form(days_red: Annotated[str, Form()] = "", days_orange: Annotated[str, Form()] = "",
               days_yellow: Annotated[str, Form()] = "", days_blue: Annotated[str, Form()] = "",
               days_green: Annotated[str, Form()] = "") -> dict[str, str]:
    """The care-type form's visit schedule (``days_<colour>``), as typed."""
    return {"days_red": days_red, "days_orange": days_orange, "days_yellow": days_yellow, "days_blue": days_blue,
            "days_green": days_green}


DaysForm = Annotated[dict[str, str], Depends(_days_form)]


@router.get("/care-types")
def care_types_page(request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """Every care type with its visit schedule per colour, and the form to add one."""
    return _types_page(request, session, admin)


@router.post("/care-types")
def care_type_create(request: Request, session: SessionDep, admin: AdminPageUser, origin: OriginDep,
                     days: DaysForm, code: Annotated[str, Form()] = "", name_zh: Annotated[str, Form()] = "",
                     name_en: Annotated[str, Form()] = "", parent_code: Annotated[str, Form()] = "",
                     sort: Annotated[str, Form()] = "0", active: Annotated[str, Form()] = "") -> Response:
    """Add a care type (or a sub-type)."""
    values = {"code": code.strip(), "name_zh": name_zh, "name_en": name_en, "parent_code": parent_code,
              "sort": sort, "active": bool(active), **days}

    def call():
        try:
            data = CareTypeWrite(code=values["code"], name_zh=name_zh.strip(), name_en=name_en.strip(),
                                 parent_code=parent_code or None, visit_days=_days(values), sort=sort.strip() or 0,
                                 active=bool(active))
        except ValidationError as exc:
            raise invalid_form(exc, TYPE_LABELS) from None
        return care.create_care_type(session=session, actor=admin, origin=origin, data=data)

    _, error = attempt(session, call)
    if error is not None:
        return _types_page(request, session, admin, values=values, error=error, status_code=error.status)
    return redirect("/admin/people/care-types?done=created")


@router.get("/care-types/{code}")
def care_type_edit(code: str, request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """The form for one care type."""
    return _types_page(request, session, admin, editing=_care_type(session, code))


def _care_type(session, code: str):
    from civicgrid.errors import not_found
    from civicgrid.people.models import CareType

    found = session.get(CareType, code[:30])
    if found is None:
        raise not_found("重点人群类型", "Care type", code[:30])
    return found


@router.post("/care-types/{code}")
def care_type_update(code: str, request: Request, session: SessionDep, admin: AdminPageUser, origin: OriginDep,
                     days: DaysForm, name_zh: Annotated[str, Form()] = "", name_en: Annotated[str, Form()] = "",
                     parent_code: Annotated[str, Form()] = "", sort: Annotated[str, Form()] = "0",
                     active: Annotated[str, Form()] = "") -> Response:
    """Save a care type; a changed schedule re-plans the next visits of its people."""
    editing = _care_type(session, code)
    values = {"code": editing.code, "name_zh": name_zh, "name_en": name_en, "parent_code": parent_code, "sort": sort,
              "active": bool(active), **days}

    def call():
        try:
            data = CareTypeUpdate(name_zh=name_zh.strip(), name_en=name_en.strip(), parent_code=parent_code or None,
                                  visit_days=_days(values), sort=sort.strip() or 0, active=bool(active))
        except ValidationError as exc:
            raise invalid_form(exc, TYPE_LABELS) from None
        return care.update_care_type(session=session, actor=admin, origin=origin, code=editing.code, data=data)

    _, error = attempt(session, call)
    if error is not None:
        session.refresh(editing)
        return _types_page(request, session, admin, values=values, editing=editing, error=error,
                           status_code=error.status)
    return redirect(f"/admin/people/care-types?done=saved#type-{editing.code}")


# --------------------------------------------------------------------------------------
# Five-colour rules
# --------------------------------------------------------------------------------------


def _kinds() -> list[dict[str, Any]]:
    return [{"key": f"{subject}:{kind}", "subject": subject, "kind": kind, "label": (zh, en),
             "subject_label": risk.SUBJECTS[subject]}
            for subject, kinds in risk.RULE_KINDS.items() for kind, (zh, en, _params) in kinds.items()]


def _rule_form(request: Request, session, admin, *, subject: str, kind: str, rule=None,
               values: dict[str, Any] | None = None, error=None, status_code: int = 200) -> Response:
    spec = risk.RULE_KINDS.get(subject, {}).get(kind)
    if spec is None:
        from civicgrid.errors import InvalidInput

        raise InvalidInput(f"规则类型 {subject}/{kind} 不存在", f"Unknown rule kind {subject}/{kind}")
    if values is None:
        values = {"colour": rule.colour if rule else "yellow", "active": rule.active if rule else True,
                  "label_zh": rule.label_zh if rule else "", "label_en": rule.label_en if rule else "",
                  "code": rule.code if rule else ""}
        for name, value in (rule.params if rule else {}).items():
            values[f"p_{name}"] = value
    return page(request, "people/admin_risk_rule.html", {
        "rule": rule, "subject": subject, "kind": kind, "spec": spec, "values": FormValues(values),
        "colours": _colours(), "levels": CARE_LEVELS, "subject_label": risk.SUBJECTS[subject],
        "section": "risk_rules", **refusal_context(error, request_lang(request)),
    }, user=admin, session=session, active="admin", status_code=status_code)


def _params(subject: str, kind: str, form: dict[str, Any]) -> dict[str, Any]:
    spec = risk.RULE_KINDS.get(subject, {}).get(kind)
    if spec is None:
        return {}
    return {p.name: form.get(f"p_{p.name}") for p in spec[2]}


def _params_form(p_days: Annotated[str, Form()] = "", p_count: Annotated[str, Form()] = "",
                 p_min: Annotated[str, Form()] = "", p_level: Annotated[str, Form()] = "",
                 p_colour: Annotated[str, Form()] = "",
                 p_colours: Annotated[list[str] | None, Form()] = None) -> dict[str, Any]:
    """The rule form's parameter fields (``p_<name>``, every kind's), as typed."""
    return {"p_days": p_days, "p_count": p_count, "p_min": p_min, "p_level": p_level, "p_colour": p_colour,
            "p_colours": p_colours or []}


ParamsForm = Annotated[dict[str, Any], Depends(_params_form)]


@router.get("/risk-rules")
def risk_rules_page(request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """Every rule by subject (what it checks, its parameters, its colour), and the kinds a new rule can be."""
    rules = risk.list_rules(session=session, actor=admin)
    kinds = {(k["subject"], k["kind"]): k for k in _kinds()}
    return page(request, "people/admin_risk_rules.html", {
        "rules": rules, "kinds": kinds, "kind_list": _kinds(), "subjects": risk.SUBJECTS, "colours": _colours(),
        "colour_of": {c["value"]: c for c in _colours()}, "levels": CARE_LEVELS,
        "done": request.query_params.get("done", ""), "counts": request.query_params.get("counts", ""),
        "section": "risk_rules", **refusal_context(None, request_lang(request)),
    }, user=admin, session=session, active="admin")


@router.get("/risk-rules/new")
def risk_rule_new(request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """The form for a new rule of one kind (``?kind=subject:kind``) with that kind's parameters."""
    subject, _, kind = request.query_params.get("kind", "").partition(":")
    return _rule_form(request, session, admin, subject=subject, kind=kind)


@router.post("/risk-rules/recompute")
def risk_rules_recompute(request: Request, session: SessionDep, admin: AdminPageUser, origin: OriginDep) -> Response:
    """Recompute every colour now under the current rules."""
    counts, error = attempt(session, lambda: risk.recompute_now(session=session, actor=admin, origin=origin))
    if error is not None:
        raise error
    summary = ",".join(f"{k}:{v}" for k, v in (counts or {}).items())
    return redirect(f"/admin/people/risk-rules?done=recomputed&counts={summary}")


@router.post("/risk-rules")
def risk_rule_create(request: Request, session: SessionDep, admin: AdminPageUser, origin: OriginDep,
                     form: ParamsForm, kind: Annotated[str, Form()] = "", code: Annotated[str, Form()] = "",
                     colour: Annotated[str, Form()] = "", label_zh: Annotated[str, Form()] = "",
                     label_en: Annotated[str, Form()] = "", active: Annotated[str, Form()] = "") -> Response:
    """Add a rule of a kind, with its parameters checked by the service."""
    subject, _, rule_kind = kind.partition(":")
    values = {"code": code.strip(), "colour": colour, "label_zh": label_zh, "label_en": label_en,
              "active": bool(active), **form}

    def call():
        try:
            data = RiskRuleCreate(code=code.strip(), subject=subject, kind=rule_kind, colour=colour,
                                  params=_params(subject, rule_kind, form), label_zh=label_zh.strip(),
                                  label_en=label_en.strip(), active=bool(active))
        except ValidationError as exc:
            raise invalid_form(exc, RULE_LABELS) from None
        return risk.create_rule(session=session, actor=admin, origin=origin, data=data)

    rule, error = attempt(session, call)
    if error is not None:
        return _rule_form(request, session, admin, subject=subject, kind=rule_kind, values=values, error=error,
                          status_code=error.status)
    return redirect(f"/admin/people/risk-rules?done=created#rule-{rule.id}")  # type: ignore[union-attr]


def _rule(session, rule_id: int):
    from civicgrid.errors import not_found
    from civicgrid.people.models import RiskRule

    found = session.get(RiskRule, rule_id) if parse_int(rule_id) else None
    if found is None:
        raise not_found("风险规则", "Risk rule", rule_id)
    return found


@router.get("/risk-rules/{rule_id}")
def risk_rule_edit(rule_id: int, request: Request, session: SessionDep, admin: AdminPageUser) -> Response:
    """The form for one rule (its subject and kind are fixed; parameters, colour, labels and activity change)."""
    rule = _rule(session, rule_id)
    return _rule_form(request, session, admin, subject=rule.subject, kind=rule.kind, rule=rule)


@router.post("/risk-rules/{rule_id}")
def risk_rule_update(rule_id: int, request: Request, session: SessionDep, admin: AdminPageUser, origin: OriginDep,
                     form: ParamsForm, colour: Annotated[str, Form()] = "", label_zh: Annotated[str, Form()] = "",
                     label_en: Annotated[str, Form()] = "", active: Annotated[str, Form()] = "") -> Response:
    """Save a rule's parameters, colour, labels and activity."""
    rule = _rule(session, rule_id)
    values = {"code": rule.code, "colour": colour, "label_zh": label_zh, "label_en": label_en, "active": bool(active),
              **form}

    def call():
        try:
            data = RiskRuleUpdate(params=_params(rule.subject, rule.kind, form), colour=colour,
                                  label_zh=label_zh.strip(), label_en=label_en.strip(), active=bool(active))
        except ValidationError as exc:
            raise invalid_form(exc, RULE_LABELS) from None
        return risk.update_rule(session=session, actor=admin, origin=origin, rule_id=rule.id, data=data)

    _, error = attempt(session, call)
    if error is not None:
        session.refresh(rule)
        return _rule_form(request, session, admin, subject=rule.subject, kind=rule.kind, rule=rule, values=values,
                          error=error, status_code=error.status)
    return redirect(f"/admin/people/risk-rules?done=saved#rule-{rule.id}")
