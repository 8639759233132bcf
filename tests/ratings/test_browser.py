"""The follow-up loop in a real phone-sized browser (headless Chromium, 390×844, the server and
phone of tests/workorders/test_browser.py): an installer completes a job, the customer rates it
1 star on the rating page, the supervisor sees the follow-up on the board, contacts the customer,
closes it with an outcome, and the job page tells the whole story."""
from __future__ import annotations

import re

import pytest
from flask import Flask

from fieldsvc.auth.models import Role
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus, Visit
from tests import factories as f
from tests.workorders.test_browser import CHROMIUM, no_horizontal_scroll, phone, sign_in_as, tap  # noqa: F401

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium"), pytest.mark.real_clock]


def test_a_bad_rating_is_followed_up_to_the_end(app: Flask, server: str, phone) -> None:  # noqa: F811
    with app.app_context():
        team = f.make_team()
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=team))
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="repair")
        db.session.add(Visit(work_order=order, seq=1, installer_id=installer.id, arrived_at=utcnow()))
        db.session.commit()
        number = order.number
    page = phone
    sign_in_as(page, server, "w1")
    page.goto(f"{server}/orders/{number}")
    page.click("summary:has-text('Complete the job')")
    page.select_option("select[name='complete-fault_cause']", "onu")
    tap(page, "details[open] button[type=submit]")
    rating_path = re.search(r"/r/[\w-]+", page.inner_text(".qr + p")).group(0)

    customer = page.context.browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    form = customer.new_page()
    form.goto(f"{server}{rating_path}")
    form.check("input[name=score][value='1']")
    form.fill("textarea[name=comment]", "师傅迟到两小时")
    with form.expect_navigation():
        form.click("main button[type=submit]")
    assert "Thank you!" in form.inner_text("main")
    customer.close()

    page.context.clear_cookies()
    sign_in_as(page, server, "s1")
    queue = page.locator("section.followup-queue")
    assert "1" in queue.locator("h2 .badge").first.inner_text() and number in queue.inner_text()
    tap(page, f"section.followup-queue a:has-text('{number}')")
    assert "师傅迟到两小时" in page.inner_text("main")
    page.fill("textarea[name=note]", "已致电客户，致歉")
    tap(page, "button:has-text('Record the contact')")
    page.select_option("select[name=outcome]", "explained")
    page.select_option("select[name=cause]", "punctuality")
    page.fill("#close textarea[name=note]", "客户接受解释")
    tap(page, "#close button[type=submit]")
    tap(page, f"h1 a:has-text('{number}')")
    story = page.inner_text("main")
    for step in ("Complete the job", "Rated ★☆☆☆☆ by the customer", "Follow-up opened", "Customer contacted",
                 "已致电客户，致歉", "Follow-up closed", "Explained to the customer", "Punctuality", "客户接受解释"):
        assert step in story, step
    assert not re.findall(r"\b[a-z]+_[a-z_]+\b", story)  # no raw code on screen
