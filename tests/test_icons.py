"""Icons are inline SVG from the vendored sprite, never emoji (which render as empty boxes on a
phone without an emoji font); every icon a template names exists in the sprite."""
from __future__ import annotations

import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from fieldsvc.auth.models import Role
from fieldsvc.extensions import db
from tests import factories as f
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parents[1]
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u26FF\u2700-\u27BF]\ufe0f?")
ALLOWED_SYMBOLS = set("✔✘★⚠")  # text symbols every font has, used as status marks


def test_every_icon_named_in_a_template_is_in_the_sprite(client: FlaskClient) -> None:
    sprite = client.get("/static/vendor/lucide/icons.svg")
    assert sprite.status_code == 200 and sprite.mimetype == "image/svg+xml"
    symbols = set(re.findall(r'<symbol id="([\w-]+)"', sprite.get_data(as_text=True)))
    named = {name for path in (ROOT / "templates").rglob("*.html")
             for name in re.findall(r'icon\("([\w-]+)"', path.read_text(encoding="utf-8"))}
    assert named and named <= symbols, named - symbols


def test_no_emoji_in_templates() -> None:
    for path in (ROOT / "templates").rglob("*.html"):
        found = {m.group(0) for m in EMOJI.finditer(path.read_text(encoding="utf-8"))} - ALLOWED_SYMBOLS
        assert not found, (path.name, found)


def test_the_job_page_calls_and_navigates_with_svg_icons(app: Flask, client: FlaskClient) -> None:
    with app.app_context():
        installer = f.make_user(Role.INSTALLER, username="w1", team=f.make_team())
        order = f.make_work_order(assignee=installer)
        db.session.commit()
        number = order.number
    sign_in(client, "w1")
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    for name in ("phone", "pin"):
        assert re.search(rf'icons\.svg\?v=[0-9a-f]{{12}}#{name}"', page)  # the sprite's fingerprinted address
    assert not EMOJI.search(page.replace("✔", "").replace("✘", "").replace("★", "").replace("⚠", ""))
