"""The people domain's edges (STYLE.md rule 11): every public service function is classified, every
mutating one writes an audit row in the same transaction, every choice has both labels."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
import io

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.people import care, importer, keys, models, risk, service
from civicgrid.people.schemas import (
    BuildingCreate,
    CareChange,
    CareCreate,
    CareEnd,
    CaretakerCreate,
    CareTypeUpdate,
    CareTypeWrite,
    HouseCreate,
    HouseholdCreate,
    InspectionCreate,
    OrganisationCreate,
    PersonUpdate,
    PlaceCreate,
    RiskRuleCreate,
    RiskRuleUpdate,
    TenancyCreate,
    ThingCreate,
    VisitCreate,
)
from civicgrid.settings import get_settings
from tests.people.conftest import ORIGIN, new_id

MODULES = ["civicgrid.people.service", "civicgrid.people.care", "civicgrid.people.risk", "civicgrid.people.importer",
           "civicgrid.people.keys"]
READ_ONLY = {
    "civicgrid.people.service": {"document_hash", "seal_document", "seal_phone", "locate", "person_read", "audit_view",
                                 "visible_persons", "get_person", "find_by_document", "person_query", "name_prefix",
                                 "search_persons", "record_fields", "get_record", "list_records", "tenancies",
                                 "inspections", "household_members"},
    "civicgrid.people.care": {"care_types", "visit_interval", "plan_next_visit", "visible_care", "get_care", "caretakers",
                              "visits", "list_care", "care_of_person", "cases_of_person", "photo_path", "visit_photos",
                              "all_care_types"},
    "civicgrid.people.risk": {"worst", "evaluate", "colour_of", "grid_map", "rule_params", "list_rules"},
    "civicgrid.people.importer": {"template", "read_rows", "file_sha256", "parse_person_row", "review_queue",
                                  "get_review", "report_lines", "review_dedupe_key"},
    "civicgrid.people.keys": {"check_new_key"},
}
# Writers of reference data (seeded by the migration) and job wrappers opening their own unit of work.
EXEMPT = {
    "civicgrid.people.care": {"seed_care_types", "run_nightly", "run_visit_scan", "run_nightly_if_due"},
    "civicgrid.people.risk": {"seed_rules"},
}


def _grid(w):
    return w.regions["grid111"].code


def _care(s, people):
    person = people.add("元某")
    return care.start_care(session=s, actor=people.world.users["operator"], origin=ORIGIN, person_id=person.id,
                           data=CareCreate(type_code="hardship_family", reason="困难家庭认定"))


def _queued_item(s, people):
    w = people.world
    rows = "姓名,出生日期,性别,联系电话,网格编码\n元芳,1975-05-05,女,{p},{g}\n"
    for phone, source in (("13800000003", "公安"), ("13900000009", "民政")):
        importer.import_persons(session=s, actor=w.users["operator"], origin=ORIGIN, filename="m.csv", source=source,
                                stream=io.BytesIO(rows.format(p=phone, g=_grid(w)).encode()))
    return importer.review_queue(session=s, actor=w.users["operator"])[0].id


def _mutating(people):
    w = people.world
    op = w.users["operator"]
    g = _grid(w)
    place = lambda s: service.create_place(session=s, actor=op, origin=ORIGIN,  # noqa: E731
                                           data=PlaceCreate(name="市场", kind="market", region_code=g))
    rented = lambda s: service.create_house(session=s, actor=op, origin=ORIGIN,  # noqa: E731
                                            data=HouseCreate(address="出租屋", use="rented", region_code=g))
    return {
        "service.create_person": lambda s: people.add("元一"),
        "service.update_person": lambda s: service.update_person(session=s, actor=op, origin=ORIGIN,
                                                                  person_id=people.add("元二").id,
                                                                  data=PersonUpdate(address="新址")),
        "service.open_profile": lambda s: service.open_profile(session=s, actor=op, origin=ORIGIN,
                                                                person_id=people.add("元三").id),
        "service.reveal": lambda s: service.reveal(session=s, actor=op, origin=ORIGIN, person_id=people.add("元四").id,
                                                   field="id_number", reason="核实身份信息"),
        "service.create_household": lambda s: service.create_household(session=s, actor=op, origin=ORIGIN,
                                                                        data=HouseholdCreate(number="M-1", region_code=g)),
        "service.set_household_head": lambda s: service.set_household_head(
            session=s, actor=op, origin=ORIGIN, household_id=(p := people.add("元五", household_number="M-2")).household_id,
            person_id=p.id),
        "service.add_household_member": lambda s: service.add_household_member(
            session=s, actor=op, origin=ORIGIN, household_id=people.add("元十", household_number="M-3").household_id,
            person_id=people.add("元十一").id, relation="spouse"),
        "service.remove_household_member": lambda s: service.remove_household_member(
            session=s, actor=op, origin=ORIGIN, household_id=(p := people.add("元十二", household_number="M-4")).household_id,
            person_id=p.id),
        "service.create_building": lambda s: service.create_building(session=s, actor=op, origin=ORIGIN,
                                                                      data=BuildingCreate(name="楼", address="路", region_code=g)),
        "service.create_house": lambda s: rented(s),
        "service.add_tenancy": lambda s: service.add_tenancy(session=s, actor=op, origin=ORIGIN, house_id=rented(s).id,
                                                              data=TenancyCreate(person_id=people.add("元六").id,
                                                                                 start_date=dt.date(2026, 1, 1))),
        "service.create_place": place,
        "service.inspect_place": lambda s: service.inspect_place(session=s, actor=op, origin=ORIGIN, place_id=place(s).id,
                                                                  data=InspectionCreate(passed=True)),
        "service.create_organisation": lambda s: service.create_organisation(
            session=s, actor=op, origin=ORIGIN, data=OrganisationCreate(name="队", kind="governance_team", region_code=g)),
        "service.create_thing": lambda s: service.create_thing(session=s, actor=op, origin=ORIGIN,
                                                                data=ThingCreate(code="M-CAM", kind="camera", region_code=g)),
        "care.start_care": lambda s: _care(s, people),
        "care.change_level": lambda s: care.change_level(session=s, actor=op, origin=ORIGIN, care_id=_care(s, people).id,
                                                         data=CareChange(level="key", reason="情况变化")),
        "care.end_care": lambda s: care.end_care(session=s, actor=op, origin=ORIGIN, care_id=_care(s, people).id,
                                                 data=CareEnd(reason="脱困")),
        "care.add_caretaker": lambda s: care.add_caretaker(session=s, actor=op, origin=ORIGIN, care_id=_care(s, people).id,
                                                           data=CaretakerCreate(kind="family", name="家属")),
        "care.remove_caretaker": lambda s: care.remove_caretaker(
            session=s, actor=op, origin=ORIGIN,
            caretaker_id=care.add_caretaker(session=s, actor=op, origin=ORIGIN, care_id=_care(s, people).id,
                                            data=CaretakerCreate(kind="family", name="家属")).id),
        "care.log_visit": lambda s: care.log_visit(session=s, actor=op, origin=ORIGIN, care_id=_care(s, people).id,
                                                   data=VisitCreate(findings="情况正常")),
        "care.add_visit_photo": lambda s: care.add_visit_photo(session=s, actor=op, origin=ORIGIN, filename="p.png",
                                                               visit_id=_visit(s, people).id, content=PNG),
        "care.open_visit_photo": lambda s: care.open_visit_photo(
            session=s, actor=op, origin=ORIGIN,
            photo_id=care.add_visit_photo(session=s, actor=op, origin=ORIGIN, filename="p.png",
                                          visit_id=_visit(s, people).id, content=PNG).id),
        "care.link_case_person": lambda s: care.link_case_person(session=s, actor=op, origin=ORIGIN,
                                                                 case_id=_case_id(s, w), person_id=people.add("元七").id),
        "care.scan_visits": lambda s: care.scan_visits(session=s, now=_care(s, people).next_visit_due + dt.timedelta(days=3)),
        "care.create_care_type": lambda s: care.create_care_type(
            session=s, actor=w.users["admin"], origin=ORIGIN,
            data=CareTypeWrite(code="meta_type", name_zh="元类型", visit_days=dict(care.DEFAULT_VISIT_DAYS))),
        "care.update_care_type": lambda s: care.update_care_type(session=s, actor=w.users["admin"], origin=ORIGIN,
                                                                 code="hardship_family", data=CareTypeUpdate(sort=77)),
        "risk.create_rule": lambda s: risk.create_rule(session=s, actor=w.users["admin"], origin=ORIGIN, data=RiskRuleCreate(
            code="meta_rule", subject="grid", kind="open_cases", params={"min": 2}, colour="blue", label_zh="元",
            label_en="meta")),
        "risk.update_rule": lambda s: risk.update_rule(
            session=s, actor=w.users["admin"], origin=ORIGIN, rule_id=s.scalar(select(models.RiskRule.id).limit(1)),
            data=RiskRuleUpdate(label_en="changed by the meta test")),
        "risk.recompute_now": lambda s: risk.recompute_now(session=s, actor=w.users["admin"], origin=ORIGIN),
        "keys.rotate_data_key": lambda s: (people.add("元十三", phone="13800000003"), keys.rotate_data_key(
            session=s, origin=ORIGIN, old_key=get_settings().data_key, new_key="meta-test-new-data-key")),
        "risk.recompute": lambda s: risk.recompute(session=s, subject="place", subject_id=place(s).id),
        "risk.override": lambda s: risk.override(session=s, actor=op, origin=ORIGIN, subject="place", subject_id=place(s).id,
                                                 colour="red", reason="人工研判升级"),
        "risk.clear_override": lambda s: risk.clear_override(session=s, actor=op, origin=ORIGIN, subject="place",
                                                             subject_id=place(s).id, reason="恢复"),
        "risk.recompute_all": lambda s: (place(s), risk.recompute_all(session=s)),
        "importer.import_persons": lambda s: importer.import_persons(
            session=s, actor=op, origin=ORIGIN, filename="m.csv", source="公安",
            stream=io.BytesIO(f"姓名,证件号码,网格编码\n元八,{new_id()},{g}\n".encode())),
        "importer.import_records": lambda s: importer.import_records(
            session=s, actor=op, origin=ORIGIN, entity="thing", filename="t.csv", source="公安",
            stream=io.BytesIO(f"部件编码,部件类型,网格编码\nM-9,camera,{g}\n".encode())),
        "importer.import_path": lambda s: importer.import_path(
            session=s, username="operator", origin=ORIGIN, source="公安",
            path=_file("p.csv", f"姓名,证件号码,网格编码\n元九,{new_id()},{g}\n".encode())),
        "importer.resolve_review": lambda s: importer.resolve_review(session=s, actor=op, origin=ORIGIN,
                                                                     item_id=_queued_item(s, people), decision="merge"),
        "importer.export_persons": lambda s: importer.export_persons(session=s, actor=w.users["leader"], origin=ORIGIN,
                                                                     query=service.PersonQuery(), stream=io.BytesIO()),
    }


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


def _visit(s, people):
    return care.log_visit(session=s, actor=people.world.users["operator"], origin=ORIGIN, care_id=_care(s, people).id,
                          data=VisitCreate(findings="情况正常"))


def _file(name: str, content: bytes):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp(prefix="people-meta-")) / name
    path.write_bytes(content)
    return path


def _case_id(s, w):
    from civicgrid.events.intake import intake_case
    from civicgrid.events.schemas import CaseCreate

    lat, lon = w.grid_point("grid111")
    case, _ = intake_case(session=s, actor=w.users["operator"], origin=ORIGIN,
                          data=CaseCreate(category_code="EV0101", description="楼道堆物", lat=lat, lon=lon))
    return case.id


MUTATING_NAMES = {
    "civicgrid.people.service": {"create_person", "update_person", "open_profile", "reveal", "create_household",
                                 "set_household_head", "create_building", "create_house", "add_tenancy", "create_place",
                                 "inspect_place", "create_organisation", "create_thing", "add_household_member",
                                 "remove_household_member"},
    "civicgrid.people.care": {"start_care", "change_level", "end_care", "add_caretaker", "remove_caretaker", "log_visit",
                              "link_case_person", "scan_visits", "add_visit_photo", "open_visit_photo",
                              "create_care_type", "update_care_type"},
    "civicgrid.people.risk": {"recompute", "override", "clear_override", "recompute_all", "create_rule", "update_rule",
                              "recompute_now"},
    "civicgrid.people.importer": {"import_persons", "import_records", "resolve_review", "export_persons", "import_path"},
    "civicgrid.people.keys": {"rotate_data_key"},
}


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_function_is_classified(module_name):
    module = importlib.import_module(module_name)
    public = {n for n, o in vars(module).items() if inspect.isfunction(o) and o.__module__ == module_name
              and not n.startswith("_")}
    known = READ_ONLY[module_name] | MUTATING_NAMES[module_name] | EXEMPT.get(module_name, set())
    assert public - known == set(), f"classify {sorted(public - known)} (and test their audit)"
    assert known <= public, f"listed but gone: {sorted(known - public)}"


@pytest.mark.parametrize("name", sorted(f"{m.rsplit('.', 1)[1]}.{f}" for m, fs in MUTATING_NAMES.items() for f in fs))
def test_every_mutating_service_writes_an_audit_row(session, people, name):
    call = _mutating(people)[name]
    session.flush()
    before = session.scalar(select(func.max(AuditEntry.id))) or 0
    call(session)
    session.flush()
    entries = session.scalars(select(AuditEntry).where(AuditEntry.id > before)).all()
    assert entries, f"{name} changed data without an audit entry"
    # No identifier in clear in any audit entry.
    text = repr([(e.before, e.after, e.note) for e in entries])
    assert "13800000003" not in text and "13900000009" not in text


def test_every_choice_has_both_labels():
    for choices in (models.POPULATION_TYPES, models.ID_KINDS, models.GENDERS, models.RELATIONS, models.HOUSE_USES,
                    models.PLACE_KINDS, models.ORG_KINDS, models.THING_KINDS, models.CARE_LEVELS,
                    models.CARETAKER_KINDS, models.COLOUR_LABELS, importer.OUTCOMES, risk.SUBJECTS):
        for value, pair in choices.items():
            assert len(pair) == 2 and all(pair), value
    for code, _, _, _, _, zh, en in risk.DEFAULT_RULES:
        assert zh and en, code
    for code, _, zh, en, _ in care.DEFAULT_TYPES:
        assert zh and en, code
