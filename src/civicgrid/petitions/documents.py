"""Petition documents (信访材料): scanned letters, photos and PDFs added at registration or later.

The bytes are checked by their magic numbers with the case attachments' own ``sniff`` (JPEG,
PNG, WebP, PDF — a renamed executable is refused) and stored once by SHA-256 in the same
upload folder. Who may see the petition may list and download its documents; reading a
document through ``document_file`` is audited like adding one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import Role, User
from civicgrid.db import utcnow
from civicgrid.errors import Conflict, Forbidden, InvalidInput, NotFound, not_found
from civicgrid.events.attachments import MAX_BYTES, sniff
from civicgrid.petitions.models import DOCUMENT_KINDS, Petition, PetitionDocument
from civicgrid.settings import get_settings

# At most this many documents per petition, and per registration form.
MAX_DOCUMENTS = 50
MAX_AT_REGISTRATION = 10
# Who may add documents: reception staff, the window's handlers and leaders (within what they see).
UPLOAD_ROLES = {Role.ADMIN, Role.OPERATOR, Role.HANDLER, Role.LEADER}


@dataclass(frozen=True)
class DocumentIn:
    """An uploaded file before it is stored: name as sent, bytes, kind and an optional note."""

    filename: str
    content: bytes
    kind: str = "letter"
    note: str = ""


def check_document(doc: DocumentIn) -> str:
    """The real content type of an acceptable document, else InvalidInput (bilingual) saying why."""
    name = Path(doc.filename or "upload").name or "upload"
    if doc.kind not in DOCUMENT_KINDS:
        raise InvalidInput(f"材料类别 {doc.kind} 无效", f"Unknown document kind {doc.kind}",
                           allowed=list(DOCUMENT_KINDS))
    if len(doc.note) > 200:
        raise InvalidInput("材料说明不超过 200 字", "The note is at most 200 characters")
    if not doc.content:
        raise InvalidInput(f"上传的文件 {name} 是空的", f"The uploaded file {name} is empty")
    if len(doc.content) > MAX_BYTES:
        raise InvalidInput(f"文件 {name} 超过 10 MB", f"The file {name} is larger than 10 MB")
    kind = sniff(doc.content)
    if kind is None:
        raise InvalidInput(f"文件 {name} 不是 JPEG、PNG、WebP 图片或 PDF 文件",
                           f"The file {name} is not a JPEG, PNG, WebP image or a PDF")
    return kind


def _stored_path(digest: str) -> Path:
    return Path(get_settings().upload_dir) / digest[:2] / digest


def _store(content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()
    target = _stored_path(digest)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".part")
        tmp.write_bytes(content)
        tmp.replace(target)
    return digest


def _may_upload(actor: User) -> None:
    if actor.role not in UPLOAD_ROLES:
        raise Forbidden("您的角色不能上传信访材料", "Your role may not add petition documents")


def attach(*, session: Session, actor: User, origin: Origin, petition: Petition, doc: DocumentIn,
           now: dt.datetime | None = None) -> tuple[PetitionDocument, bool]:
    """Store ``doc`` on a petition already checked to be in the actor's sight; (document, created).

    The same bytes on the same petition are kept once (the first upload is returned, nothing
    is written). Audited as ``attach_document`` in the petition's history."""
    _may_upload(actor)
    content_type = check_document(doc)
    digest = hashlib.sha256(doc.content).hexdigest()
    existing = session.scalar(select(PetitionDocument).where(PetitionDocument.petition_id == petition.id,
                                                             PetitionDocument.sha256 == digest))
    if existing is not None:
        return existing, False
    count = session.scalar(select(func.count(PetitionDocument.id))
                           .where(PetitionDocument.petition_id == petition.id)) or 0
    if count >= MAX_DOCUMENTS:
        raise Conflict(f"每件信访事项最多 {MAX_DOCUMENTS} 份材料", f"A petition holds at most {MAX_DOCUMENTS} documents")
    _store(doc.content)
    filename = (Path(doc.filename or "upload").name or "upload")[:200]
    document = PetitionDocument(petition_id=petition.id, kind=doc.kind, filename=filename,
                                content_type=content_type, size=len(doc.content), sha256=digest,
                                note=doc.note.strip(), uploaded_by_id=actor.id, at=now or utcnow())
    session.add(document)
    session.flush()
    zh, _ = DOCUMENT_KINDS[doc.kind]
    record(session=session, actor=actor, origin=origin, entity="petition", entity_id=petition.id,
           action="attach_document", from_state=petition.state.value, to_state=petition.state.value,
           note=f"{zh}：{filename}",
           after={"document_id": document.id, "kind": doc.kind, "sha256": digest, "size": document.size,
                  "content_type": content_type})
    return document, True


def add_document(*, session: Session, actor: User, origin: Origin, petition_id: int, doc: DocumentIn,
                 now: dt.datetime | None = None) -> PetitionDocument:
    """Add a document to a petition the actor may see (out of sight: NotFound); audited."""
    from civicgrid.petitions.service import get_petition

    _may_upload(actor)
    petition = get_petition(session=session, actor=actor, petition_id=petition_id)
    document, _ = attach(session=session, actor=actor, origin=origin, petition=petition, doc=doc, now=now)
    return document


def documents_of(*, session: Session, actor: User, petition_id: int) -> list[PetitionDocument]:
    """The documents of a petition the actor may see, oldest first."""
    from civicgrid.petitions.service import get_petition

    petition = get_petition(session=session, actor=actor, petition_id=petition_id)
    return list(session.scalars(select(PetitionDocument).where(PetitionDocument.petition_id == petition.id)
                                .order_by(PetitionDocument.at, PetitionDocument.id)))


def document_file(*, session: Session, actor: User, origin: Origin,
                  document_id: int) -> tuple[PetitionDocument, Path]:
    """The stored file of a document on a petition the actor may see (else NotFound); the reading is audited."""
    from civicgrid.petitions.service import get_petition

    document = session.get(PetitionDocument, document_id) if 1 <= document_id <= 2**62 else None
    if document is None:
        raise not_found("信访材料", "Petition document", document_id)
    try:
        get_petition(session=session, actor=actor, petition_id=document.petition_id)
    except NotFound as exc:  # the same answer as a document that does not exist
        raise not_found("信访材料", "Petition document", document_id) from exc
    path = _stored_path(document.sha256)
    if not path.exists():
        raise not_found("信访材料文件", "Petition document file", document_id)
    record(session=session, actor=actor, origin=origin, entity="petition_document", entity_id=document.id,
           action="download", note=document.filename,
           after={"petition_id": document.petition_id, "sha256": document.sha256})
    return document, path
