"""Today keeps itself fresh in real browsers (headless Chromium; the server and phone of
tests/workorders/test_browser.py): a supervisor assigns an order from a desktop browser and the
installer's Today on a 390 px phone shows it without being reloaded; while nothing changes its
revalidations are answered 304; a hidden page does not ask, a signed-out one stops asking."""
from __future__ import annotations

import time

import pytest
from flask import Flask

from fieldsvc.auth.models import Role
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus
from tests import factories as f
from tests.workorders.test_browser import (  # noqa: F401  (phone: the fixture)
    CHROMIUM,
    desktop_signed_in,
    no_horizontal_scroll,
    phone,
    sign_in_as,
)

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium"), pytest.mark.real_clock]


def test_an_order_assigned_on_the_desk_appears_on_the_phone(app: Flask, server: str, phone) -> None:  # noqa: F811
    app.config["TODAY_POLL_SECONDS"] = 1  # the page asks every 30 s in use; the test need not wait that long
    with app.app_context():
        team = f.make_team()
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=team))
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        f.make_work_order(OrderStatus.ACCEPTED, assignee=installer, customer=f.make_customer(name="李娜"))
        waiting = f.make_work_order(OrderStatus.NEW, team_id=team.id, customer=f.make_customer(name="赵敏"))
        db.session.commit()
        number = waiting.number
    page = phone
    polls: list[int] = []
    page.on("response", lambda r: polls.append(r.status) if r.url.endswith("/today") and
            r.request.resource_type == "fetch" else None)
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP refused ' + e.violatedDirective + ' ' + e.sourceFile))")
    sign_in_as(page, server, "w1")
    assert page.url.endswith("/today") and "李娜" in page.inner_text("main") and number not in page.inner_text("main")
    page.evaluate("window.notReloaded = true")
    page.wait_for_function("window.notReloaded && true", timeout=5_000)
    deadline = time.monotonic() + 10
    while len(polls) < 2 and time.monotonic() < deadline:
        page.wait_for_timeout(250)
    assert polls and set(polls) == {304}, polls  # nothing changed: a few hundred bytes each time

    desk, screen = desktop_signed_in(page, server, "s1")
    screen.goto(f"{server}/orders/{number}")
    with screen.expect_navigation():
        screen.click(".suggestions li:has-text('w1') button[type=submit]")
    assert "Saved." in screen.inner_text("main")
    desk.close()

    page.wait_for_selector(f"[data-today-live] a[href='/orders/{number}']", timeout=8_000)
    assert page.evaluate("window.notReloaded") is True  # it came by itself
    assert "赵敏" in page.inner_text("[data-today-live]") and 200 in polls
    no_horizontal_scroll(page)

    # Hidden (the phone locked, another tab): no more questions until the page is shown again.
    page.evaluate("Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});"
                  "document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_timeout(300)
    asked = len(polls)
    page.wait_for_timeout(2_500)
    assert len(polls) == asked
    page.evaluate("Object.defineProperty(document, 'hidden', {configurable: true, get: () => false});"
                  "document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_timeout(500)
    assert len(polls) > asked and polls[-1] == 304  # asked at once on showing; nothing new since

    # Signed out (from another tab): the page stops asking after the first refusal.
    other = page.context.new_page()
    other.goto(f"{server}/today")
    other.click("summary:has-text('More')")
    with other.expect_navigation():
        other.click("button:has-text('Sign out')")
    other.close()
    page.wait_for_timeout(2_500)
    assert polls[-1] == 302, polls[-3:]
    refused = len(polls)
    page.wait_for_timeout(2_500)
    assert len(polls) == refused
    assert not problems, problems
