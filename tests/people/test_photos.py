"""Visit photos: checked by their bytes (the case attachments' magic numbers), stored under the upload folder by
content hash, served back scoped like the care record, every opening audited; through the API and the care page."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import func, select

from civicgrid.audit.models import AuditEntry
from civicgrid.errors import Conflict, Forbidden, InvalidInput, NotFound
from civicgrid.people import care
from civicgrid.people.models import Visit, VisitPhoto
from civicgrid.people.schemas import CareCreate, CareEnd, VisitCreate
from civicgrid.settings import get_settings
from tests.people.conftest import CSRF, ORIGIN


def image(fmt: str = "PNG", colour=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), colour).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def visit(session, people):
    w = people.world
    person = people.add("郑某")
    record = care.start_care(session=session, actor=w.users["operator"], origin=ORIGIN, person_id=person.id,
                             data=CareCreate(type_code="solitary_elderly", level="routine", reason="独居"))
    v = care.log_visit(session=session, actor=w.users["gridworker"], origin=ORIGIN, care_id=record.id,
                       data=VisitCreate(findings="身体尚可", place="家中"))
    return record, v


def audits(session, **where):
    stmt = select(func.count(AuditEntry.id))
    for k, v in where.items():
        stmt = stmt.where(getattr(AuditEntry, k) == v)
    return session.scalar(stmt) or 0


def test_photos_are_stored_by_content_under_the_upload_folder_and_audited(session, people, visit):
    record, v = visit
    w = people.world
    png, jpeg = image("PNG"), image("JPEG")
    first = care.add_visit_photo(session=session, actor=w.users["gridworker"], origin=ORIGIN, visit_id=v.id,
                                 filename="../../门口.png", content=png)
    second = care.add_visit_photo(session=session, actor=w.users["gridworker"], origin=ORIGIN, visit_id=v.id,
                                  filename="室内.jpg", content=jpeg)
    assert (first.content_type, second.content_type) == ("image/png", "image/jpeg")
    assert first.filename == "门口.png"  # no path from the client survives
    path = care.photo_path(first.sha256)
    assert path.is_file() and path.read_bytes() == png
    assert str(path).startswith(str(get_settings().upload_dir))
    assert session.get(Visit, v.id).photo_sha256 == first.sha256
    assert [p.id for p in care.visit_photos(session=session, actor=w.users["leader"], care_id=record.id)[v.id]] == \
        [first.id, second.id]
    assert audits(session, entity="care_record", entity_id=str(record.id), action="visit_photo") == 2


@pytest.mark.parametrize("content, what", [
    (b"", "空"), (b"MZ\x90\x00 an executable renamed to .png", "JPEG"), (b"%PDF-1.7 a document", "JPEG"),
    (b"RIFF\x00\x00\x00\x00WAVEfmt ", "JPEG"),
])
def test_anything_but_a_real_image_is_refused_in_both_languages(session, people, visit, content, what):
    _, v = visit
    with pytest.raises(InvalidInput) as err:
        care.add_visit_photo(session=session, actor=people.world.users["gridworker"], origin=ORIGIN, visit_id=v.id,
                             filename="x.png", content=content)
    assert what in err.value.detail_zh and err.value.detail_en
    assert session.scalar(select(func.count(VisitPhoto.id))) == 0


def test_size_limit_and_who_may_attach(session, people, visit, monkeypatch):
    record, v = visit
    w = people.world
    from civicgrid.events import attachments

    monkeypatch.setattr(attachments, "MAX_BYTES", 100)
    with pytest.raises(InvalidInput, match="MB"):
        care.add_visit_photo(session=session, actor=w.users["gridworker"], origin=ORIGIN, visit_id=v.id,
                             filename="big.png", content=image() + b"\x00" * 200)
    monkeypatch.undo()
    with pytest.raises(Forbidden):
        care.add_visit_photo(session=session, actor=w.users["leader"], origin=ORIGIN, visit_id=v.id,
                             filename="p.png", content=image())
    with pytest.raises(NotFound):  # another community's operator: the visit does not exist for them
        care.add_visit_photo(session=session, actor=w.users["operator21"], origin=ORIGIN, visit_id=v.id,
                             filename="p.png", content=image())
    with pytest.raises(NotFound):
        care.add_visit_photo(session=session, actor=w.users["gridworker"], origin=ORIGIN, visit_id=v.id,
                             care_id=record.id + 1000, filename="p.png", content=image())
    care.end_care(session=session, actor=w.users["operator"], origin=ORIGIN, care_id=record.id,
                  data=CareEnd(reason="搬离本地"))
    with pytest.raises(Conflict):
        care.add_visit_photo(session=session, actor=w.users["gridworker"], origin=ORIGIN, visit_id=v.id,
                             filename="p.png", content=image())


def test_api_upload_list_and_audited_scoped_download(session, client, as_user, people, visit):
    record, v = visit
    png, webp = image("PNG"), image("WEBP", (10, 200, 10))
    r = client.post(f"/api/care/visits/{v.id}/photos", headers=as_user("gridworker"),
                    files=[("files", ("a.png", png, "image/png")), ("files", ("b.webp", webp, "image/webp"))])
    assert r.status_code == 201, r.text
    photos = r.json()
    assert [p["content_type"] for p in photos] == ["image/png", "image/webp"]
    detail = client.get(f"/api/care/{record.id}", headers=as_user("operator")).json()
    assert [p["id"] for p in detail["visits"][0]["photos"]] == [p["id"] for p in photos]
    before = audits(session, entity="care_visit_photo", action="view")
    got = client.get(photos[0]["url"], headers=as_user("leader"))
    assert got.status_code == 200 and got.content == png
    assert got.headers["content-type"] == "image/png" and "no-store" in got.headers["cache-control"]
    assert got.headers["x-content-type-options"] == "nosniff"
    assert audits(session, entity="care_visit_photo", action="view") == before + 1
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "care_visit_photo").order_by(AuditEntry.id.desc()))
    assert entry.actor_id == people.world.users["leader"].id and entry.entity_id == str(photos[0]["id"])
    # Out of scope or without care access: 404 / 403, and nothing is logged as a view.
    assert client.get(photos[0]["url"], headers=as_user("operator21")).status_code == 404
    assert client.get(photos[0]["url"], headers=as_user("handler")).status_code == 403
    assert client.get("/api/care/photos/999999/file", headers=as_user("operator")).status_code == 404
    assert audits(session, entity="care_visit_photo", action="view") == before + 1


def test_api_bad_photo_is_problem_json_in_both_languages_and_all_or_nothing(session, client, as_user, people, visit):
    _, v = visit
    r = client.post(f"/api/care/visits/{v.id}/photos", headers=as_user("gridworker"),
                    files=[("files", ("ok.png", image(), "image/png")), ("files", ("evil.png", b"MZ\x90\x00", "image/png"))])
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert "JPEG" in body["detail_zh"] and "JPEG" in body["detail_en"]
    assert session.scalar(select(func.count(VisitPhoto.id))) == 0
    missing = client.post(f"/api/care/visits/{v.id}/photos", headers=as_user("gridworker"))
    assert missing.status_code == 422 and missing.headers["content-type"].startswith("application/problem+json")
    assert client.post("/api/care/visits/424242/photos", headers=as_user("gridworker"),
                       files=[("files", ("a.png", image(), "image/png"))]).status_code == 404


def test_visit_form_with_photos_and_adding_photos_later(session, browse, people, visit):
    record, old_visit = visit
    c = browse("gridworker")
    page = c.get(f"/care/{record.id}").text
    assert 'enctype="multipart/form-data"' in page and 'name="photos"' in page
    done = c.post(f"/care/{record.id}/visits", data={"csrf": CSRF, "findings": "复查，情况稳定", "place": "社区"},
                  files=[("photos", ("p1.png", image(), "image/png")), ("photos", ("p2.jpg", image("JPEG"), "image/jpeg"))],
                  follow_redirects=False)
    assert done.status_code == 303
    new_visit = session.scalar(select(Visit).where(Visit.findings == "复查，情况稳定"))
    assert session.scalar(select(func.count(VisitPhoto.id)).where(VisitPhoto.visit_id == new_visit.id)) == 2
    # An empty file input (a browser sends a nameless empty part) is no photo.
    plain = c.post(f"/care/{record.id}/visits", data={"csrf": CSRF, "findings": "电话回访"},
                   files=[("photos", ("", b"", "application/octet-stream"))], follow_redirects=False)
    assert plain.status_code == 303
    later = c.post(f"/care/{record.id}/visits/{old_visit.id}/photos", data={"csrf": CSRF},
                   files=[("photos", ("late.webp", image("WEBP"), "image/webp"))], follow_redirects=False)
    assert later.status_code == 303 and later.headers["location"].endswith("done=photo")
    html = c.get(f"/care/{record.id}").text
    ids = session.scalars(select(VisitPhoto.id).order_by(VisitPhoto.id)).all()
    assert len(ids) == 3 and all(f'/api/care/photos/{i}/file' in html for i in ids)
    # Opening a photo from the page (cookie session) is scoped and logged.
    assert c.get(f"/api/care/photos/{ids[0]}/file").status_code == 200
    assert audits(session, entity="care_visit_photo", action="view") == 1


def test_a_bad_photo_refuses_the_whole_visit_on_the_page(session, browse, people, visit):
    record, _ = visit
    c = browse("gridworker")
    before = session.scalar(select(func.count(Visit.id)))
    bad = c.post(f"/care/{record.id}/visits", data={"csrf": CSRF, "findings": "带了一个坏文件"},
                 files=[("photos", ("fake.jpg", b"GIF89a not accepted", "image/jpeg"))])
    assert bad.status_code == 422 and "JPEG" in bad.text
    assert session.scalar(select(func.count(Visit.id))) == before
    assert session.scalar(select(func.count(VisitPhoto.id))) == 0
    none = c.post(f"/care/{record.id}/visits/{visit[1].id}/photos", data={"csrf": CSRF})
    assert none.status_code == 422
    assert browse("leader").post(f"/care/{record.id}/visits/{visit[1].id}/photos", data={"csrf": CSRF},
                                 files=[("photos", ("a.png", image(), "image/png"))]).status_code == 403
