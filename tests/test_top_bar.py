"""The top bar in a real browser: one row on a 360 px phone and on a desktop, in both languages,
for an installer and a supervisor; what does not fit is under "More", which opens without
JavaScript. Skipped where Debian's chromium is missing."""
from __future__ import annotations

import shutil

import pytest
from flask import Flask

from fieldsvc.auth.models import Role
from fieldsvc.extensions import db
from tests import factories as f

CHROMIUM = shutil.which("chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium"), pytest.mark.real_clock]

# The bar's height on a phone: brand, icons and their labels in one row (it was 230–250 px, three rows).
MAX_BAR_HEIGHT = 90


def test_one_row_at_every_width_in_both_languages(app: Flask, server: str) -> None:
    with app.app_context():
        team = f.make_team()
        f.make_user(Role.INSTALLER, username="w1", team=team)
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        db.session.commit()
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        for username, home, first, more in (("w1", "/today", "Today", None), ("s1", "/board", "Board", "Training")):
            for locale in ("en-US", "zh-CN"):
                context = browser.new_context(viewport={"width": 360, "height": 740}, locale=locale,
                                              has_touch=True)
                page = context.new_page()
                page.set_default_timeout(15_000)
                page.goto(f"{server}/login")
                page.fill("#username", username)
                page.fill("#password", f.PASSWORD)
                with page.expect_navigation():
                    page.click("main form button[type=submit]")
                assert page.url.endswith(home)
                for width in (360, 1366):
                    page.set_viewport_size({"width": width, "height": 740})
                    where = f"{username} {locale} {width} px"
                    bar = page.locator("header.topbar").bounding_box()
                    assert bar["height"] <= MAX_BAR_HEIGHT, where
                    assert page.evaluate("document.documentElement.scrollWidth") <= width, where
                    tops = page.evaluate("[...document.querySelectorAll('header .brand, header .primary > li')]"
                                         ".map(e => Math.round(e.getBoundingClientRect().top))")
                    assert max(tops) - min(tops) <= 12, (where, tops)  # one row
                    current = page.locator("header [aria-current=page]")
                    assert current.count() == 1
                    if locale == "en-US":
                        assert current.inner_text() == first
                    for target in page.locator("header .primary > li > a, header .more > summary").all():
                        box = target.bounding_box()
                        assert box["height"] >= 44 and box["width"] >= 44, (where, target.inner_text())
                    assert not page.locator("header form[action='/logout'] button").is_visible()
                    page.click("header .more > summary")
                    assert page.locator("header form[action='/logout'] button").is_visible(), where
                    if more and locale == "en-US":
                        assert page.locator("header .more").get_by_text(more).is_visible()
                    assert page.evaluate("document.documentElement.scrollWidth") <= width, where
                    page.click("header .more > summary")
                context.close()
        browser.close()
