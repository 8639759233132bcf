"""Bulk onboarding in a real browser (headless Chromium, the phone of tests/workorders/test_browser.py):
an admin uploads 1,000 installers with one bad row, sees the row and column named, uploads the
corrected file, confirms; a new installer signs in with their initial password, and every one of
them is assignable to a repair in their team's district."""
from __future__ import annotations

import csv
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, select

from fieldsvc.auth.models import Role, User
from fieldsvc.db import local_today, zone
from fieldsvc.extensions import db
from fieldsvc.onboarding.parse import HEADERS
from fieldsvc.workorders.dispatch import check_eligibility
from fieldsvc.workorders.models import WorkOrder
from tests import factories as f
from tests.workorders.test_browser import (  # noqa: F401  (phone: the fixture)
    CHROMIUM,
    phone,
    sign_in_as,
    tap,
)

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium"), pytest.mark.real_clock]
INITIAL = "Tr0ub4dor-and-3"


def installers_file(path: Path, bad_team_on: int | None) -> Path:
    issued = (f.today() - timedelta(days=30)).isoformat()  # by the real clock: valid today
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS["zh"])
        for i in range(1000):
            team = "NOPE" if i == bad_team_on else "HS01"
            writer.writerow([f"w{10000 + i}", f"装维{i}", f"139{i:08d}", team, "自有", "service_star", f"SS-{i}",
                             issued, "3", INITIAL if i == 1 else ""])
    return path


def test_admin_onboards_a_thousand_installers(app: Flask, server: str, phone, tmp_path: Path) -> None:  # noqa: F811
    with app.app_context():
        f.make_team("HS01", districts=("hongshan",))
        f.make_user(Role.ADMIN, username="admin")
        order = f.make_work_order(job_type="repair")  # in Hongshan, needs a service-star certificate
        db.session.commit()
        order_id = order.id
    page = phone
    sign_in_as(page, server, "admin")
    page.goto(f"{server}/admin/onboarding/")
    page.set_input_files("input[type=file]", str(installers_file(tmp_path / "bad.csv", bad_team_on=499)))
    tap(page, "main form button[type=submit]")
    main = page.inner_text("main")
    assert "In error: 1" in main and "New: 999" in main
    first = page.locator("li.import-row").first
    assert "Line 501" in first.inner_text() and "Team code: No active team has the code NOPE" in first.inner_text()
    assert page.locator("button:has-text('Import')").count() == 0
    page.set_input_files("input[type=file]", str(installers_file(tmp_path / "fixed.csv", bad_team_on=None)))
    tap(page, "main form button[type=submit]")
    assert "In error: 0" in page.inner_text("main") and "New: 1000" in page.inner_text("main")
    assert page.locator("li.import-row").count() == 200  # the rest counted, a link away
    tap(page, "button:has-text('Import 1000 rows')")
    assert "Imported: 1000 new, 0 changed, 0 unchanged." in page.inner_text("main")
    with app.app_context():
        installers = list(db.session.scalars(select(User).where(User.role == Role.INSTALLER)))
        assert len(installers) == 1000
        verdicts = check_eligibility(db.session.get(WorkOrder, order_id), installers, local_today(zone()))
        assert all(not v.unmet for v in verdicts), [v.unmet for v in verdicts if v.unmet][:3]
        assert db.session.scalar(select(func.count()).select_from(User).where(User.password_hash.like("!%"))) == 999
    page.context.clear_cookies()
    page.goto(f"{server}/login")
    page.fill("#username", "w10001")
    page.fill("#password", INITIAL)
    tap(page, "main form button[type=submit]")
    assert page.url.endswith("/today")
