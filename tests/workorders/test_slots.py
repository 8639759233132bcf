"""The booking slots: one helper turns a booked slot into aware times, for every page that books."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.db import local_today
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus, WorkOrder
from fieldsvc.workorders.slots import SLOTS, slot_labels, slot_starting, slot_times
from tests import factories as f
from tests.conftest import sign_in
from tests.workorders.test_pages import do

TZ = ZoneInfo("Asia/Shanghai")


def test_a_slot_becomes_aware_local_times() -> None:
    start, end = slot_times(date(2026, 3, 17), "14-16", TZ)
    assert start == datetime(2026, 3, 17, 14, tzinfo=TZ) and end == datetime(2026, 3, 17, 16, tzinfo=TZ)
    assert start.utcoffset() == timedelta(hours=8)
    assert slot_starting(start.astimezone(ZoneInfo("UTC")), TZ) == "14-16"
    assert slot_starting(start + timedelta(minutes=30), TZ) == ""
    with pytest.raises(KeyError):
        slot_times(date(2026, 3, 17), "13-14", TZ)


def test_every_slot_is_offered_with_its_times() -> None:
    assert [code for code, _label in slot_labels()] == [code for code, _start, _end in SLOTS]
    assert dict(slot_labels())["09-11"] == "09:00–11:00"


def test_the_job_page_and_the_edit_page_book_the_same_window(client: FlaskClient, app: Flask, web_crew: None) -> None:
    with app.app_context():
        from fieldsvc.auth.models import User

        w1 = db.session.scalar(select(User).where(User.username == "w1"))
        number = f.make_work_order(OrderStatus.ACCEPTED, assignee=w1).number
        db.session.commit()
    day = local_today(TZ) + timedelta(days=1)
    sign_in(client, "w1")
    assert do(client, number, "book", day=day.isoformat(), slot="16-18").status_code == 302
    with app.app_context():
        order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert (order.appointment_start, order.appointment_end) == slot_times(day, "16-18", TZ)
    client.delete_cookie("session")
    sign_in(client, "s1")
    page = client.get(f"/orders/{number}/edit").get_data(as_text=True)
    assert '<option selected value="16-18">' in page and f'value="{day.isoformat()}"' in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    assert client.post(f"/orders/{number}/edit", data={"csrf_token": token, "version": version, "priority": "normal",
                                                       "day": day.isoformat(), "slot": "09-11"}).status_code == 302
    with app.app_context():
        order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert (order.appointment_start, order.appointment_end) == slot_times(day, "09-11", TZ)
