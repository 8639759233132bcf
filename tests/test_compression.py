"""Compressed answers: stylesheets, scripts and the API's JSON go out compressed as the client
accepts; HTML pages do not (BREACH: they carry the CSRF token and echo the search)."""
from __future__ import annotations

import gzip

import brotli
import pytest
from flask import Flask
from flask.testing import FlaskClient

from fieldsvc.auth.models import Role
from fieldsvc.auth.services import create_token
from fieldsvc.extensions import db
from tests import factories as f
from tests.conftest import sign_in

ASSETS = ("/static/vendor/pico/pico.min.css", "/static/vendor/htmx/htmx.min.js", "/static/css/app.css",
          "/static/js/job.js")


@pytest.mark.parametrize("path", ASSETS)
def test_static_assets_go_out_compressed(client: FlaskClient, path: str) -> None:
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    assert plain.status_code == 200 and "Content-Encoding" not in plain.headers
    gzipped = client.get(path, headers={"Accept-Encoding": "gzip, deflate"})  # a browser over plain http
    assert gzipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(gzipped.get_data()) == plain.get_data()
    assert len(gzipped.get_data()) < len(plain.get_data()) * 0.5
    best = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})  # over https
    assert best.headers["Content-Encoding"] == "br"
    assert brotli.decompress(best.get_data()) == plain.get_data()
    assert "Accept-Encoding" in best.headers["Vary"]
    assert int(best.headers["Content-Length"]) == len(best.get_data())
    # The validator names the encoding, so a revalidation answers 304 for the same encoding only.
    again = client.get(path, headers={"Accept-Encoding": "br", "If-None-Match": best.headers["ETag"]})
    assert again.status_code == 304


def test_api_json_goes_out_compressed(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        team = f.make_team()
        for _ in range(12):
            f.make_work_order(assignee=f.make_user(Role.INSTALLER, team=team))
        token = create_token(f.make_user(Role.ADMIN))
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    plain = client.get("/api/v1/work-orders", headers=headers)
    packed = client.get("/api/v1/work-orders", headers={**headers, "Accept-Encoding": "gzip"})
    assert packed.status_code == 200 and packed.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(packed.get_data()) == plain.get_data()
    problem = client.get("/api/v1/work-orders/WO-NONE" + "x" * 600, headers={**headers, "Accept-Encoding": "gzip"})
    assert problem.status_code == 404 and "Content-Encoding" not in problem.headers  # refusals stay plain


def test_html_pages_are_not_compressed(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        f.make_user(Role.SUPERVISOR, username="s1", team=f.make_team())
        db.session.commit()
    sign_in(client, "s1")
    for path in ("/board?q=" + "a" * 600, "/certifications", "/training"):
        response = client.get(path, headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
        assert response.status_code == 200 and response.mimetype == "text/html", path
        assert "Content-Encoding" not in response.headers, path
