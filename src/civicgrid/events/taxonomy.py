"""The seeded category taxonomy (editable afterwards in the admin pages).

Classes follow the shape of GB/T 30428 (数字化城市管理) event and component classes plus the
governance types of 综治 work. The codes here are civicgrid's own, NOT the standard's codes.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.events.deadlines import DEFAULT_DEADLINES
from civicgrid.events.models import Category, RequestType

E, C, H, P = RequestType.EMERGENCY, RequestType.CONSULTATION, RequestType.HELP, RequestType.COMPLAINT

# (code, zh, en, request type of the leaves unless given, [(code, zh, en, type override)])
TAXONOMY: list[tuple[str, str, str, RequestType, list[tuple[str, str, str, RequestType | None]]]] = [
    ("EV01", "市容环境", "City appearance", H, [
        ("EV0101", "暴露垃圾", "Exposed rubbish", None),
        ("EV0102", "积存垃圾渣土", "Piled waste and spoil", None),
        ("EV0103", "道路不洁", "Dirty road", None),
        ("EV0104", "乱倒污水", "Sewage dumping", P),
    ]),
    ("EV02", "宣传广告", "Advertising", H, [
        ("EV0201", "违章张贴小广告", "Illegal flyers", None),
        ("EV0202", "非法户外广告", "Illegal outdoor advertising", P),
    ]),
    ("EV03", "施工管理", "Construction", P, [
        ("EV0301", "施工扰民", "Construction noise", None),
        ("EV0302", "工地扬尘", "Construction dust", None),
        ("EV0303", "违章搭建", "Illegal building", None),
    ]),
    ("EV04", "街面秩序", "Street order", H, [
        ("EV0401", "占道经营", "Street vending", None),
        ("EV0402", "机动车乱停放", "Illegal parking", None),
        ("EV0403", "噪声扰民", "Noise nuisance", P),
    ]),
    ("EV05", "突发事件", "Emergencies", E, [
        ("EV0501", "路面塌陷", "Road collapse", None),
        ("EV0502", "火情", "Fire", None),
        ("EV0503", "管道爆裂", "Burst pipe", None),
        ("EV0504", "井盖缺失", "Missing manhole cover", None),
    ]),
    ("CP01", "公用设施", "Public facilities", H, [
        ("CP0101", "路灯损坏", "Broken street light", None),
        ("CP0102", "供水设施", "Water supply facility", None),
        ("CP0103", "电力通信设施", "Power and telecom facility", None),
    ]),
    ("CP02", "道路交通", "Roads and traffic", H, [
        ("CP0201", "道路破损", "Damaged road", None),
        ("CP0202", "交通信号灯故障", "Traffic light failure", None),
        ("CP0203", "护栏损坏", "Damaged railing", None),
    ]),
    ("CP03", "园林绿化", "Parks and greenery", H, [
        ("CP0301", "树木倒伏", "Fallen tree", None),
        ("CP0302", "绿地破坏", "Damaged green space", None),
    ]),
    ("CP04", "房屋土地", "Housing and land", P, [
        ("CP0401", "危房隐患", "Unsafe building", None),
        ("CP0402", "物业纠纷", "Property management dispute", None),
    ]),
    ("GV01", "矛盾纠纷", "Disputes", P, [
        ("GV0101", "邻里纠纷", "Neighbour dispute", None),
        ("GV0102", "婚姻家庭纠纷", "Family dispute", None),
        ("GV0103", "劳动争议欠薪", "Unpaid wages", None),
    ]),
    ("GV02", "治安隐患", "Public security risks", H, [
        ("GV0201", "可疑人员", "Suspicious person", None),
        ("GV0202", "黄赌毒线索", "Vice clue", None),
    ]),
    ("GV03", "安全隐患", "Safety hazards", H, [
        ("GV0301", "消防通道堵塞", "Blocked fire lane", None),
        ("GV0302", "燃气安全隐患", "Gas safety hazard", E),
        ("GV0303", "电动车违规充电", "Unsafe e-bike charging", None),
    ]),
    ("GV04", "民生服务", "Livelihood services", H, [
        ("GV0401", "社会救助", "Social assistance", None),
        ("GV0402", "养老服务", "Elderly care", None),
    ]),
    ("GV05", "特殊人群", "People under care", H, [
        ("GV0501", "特殊人群异常情况", "Person under care: unusual situation", None),
    ]),
    ("GV06", "咨询", "Consultation", C, [("GV0601", "政策咨询", "Policy question", None)]),
    ("GV07", "投诉", "Complaint", P, [("GV0701", "服务投诉", "Service complaint", None)]),
    ("GV08", "求助", "Help request", H, [("GV0801", "群众求助", "Citizen help request", None)]),
    ("GV09", "建议", "Suggestion", C, [("GV0901", "意见建议", "Suggestion", None)]),
]


# Groups NOT offered to citizens through Open311 (``Category.public``): reports about individuals —
# disputes, public-security clues, welfare cases, people under care — come in through the desk,
# the grid worker or the hotline, where someone can talk to the reporter. Everything else (city
# appearance, facilities, traffic, safety hazards, consultations, complaints, help, suggestions)
# is public. An administrator changes either on /admin/categories.
NOT_PUBLIC_GROUPS = frozenset({"GV01", "GV02", "GV04", "GV05"})


def seed_categories(*, session: Session) -> int:
    """Insert the taxonomy's categories that are missing (by code); returns how many were added."""
    existing = set(session.scalars(select(Category.code)))
    added = 0
    for code, zh, en, kind, leaves in TAXONOMY:
        parent = session.scalar(select(Category).where(Category.code == code))
        public = code not in NOT_PUBLIC_GROUPS
        if parent is None:
            parent = _category(code, zh, en, kind, None, public)
            session.add(parent)
            session.flush()
            added += 1
        for leaf_code, leaf_zh, leaf_en, override in leaves:
            if leaf_code in existing:
                continue
            session.add(_category(leaf_code, leaf_zh, leaf_en, override or kind, parent.id, public))
            added += 1
    session.flush()
    return added


def _category(code: str, zh: str, en: str, kind: RequestType, parent_id: int | None, public: bool) -> Category:
    accept, finish = DEFAULT_DEADLINES[kind]
    return Category(
        code=code, name_zh=zh, name_en=en, parent_id=parent_id, request_type=kind,
        accept_amount=accept.amount if accept else None, accept_unit=accept.unit if accept else None,
        finish_amount=finish.amount, finish_unit=finish.unit,
        auto_escalate=kind == RequestType.EMERGENCY, public=public,
    )
