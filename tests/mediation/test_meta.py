"""Meta-tests for disputes and petitions (STYLE.md rule 11): every public service function is
either read-only or listed here and shown to write an audit row; every state and action of
both workflows appears in the docs; every public function has a docstring."""

from __future__ import annotations

import datetime as dt
import importlib
import inspect
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.mediation.workflow import WORKFLOW as DISPUTES
from civicgrid.petitions.workflow import WORKFLOW as PETITIONS

from .conftest import ORIGIN, citizen_id

DOCS = Path(__file__).resolve().parents[2] / "docs"
MODULES = ["civicgrid.mediation.service", "civicgrid.mediation.registry", "civicgrid.mediation.campaigns",
           "civicgrid.mediation.parties", "civicgrid.mediation.stats", "civicgrid.mediation.agreement_pdf",
           "civicgrid.mediation.scheduler", "civicgrid.petitions.service", "civicgrid.petitions.scheduler",
           "civicgrid.petitions.documents"]
READ_ONLY = {
    "civicgrid.mediation.service": {"get_dispute", "guard_allows", "condition_holds",
                                    "allowed_actions", "desk_for", "dispute_number", "notify_about",
                                    "responsible_users", "timeline", "sessions_of", "agreement_of", "follow_ups_of",
                                    "list_disputes", "my_disputes", "case_dispute"},
    "civicgrid.mediation.registry": {"list_types", "type_by_code", "get_org", "list_orgs", "list_mediators",
                                     "mediator_records", "org_loads", "mediator_loads", "target_level",
                                     "covering_paths", "suggest", "suggest_mediator"},
    "civicgrid.mediation.campaigns": {"get_campaign", "list_campaigns", "communities_of", "board"},
    # add_parties is audited by its callers (intake and add_party), in the same transaction.
    "civicgrid.mediation.parties": {"resolve_person", "add_parties", "parties_of", "parties_of_many", "party_read"},
    "civicgrid.mediation.stats": {"dispute_stats"},
    "civicgrid.mediation.agreement_pdf": {"render"},
    "civicgrid.mediation.scheduler": {"run_once"},
    "civicgrid.petitions.service": {"petition_scope", "get_petition", "guard_allows", "condition_holds",
                                    "allowed_actions", "list_subjects", "subject_by_code", "detect_related",
                                    "lookup", "petition_number", "notify_about", "responsible_users",
                                    "petitioners_of", "petitioners_of_many", "related_of", "higher_visits_of",
                                    "linked_outcome", "linked_outcomes",
                                    "timeline", "list_petitions", "deadline_board", "later_of", "elsewhere_of"},
    "civicgrid.petitions.documents": {"check_document", "documents_of"},
    "civicgrid.petitions.scheduler": {"run_once"},
}


MUTATING = [
    ("civicgrid.mediation.service", "register_dispute"), ("civicgrid.mediation.service", "dispute_from_case"),
    ("civicgrid.mediation.service", "transition"), ("civicgrid.mediation.service", "record_session"),
    ("civicgrid.mediation.service", "record_agreement"), ("civicgrid.mediation.service", "add_party"),
    ("civicgrid.mediation.registry", "save_type"), ("civicgrid.mediation.registry", "create_org"),
    ("civicgrid.mediation.registry", "add_mediator"), ("civicgrid.mediation.campaigns", "create_campaign"),
    ("civicgrid.mediation.campaigns", "refresh_campaign"), ("civicgrid.mediation.campaigns", "update_item"),
    ("civicgrid.mediation.agreement_pdf", "render_for"), ("civicgrid.mediation.scheduler", "scan"),
    ("civicgrid.petitions.service", "save_subject"), ("civicgrid.petitions.service", "register_petition"),
    ("civicgrid.petitions.service", "transition"), ("civicgrid.petitions.scheduler", "scan"),
    ("civicgrid.petitions.documents", "attach"), ("civicgrid.petitions.documents", "add_document"),
    ("civicgrid.petitions.documents", "document_file"),
]


def _public(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    return {name for name, fn in inspect.getmembers(module, inspect.isfunction)
            if not name.startswith("_") and fn.__module__ == module_name}


def _mutating(med):
    """(module, function) → a call that must add at least one audit row."""
    from civicgrid.mediation import agreement_pdf, campaigns, registry, scheduler, service
    from civicgrid.mediation.schemas import CampaignCreate, DisputeCreate, DisputeFromCase, PartyIn
    from civicgrid.petitions import (
        documents as petition_documents,
        scheduler as petition_scheduler,
        service as petitions,
    )
    from civicgrid.petitions.schemas import PetitionCreate, PetitionerIn

    s, op, admin = med.session, med.user("operator"), med.user("admin")
    today = med.now.date()

    def agreed():
        return med.to_agreement(med.register(), ("甲", "付款", Decimal("1"), 1))

    def case_id():
        from civicgrid.events.intake import intake_case
        from civicgrid.events.schemas import CaseCreate

        lat, lon = med.world.grid_point("grid111")
        return intake_case(session=s, actor=op, origin=ORIGIN, data=CaseCreate(
            category_code="GV0101", description="邻里纠纷", lat=lat, lon=lon))[0].id

    def petition():
        return petitions.register_petition(session=s, actor=op, origin=ORIGIN, data=PetitionCreate(
            subject_code="LAND", request="诉求", petitioners=[PetitionerIn(id_number=citizen_id(90), name="甲")]))[0]

    def campaign():
        return campaigns.create_campaign(session=s, actor=op, origin=ORIGIN, data=CampaignCreate(
            name="清零", starts_on=today, ends_on=today + dt.timedelta(days=9),
            community_ids=[med.world.regions["community11"].id]))

    def document(p=None):
        return petition_documents.DocumentIn(filename="信.pdf", content=b"%PDF-1.4 meta " + str(id(p)).encode())

    def stored_document():
        return petition_documents.add_document(session=s, actor=op, origin=ORIGIN, petition_id=petition().id,
                                               doc=document())

    return {
        ("civicgrid.petitions.documents", "attach"): lambda: (lambda p: petition_documents.attach(
            session=s, actor=op, origin=ORIGIN, petition=p, doc=document(p)))(petition()),
        ("civicgrid.petitions.documents", "add_document"): stored_document,
        ("civicgrid.petitions.documents", "document_file"): lambda: (lambda d: petition_documents.document_file(
            session=s, actor=op, origin=ORIGIN, document_id=d.id))(stored_document()),
        ("civicgrid.mediation.service", "register_dispute"): lambda: service.register_dispute(
            session=s, actor=op, origin=ORIGIN, data=DisputeCreate(type_code="OTHER", description="纠纷")),
        ("civicgrid.mediation.service", "dispute_from_case"): lambda: service.dispute_from_case(
            session=s, actor=op, origin=ORIGIN, case_id=case_id(), data=DisputeFromCase(type_code="OTHER")),
        ("civicgrid.mediation.service", "transition"): lambda: med.fire(med.register(), "assess"),
        ("civicgrid.mediation.service", "record_session"): lambda: service.record_session(
            session=s, actor=med.user("med_c11"), origin=ORIGIN, dispute_id=med.to_mediating(med.register()).id,
            data=med.session_in(), now=med.tick()),
        ("civicgrid.mediation.service", "record_agreement"): lambda: agreed(),
        ("civicgrid.mediation.service", "add_party"): lambda: service.add_party(
            session=s, actor=op, origin=ORIGIN, dispute_id=med.register().id,
            data=PartyIn(role="applicant", id_number=citizen_id(91), name="乙")),
        ("civicgrid.mediation.registry", "save_type"): lambda: registry.save_type(
            session=s, actor=admin, origin=ORIGIN, code="META", name_zh="元类型"),
        ("civicgrid.mediation.registry", "create_org"): lambda: registry.create_org(
            session=s, actor=admin, origin=ORIGIN, code="META-ORG", name_zh="元调委会", kind="people",
            region_id=med.world.regions["community21"].id),
        ("civicgrid.mediation.registry", "add_mediator"): lambda: registry.add_mediator(
            session=s, actor=admin, origin=ORIGIN, org_id=med.orgs["c12"].id, name="元调解员"),
        ("civicgrid.mediation.campaigns", "create_campaign"): campaign,
        ("civicgrid.mediation.campaigns", "refresh_campaign"): lambda: (
            lambda c: (med.register(), campaigns.refresh_campaign(session=s, actor=op, origin=ORIGIN,
                                                                  campaign_id=c.id)))(campaign()),
        ("civicgrid.mediation.campaigns", "update_item"): lambda: (
            lambda c: campaigns.update_item(session=s, actor=op, origin=ORIGIN, campaign_id=c.id,
                                            item_id=campaigns.board(session=s, actor=op, campaign_id=c.id).items[0].id,
                                            owner_user_id=op.id, target_on=today))(
            (med.register(), campaign())[1]),
        ("civicgrid.mediation.agreement_pdf", "render_for"): lambda: agreement_pdf.render_for(
            session=s, actor=op, origin=ORIGIN, dispute_id=agreed().id),
        ("civicgrid.mediation.scheduler", "scan"): lambda: (agreed(), scheduler.scan(
            session=s, now=med.now + dt.timedelta(days=30))),
        ("civicgrid.petitions.service", "save_subject"): lambda: petitions.save_subject(
            session=s, actor=admin, origin=ORIGIN, code="META", name_zh="元事项"),
        ("civicgrid.petitions.service", "register_petition"): petition,
        ("civicgrid.petitions.service", "transition"): lambda: petitions.transition(
            session=s, actor=op, origin=ORIGIN, petition_id=petition().id, action="triage",
            params=petitions.PetitionParams(unit_id=med.world.units["zhujian"].id)),
        ("civicgrid.petitions.scheduler", "scan"): lambda: (petition(), petition_scheduler.scan(
            session=s, now=dt.datetime.now(dt.UTC) + dt.timedelta(days=60))),
    }


def test_every_public_service_function_is_read_only_or_audited_here():
    listed = set(MUTATING)
    for module_name in MODULES:
        for name in _public(module_name):
            assert name in READ_ONLY.get(module_name, set()) or (module_name, name) in listed, \
                f"{module_name}.{name} is neither read-only nor listed as mutating"


@pytest.mark.parametrize("key", MUTATING, ids=lambda k: f"{k[0].rsplit('.', 1)[1]}.{k[1]}")
def test_each_mutating_function_writes_an_audit_row(med, session, key):
    calls = _mutating(med)
    assert sorted(calls) == sorted(MUTATING)
    before = session.scalar(select(func.count(AuditEntry.id)))
    calls[key]()
    after = session.scalar(select(func.count(AuditEntry.id)))
    assert after > before, f"{key[0]}.{key[1]} wrote no audit row"


@pytest.mark.parametrize("module_name", MODULES)
def test_every_public_function_has_a_docstring(module_name):
    module = importlib.import_module(module_name)
    for name in _public(module_name):
        assert (getattr(module, name).__doc__ or "").strip(), f"{module_name}.{name} has no docstring"


@pytest.mark.parametrize("table, doc", [(DISPUTES, "mediation.md"), (PETITIONS, "petitions.md")])
def test_every_state_and_action_is_documented(table, doc):
    text = (DOCS / doc).read_text(encoding="utf-8")
    for action in table.actions:
        assert action in text, f"{action} missing from docs/{doc}"
    for state in table.states:
        assert state.value in text, f"state {state.value} missing from docs/{doc}"
