"""Rotating the data key (``CIVICGRID_DATA_KEY``): every sealed identifier re-encrypted and re-hashed.

ID numbers and phones are stored as AES-GCM ciphertext plus an HMAC lookup hash, both keyed from the
data key (``people/crypto.py``). Changing the key alone would leave every stored value unreadable and
every lookup missing, so rotation opens each value with the old key, seals it with the new one and
recomputes its lookup hash — persons (document and phone), places' contact phones, caretakers' phones,
and the review queue (its sealed identifiers, the hashes it keeps and the dedupe keys built from them).

All of it happens in the caller's one transaction: a value the old key cannot open refuses the whole
rotation and nothing is written. Run it with every civicgrid process stopped, then start them with the
new key (``civicgrid people rotate-key`` says so).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.errors import InvalidInput
from civicgrid.people import crypto
from civicgrid.people.importer import review_dedupe_key
from civicgrid.people.models import Caretaker, Person, Place, ReviewItem
from civicgrid.people.service import document_hash
from civicgrid.settings import DEFAULT_DATA_KEY

BATCH = 2_000
MIN_KEY_LENGTH = 16


@dataclass
class Rotation:
    """What a rotation re-sealed (or, in a dry run, checked)."""

    persons: int = 0
    id_numbers: int = 0
    phones: int = 0
    place_phones: int = 0
    caretaker_phones: int = 0
    review_items: int = 0
    review_keys_kept: int = 0
    dry_run: bool = False

    def lines(self) -> list[str]:
        """The counts, one line each in Chinese and English."""
        return [
            f"人员档案 persons: {self.persons:,}（证件号码 ID numbers {self.id_numbers:,}，电话 phones {self.phones:,}）",
            f"场所联系电话 place contact phones: {self.place_phones:,}",
            f"帮扶人电话 caretaker phones: {self.caretaker_phones:,}",
            f"待核对记录 review items: {self.review_items:,}"
            + (f"（{self.review_keys_kept:,} 条的去重键无法重建，重新导入同一行时会再问一次 / "
               f"{self.review_keys_kept:,} dedupe keys could not be rebuilt: the same row imported again is asked again)"
               if self.review_keys_kept else ""),
        ]


def check_new_key(old_key: str, new_key: str) -> None:
    """Refuse a new key that is empty, short, the shipped default, or the same as the old one."""
    if not new_key or len(new_key) < MIN_KEY_LENGTH:
        raise InvalidInput(f"新数据密钥至少 {MIN_KEY_LENGTH} 个字符", f"The new data key needs at least {MIN_KEY_LENGTH} characters")
    if new_key == DEFAULT_DATA_KEY:
        raise InvalidInput("新数据密钥不能是默认的演示密钥", "The new data key cannot be the shipped demo key")
    if new_key == old_key:
        raise InvalidInput("新数据密钥与当前密钥相同", "The new data key is the same as the current one")


class _Resealer:
    """Open with the old key, seal and hash with the new one; a value the old key cannot open stops everything."""

    def __init__(self, old_key: str, new_key: str) -> None:
        self.old, self.new = old_key, new_key

    def open(self, blob: bytes | None, kind: str, what_zh: str, what_en: str) -> str | None:
        try:
            return crypto.decrypt(blob, kind=kind, secret=self.old)
        except crypto.DataKeyError:
            raise InvalidInput(
                f"{what_zh}无法用当前数据密钥解密：密钥不对，或数据已用其他密钥轮换过。未做任何修改",
                f"{what_en} cannot be decrypted with the current data key: a wrong key, or the data was already "
                f"rotated to another key. Nothing was changed",
            ) from None

    def seal(self, value: str | None, kind: str) -> bytes | None:
        return crypto.encrypt(value, kind=kind, secret=self.new)

    def phone_hash(self, phone: str | None) -> str | None:
        return crypto.lookup_hash(phone, kind="phone", secret=self.new)


def _batches(session: Session, columns: tuple[Any, ...], id_column: Any, where: Any) -> Any:
    last = 0
    while True:
        rows = session.execute(select(*columns).where(where, id_column > last).order_by(id_column).limit(BATCH)).all()
        if not rows:
            return
        yield rows
        last = rows[-1][0]


def rotate_data_key(*, session: Session, origin: Origin, old_key: str, new_key: str,
                    dry_run: bool = False) -> Rotation:
    """Re-seal every stored identifier from ``old_key`` to ``new_key`` in this transaction; audited.

    ``dry_run`` opens every value with the old key and counts, writing nothing: proof that the old
    key is the right one before the real run.
    """
    check_new_key(old_key, new_key)
    keys = _Resealer(old_key, new_key)
    done = Rotation(dry_run=dry_run)

    # Persons: the document (its hash depends on the document kind) and the phone.
    for rows in _batches(session, (Person.id, Person.id_kind, Person.id_cipher, Person.phone_cipher), Person.id,
                         (Person.id_cipher.is_not(None)) | (Person.phone_cipher.is_not(None))):
        changes = []
        for pid, id_kind, id_cipher, phone_cipher in rows:
            change: dict[str, Any] = {"id": pid}
            if id_cipher is not None:
                number = keys.open(id_cipher, "id", f"人员档案 {pid} 的证件号码", f"The document number of person {pid}")
                change["id_cipher"] = keys.seal(number, "id")
                change["id_hash"] = document_hash(id_kind or "resident", number, secret=new_key)  # type: ignore[arg-type]
                done.id_numbers += 1
            if phone_cipher is not None:
                phone = keys.open(phone_cipher, "phone", f"人员档案 {pid} 的电话", f"The phone of person {pid}")
                change["phone_cipher"] = keys.seal(phone, "phone")
                change["phone_hash"] = keys.phone_hash(phone)
                done.phones += 1
            changes.append(change)
        done.persons += len(changes)
        if not dry_run:
            _write(session, Person, changes)

    done.place_phones = _reseal_phones(session, keys, Place, "contact_phone_cipher", dry_run=dry_run,
                                       what_zh="场所 {id} 的联系电话", what_en="The contact phone of place {id}")
    done.caretaker_phones = _reseal_phones(session, keys, Caretaker, "phone_cipher", dry_run=dry_run,
                                           what_zh="帮扶人 {id} 的电话", what_en="The phone of caretaker {id}")

    # The review queue keeps the incoming row's identifiers sealed, their hashes, and a dedupe key over them.
    last = 0
    while True:
        items = list(session.scalars(select(ReviewItem).where(ReviewItem.id > last).order_by(ReviewItem.id).limit(BATCH)))
        if not items:
            break
        last = items[-1].id
        for item in items:
            data = dict(item.incoming or {})
            number = keys.open(item.incoming_id_cipher, "id", f"待核对记录 {item.id} 的证件号码",
                               f"The document number of review item {item.id}")
            phone = keys.open(item.incoming_phone_cipher, "phone", f"待核对记录 {item.id} 的电话",
                              f"The phone of review item {item.id}")
            id_hash = document_hash(data.get("id_kind") or "resident", number, secret=new_key) if number else None
            phone_hash = keys.phone_hash(phone)
            new_dedupe = review_dedupe_key(item, id_hash=id_hash, phone_hash=phone_hash)
            done.review_items += 1
            if new_dedupe is None:
                done.review_keys_kept += 1
            if dry_run:
                continue
            item.incoming_id_cipher = keys.seal(number, "id")
            item.incoming_phone_cipher = keys.seal(phone, "phone")
            item.incoming = {**data, "id_hash": id_hash, "phone_hash": phone_hash}
            if new_dedupe is not None:
                item.dedupe_key = new_dedupe
        session.flush()

    record(session=session, actor=None, origin=origin, entity="data_key", entity_id="people",
           action="rotate_check" if dry_run else "rotate", after=asdict(done))
    session.flush()
    # The bulk UPDATEs by primary key bypass objects already loaded: load them afresh when next read.
    session.expire_all()
    return done


def _reseal_phones(session: Session, keys: _Resealer, model: Any, column: str, *, dry_run: bool,
                   what_zh: str, what_en: str) -> int:
    """Re-seal one phone column of ``model`` (a phone there has no lookup hash); how many were re-sealed.

    ``what_zh`` / ``what_en`` name the value in a refusal, with ``{id}`` for the row's id.
    """
    cipher = getattr(model, column)
    count = 0
    for rows in _batches(session, (model.id, cipher), model.id, cipher.is_not(None)):
        changes = [{"id": row_id, column: keys.seal(
            keys.open(blob, "phone", what_zh.format(id=row_id), what_en.format(id=row_id)), "phone")}
            for row_id, blob in rows]
        count += len(changes)
        if not dry_run:
            _write(session, model, changes)
    return count


def _write(session: Session, model: Any, changes: list[dict[str, Any]]) -> None:
    if changes:
        # UPDATE … WHERE id = :id, executed once per batch (executemany).
        session.execute(update(model), changes)
