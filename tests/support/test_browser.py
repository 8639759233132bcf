"""On-site support and the service standard in real browsers (headless Chromium; the server and
phone of tests/workorders/test_browser.py), issue #15's scenario: an installer on site asks for help
on a 390 px phone, the desk replies from a desktop browser, and the phone shows the reply without
being reloaded; the installer marks it solved, ticks the checklist and completes the job; once the
day is computed, the supervisor's dashboard counts both the request and the ticked checklist."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from fieldsvc.auth.models import Role
from fieldsvc.db import utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.workforce.models import JobType
from fieldsvc.workorders import standards
from fieldsvc.workorders.models import OrderStatus, Visit, WorkOrder
from tests import factories as f
from tests.workorders.test_browser import (  # noqa: F401  (phone: the fixture)
    CHROMIUM,
    desktop_signed_in,
    no_horizontal_scroll,
    phone,
    sign_in_as,
    tap,
)

STEPS = [standards.StepInput("booked_call", "电话预约", "Call the customer to book", standards.Phase.BEFORE_ARRIVAL),
         standards.StepInput("shoe_covers", "进门穿戴鞋套", "Put on shoe covers at the door", standards.Phase.ON_SITE),
         standards.StepInput("cleaned_up", "清理施工现场", "Clean up the work area", standards.Phase.AT_COMPLETION)]

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium"), pytest.mark.real_clock]


def test_help_asked_on_a_phone_is_answered_from_the_desk(app: Flask, server: str, phone) -> None:  # noqa: F811
    app.config["SUPPORT_POLL_SECONDS"] = 1  # the page polls every 10 s in use; the test need not wait that long
    with app.app_context():
        team = f.make_team()
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=team))
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        repair = db.session.scalar(select(JobType).where(JobType.code == "repair"))
        version = standards.put_version(repair, STEPS, f.make_user(Role.ADMIN, username="admin"), seen=0)
        order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="repair", visit_count=1,
                                  appointment_start=utcnow() - timedelta(minutes=30),
                                  appointment_end=utcnow() + timedelta(hours=2))  # agreed when it was created
        db.session.add(standards.OrderStandard(work_order_id=order.id, version_id=version.id))
        db.session.add(Visit(work_order=order, seq=1, installer_id=installer.id, arrived_at=utcnow()))
        db.session.commit()
        number, team_code = order.number, team.code
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

    desk, screen = desktop_signed_in(page, server, "s1")
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

    # The service standard, ticked with taps (the call too: the window was agreed at creation), then done.
    for step in ("Call the customer to book", "Put on shoe covers at the door", "Clean up the work area"):
        tap(page, f".checklist button:has-text('{step}')")
    assert page.locator(".checklist .step.done").count() == 3
    page.click("summary:has-text('Complete the job')")
    page.select_option("select[name='complete-fault_cause']", "onu")
    tap(page, "#action-complete button[type=submit]")
    assert "/rating-code" in page.url

    # The day the job was completed, computed as the scheduler would: the figures count both.
    with app.app_context():
        completed = db.session.scalar(select(WorkOrder.completed_at).where(WorkOrder.number == number))
        day = completed.astimezone(zone()).date()
        found = f.figures_of(day, now=utcnow() + timedelta(days=2))
        db.session.commit()
    team_of = lambda code: found[(code, "team", team_code)]  # noqa: E731
    assert team_of("checklist_compliance_rate")[:2] == (1, 1)
    assert team_of("onsite_resolution_rate_with_support")[:2] == (1, 1)
    assert team_of("support_requests_per_100_orders")[2] == 100
    desk, screen = desktop_signed_in(page, server, "s1")
    screen.goto(f"{server}/quality?scope=team&id={team_code}&period=day&on={day.isoformat()}")
    standard = " ".join(screen.inner_text(".kpis[aria-label='Service standard']").split())
    support = " ".join(screen.inner_text(".kpis[aria-label='On-site support']").split())
    assert "Checklist compliance 100.0% 1/1" in standard, standard
    assert "On-site resolution with a support request 100.0% 1/1" in support, support
    assert "Support requests per 100 orders 100" in support, support
    desk.close()
