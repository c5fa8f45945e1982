"""`civicgrid apikey list` and `civicgrid apikey revoke` against a real temporary SQLite file, with the
Open311 API of the same database refusing a revoked key on the very next request."""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from civicgrid import db as dbmod
from civicgrid.cli import app
from tests.cli.conftest import LAT0, LON0, import_small_city

runner = CliRunner()
KEY = re.compile(r"^cg_[A-Za-z0-9_\-]{40,}$", re.M)


@pytest.fixture(scope="module")
def keys_db(cli_db, tmp_path_factory):
    """A migrated temporary SQLite file with a small city and the categories; the suite's engine returns after."""
    import_small_city(tmp_path_factory)
    return cli_db


@pytest.fixture(scope="module")
def open311(keys_db):
    from civicgrid.app import create_app

    with TestClient(create_app(start_scheduler=False), raise_server_exceptions=False) as client:
        yield client


def _create(name: str) -> tuple[int, str]:
    result = runner.invoke(app, ["apikey", "create", "--name", name])
    assert result.exit_code == 0, result.output
    return int(re.search(r"#(\d+)", result.output).group(1)), KEY.search(result.output).group(0)


def _file(client: TestClient, key: str):
    return client.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": "EV0101", "lat": LAT0 + 0.01, "long": LON0 + 0.005,
        "description": "路口垃圾没人清理"})


def _audit(action: str, key_id: int):
    from civicgrid.audit.models import AuditEntry

    with dbmod.unit_of_work() as session:
        return [(e.channel, e.before, e.after) for e in session.scalars(
            select(AuditEntry).where(AuditEntry.entity == "api_key", AuditEntry.entity_id == str(key_id),
                                     AuditEntry.action == action))]


def test_list_says_when_there_are_no_keys(keys_db):
    result = runner.invoke(app, ["apikey", "list"])
    assert result.exit_code == 0 and "no API keys yet" in result.output


def test_list_shows_name_created_last_use_and_status_but_never_the_key(keys_db, open311):
    key_id, raw = _create("12345热线前端")
    listed = runner.invoke(app, ["apikey", "list"])
    assert listed.exit_code == 0
    row = next(line for line in listed.output.splitlines() if line.startswith(f"#{key_id} "))
    assert "12345热线前端" in row and f"{raw[:10]}…" in row and "有效 active" in row
    assert row.rstrip().endswith("有效 active") and " — " in row  # never used yet
    assert raw not in listed.output and raw[:11] not in listed.output
    assert _file(open311, raw).status_code == 200
    used = runner.invoke(app, ["apikey", "list", "--json"])
    [entry] = [json.loads(line) for line in used.output.splitlines() if json.loads(line)["id"] == key_id]
    assert entry["name"] == "12345热线前端" and entry["active"] is True and entry["revoked_at"] is None
    assert entry["last_used_at"] and entry["created_at"] <= entry["last_used_at"]
    assert set(entry) == {"id", "name", "prefix", "created_at", "last_used_at", "active", "revoked_at"}
    assert raw not in used.output


def test_revoke_by_name_is_refused_by_open311_at_once_and_audited(keys_db, open311):
    key_id, raw = _create("街道便民APP")
    assert _file(open311, raw).status_code == 200
    result = runner.invoke(app, ["apikey", "revoke", "街道便民APP"])
    assert result.exit_code == 0, result.output
    assert f"已停用 API 密钥 #{key_id}" in result.output and "revoked" in result.output
    refused = _file(open311, raw)
    assert refused.status_code == 403
    assert "api_key" in refused.json()[0]["description"]
    [(channel, before, after)] = _audit("revoke", key_id)
    assert channel == "cli" and before == {"active": True} and after["active"] is False
    assert after["name"] == "街道便民APP" and after["prefix"] == raw[:10]
    row = next(line for line in runner.invoke(app, ["apikey", "list"]).output.splitlines()
               if line.startswith(f"#{key_id} "))
    assert "已停用 revoked 20" in row


def test_revoke_by_id_and_again_is_harmless(keys_db, open311):
    key_id, raw = _create("区网格化中心")
    assert runner.invoke(app, ["apikey", "revoke", str(key_id)]).exit_code == 0
    again = runner.invoke(app, ["apikey", "revoke", f"#{key_id}"])
    assert again.exit_code == 0 and "已停用" in again.output and "already revoked" in again.output
    assert len(_audit("revoke", key_id)) == 1
    assert _file(open311, raw).status_code == 403


def test_a_shared_name_names_the_active_key_or_asks_for_the_id(keys_db, open311):
    old_id, old = _create("轮换客户端")
    assert runner.invoke(app, ["apikey", "revoke", f"#{old_id}"]).exit_code == 0
    new_id, new = _create("轮换客户端")
    assert runner.invoke(app, ["apikey", "revoke", "轮换客户端"]).exit_code == 0
    assert len(_audit("revoke", new_id)) == 1 and _file(open311, new).status_code == 403
    first, _ = _create("双胞胎")
    second, _ = _create("双胞胎")
    ambiguous = runner.invoke(app, ["apikey", "revoke", "双胞胎"])
    assert ambiguous.exit_code == 1
    assert f"#{first}" in ambiguous.output and f"#{second}" in ambiguous.output
    assert "错误" in ambiguous.output and "Error: Several active API keys" in ambiguous.output
    assert _audit("revoke", first) == [] and _audit("revoke", second) == []


def test_a_digit_name_that_is_also_an_id_must_be_told_apart(keys_db):
    key_id, _ = _create("临时")
    named_id, _ = _create(str(key_id))  # a key whose name is the other key's id
    clash = runner.invoke(app, ["apikey", "revoke", str(key_id)])
    assert clash.exit_code == 1 and f"#{key_id}" in clash.output
    assert runner.invoke(app, ["apikey", "revoke", f"#{key_id}"]).exit_code == 0
    assert _audit("revoke", key_id) and not _audit("revoke", named_id)


@pytest.mark.parametrize("ref", ["没有这个", "#999999", "999999", "#x"])
def test_unknown_keys_are_refused_bilingually(keys_db, ref):
    result = runner.invoke(app, ["apikey", "revoke", ref])
    assert result.exit_code == 1
    assert "错误：" in result.output and "Error: API key" in result.output and "Traceback" not in result.output
