"""Who may do what with base data, and the region scope applied inside every query.

Permissions are data (role sets, one place); scope is a WHERE clause on ``region_path``
exactly as for cases, so a list, a count, an export and a lookup by id obey one rule.
Out-of-scope records answer 404 (``errors.not_found``), never 403.
"""

from __future__ import annotations

from sqlalchemy import and_, false

from civicgrid.auth.models import Role, User
from civicgrid.errors import Forbidden
from civicgrid.regions.models import subtree_range

# Base data (persons, houses, places…) is read by those who keep it and those who lead.
READ_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.LEADER})
WRITE_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER})
# Reading an ID number or phone in clear: those who must call or visit the person. Leaders
# see masked data only.
UNMASK_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER})
IMPORT_ROLES = frozenset({Role.ADMIN, Role.OPERATOR})
REVIEW_ROLES = frozenset({Role.ADMIN, Role.OPERATOR})
EXPORT_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.LEADER})
# People-under-care data: only the roles that look after them or answer for them.
CARE_READ_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER, Role.LEADER})
CARE_WRITE_ROLES = frozenset({Role.ADMIN, Role.OPERATOR})
VISIT_ROLES = frozenset({Role.ADMIN, Role.OPERATOR, Role.GRID_WORKER})
RISK_OVERRIDE_ROLES = frozenset({Role.ADMIN, Role.OPERATOR})
# Configuration (care types and their visit schedules, five-colour rules): the city's administrators.
CONFIGURE_ROLES = frozenset({Role.ADMIN})

_WHAT = {
    "read": ("查看基础数据", "read base data"),
    "write": ("维护基础数据", "edit base data"),
    "unmask": ("查看完整身份证号/电话", "see ID numbers and phones in clear"),
    "import": ("导入基础数据", "import base data"),
    "review": ("处理待核对记录", "work the review queue"),
    "export": ("导出数据", "export data"),
    "care_read": ("查看重点人群信息", "see people under care"),
    "care_write": ("管理重点人群", "manage people under care"),
    "visit": ("登记走访", "log visits"),
    "risk_override": ("调整风险颜色", "override risk colours"),
    "configure": ("配置重点人群类型和风险规则", "configure care types and risk rules"),
}
_ROLES = {
    "read": READ_ROLES, "write": WRITE_ROLES, "unmask": UNMASK_ROLES, "import": IMPORT_ROLES,
    "review": REVIEW_ROLES, "export": EXPORT_ROLES, "care_read": CARE_READ_ROLES,
    "care_write": CARE_WRITE_ROLES, "visit": VISIT_ROLES, "risk_override": RISK_OVERRIDE_ROLES,
    "configure": CONFIGURE_ROLES,
}


def may(actor: User, permission: str) -> bool:
    """Whether ``actor``'s role carries ``permission`` (one of the keys of ``_ROLES``)."""
    return actor.role in _ROLES[permission]


def require(actor: User, permission: str) -> None:
    """Raise Forbidden unless ``actor`` may ``permission``."""
    if not may(actor, permission):
        zh, en = _WHAT[permission]
        raise Forbidden(f"您的角色（{actor.role.label_zh}）无权{zh}", f"Your role ({actor.role.label_en}) may not {en}")


def scope(column, actor: User):
    """WHERE clause: ``column`` (a region path) lies in the actor's region subtree."""
    if actor.role not in READ_ROLES:
        return false()
    low, high = subtree_range(actor.scope_path)
    return and_(column >= low, column < high)


def path_in_scope(path: str, actor: User) -> bool:
    """The same rule as ``scope`` for one path already loaded."""
    return actor.role in READ_ROLES and path.startswith(actor.scope_path)
