"""Category and routing-rule API (/api/categories, /api/routing-rules), and the workflow table."""

from __future__ import annotations

from fastapi import APIRouter

from civicgrid.events import config
from civicgrid.events.schemas import CategoryRead, CategoryWrite, RoutingRuleRead, RoutingRuleWrite
from civicgrid.events.workflow import STATE_LABELS, TRANSITIONS
from civicgrid.web.deps import AdminUser, CurrentUser, OriginDep, SessionDep

router = APIRouter(tags=["configuration"])


@router.get("/api/categories", response_model=list[CategoryRead])
def categories(session: SessionDep, user: CurrentUser) -> list[CategoryRead]:
    return [CategoryRead.model_validate(c) for c in config.list_categories(session=session)]


@router.post("/api/categories", response_model=CategoryRead, status_code=201)
def create_category(data: CategoryWrite, session: SessionDep, user: AdminUser, origin: OriginDep) -> CategoryRead:
    return CategoryRead.model_validate(config.create_category(session=session, actor=user, origin=origin, data=data))


@router.put("/api/categories/{category_id}", response_model=CategoryRead)
def update_category(category_id: int, data: CategoryWrite, session: SessionDep, user: AdminUser,
                    origin: OriginDep) -> CategoryRead:
    return CategoryRead.model_validate(
        config.update_category(session=session, actor=user, origin=origin, category_id=category_id, data=data)
    )


@router.get("/api/routing-rules", response_model=list[RoutingRuleRead])
def rules(session: SessionDep, user: AdminUser) -> list[RoutingRuleRead]:
    return [RoutingRuleRead.model_validate(r) for r in config.list_rules(session=session)]


@router.post("/api/routing-rules", response_model=RoutingRuleRead, status_code=201)
def create_rule(data: RoutingRuleWrite, session: SessionDep, user: AdminUser, origin: OriginDep) -> RoutingRuleRead:
    return RoutingRuleRead.model_validate(config.create_rule(session=session, actor=user, origin=origin, data=data))


@router.delete("/api/routing-rules/{rule_id}", response_model=RoutingRuleRead)
def deactivate_rule(rule_id: int, session: SessionDep, user: AdminUser, origin: OriginDep) -> RoutingRuleRead:
    return RoutingRuleRead.model_validate(
        config.deactivate_rule(session=session, actor=user, origin=origin, rule_id=rule_id)
    )


@router.get("/api/workflow")
def workflow(user: CurrentUser) -> dict:
    """The declared workflow: states with labels, and every transition with who may fire it."""
    return {
        "states": [{"state": s.value, "label_zh": zh, "label_en": en} for s, (zh, en) in STATE_LABELS.items()],
        "transitions": [
            {"action": t.action, "from": sorted(s.value for s in t.sources),
             "to": t.target.value if t.target else None, "roles": sorted(r.value for r in t.roles),
             "guard": t.guard.value, "note_required": t.note_required,
             "clock": t.clock.value if t.clock else None, "condition": t.condition,
             "label_zh": t.label_zh, "label_en": t.label_en}
            for t in TRANSITIONS
        ],
    }
