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
    for path in ("/me/certifications", "/", "/no-such-page"):
        assert client.get(path).headers["Cache-Control"] == "no-store", path
    # The installer's Today and job page may be kept, but never shown again without asking (a 304
    # for this session only: tests/workorders/test_conditional_get.py).
    for path in ("/today", f"/orders/{crew['order']}"):
        assert client.get(path).headers["Cache-Control"] == "private, no-cache", path
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


# --- behind the TLS proxy: FIELDSVC_TRUSTED_PROXIES ---------------------------------------------

PROXY = "10.0.0.1"


def _behind_proxy(app: Flask, proxies: int) -> Flask:
    """An app with the sign-in throttle on (3 attempts a minute per address) and `proxies` trusted."""
    from fieldsvc import create_app

    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                       "SECRET_KEY": "x", "SESSION_COOKIE_SECURE": False, "RATELIMIT_ENABLED": True,
                       "LOGIN_RATE_LIMIT": "3 per minute", "TRUSTED_PROXIES": proxies})


def _attempts(app: Flask, forwarded_for: str, count: int) -> list[int]:
    """`count` sign-ins with unknown accounts (so only the per-address limit counts), through the proxy."""
    client = app.test_client()
    client.environ_base.update(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    return [sign_in(client, f"nobody-{forwarded_for}-{i}", "x").status_code for i in range(count)]


def test_behind_a_trusted_proxy_the_throttle_keys_on_the_clients_address(app: Flask) -> None:
    proxied = _behind_proxy(app, 1)
    try:
        assert proxied.wsgi_app.x_for == proxied.wsgi_app.x_proto == proxied.wsgi_app.x_host == 1
        assert _attempts(proxied, "203.0.113.7", 4) == [400, 400, 400, 429]
        assert _attempts(proxied, "198.51.100.9", 1) == [400]  # another client behind the same proxy
        # a forged header in front of what the proxy appended changes nothing
        assert _attempts(proxied, "198.51.100.9, 203.0.113.7", 1) == [429]
        https = proxied.test_client().get("/login", headers={"X-Forwarded-Proto": "https"}, environ_base={"REMOTE_ADDR": PROXY})
        assert https.headers["Strict-Transport-Security"] == HSTS
    finally:
        with proxied.app_context():
            db.engine.dispose()


def test_without_trusted_proxies_forwarded_headers_are_ignored(app: Flask) -> None:
    direct = _behind_proxy(app, 0)
    try:
        assert _attempts(direct, "203.0.113.7", 3) == [400] * 3
        assert _attempts(direct, "198.51.100.9", 1) == [429]  # a made-up address does not escape the limit
        plain = direct.test_client().get("/login", headers={"X-Forwarded-Proto": "https"})
        assert "Strict-Transport-Security" not in plain.headers
    finally:
        with direct.app_context():
            db.engine.dispose()


def test_trusted_proxies_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    from fieldsvc import create_app

    settings = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}", "SECRET_KEY": "x"}
    monkeypatch.setenv("FIELDSVC_TRUSTED_PROXIES", "2")
    assert create_app(settings).wsgi_app.x_for == 2
    for wrong in ("one", "-1"):
        monkeypatch.setenv("FIELDSVC_TRUSTED_PROXIES", wrong)
        with pytest.raises(ValueError, match="FIELDSVC_TRUSTED_PROXIES"):
            create_app(settings)
