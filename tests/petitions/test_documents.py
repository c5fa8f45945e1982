"""Petition documents (信访材料): added at registration and later, checked by content with the
case attachments' magic numbers, listed and downloaded within scope, every step audited."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.auth.service import issue_token
from civicgrid.errors import Forbidden, InvalidInput, NotFound
from civicgrid.petitions import documents
from civicgrid.petitions.documents import DocumentIn
from civicgrid.petitions.models import Petition, PetitionDocument
from civicgrid.settings import get_settings

from .conftest import ORIGIN, citizen_id

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 32  # a Windows executable, whatever its name says
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt "  # RIFF but not WebP


def audit_actions(session, petition_id: int) -> list[str]:
    return session.scalars(select(AuditEntry.action).where(
        AuditEntry.entity == "petition", AuditEntry.entity_id == str(petition_id)).order_by(AuditEntry.id)).all()


def test_documents_at_registration_are_stored_by_content_and_audited(pet, session):
    petition = pet.register()
    assert documents.documents_of(session=session, actor=pet.world.users["operator"], petition_id=petition.id) == []
    with_letter = _register(pet, [DocumentIn("来信扫描.pdf", PDF), DocumentIn("现场.png", PNG, kind="photo",
                                                                        note="门口照片")])
    docs = documents.documents_of(session=session, actor=pet.world.users["operator"], petition_id=with_letter.id)
    assert [(d.filename, d.kind, d.content_type, d.size, d.note) for d in docs] == [
        ("来信扫描.pdf", "letter", "application/pdf", len(PDF), ""), ("现场.png", "photo", "image/png", len(PNG), "门口照片")]
    stored = Path(get_settings().upload_dir) / docs[0].sha256[:2] / docs[0].sha256
    assert stored.read_bytes() == PDF and docs[0].sha256 == hashlib.sha256(PDF).hexdigest()
    assert audit_actions(session, with_letter.id) == ["intake", "attach_document", "attach_document"]


def _register(pet, docs, **kw):
    from civicgrid.petitions import service
    from civicgrid.petitions.schemas import PetitionCreate, PetitionerIn

    data = PetitionCreate(subject_code="LAND", request="反映征地补偿", region_code=pet.world.regions["grid111"].code,
                          petitioners=[PetitionerIn(id_number=citizen_id(3), name="孙大姐")], **kw)
    petition, _ = service.register_petition(session=pet.session, actor=pet.world.users["operator"], origin=ORIGIN,
                                            data=data, now=pet.tick(), documents=docs)
    return petition


@pytest.mark.parametrize("doc, message", [
    (DocumentIn("信.pdf", EXE), "JPEG"),
    (DocumentIn("信.webp", WAV), "JPEG"),
    (DocumentIn("空.pdf", b""), "空"),
    (DocumentIn("大.pdf", b"%PDF-" + b"0" * documents.MAX_BYTES), "10 MB"),
    (DocumentIn("信.pdf", PDF, kind="secret"), "类别"),
])
def test_a_bad_file_refuses_the_whole_registration(pet, session, doc, message):
    before = session.scalar(select(func.count(Petition.id)))
    with pytest.raises(InvalidInput) as refused:
        _register(pet, [DocumentIn("好.pdf", PDF), doc])
    assert message in refused.value.detail_zh and refused.value.detail_en
    assert session.scalar(select(func.count(Petition.id))) == before
    assert session.scalar(select(func.count(PetitionDocument.id))) == 0


def test_documents_later_once_per_content_and_within_scope(pet, session, world):
    petition = pet.register()
    op = world.users["operator"]
    first = documents.add_document(session=session, actor=op, origin=ORIGIN, petition_id=petition.id,
                                   doc=DocumentIn("信.pdf", PDF))
    again = documents.add_document(session=session, actor=op, origin=ORIGIN, petition_id=petition.id,
                                   doc=DocumentIn("同一封信.pdf", PDF))
    assert again.id == first.id and audit_actions(session, petition.id).count("attach_document") == 1
    # The window adds its written answer once the petition is at its window.
    pet.fire(petition, "triage")
    reply = documents.add_document(session=session, actor=world.users["handler_zj"], origin=ORIGIN,
                                   petition_id=petition.id, doc=DocumentIn("答复意见书.jpg", JPEG, kind="reply"))
    assert reply.content_type == "image/jpeg"
    for outsider in ("operator21", "handler", "citizen"):
        with pytest.raises((NotFound, Forbidden)):
            documents.add_document(session=session, actor=world.users[outsider], origin=ORIGIN,
                                   petition_id=petition.id, doc=DocumentIn("x.pdf", PDF + b"x"))
        with pytest.raises(NotFound):
            documents.document_file(session=session, actor=world.users[outsider], origin=ORIGIN,
                                    document_id=first.id)
    with pytest.raises(Forbidden):  # grid workers see the area but do not file documents
        documents.add_document(session=session, actor=world.users["gridworker"], origin=ORIGIN,
                               petition_id=petition.id, doc=DocumentIn("x.pdf", PDF + b"y"))
    with pytest.raises(NotFound):
        documents.documents_of(session=session, actor=world.users["operator21"], petition_id=petition.id)
    doc, path = documents.document_file(session=session, actor=world.users["street_leader"], origin=ORIGIN,
                                        document_id=first.id)
    assert path.read_bytes() == PDF
    reads = session.scalars(select(AuditEntry.actor_name).where(AuditEntry.entity == "petition_document",
                                                                AuditEntry.action == "download")).all()
    assert reads == ["street_leader"]
    with pytest.raises(NotFound):
        documents.document_file(session=session, actor=world.users["operator"], origin=ORIGIN, document_id=2**63)


def test_documents_through_the_api(client, pet, world):
    def h(name):
        return {"Authorization": f"Bearer {issue_token(world.users[name])}"}

    pid = pet.register().id
    r = client.post(f"/api/petitions/{pid}/documents", headers=h("operator"),
                    files={"file": ("来信.pdf", PDF, "application/pdf")}, data={"kind": "letter", "note": "原件扫描"})
    assert r.status_code == 201, r.text
    doc = r.json()
    assert (doc["filename"], doc["kind"], doc["content_type"], doc["note"]) == ("来信.pdf", "letter",
                                                                                "application/pdf", "原件扫描")
    listed = client.get(f"/api/petitions/{pid}/documents", headers=h("operator")).json()
    assert [d["id"] for d in listed] == [doc["id"]]
    got = client.get(f"/api/petitions/documents/{doc['id']}/file", headers=h("operator"))
    assert got.status_code == 200 and got.content == PDF and got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    refusals = [
        (client.post(f"/api/petitions/{pid}/documents", headers=h("operator"),
                     files={"file": ("photo.jpg", EXE, "image/jpeg")}), 422),
        (client.post(f"/api/petitions/{pid}/documents", headers=h("operator"),
                     files={"file": ("a.pdf", PDF, "application/pdf")}, data={"kind": "x" * 13}), 422),
        (client.post(f"/api/petitions/{pid}/documents", headers=h("operator"), data={"kind": "letter"}), 422),
        (client.post(f"/api/petitions/{pid}/documents", headers=h("operator21"),
                     files={"file": ("a.pdf", PDF, "application/pdf")}), 404),
        (client.post(f"/api/petitions/{pid}/documents", headers=h("gridworker"),
                     files={"file": ("a.pdf", PDF, "application/pdf")}), 403),
        (client.get(f"/api/petitions/documents/{doc['id']}/file", headers=h("operator21")), 404),
        (client.get(f"/api/petitions/{pid}/documents", headers=h("operator21")), 404),
        (client.get("/api/petitions/documents/99999999999999999999/file", headers=h("operator")), 404),
        (client.get(f"/api/petitions/documents/{doc['id']}/file"), 401),
    ]
    for response, status in refusals:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["detail_zh"] and body["detail_en"]


def test_documents_through_the_pages(client, pet, world):
    headers = {"Authorization": f"Bearer {issue_token(world.users['operator'])}"}
    form = client.get("/petitions/new", headers=headers).text
    assert 'enctype="multipart/form-data"' in form and 'name="documents"' in form
    r = client.post("/petitions/new", headers=headers, follow_redirects=False, data={
        "form": "letter", "subject_code": "LAND", "request": "来信反映征地补偿问题", "document_kind": "letter",
        "region_code": world.regions["grid111"].code, "id_number_1": citizen_id(5), "name_1": "周大叔"},
        files=[("documents", ("来信第1页.jpg", JPEG, "image/jpeg")), ("documents", ("来信第2页.pdf", PDF, "application/pdf"))])
    assert r.status_code == 303, r.text
    url = r.headers["location"].split("?")[0]
    detail = client.get(url, headers=headers).text
    assert "来信第1页.jpg" in detail and "来信第2页.pdf" in detail
    ids = re.findall(r'/api/petitions/documents/(\d+)/file', detail)
    assert len(ids) == 2 and 'action="' + url + '/documents"' in detail
    assert client.get(f"/api/petitions/documents/{ids[0]}/file", headers=headers).content == JPEG
    # Later: a photo; then a renamed executable is refused on the page with the reason.
    r = client.post(f"{url}/documents", headers=headers, follow_redirects=False, data={"kind": "photo"},
                    files={"documents": ("门口.png", PNG, "image/png")})
    assert r.status_code == 303 and r.headers["location"].endswith("#documents")
    assert "门口.png" in client.get(url, headers=headers).text
    refused = client.post(f"{url}/documents", headers=headers, data={"kind": "photo"},
                          files={"documents": ("照片.jpg", EXE, "image/jpeg")})
    assert refused.status_code == 422 and "JPEG" in refused.text and "照片.jpg" in refused.text
    empty = client.post(f"{url}/documents", headers=headers, data={"kind": "photo"})
    assert empty.status_code == 422 and "请选择" in empty.text
    # A bad file at registration re-shows the form with what was typed, and registers nothing.
    r = client.post("/petitions/new", headers=headers, follow_redirects=False, data={
        "subject_code": "LAND", "request": "第二封来信", "region_code": world.regions["grid111"].code,
        "id_number_1": citizen_id(6), "name_1": "吴大妈"}, files={"documents": ("信.pdf", EXE, "application/pdf")})
    assert r.status_code == 422 and "第二封来信" in r.text and "信.pdf" in r.text
    other = {"Authorization": f"Bearer {issue_token(world.users['operator21'])}"}
    assert client.post(f"{url}/documents", headers=other, data={"kind": "photo"},
                       files={"documents": ("门口2.png", PNG + b"2", "image/png")}).status_code == 404
