"""The demo city's mediation registry (三调联动), so routing suggests a real assignee out of the box.

* a people's mediation committee (人民调解委员会) in every community and village, staffed by the
  community's handler and one more mediator account;
* a mediation centre (矛盾纠纷调处化解中心) in every street, staffed by the street office;
* per district: the district people's mediation committee (司法局), industry committees for
  medical, traffic, labour and property disputes (卫健、交警、人社、住建), and the court's
  litigation–mediation window (法院诉调对接工作室) with its invited mediator (特邀调解员);
* the showcase login ``mediator`` in the first community's committee.

Organisations and mediators go through ``registry.create_org`` / ``registry.add_mediator``
(audited like any registration); the extra mediator accounts share the staff password hash
like every other staff account of the demo.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from civicgrid.auth.models import Role, User
from civicgrid.auth.service import create_user
from civicgrid.mediation import registry
from civicgrid.regions.models import Region
from civicgrid.units.models import Unit

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from civicgrid.demo.seed import DemoCity, Login

# Industry committees per district: (key, department key, name suffix, English, dispute types).
INDUSTRY = [
    ("YL", "WJ", "医疗纠纷人民调解委员会", "Medical Disputes Mediation Committee", ["MEDICAL"]),
    ("JT", "GA", "道路交通事故纠纷人民调解委员会", "Traffic Accident Mediation Committee", ["TRAFFIC"]),
    ("LD", "RS", "劳动人事争议调解中心", "Labour Disputes Mediation Centre", ["LABOUR"]),
    ("WY", "ZJ", "物业纠纷人民调解委员会", "Property Management Mediation Committee", ["PROPERTY"]),
]
COMMUNITY_SPECIALTIES = (["NEIGHBOUR", "MARRIAGE"], ["HOUSING", "LAND", "PROPERTY", "CONSUMER"])
STREET_SPECIALTIES = (["DEMOLITION", "LAND", "HOUSING"], ["LABOUR", "CONTRACT", "DAMAGES", "POLLUTION"])
COURT_SPECIALTIES = ["CONTRACT", "DAMAGES", "MARRIAGE", "HOUSING", "LABOUR", "TRAFFIC"]


@dataclass
class MediationSeed:
    """What the demo registry holds."""

    orgs: int = 0
    mediators: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)


def seed_registry(*, session: Session, city: DemoCity, staff: object, showcase: Region | None = None,
                  logins: list[Login] | None = None, password: str = "") -> MediationSeed:
    """Register the demo city's mediation organisations and mediators (see the module docstring).

    ``staff`` is the demo's staff-account factory (``add(username, name, role, region, unit)`` and
    ``flush()``); ``showcase`` the community whose committee gets the printed ``mediator`` login."""
    from civicgrid.demo.seed import ORIGIN, Login

    admin = city.admin
    assert admin is not None
    seed = MediationSeed()
    extra: list[tuple[int, User, str, list[str]]] = []  # (org id, account, name, specialties): registered after flush

    def org(code: str, name_zh: str, name_en: str, kind: str, region: Region, unit: Unit | None,
            specialties: list[str] | None = None, capacity: int = 30) -> int:
        created = registry.create_org(session=session, actor=admin, origin=ORIGIN, code=code, name_zh=name_zh,
                                      name_en=name_en, kind=kind, region_id=region.id, specialties=specialties,
                                      capacity=capacity, unit_id=unit.id if unit else None)
        seed.orgs += 1
        seed.by_kind[kind] = seed.by_kind.get(kind, 0) + 1
        return created.id

    def mediator(org_id: int, user: User, specialties: list[str], title: str, max_load: int = 8) -> None:
        registry.add_mediator(session=session, actor=admin, origin=ORIGIN, org_id=org_id, name=user.display_name,
                              user_id=user.id, title=title, specialties=specialties, max_load=max_load)
        seed.mediators += 1

    for community in city.communities:
        unit = city.community_units[community.id]
        org_id = org(f"TJ-{community.code}", f"{community.name_zh}人民调解委员会",
                     f"{community.name_en} People's Mediation Committee", "people", community, unit, capacity=20)
        mediator(org_id, city.handlers[unit.id], COMMUNITY_SPECIALTIES[0], "调委会主任")
        if showcase is not None and community.id == showcase.id:
            account = create_user(session=session, actor=admin, origin=ORIGIN, username="mediator",
                                  display_name=f"{community.name_zh}调解员", password=password, role=Role.HANDLER,
                                  scope_region_id=community.id, unit_id=unit.id, phone=None)
            if logins is not None:
                logins.append(Login("mediator", password, Role.HANDLER, f"{community.name_zh} · 人民调解委员会",
                                    "人民调解员 / people's mediator"))
        else:
            account = staff.add(f"md_{community.code}", f"{community.name_zh}调解员", Role.HANDLER,  # type: ignore[attr-defined]
                                community, unit)
        extra.append((org_id, account, "人民调解员", COMMUNITY_SPECIALTIES[1]))

    for street in city.streets:
        unit = city.street_units[street.id]
        org_id = org(f"TJ-{street.code[:9]}", f"{street.name_zh}矛盾纠纷调处化解中心",
                     f"{street.name_en} Dispute Mediation Centre", "street", street, unit, capacity=40)
        mediator(org_id, city.handlers[unit.id], STREET_SPECIALTIES[0], "中心主任", max_load=10)
        account = staff.add(f"md_{street.code[:9]}", f"{street.name_zh}专职调解员", Role.HANDLER,  # type: ignore[attr-defined]
                            street, unit)
        extra.append((org_id, account, "专职人民调解员", STREET_SPECIALTIES[1]))

    for district in city.districts:
        key = district.code[:6]
        justice = city.departments[(district.id, "SF")]
        org_id = org(f"TJ-{key}", f"{district.name_zh}人民调解委员会", f"{district.name_en} People's Mediation Committee",
                     "people", district, justice, capacity=40)
        mediator(org_id, city.handlers[justice.id], [], "司法局调解指导员", max_load=10)
        for code, dept, zh, en, types in INDUSTRY:
            unit = city.departments[(district.id, dept)]
            org_id = org(f"TJ-{key}-{code}", f"{district.name_zh}{zh}", f"{district.name_en} {en}", "industry",
                         district, unit, specialties=types, capacity=25)
            mediator(org_id, city.handlers[unit.id], types, "行业调解员")
        # The court's window sits in the district centre; its invited mediator is filed under the
        # justice bureau (司法局), which runs litigation–mediation liaison with the court.
        org_id = org(f"TJ-{key}-FY", f"{district.name_zh}人民法院诉调对接工作室",
                     f"{district.name_en} Court Litigation–Mediation Window", "judicial", district, None, capacity=50)
        account = staff.add(f"md_court_{key}", f"{district.name_zh}法院特邀调解员", Role.HANDLER, district,  # type: ignore[attr-defined]
                            justice)
        extra.append((org_id, account, "特邀调解员", COURT_SPECIALTIES))

    staff.flush()  # type: ignore[attr-defined]
    for org_id, account, title, specialties in extra:
        mediator(org_id, account, specialties, title)
    return seed
