"""The service standard on a 390 px phone: the installer ticks the steps with taps, a completion
without them is refused with the list, and with them it goes through (no horizontal scroll)."""
from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select

from fieldsvc.auth.models import Role
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.workforce.models import JobType
from fieldsvc.workorders import standards
from fieldsvc.workorders.models import OrderStatus, Visit
from tests import factories as f
from tests.workorders.test_browser import no_horizontal_scroll, phone, sign_in_as, tap  # noqa: F401

pytestmark = [pytest.mark.real_clock]

STEPS = [standards.StepInput("shoe_covers", "进门穿戴鞋套", "Put on shoe covers at the door", standards.Phase.ON_SITE),
         standards.StepInput("cleaned_up", "清理施工现场", "Clean up the work area", standards.Phase.AT_COMPLETION)]


def test_installer_ticks_the_standard_and_completes_on_a_phone(app: Flask, server: str, phone) -> None:  # noqa: F811
    with app.app_context():
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=f.make_team()))
        admin = f.make_user(Role.ADMIN, username="admin")
        repair = db.session.scalar(select(JobType).where(JobType.code == "repair"))
        version = standards.put_version(repair, STEPS, admin, seen=0)
        order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="repair")
        db.session.add(standards.OrderStandard(work_order_id=order.id, version_id=version.id))
        db.session.add(Visit(work_order=order, seq=1, installer=installer, arrived_at=utcnow()))
        db.session.commit()
        number = order.number
    page = phone
    sign_in_as(page, server, "w1")
    page.goto(f"{server}/orders/{number}")
    no_horizontal_scroll(page)
    page.click("summary:has-text('Complete the job')")
    page.select_option("select[name='complete-fault_cause']", "onu")
    tap(page, "#action-complete button[type=submit]")
    assert "tick the required steps" in page.content()
    tap(page, "button:has-text('Put on shoe covers at the door')")
    tap(page, "button:has-text('Clean up the work area')")
    assert page.locator(".checklist .step.done").count() == 2
    page.click("summary:has-text('Complete the job')")
    page.select_option("select[name='complete-fault_cause']", "onu")
    tap(page, "#action-complete button[type=submit]")
    assert "/rating-code" in page.url
