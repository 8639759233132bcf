"""API tokens on pages: everyone manages their own, an admin anyone's; a new token is shown once,
stored as a digest, audited without itself; a revoked one stops working at the next request."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.audit.models import AuditEntry
from fieldsvc.auth.models import ApiToken, Role, User
from fieldsvc.auth.services import create_token, issue_token, revoke_token
from fieldsvc.errors import NotFound, RuleViolation
from fieldsvc.extensions import db
from tests import factories as f
from tests.conftest import csrf_token, sign_in

NEW_TOKEN = re.compile(r'<code class="new-token">(fsv_[A-Za-z0-9_-]+)</code>')


@pytest.fixture
def people(app: Flask) -> None:
    with app.app_context():
        f.reference()
        team = f.make_team("HS01")
        f.make_user(Role.INSTALLER, username="w1", team=team)
        f.make_user(Role.INSTALLER, username="w2", team=team)
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        f.make_user(Role.ADMIN, username="admin")
        db.session.commit()


def api_status(client: FlaskClient, token: str) -> int:
    return client.get("/api/v1/work-orders", headers={"Authorization": f"Bearer {token}"}).status_code


def test_a_user_creates_a_token_sees_it_once_and_revokes_it(client: FlaskClient, people: None, app: Flask) -> None:
    sign_in(client, "w1")
    response = client.post("/account/tokens", data={"csrf_token": csrf_token(client, "/account/tokens"),
                                                    "name": "CRM sync"})
    assert response.status_code == 200
    token = NEW_TOKEN.search(response.get_data(as_text=True)).group(1)
    api = app.test_client()  # no session: the API authenticates by the token alone
    assert api_status(api, token) == 200
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert token not in listing and "CRM sync" in listing and token[:10] in listing  # the prefix, not the token
    assert "never" not in listing  # it was used just now
    with app.app_context():
        api_token = db.session.scalar(select(ApiToken).where(ApiToken.name == "CRM sync"))
        assert api_token.token_hash != token and token not in repr(api_token.__dict__)
        token_id = api_token.id
        (created,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "token.create"))
        assert created.after == {"user": "w1", "name": "CRM sync", "prefix": token[:10], "revoked_at": None}
    response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf_token(client, "/account/tokens")})
    assert response.status_code == 302
    assert api_status(api, token) == 401  # the very next request
    assert "revoked" in client.get("/account/tokens").get_data(as_text=True)
    with app.app_context():
        (revoked,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoke"))
        assert revoked.object_key == str(token_id) and revoked.before == {"revoked_at": None}
        assert all(token not in str((e.before, e.after)) for e in db.session.scalars(select(AuditEntry)))


def test_a_token_needs_a_name_and_a_user_cannot_touch_anothers(client: FlaskClient, people: None, app: Flask) -> None:
    with app.app_context():
        other = create_token(db.session.scalar(select(User).where(User.username == "w2")), "w2's")
        other_id = db.session.scalar(select(ApiToken.id).where(ApiToken.name == "w2's"))
        db.session.commit()
    sign_in(client, "w1")
    assert client.post("/account/tokens", data={"csrf_token": csrf_token(client, "/account/tokens"),
                                                "name": ""}).status_code == 400
    assert client.post(f"/account/tokens/{other_id}/revoke",
                       data={"csrf_token": csrf_token(client, "/account/tokens")}).status_code == 404
    assert "w2&#39;s" not in client.get("/account/tokens").get_data(as_text=True)
    assert api_status(app.test_client(), other) == 200
    with app.app_context():
        assert db.session.scalar(select(ApiToken.id).where(ApiToken.name.is_(None))) is None
        assert db.session.scalar(select(AuditEntry.id)) is None


def test_an_admin_manages_anyones_tokens_and_a_supervisor_may_not(client: FlaskClient, people: None,
                                                                   app: Flask) -> None:
    sign_in(client, "s1")
    assert client.get("/admin/people/w1/tokens").status_code == 403
    assert client.get("/account/tokens").status_code == 200  # their own, though
    client.post("/logout", data={"csrf_token": csrf_token(client, "/account/tokens")})
    sign_in(client, "admin")
    assert client.get("/admin/people/nobody/tokens").status_code == 404
    response = client.post("/admin/people/w1/tokens", data={"csrf_token": csrf_token(client, "/admin/people/w1/tokens"),
                                                            "name": "Field tablet"})
    token = NEW_TOKEN.search(response.get_data(as_text=True)).group(1)
    with app.app_context():
        api_token = db.session.scalar(select(ApiToken).where(ApiToken.name == "Field tablet"))
        assert api_token.user.username == "w1"
        admin_id = db.session.scalar(select(User.id).where(User.username == "admin"))
        assert db.session.scalar(select(AuditEntry.actor_id).where(AuditEntry.action == "token.create")) == admin_id
        token_id = api_token.id
    # The admin's own page does not list w1's token, nor revoke it under their own name.
    assert "Field tablet" not in client.get("/account/tokens").get_data(as_text=True)
    assert client.post(f"/account/tokens/{token_id}/revoke",
                       data={"csrf_token": csrf_token(client, "/account/tokens")}).status_code == 404
    assert client.post(f"/admin/people/w1/tokens/{token_id}/revoke",
                       data={"csrf_token": csrf_token(client, "/account/tokens")}).status_code == 302
    assert api_status(app.test_client(), token) == 401


def test_the_services_refuse_a_deactivated_user_and_revoke_once(app_ctx: Flask) -> None:
    f.reference()
    user = f.make_user(Role.INSTALLER, username="w9", is_active=False)
    with pytest.raises(RuleViolation):
        issue_token(None, user, "x")
    user.is_active = True
    api_token, _token = issue_token(None, user, "  spaced  ")
    assert api_token.name == "spaced"
    with pytest.raises(NotFound):
        revoke_token(api_token.id, f.make_user())
    first = revoke_token(api_token.id, user).revoked_at
    assert revoke_token(api_token.id, user).revoked_at == first
    db.session.flush()
    assert len(list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "token.revoke")))) == 1
