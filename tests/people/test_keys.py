"""Rotating the data key: every ID number and phone (persons, places, caretakers, the review queue)
re-encrypted and re-hashed with the new key, nothing lost, lookups and the review queue's dedupe still
working under the new key; a wrong old key or a damaged value changes nothing; the CLI command."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from civicgrid.audit.models import AuditEntry
from civicgrid.cli import app
from civicgrid.errors import InvalidInput
from civicgrid.people import care, crypto, importer, keys, service
from civicgrid.people.models import Caretaker, Person, Place, ReviewItem
from civicgrid.people.schemas import CareCreate, CaretakerCreate, PersonCreate, PlaceCreate
from civicgrid.settings import get_settings
from tests.people.conftest import ORIGIN, new_id

NEW_KEY = "a-brand-new-data-key-for-2027"


@pytest.fixture
def sealed(session, people, monkeypatch):
    """Persons with resident IDs, another document and phones; a place's and a caretaker's phone; a review item."""
    w = people.world
    op = w.users["operator"]
    grid = w.regions["grid111"].code
    a = people.add("钱一", id_number=new_id(dt.date(1971, 1, 1)), phone="13811110001")
    b = service.create_person(session=session, actor=op, origin=ORIGIN, data=PersonCreate(
        name="Anna Meier", id_kind="passport", id_number="C01X00T47", birth_date=dt.date(1990, 2, 2), gender="F",
        phone="+49 30 1234567", region_code=grid))
    c = people.add("钱三", id_number=None, birth_date=dt.date(1975, 5, 5), phone="13911112222")
    place = service.create_place(session=session, actor=op, origin=ORIGIN, data=PlaceCreate(
        name="网吧", kind="internet_cafe", region_code=grid, contact_phone="13722223333"))
    record = care.start_care(session=session, actor=op, origin=ORIGIN, person_id=a.id,
                             data=CareCreate(type_code="drug_rehab", reason="社区康复"))
    keeper = care.add_caretaker(session=session, actor=op, origin=ORIGIN, care_id=record.id,
                                data=CaretakerCreate(kind="family", name="钱家属", phone="13633334444"))
    files = []
    for phone, source in (("13911112222", "公安"), ("13500005555", "民政")):
        content = f"姓名,出生日期,性别,联系电话,网格编码\n钱三,1975-05-05,女,{phone},{grid}\n".encode()
        files.append((content, source))
        importer.import_persons(session=session, actor=op, origin=ORIGIN, stream=io.BytesIO(content), filename="q.csv",
                                source=source)
    item = session.scalar(select(ReviewItem).where(ReviewItem.status == "open"))
    assert item is not None
    clear = _clear(session)
    return {"persons": (a, b, c), "place": place, "caretaker": keeper, "item": item, "files": files, "clear": clear}


def _clear(session, secret=None):
    """Every sealed value in clear, by record (what must survive a rotation)."""
    out = {}
    for p in session.scalars(select(Person)):
        out[("person", p.id)] = (crypto.decrypt(p.id_cipher, kind="id", secret=secret),
                                 crypto.decrypt(p.phone_cipher, kind="phone", secret=secret))
    for pl in session.scalars(select(Place)):
        out[("place", pl.id)] = crypto.decrypt(pl.contact_phone_cipher, kind="phone", secret=secret)
    for k in session.scalars(select(Caretaker)):
        out[("caretaker", k.id)] = crypto.decrypt(k.phone_cipher, kind="phone", secret=secret)
    for i in session.scalars(select(ReviewItem)):
        out[("review", i.id)] = (crypto.decrypt(i.incoming_id_cipher, kind="id", secret=secret),
                                 crypto.decrypt(i.incoming_phone_cipher, kind="phone", secret=secret))
    return out


def _use_key(monkeypatch, key):
    monkeypatch.setattr(get_settings(), "data_key", key)


def test_rotation_keeps_every_value_and_lookups_work_with_the_new_key(session, people, sealed, monkeypatch):
    old_key = get_settings().data_key
    a, b, c = sealed["persons"]
    old_hash = a.id_hash
    counts = session.scalar(select(func.count(Person.id)))
    done = keys.rotate_data_key(session=session, origin=ORIGIN, old_key=old_key, new_key=NEW_KEY)
    assert (done.persons, done.id_numbers, done.phones) == (counts, 2, counts)
    assert (done.place_phones, done.caretaker_phones, done.review_items, done.review_keys_kept) == (1, 1, 1, 0)
    assert session.scalar(select(func.count(Person.id))) == counts
    # The old key opens nothing any more; the new key opens everything, to the same clear values.
    session.refresh(a)
    with pytest.raises(crypto.DataKeyError):
        crypto.decrypt(a.id_cipher, kind="id", secret=old_key)
    assert a.id_hash != old_hash
    assert _clear(session, secret=NEW_KEY) == sealed["clear"]
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "data_key", AuditEntry.action == "rotate"))
    assert entry.after["persons"] == counts and NEW_KEY not in repr(entry.after) and old_key not in repr(entry.after)

    _use_key(monkeypatch, NEW_KEY)
    number_a, _ = sealed["clear"][("person", a.id)]
    assert service.find_by_document(session=session, kind="resident", number=number_a).id == a.id
    assert service.find_by_document(session=session, kind="passport", number="C01X00T47").id == b.id
    w = people.world
    found, _ = service.search_persons(session=session, actor=w.users["operator"], query=service.PersonQuery(q="13911112222"))
    assert [p.id for p in found] == [c.id]
    value, _ = service.reveal(session=session, actor=w.users["operator"], origin=ORIGIN, person_id=b.id,
                              field="phone", reason="核实联系方式")
    assert value == sealed["clear"][("person", b.id)][1] and value.startswith("+49")
    # One record per document still holds under the new key.
    with pytest.raises(Exception, match="已登记|registered"):
        people.add("钱一二", id_number=number_a)


def test_the_review_queue_still_asks_each_question_once_and_merges(session, people, sealed, monkeypatch):
    keys.rotate_data_key(session=session, origin=ORIGIN, old_key=get_settings().data_key, new_key=NEW_KEY)
    _use_key(monkeypatch, NEW_KEY)
    w = people.world
    content, source = sealed["files"][1]
    again = importer.import_persons(session=session, actor=w.users["operator"], origin=ORIGIN, stream=io.BytesIO(content),
                                    filename="q.csv", source=source)
    assert again.counts["queued"] == 1 and "已在待核对队列" in again.items[0].zh
    assert session.scalar(select(func.count(ReviewItem.id))) == 1
    item = sealed["item"]
    person = importer.resolve_review(session=session, actor=w.users["operator"], origin=ORIGIN, item_id=item.id,
                                     decision="merge")
    assert person.phone_masked == "135****5555"
    assert crypto.decrypt(person.phone_cipher, kind="phone") == "13500005555"


def test_an_item_whose_key_cannot_be_rebuilt_keeps_it_and_is_counted(session, people, sealed):
    item = sealed["item"]
    item.dedupe_key = "0" * 64  # as if built by an older importer from a position we no longer have
    session.flush()
    done = keys.rotate_data_key(session=session, origin=ORIGIN, old_key=get_settings().data_key, new_key=NEW_KEY)
    assert done.review_keys_kept == 1 and any("could not be rebuilt" in line for line in done.lines())
    session.refresh(item)
    assert item.dedupe_key == "0" * 64
    assert crypto.decrypt(item.incoming_phone_cipher, kind="phone", secret=NEW_KEY) == "13500005555"


def test_a_wrong_old_key_or_a_damaged_value_changes_nothing(session, people, sealed):
    with pytest.raises(InvalidInput) as err:
        keys.rotate_data_key(session=session, origin=ORIGIN, old_key="not-the-key-in-use-at-all", new_key=NEW_KEY)
    assert "无法用当前数据密钥解密" in err.value.detail_zh and "cannot be decrypted" in err.value.detail_en
    a, _, _ = sealed["persons"]
    a.phone_cipher = a.phone_cipher[:-1] + bytes([a.phone_cipher[-1] ^ 1])
    session.flush()
    with pytest.raises(InvalidInput, match=f"{a.id}"):
        with session.begin_nested():
            keys.rotate_data_key(session=session, origin=ORIGIN, old_key=get_settings().data_key, new_key=NEW_KEY)
    session.expire_all()
    # Rolled back: everything else still opens with the old key.
    assert crypto.decrypt(session.get(Place, sealed["place"].id).contact_phone_cipher, kind="phone") == "13722223333"
    assert session.scalar(select(func.count(AuditEntry.id)).where(AuditEntry.entity == "data_key")) == 0


@pytest.mark.parametrize("new_key, words", [
    ("short", ("至少", "at least")),
    ("civicgrid-demo-data-key-change-me", ("默认", "demo key")),
    (None, ("相同", "same")),
])
def test_bad_new_keys_are_refused(session, people, new_key, words):
    old = get_settings().data_key if new_key else NEW_KEY
    with pytest.raises(InvalidInput) as err:
        keys.rotate_data_key(session=session, origin=ORIGIN, old_key=old, new_key=new_key or old)
    assert words[0] in err.value.detail_zh and words[1] in err.value.detail_en


def test_dry_run_checks_and_writes_nothing(session, people, sealed):
    done = keys.rotate_data_key(session=session, origin=ORIGIN, old_key=get_settings().data_key, new_key=NEW_KEY,
                                dry_run=True)
    assert done.dry_run and done.phones >= 3
    assert _clear(session) == sealed["clear"]  # still the old key
    assert session.scalar(select(AuditEntry.action).where(AuditEntry.entity == "data_key")) == "rotate_check"


def test_cli_rotate_key(session, people, sealed, monkeypatch):
    runner = CliRunner()
    check = runner.invoke(app, ["people", "rotate-key", "--dry-run"], env={"CIVICGRID_NEW_DATA_KEY": NEW_KEY})
    assert check.exit_code == 0, check.output
    assert "nothing was changed" in check.output
    refused = runner.invoke(app, ["people", "rotate-key", "--yes"], env={"CIVICGRID_NEW_DATA_KEY": "short"})
    assert refused.exit_code == 1 and "错误：" in refused.output and "Error: " in refused.output
    aborted = runner.invoke(app, ["people", "rotate-key"], env={"CIVICGRID_NEW_DATA_KEY": NEW_KEY}, input="n\n")
    assert aborted.exit_code != 0
    assert _clear(session) == sealed["clear"]
    done = runner.invoke(app, ["people", "rotate-key", "--yes"], env={"CIVICGRID_NEW_DATA_KEY": NEW_KEY})
    assert done.exit_code == 0, done.output
    assert "CIVICGRID_DATA_KEY" in done.output and "persons:" in done.output
    assert _clear(session, secret=NEW_KEY) == sealed["clear"]
    # Prompted (hidden, twice) when no environment variable holds it; the old key from another variable.
    _use_key(monkeypatch, "whatever-the-settings-say-now")
    again = runner.invoke(app, ["people", "rotate-key", "--yes", "--old-key-env", "OLD_KEY"],
                          env={"OLD_KEY": NEW_KEY, "CIVICGRID_NEW_DATA_KEY": ""},
                          input="yet-another-data-key-2028\nyet-another-data-key-2028\n")
    assert again.exit_code == 0, again.output
    assert _clear(session, secret="yet-another-data-key-2028") == sealed["clear"]
