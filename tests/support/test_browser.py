"""On-site support in real browsers (headless Chromium; the server and phone of
tests/workorders/test_browser.py): an installer on site asks for help on a 390 px phone, the desk
replies from a desktop browser, and the phone shows the reply without being reloaded; the
installer marks it solved and the job's history tells the story."""
from __future__ import annotations

import pytest
from flask import Flask

from fieldsvc.auth.models import Role
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus, Visit
from tests import factories as f
from tests.workorders.test_browser import (  # noqa: F401  (phone: the fixture)
    CHROMIUM,
    no_horizontal_scroll,
    phone,
    sign_in_as,
    tap,
)

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium"), pytest.mark.real_clock]


def test_help_asked_on_a_phone_is_answered_from_the_desk(app: Flask, server: str, phone) -> None:  # noqa: F811
    app.config["SUPPORT_POLL_SECONDS"] = 1  # the page polls every 10 s in use; the test need not wait that long
    with app.app_context():
        team = f.make_team()
        installer = f.make_user(Role.INSTALLER, username="w1", team=team)
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="install")
        db.session.add(Visit(work_order=order, seq=1, installer_id=installer.id, arrived_at=utcnow()))
        db.session.commit()
        number = order.number
    page = phone
    sign_in_as(page, server, "w1")
    page.goto(f"{server}/orders/{number}")
    page.click("summary:has-text('Ask for help')")
    page.select_option("select[name=category]", "optical_signal")
    page.fill("textarea[name=note]", "光功率-29，分光器口可能坏了")
    page.fill("input[name=reading_dbm]", "-29.3")
    tap(page, "#support-ask button[type=submit]")
    assert "Waiting for the support desk" in page.inner_text("#support")
    page.evaluate("window.notReloaded = true")

    desk = page.context.browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    screen = desk.new_page()
    screen.goto(f"{server}/login")  # (sign_in_as checks a phone's width)
    screen.fill("#username", "s1")
    screen.fill("#password", f.PASSWORD)
    with screen.expect_navigation():
        screen.click("main form button[type=submit]")
    screen.goto(f"{server}/support")
    assert "Optical signal" in screen.inner_text("main")
    with screen.expect_navigation():
        screen.click(f"main a:has-text('{number}')")
    assert "光功率-29" in screen.inner_text("main") and "-29.3 dBm" in screen.inner_text("main")
    screen.fill("textarea[name=body]", "换到3号分光器口再测")
    with screen.expect_navigation():
        screen.click("#reply button[type=submit]")
    assert "Reply sent." in screen.inner_text("main")
    desk.close()

    page.wait_for_selector("#support :text('换到3号分光器口再测')", timeout=8_000)
    assert page.evaluate("window.notReloaded") is True  # it came by itself
    no_horizontal_scroll(page)
    tap(page, "button:has-text('Solved, thanks')")
    story = page.inner_text("main")
    for step in ("solved, thanked", "Asked for help", "Support desk replied", "Marked solved, thanks"):
        assert step in story, step
    no_horizontal_scroll(page)
