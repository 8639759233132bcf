"""Praise on record: a supervisor records it for an installer of their team (with a photo through
the orders' photo pipeline), never for another team's; a bad photo or a future date records
nothing; each sees the praise they may (installers their own), photos included."""
from __future__ import annotations

import io
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from fieldsvc.auth.models import Role, User
from fieldsvc.errors import Forbidden, InvalidInput
from fieldsvc.extensions import db
from fieldsvc.ratings.models import Praise, PraiseChannel
from fieldsvc.ratings.praise import record_praise
from tests import factories as f
from tests.ratings.test_pages import browser, csrf


@pytest.fixture
def teams(app: Flask) -> None:
    with app.app_context():
        team_a, team_b = f.make_team("TA01"), f.make_team("TB01", districts=("jiangan",))
        f.make_user(Role.SUPERVISOR, "sa001", team_a)
        f.make_user(Role.SUPERVISOR, "sb001", team_b)
        f.make_user(Role.INSTALLER, "wa001", team_a)
        f.make_user(Role.INSTALLER, "wb001", team_b)
        db.session.commit()


def jpeg(width: int = 2400, height: int = 1800) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), "red").save(out, "JPEG")
    return out.getvalue()


def form(client: FlaskClient, **fields: object) -> dict[str, object]:
    page = client.get("/praise/new").get_data(as_text=True)
    return {"csrf_token": csrf(page), "installer": "wa001", "received_on": f.today().isoformat(), "channel": "banner",
            "note": "送来锦旗一面QzPraise", **fields}


def test_a_supervisor_records_praise_with_a_photo_and_the_installer_sees_it(app: Flask, teams: None) -> None:
    boss = browser(app, "sa001")
    sent = boss.post("/praise/new", data=form(boss, photo=(io.BytesIO(jpeg()), "banner.jpg")),
                     content_type="multipart/form-data")
    assert sent.status_code == 303
    with app.app_context():
        (row,) = db.session.scalars(select(Praise))
        assert row.channel is PraiseChannel.BANNER and row.team_id is not None and row.photo_filename
        stored = Path(app.config["UPLOAD_FOLDER"]) / row.photo_filename
        with Image.open(stored) as image:
            assert max(image.size) == 1600  # resized by the orders' pipeline
        praise_id = row.id
    listed = boss.get("/praise").get_data(as_text=True)
    assert "送来锦旗一面QzPraise" in listed and "Banner" in listed

    mine = browser(app, "wa001")
    assert "QzPraise" in mine.get("/praise").get_data(as_text=True)
    with mine.get(f"/praise/{praise_id}/photo") as shown:
        assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    for other in ("wb001", "sb001"):
        stranger = browser(app, other)
        assert "QzPraise" not in stranger.get("/praise").get_data(as_text=True)
        assert stranger.get(f"/praise/{praise_id}/photo").status_code == 404


def test_refused_praise_records_nothing(app: Flask, teams: None) -> None:
    boss = browser(app, "sa001")
    other_team = boss.post("/praise/new", data=form(boss, installer="wb001"))
    assert other_team.status_code == 400
    future = boss.post("/praise/new", data=form(boss, received_on=(f.today() + timedelta(days=1)).isoformat()))
    assert future.status_code == 400 and "after today" in future.get_data(as_text=True)
    bad_photo = boss.post("/praise/new", data=form(boss, photo=(io.BytesIO(b"GIF89a not a photo"), "x.gif")),
                          content_type="multipart/form-data")
    assert bad_photo.status_code == 400 and "Only JPEG and PNG photos." in bad_photo.get_data(as_text=True)
    assert browser(app, "wa001").get("/praise/new").status_code == 403
    with app.app_context():
        assert db.session.scalar(select(Praise)) is None
        folder = Path(app.config["UPLOAD_FOLDER"])
        assert not folder.exists() or not any(folder.iterdir())
        installer_b, boss_a = (db.session.scalar(select(User).where(User.username == u)) for u in ("wb001", "sa001"))
        with pytest.raises(Forbidden):
            record_praise(installer_b, boss_a, f.today(), PraiseChannel.CALL, "谢谢", f.today())
        with pytest.raises(InvalidInput):
            record_praise(db.session.scalar(select(User).where(User.username == "wa001")), boss_a, f.today(),
                          PraiseChannel.CALL, "   ", f.today())
