"""Photos and files on a case: stored once by content hash in the upload folder."""

from __future__ import annotations

import hashlib
from pathlib import Path

from fastapi import APIRouter, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select
from sqlalchemy.orm import Session

from civicgrid.audit.service import Origin, record
from civicgrid.auth.models import User
from civicgrid.errors import InvalidInput, not_found
from civicgrid.events.models import Attachment
from civicgrid.events.service import get_case
from civicgrid.settings import get_settings
from civicgrid.web.deps import CurrentUser, OriginDep, SessionDep

MAX_BYTES = 10 * 1024 * 1024
# Magic numbers, so a renamed executable is not stored as a "photo".
SIGNATURES = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
    b"RIFF": "image/webp",
    b"%PDF-": "application/pdf",
}


class AttachmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    case_id: int
    filename: str
    content_type: str
    size: int


def sniff(content: bytes) -> str | None:
    """The content type the bytes really have, if it is one we accept."""
    for magic, kind in SIGNATURES.items():
        if content.startswith(magic):
            if kind == "image/webp" and content[8:12] != b"WEBP":
                return None
            return kind
    return None


def add_attachment(*, session: Session, actor: User, origin: Origin, case_id: int, filename: str,
                   content: bytes) -> Attachment:
    """Store a photo or PDF on a case the actor can see; audited."""
    case = get_case(session=session, actor=actor, case_id=case_id)
    if not content:
        raise InvalidInput("上传的文件是空的", "The uploaded file is empty")
    if len(content) > MAX_BYTES:
        raise InvalidInput("文件超过 10 MB", "The file is larger than 10 MB")
    kind = sniff(content)
    if kind is None:
        raise InvalidInput("只接受 JPEG、PNG、WebP 图片或 PDF 文件", "Only JPEG, PNG, WebP images or PDF files")
    digest = hashlib.sha256(content).hexdigest()
    folder = Path(get_settings().upload_dir) / digest[:2]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / digest
    if not target.exists():
        tmp = target.with_suffix(".part")
        tmp.write_bytes(content)
        tmp.replace(target)
    att = Attachment(case_id=case.id, filename=Path(filename or "upload").name[:200], content_type=kind,
                     size=len(content), sha256=digest, uploaded_by_id=actor.id)
    session.add(att)
    session.flush()
    record(session=session, actor=actor, origin=origin, entity="case", entity_id=case.id, action="attach",
           from_state=case.state.value, to_state=case.state.value, note=att.filename,
           after={"attachment_id": att.id, "sha256": digest, "size": len(content)})
    return att


def case_attachments(*, session: Session, actor: User, case_id: int) -> list[Attachment]:
    """The files on a case the actor can see."""
    case = get_case(session=session, actor=actor, case_id=case_id)
    return list(session.scalars(select(Attachment).where(Attachment.case_id == case.id).order_by(Attachment.id)))


def attachment_path(*, session: Session, actor: User, attachment_id: int) -> tuple[Attachment, Path]:
    """The stored file of an attachment on a case the actor can see."""
    att = session.get(Attachment, attachment_id) if 1 <= attachment_id <= 2**62 else None
    if att is None:
        raise not_found("附件", "Attachment", attachment_id)
    get_case(session=session, actor=actor, case_id=att.case_id)
    return att, Path(get_settings().upload_dir) / att.sha256[:2] / att.sha256


router = APIRouter()


@router.post("/{case_id}/attachments", response_model=AttachmentRead, status_code=201)
async def upload(case_id: int, file: UploadFile, session: SessionDep, user: CurrentUser,
                 origin: OriginDep) -> AttachmentRead:
    """Attach a photo (JPEG/PNG/WebP) or PDF, up to 10 MB."""
    content = await file.read(MAX_BYTES + 1)
    att = add_attachment(session=session, actor=user, origin=origin, case_id=case_id,
                         filename=file.filename or "upload", content=content)
    return AttachmentRead.model_validate(att)


@router.get("/{case_id}/attachments", response_model=list[AttachmentRead])
def list_attachments(case_id: int, session: SessionDep, user: CurrentUser) -> list[AttachmentRead]:
    return [AttachmentRead.model_validate(a) for a in case_attachments(session=session, actor=user, case_id=case_id)]


@router.get("/attachments/{attachment_id}/file", response_class=FileResponse)
def download(attachment_id: int, session: SessionDep, user: CurrentUser) -> FileResponse:
    att, path = attachment_path(session=session, actor=user, attachment_id=attachment_id)
    return FileResponse(path, media_type=att.content_type, filename=att.filename)
