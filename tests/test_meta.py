"""Meta-tests that keep the edges honest (STYLE.md rule 11): every mutating service writes an
audit row, every setting is documented, every workflow state and action is in the docs."""

from __future__ import annotations

import importlib
import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.audit.service import Origin, new_request_id
from civicgrid.auth import passwords
from civicgrid.auth.models import ROLE_LABELS, Role
from civicgrid.events.workflow import ACTIONS, STATE_LABELS, TRANSITIONS, CaseState
from civicgrid.settings import Settings

DOCS = Path(__file__).resolve().parents[1] / "docs"
ORIGIN = Origin("meta-test", request_id="meta")
PASSWORD = "a-long-password"

# Every public function of these service modules is either read-only or listed in MUTATING
# below with a way to call it. A new function that is neither makes this file fail.
SERVICE_MODULES = ["civicgrid.events.service", "civicgrid.events.config", "civicgrid.auth.service",
                   "civicgrid.units.service"]
READ_ONLY = {
    "civicgrid.events.service": {"get_case", "guard_allows", "allowed_actions", "timeline",
                                 "inbox_cases", "count_by_state", "reporter_channels"},
    "civicgrid.events.config": {"list_categories", "list_rules"},
    "civicgrid.auth.service": {"issue_token", "read_token", "claimed_user", "user_from_token", "new_csrf_token",
                               "api_key_valid", "sees_path", "list_api_keys", "find_api_key"},
    "civicgrid.units.service": {"list_units"},
}


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch):
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def _case(session, world, by="operator"):
    from civicgrid.events.intake import intake_case
    from civicgrid.events.schemas import CaseCreate

    lat, lon = world.grid_point("grid111")
    case, _ = intake_case(session=session, actor=world.users[by], origin=ORIGIN,
                          data=CaseCreate(category_code="EV0101", description="路灯不亮", lat=lat, lon=lon))
    return case


def _category_write(**kw):
    from civicgrid.events.schemas import CategoryWrite

    return CategoryWrite(**({"code": "ZZ01", "name_zh": "测试类别", "request_type": "help"} | kw))


def _rule_write(world):
    from civicgrid.events.schemas import RoutingRuleWrite

    return RoutingRuleWrite(region_id=world.regions["street1"].id, unit_id=world.units["zhujian"].id)


# (module, function) → (setup(session, world) -> kwargs, call(session, world, **kwargs))
def _mutating():
    from civicgrid.auth import service as auth
    from civicgrid.events import attachments, config, service
    from civicgrid.units import service as units

    admin = lambda w: w.users["admin"]  # noqa: E731
    return {
        ("civicgrid.events.service", "transition"): (
            lambda s, w: {"case_id": _case(s, w).id},
            lambda s, w, case_id: service.transition(session=s, actor=w.users["operator"], origin=ORIGIN,
                                                     case_id=case_id, action="register")),
        ("civicgrid.events.service", "system_transition"): (
            lambda s, w: {"case": _case(s, w)},
            lambda s, w, case: service.system_transition(session=s, origin=ORIGIN, case=case, action="escalate",
                                                         note="auto")),
        ("civicgrid.events.service", "add_comment"): (
            lambda s, w: {"case_id": _case(s, w).id},
            lambda s, w, case_id: service.add_comment(session=s, actor=w.users["operator"], origin=ORIGIN,
                                                      case_id=case_id, note="备注")),
        ("civicgrid.events.config", "create_category"): (
            lambda s, w: {},
            lambda s, w: config.create_category(session=s, actor=admin(w), origin=ORIGIN, data=_category_write())),
        ("civicgrid.events.config", "update_category"): (
            lambda s, w: {"category_id": w.categories["EV0101"].id},
            lambda s, w, category_id: config.update_category(
                session=s, actor=admin(w), origin=ORIGIN, category_id=category_id,
                data=_category_write(code="EV0101", name_zh="暴露垃圾（改）"))),
        ("civicgrid.events.config", "create_rule"): (
            lambda s, w: {},
            lambda s, w: config.create_rule(session=s, actor=admin(w), origin=ORIGIN, data=_rule_write(w))),
        ("civicgrid.events.config", "deactivate_rule"): (
            lambda s, w: {"rule_id": config.create_rule(session=s, actor=admin(w), origin=ORIGIN,
                                                        data=_rule_write(w)).id},
            lambda s, w, rule_id: config.deactivate_rule(session=s, actor=admin(w), origin=ORIGIN, rule_id=rule_id)),
        ("civicgrid.auth.service", "create_user"): (
            lambda s, w: {},
            lambda s, w: auth.create_user(session=s, actor=admin(w), origin=ORIGIN, username="meta.user",
                                          display_name="元", password=PASSWORD, role=Role.OPERATOR,
                                          scope_region_id=w.regions["street1"].id)),
        ("civicgrid.auth.service", "authenticate"): (
            lambda s, w: {},
            lambda s, w: auth.authenticate(session=s, username="operator", password="wrong", address="127.0.0.1")),
        ("civicgrid.auth.service", "create_api_key"): (
            lambda s, w: {},
            lambda s, w: auth.create_api_key(session=s, actor=admin(w), origin=ORIGIN, name="热线")),
        ("civicgrid.auth.service", "revoke_api_key"): (
            lambda s, w: {"ref": str(auth.create_api_key(session=s, actor=admin(w), origin=ORIGIN, name="热线")[0].id)},
            lambda s, w, ref: auth.revoke_api_key(session=s, actor=admin(w), origin=ORIGIN, ref=ref)),
        ("civicgrid.auth.service", "set_user_lang"): (
            lambda s, w: {},
            lambda s, w: auth.set_user_lang(session=s, user=w.users["operator"], origin=ORIGIN, lang="en")),
        ("civicgrid.units.service", "create_unit"): (
            lambda s, w: {},
            lambda s, w: units.create_unit(session=s, actor=admin(w), origin=ORIGIN, code="META", name_zh="元单位",
                                           name_en="Meta", kind="department", region_id=w.regions["district"].id)),
        # Mutating services outside the four modules above, listed by hand.
        ("civicgrid.events.intake", "intake_case"): (
            lambda s, w: {},
            lambda s, w: _case(s, w)),
        ("civicgrid.events.attachments", "add_attachment"): (
            lambda s, w: {"case_id": _case(s, w).id},
            lambda s, w, case_id: attachments.add_attachment(
                session=s, actor=w.users["operator"], origin=ORIGIN, case_id=case_id, filename="a.png",
                content=b"\x89PNG\r\n\x1a\n" + b"\x00" * 16)),
    }


def _public_functions(module_name: str) -> set[str]:
    module = importlib.import_module(module_name)
    return {name for name, obj in vars(module).items()
            if inspect.isfunction(obj) and obj.__module__ == module_name and not name.startswith("_")}


@pytest.mark.parametrize("module_name", SERVICE_MODULES)
def test_every_service_function_is_classified(module_name):
    mutating = {f for m, f in _mutating() if m == module_name}
    public = _public_functions(module_name)
    unclassified = public - mutating - READ_ONLY[module_name]
    assert not unclassified, f"{module_name}: say whether {sorted(unclassified)} mutate (and test their audit)"
    assert not (mutating & READ_ONLY[module_name])
    assert (mutating | READ_ONLY[module_name]) <= public, "a listed function no longer exists"


@pytest.mark.parametrize("target", sorted(_mutating()), ids=lambda t: f"{t[0].rsplit('.', 1)[-1]}.{t[1]}")
def test_every_mutating_service_writes_an_audit_row(session, world, target):
    setup, call = _mutating()[target]
    kwargs = setup(session, world)
    session.flush()
    before = session.scalar(select(func.count(AuditEntry.id)))
    call(session, world, **kwargs)
    session.flush()
    after = session.scalar(select(func.count(AuditEntry.id)))
    assert after > before, f"{target[0]}.{target[1]} changed data without an audit entry"
    newest = session.scalar(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1))
    assert newest.entity and newest.entity_id and newest.action


# -- settings ----------------------------------------------------------------------------


def test_every_setting_is_documented():
    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\|\s*`(\w+)`\s*\|\s*`(CIVICGRID_\w+)`", text, re.M)}
    for name, field in Settings.model_fields.items():
        assert name in rows, f"docs/settings.md has no row for setting {name}"
        assert rows[name] == f"CIVICGRID_{name.upper()}"
        assert field.description, f"Settings.{name} needs a description"
    assert set(rows) <= set(Settings.model_fields), f"documented but gone: {set(rows) - set(Settings.model_fields)}"


# -- workflow ----------------------------------------------------------------------------


def test_every_state_and_action_is_in_the_workflow_doc():
    text = (DOCS / "workflow.md").read_text(encoding="utf-8")
    for state, (zh, en) in STATE_LABELS.items():
        assert f"`{state.value}`" in text, state
        assert zh in text and en in text, (state, zh, en)
    for action in ACTIONS:
        assert f"`{action}`" in text, action
    for t in TRANSITIONS:
        assert t.label_zh in text and t.label_en in text, t.action
        if t.condition:
            assert f"`{t.condition}`" in text, t.condition
        if t.clock:
            assert f"`{t.clock.value}`" in text, t.clock
        assert f"| `{t.action}` | {t.label_zh} | {t.label_en} |" in text, f"no table row for {t.action}"


def test_every_state_has_labels_in_both_languages():
    assert set(STATE_LABELS) == set(CaseState)
    for zh, en in STATE_LABELS.values():
        assert re.search(r"[\u4e00-\u9fff]", zh) and en.isascii() and en


def test_every_role_has_labels_in_both_languages():
    assert set(ROLE_LABELS) == set(Role)
    for zh, en in ROLE_LABELS.values():
        assert re.search(r"[\u4e00-\u9fff]", zh) and en.isascii() and en


def test_every_response_carries_the_request_id_the_audit_trail_records(client):
    sent = client.get("/healthz", headers={"X-Request-ID": "trace-42"})
    assert sent.headers["x-request-id"] == "trace-42"
    fresh = client.get("/healthz").headers["x-request-id"]
    assert len(fresh) == 32 and fresh != client.get("/healthz").headers["x-request-id"]
    missing = client.get("/api/no-such-thing", headers={"X-Request-ID": "trace-43"})
    assert missing.status_code == 404 and missing.headers["x-request-id"] == "trace-43"


def test_a_fresh_request_id_never_reads_the_system_random_source(client, monkeypatch):
    """os.urandom lets go of the GIL, and under intake load the event loop then waits for the
    committer to hand it back on every request (bench/bench_intake.py): ids come from ``random``."""

    def refuse(n):
        raise AssertionError("request ids must not read os.urandom")

    monkeypatch.setattr("os.urandom", refuse)
    ids = {new_request_id() for _ in range(1000)}
    assert len(ids) == 1000 and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)
    fresh = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", fresh)


def test_the_code_passes_the_pinned_linter():
    """``ruff`` (pinned in pyproject.toml, rules in its [tool.ruff]) finds nothing in src, tests or bench."""
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "src", "tests", "bench"],
                          cwd=root, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
