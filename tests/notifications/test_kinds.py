"""The registry of notice kinds: what a fresh app knows, wording per language and per reader,
the stored message for what nobody registered, and the certificate notices in both languages."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fieldsvc import create_app
from fieldsvc.auth.models import Role, User
from fieldsvc.certifications.alerts import NOTICE_KINDS, certificate_alerts
from fieldsvc.extensions import db
from fieldsvc.notifications import kinds
from tests import factories as f
from tests.conftest import sign_in

from .conftest import NOTE, word_note


def test_every_app_the_factory_builds_knows_the_certificate_kinds(app: Flask) -> None:
    assert set(NOTICE_KINDS) == {"cert_expiring", "cert_review_due", "cert_expired"}
    assert kinds.registered(app) >= set(NOTICE_KINDS)
    another = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x"})
    assert kinds.registered(another) >= set(NOTICE_KINDS)
    assert kinds.registered(Flask("bare")) == frozenset()  # the registry is the app's, not the process's


def test_a_kind_belongs_to_one_wording(app: Flask) -> None:
    kinds.register(app, NOTE, word_note)
    kinds.register(app, NOTE, word_note)  # the same again is harmless
    with pytest.raises(ValueError, match="registered already"):
        kinds.register(app, NOTE, lambda kind, data, reader: "another")
    with pytest.raises(ValueError, match="1 to 32 characters"):
        kinds.register(app, "x" * 33, word_note)  # Notification.kind is String(32)
    assert NOTE in kinds.registered(app)


@pytest.mark.parametrize(("language", "heading"), [("en", "Notifications"), ("zh-CN", "通知")])
def test_a_registered_kind_is_worded_per_language_and_reader(app: Flask, note_kind: str, language: str,
                                                              heading: str) -> None:
    with app.test_request_context(headers={"Accept-Language": language}):
        owner, other = User(username="w1"), User(username="s1")
        data = {"n": 7, "owner": "w1"}
        assert kinds.describe(note_kind, data, owner, fallback="stored") == f"{heading} 7 (mine)"
        assert kinds.describe(note_kind, data, other, fallback="stored") == f"{heading} 7 (w1)"


def test_an_unknown_kind_or_no_data_gives_the_stored_message(app: Flask, note_kind: str) -> None:
    reader = User(username="w1")
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        assert kinds.describe("retired", {"n": 1, "owner": "w1"}, reader, fallback="Stored text.") == "Stored text."
        assert kinds.describe(note_kind, None, reader, fallback="Stored text.") == "Stored text."
        assert kinds.describe(note_kind, {}, reader, fallback="Stored text.") == "Stored text."
        assert kinds.describe("retired", None, reader) == ""


# --- certificate notices, in both languages ----------------------------------------------------

@pytest.fixture
def told(app: Flask) -> None:
    """w1's FTTH certificate expires in 30 days; w1 and their supervisor s1 have been told."""
    with app.app_context():
        team = f.make_team("HS01")
        installer = f.make_user(Role.INSTALLER, username="w1", team=team, name="张伟", name_en="Zhang Wei")
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        today = date(2026, 11, 28)
        expires_on = today + timedelta(days=30)
        f.make_certification(installer, "ftth", issued_on=expires_on - timedelta(days=3 * 365),
                             expires_on=expires_on, next_review_on=None)
        assert certificate_alerts(today) == 2
        db.session.commit()


@pytest.mark.parametrize(("language", "username", "expected"), [
    ("en", "w1", "Your certificate “FTTH installation and commissioning” expires on 2026-12-28, in 30 days."),
    ("en", "s1", "Zhang Wei (w1): the certificate “FTTH installation and commissioning” expires on 2026-12-28, "
                 "in 30 days."),
    ("zh-CN", "w1", "您的证书“光纤到户(FTTH)安装调试专项能力”将于 2026-12-28 到期，还有 30 天。"),
    ("zh-CN", "s1", "张伟（w1）：证书“光纤到户(FTTH)安装调试专项能力”将于 2026-12-28 到期，还有 30 天。"),
])
def test_certificate_notices_render_in_the_readers_language(client: FlaskClient, told: None, language: str,
                                                            username: str, expected: str) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
    sign_in(client, username)
    page = client.get("/notifications").get_data(as_text=True)
    assert expected in page.replace("&#34;", '"')
    if language == "zh-CN":
        assert "FTTH installation" not in page and "光纤到户(FTTH)安装调试专项能力" in page
