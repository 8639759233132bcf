"""The procedure notes of "Ask for help" in a real browser (headless Chromium; the server and phone
of tests/workorders/test_browser.py): on a 390 px phone, only the chosen category's notes show."""
from __future__ import annotations

import pytest
from flask import Flask

from fieldsvc.auth.models import Role
from fieldsvc.extensions import db
from fieldsvc.support.knowledge import NoteData, create_note
from fieldsvc.workorders.models import OrderStatus
from tests import factories as f
from tests.workorders.test_browser import (  # noqa: F401  (phone: the fixture)
    CHROMIUM,
    no_horizontal_scroll,
    phone,
    sign_in_as,
)

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium"), pytest.mark.real_clock]


def test_ask_for_help_shows_the_chosen_categorys_notes(app: Flask, server: str, phone) -> None:  # noqa: F811
    with app.app_context():
        team = f.make_team()
        installer = f.make_user(Role.INSTALLER, username="w1", team=team)
        admin = f.make_user(Role.ADMIN, username="a1")
        order = f.make_work_order(OrderStatus.EN_ROUTE, assignee=installer, job_type="install")
        create_note(admin, NoteData(title_zh="光功率偏低排查：先清洁连接器再测一次", body_zh="先清洁。",
                                    categories=("optical_signal",)))
        create_note(admin, NoteData(title_zh="无空闲端口处理", body_zh="联系资源岗。", categories=("resource_port",)))
        db.session.commit()
        number = order.number
    page = phone
    sign_in_as(page, server, "w1")
    page.goto(f"{server}/orders/{number}")
    page.click("summary:has-text('Ask for help')")
    signal, port = "details[data-category=optical_signal]", "details[data-category=resource_port]"
    assert page.is_visible(signal) and page.is_visible(port)  # nothing chosen yet: every category's, folded
    assert not page.is_visible(f"{signal} a")
    page.select_option("select[name=category]", "optical_signal")
    assert page.is_visible(f"{signal} a:has-text('光功率偏低排查')") and not page.is_visible(port)
    no_horizontal_scroll(page)
    page.select_option("select[name=category]", "provisioning")  # no notes for it: the list goes
    assert not page.is_visible("[data-ask-notes]")
    page.select_option("select[name=category]", "resource_port")
    assert page.is_visible(f"{port} a:has-text('无空闲端口处理')") and not page.is_visible(signal)
