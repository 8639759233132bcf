"""The headers every answer carries: no storing of personal data in any cache, HSTS over HTTPS."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fieldsvc.auth.models import Role
from fieldsvc.auth.services import create_token
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus
from tests import factories as f
from tests.conftest import sign_in

HSTS = "max-age=31536000; includeSubDomains"


@pytest.fixture
def crew(app: Flask) -> dict[str, str]:
    """An installer with an assigned order, their supervisor, and an admin API token."""
    with app.app_context():
        team = f.make_team("HS01")
        installer = f.make_user(Role.INSTALLER, username="w1", team=team)
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        admin = f.make_user(Role.ADMIN, username="admin")
        order = f.make_work_order(OrderStatus.ASSIGNED, assignee=installer)
        token = create_token(admin)
        db.session.commit()
        return {"order": order.number, "token": token}


def test_pages_with_personal_data_are_never_stored(app: Flask, client: FlaskClient, crew: dict[str, str]) -> None:
    sign_in(client, "w1")
    for path in ("/today", f"/orders/{crew['order']}", "/me/certifications", "/", "/no-such-page"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    supervisor = app.test_client()
    sign_in(supervisor, "s1")
    for path in ("/board", "/certifications", "/certifications/export.csv", "/certifications/export.xlsx"):
        assert supervisor.get(path).headers["Cache-Control"] == "no-store", path
    api = app.test_client()
    for path in ("/api/v1/work-orders", f"/api/v1/work-orders/{crew['order']}", "/api/v1/no-such-thing"):
        response = api.get(path, headers={"Authorization": f"Bearer {crew['token']}"})
        assert response.headers["Cache-Control"] == "no-store", path
    assert api.get("/api/v1/work-orders").headers["Cache-Control"] == "no-store"  # 401 too
    assert app.test_client().get("/login").headers["Cache-Control"] == "no-store"  # its CSRF token is the session's


def test_static_assets_keep_their_own_caching(client: FlaskClient) -> None:
    response = client.get("/static/css/app.css")
    assert response.status_code == 200 and "no-store" not in response.headers["Cache-Control"]
    response.close()


def test_hsts_over_https(client: FlaskClient) -> None:
    assert client.get("/login", base_url="https://localhost").headers["Strict-Transport-Security"] == HSTS
    assert "Strict-Transport-Security" not in client.get("/login").headers  # plain HTTP, cookies not Secure


def test_hsts_when_the_cookies_are_secure(app: Flask, client: FlaskClient) -> None:
    """Secure cookies mean the site is served over HTTPS, even when the proxy in front does not say so."""
    app.config["SESSION_COOKIE_SECURE"] = True
    assert client.get("/login").headers["Strict-Transport-Security"] == HSTS
