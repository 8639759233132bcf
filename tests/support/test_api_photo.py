"""A support request's photo through /api/v1: sent in a multipart/form-data body with the request's
fields, checked as the job page's form checks it (the same limits and messages, problem+json), kept
only when the request is, and read back by whoever may see the request."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image, ImageFile
from sqlalchemy import func, select

from fieldsvc.auth.models import User
from fieldsvc.auth.services import create_token
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.support import services
from fieldsvc.support.models import SupportRequest
from fieldsvc.workorders import photos
from fieldsvc.workorders.models import PhotoKind, WorkOrderPhoto

from .conftest import World

PROBLEM = "application/problem+json"


def jpeg(size: tuple[int, int] = (400, 300), color: str = "blue") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def auth(app: Flask, world: World) -> dict[str, dict[str, str]]:
    with app.app_context():
        users = db.session.scalars(select(User)).all()
        tokens = {u.username: {"Authorization": f"Bearer {create_token(u)}"} for u in users}
        db.session.commit()
    return tokens


def ask(client: FlaskClient, number: str, headers: dict[str, str], photo: bytes | None = None, name: str = "port.jpg",
        **fields: str):
    data: dict[str, object] = {"category": "resource_port", "note": "没有空闲端口", **fields}
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), name)
    return client.post(f"/api/v1/work-orders/{number}/support-requests", data=data, headers=headers,
                       content_type="multipart/form-data")


def kept(app: Flask) -> tuple[int, int, list[str]]:
    """How many requests and photo rows there are, and the files in the upload folder."""
    with app.app_context():
        folder = Path(app.config["UPLOAD_FOLDER"])
        return (db.session.scalar(select(func.count()).select_from(SupportRequest)),
                db.session.scalar(select(func.count()).select_from(WorkOrderPhoto)),
                sorted(p.name for p in folder.iterdir()) if folder.exists() else [])


def test_a_photo_comes_with_the_request_and_whoever_sees_the_request_reads_it(
        app: Flask, client: FlaskClient, world: World, auth: dict[str, dict[str, str]]) -> None:
    created = ask(client, world.en_route, auth["w1"], jpeg((2400, 1800)), reading_dbm="-27.5")
    assert created.status_code == 201, created.get_data(as_text=True)
    item = created.get_json()
    assert (item["has_photo"], item["category"], item["reading_dbm"], item["status"]) == (
        True, "resource_port", -27.5, "open")
    with app.app_context():
        row = db.session.get(SupportRequest, item["id"])
        # A support photo, re-encoded as the job page's are (no larger than 1600 px, a JPEG).
        assert row.photo.kind is PhotoKind.SUPPORT and (row.photo.width, row.photo.height) == (1600, 1200)
        assert row.photo.content_type == "image/jpeg" and row.photo.work_order_id == row.work_order_id
    assert kept(app)[:2] == (1, 1) and len(kept(app)[2]) == 1
    for who in ("w1", "s1", "a1"):  # the installer who asked, their team's desk, an admin
        with client.get(f"/api/v1/support-requests/{item['id']}/photo", headers=auth[who]) as shown:
            assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
            assert shown.headers["Cache-Control"] == "private, max-age=3600"
            assert shown.headers["X-Content-Type-Options"] == "nosniff"
            assert shown.get_data()[:3] == b"\xff\xd8\xff"
    for who in ("w2", "s2"):  # another installer, another team's desk: as if it did not exist
        refused = client.get(f"/api/v1/support-requests/{item['id']}/photo", headers=auth[who])
        assert refused.status_code == 404 and refused.content_type == PROBLEM
    assert client.get(f"/api/v1/support-requests/{item['id']}/photo").status_code == 401


def test_without_a_photo_the_form_body_works_and_there_is_no_photo_to_read(
        app: Flask, client: FlaskClient, world: World, auth: dict[str, dict[str, str]]) -> None:
    created = ask(client, world.en_route, auth["w1"])
    assert created.status_code == 201 and created.get_json()["has_photo"] is False
    missing = client.get(f"/api/v1/support-requests/{created.get_json()['id']}/photo", headers=auth["a1"])
    assert missing.status_code == 404 and missing.content_type == PROBLEM
    assert client.get("/api/v1/support-requests/999999/photo", headers=auth["a1"]).status_code == 404


@pytest.mark.parametrize(("data", "name", "says"), [
    pytest.param(b"GIF89a" + b"\x00" * 100, "port.gif", "port.gif: Only JPEG and PNG photos.", id="not JPEG or PNG"),
    pytest.param(jpeg()[:400], "cut.jpg", "cut.jpg: The file is not a readable JPEG or PNG image.",
                 id="a JPEG cut short: its header reads, it does not decode"),
    pytest.param(b"", "empty.jpg", "empty.jpg: The file is empty.", id="empty"),
])
def test_a_bad_image_is_refused_as_the_form_refuses_it_and_nothing_is_kept(
        app: Flask, client: FlaskClient, world: World, auth: dict[str, dict[str, str]], data: bytes, name: str,
        says: str) -> None:
    refused = ask(client, world.en_route, auth["w1"], data, name)
    assert refused.status_code == 400 and refused.content_type == PROBLEM
    body = refused.get_json()
    assert body["detail"].startswith(says) and body["errors"]["photo"] == [body["detail"]]
    assert kept(app) == (0, 0, [])


def test_a_photo_over_the_limits_is_refused(app: Flask, client: FlaskClient, world: World,
                                            auth: dict[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos, "MAX_BYTES", 2000)  # 10 MB, as far as this test is concerned
    too_big = ask(client, world.en_route, auth["w1"], jpeg((16, 16)) + b"\x00" * 5000, "huge.jpg")
    assert too_big.status_code == 400 and too_big.content_type == PROBLEM
    assert too_big.get_json()["errors"]["photo"] == ["huge.jpg: A photo is at most 10 MB."]
    # A body over the operation's limit (one photo and the fields) is refused before it is read.
    view = app.view_functions["support-requests.create_request"]
    monkeypatch.setattr(view, "max_content_length", 4000)
    body = ask(client, world.en_route, auth["w1"], b"\x00" * 5000, "huge.jpg")
    assert body.status_code == 413 and body.content_type == PROBLEM
    assert kept(app) == (0, 0, [])


def test_the_operation_accepts_one_photo_and_a_json_photo_is_refused(
        app: Flask, client: FlaskClient, world: World, auth: dict[str, dict[str, str]]) -> None:
    # The limit is the job page form's: one photo and the fields (larger than the app's 1 MB).
    assert app.view_functions["support-requests.create_request"].max_content_length == photos.MAX_BYTES + 1024 * 1024
    as_json = client.post(f"/api/v1/work-orders/{world.en_route}/support-requests", headers=auth["w1"],
                          json={"category": "resource_port", "note": "没有空闲端口", "photo": "/9j/4AAQSkZJRg=="})
    assert as_json.status_code == 400 and as_json.content_type == PROBLEM
    assert "multipart/form-data" in as_json.get_json()["detail"]
    assert kept(app) == (0, 0, [])


@pytest.fixture
def no_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if any image is decoded (opening one reads only its header)."""
    def refuse(self: ImageFile.ImageFile) -> None:
        raise AssertionError(f"decoded a {self.format} image of {self.size}")
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


@pytest.mark.usefixtures("no_decoding")
def test_a_caller_who_may_not_ask_is_refused_before_the_photo_is_read(
        app: Flask, client: FlaskClient, world: World, auth: dict[str, dict[str, str]]) -> None:
    for who, number, status in (("s1", world.en_route, 403), ("a1", world.en_route, 403),
                                ("w1", world.other, 404), ("w2", world.en_route, 404),
                                ("w1", world.assigned, 409)):
        refused = ask(client, number, auth[who], jpeg())
        assert (who, refused.status_code, refused.content_type) == (who, status, PROBLEM)
    assert kept(app) == (0, 0, [])


def test_the_same_photo_on_a_later_request_is_kept_once(app: Flask, client: FlaskClient, world: World,
                                                        auth: dict[str, dict[str, str]]) -> None:
    photo = jpeg()
    first = ask(client, world.en_route, auth["w1"], photo).get_json()
    with app.app_context():
        row = db.session.get(SupportRequest, first["id"])
        services.resolve(row, db.session.scalar(select(User).where(User.username == "s1")), "solved_remotely", None,
                         row.version, utcnow())
        db.session.commit()
    second = ask(client, world.en_route, auth["w1"], photo, "again.jpg")
    assert second.status_code == 201, second.get_data(as_text=True)
    with app.app_context():
        ids = {db.session.get(SupportRequest, i).photo_id for i in (first["id"], second.get_json()["id"])}
    assert len(ids) == 1 and kept(app)[:2] == (2, 1)


def test_the_document_describes_both_bodies_and_the_photo(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    body = doc["paths"]["/api/v1/work-orders/{number}/support-requests"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"]["$ref"].endswith("/NewSupportRequest")
    form = doc["components"]["schemas"][body["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert form["properties"]["photo"]["format"] == "binary" and form["required"] == ["category", "note"]
    assert "photo" not in doc["components"]["schemas"]["NewSupportRequest"]["properties"]
    get = doc["paths"]["/api/v1/support-requests/{request_id}/photo"]["get"]
    assert set(get["responses"]) == {"200", "401", "404", "503"}
    assert list(get["responses"]["200"]["content"]) == ["image/jpeg"]
