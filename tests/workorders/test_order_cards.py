"""The cards of the installer's lists are rendered once and kept by what each shows
(`workorders.views.order_cards`, keyed by `freshness.card_row`): a list rendered again after one
order changed renders that card alone, and nothing a card shows is ever served stale."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.caching import Fragments
from fieldsvc.db import utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.workforce.models import District, JobType
from fieldsvc.workorders.models import OrderStatus, WorkOrder
from tests.conftest import csrf_token
from tests.workorders.test_query_counts import add_orders


def _kept(app: Flask) -> Fragments:
    with app.app_context():
        return Fragments.of("order_cards", 5000)


def _cards(page: str) -> list[str]:
    return [card.split("</li>")[0] for card in page.split('<li class="order-card')[1:]]


def _first_open(app: Flask) -> WorkOrder:
    return db.session.scalars(select(WorkOrder).where(WorkOrder.completed_at.is_(None),
                                                      WorkOrder.cancelled_at.is_(None))
                              .order_by(WorkOrder.appointment_start)).first()


def test_a_list_shown_again_after_one_change_renders_that_card_alone(app: Flask, installer_client: FlaskClient) -> None:
    add_orders(app, 4)
    first = installer_client.get("/today").get_data(as_text=True)
    shown = len(_cards(first))
    # One of the four was cancelled, and near midnight the later ones are booked for tomorrow.
    assert shown >= 1 and len(_kept(app)) == shown
    assert installer_client.get("/today").get_data(as_text=True) == first
    assert len(_kept(app)) == shown  # nothing rendered again
    with app.app_context():
        order = _first_open(app)
        order.address = "汉口 新华路 88号 <b>3</b>"
        db.session.commit()
    again = installer_client.get("/today").get_data(as_text=True)
    assert len(_kept(app)) == shown + 1  # the changed card, and only it
    assert "新华路 88号 &lt;b&gt;3&lt;/b&gt;" in again and "<b>3</b>" not in again  # escaped as the template does
    assert sum(card in first for card in _cards(again)) == shown - 1


@pytest.mark.parametrize("change", ["customer", "district", "job_type", "status", "window", "completed"])
def test_whatever_a_card_shows_that_changes_is_shown_at_once(app: Flask, installer_client: FlaskClient,
                                                            change: str) -> None:
    add_orders(app, 3)
    installer_client.get("/today")
    with app.app_context():
        order = _first_open(app)
        expected = {"customer": "改名的客户", "district": "Renamed district", "job_type": "Renamed type",
                    "status": "status-en_route", "window": None, "completed": "done "}[change]
        if change == "customer":
            order.customer.name = expected
        elif change == "district":
            db.session.get(District, order.district_id).name_en = expected
        elif change == "job_type":
            db.session.get(JobType, order.job_type_id).name_en = expected
        elif change == "status":
            order.status = OrderStatus.EN_ROUTE
        elif change == "window":  # the card shows the window's end as "–HH:mm" in the operator's zone
            order.appointment_end = order.appointment_start + timedelta(hours=3, minutes=17)
            expected = "–" + order.appointment_end.astimezone(zone()).strftime("%H:%M")
        else:
            order.status, order.completed_at = OrderStatus.COMPLETED, utcnow()
        db.session.commit()
    page = installer_client.get("/today").get_data(as_text=True)
    assert expected in page


def test_the_overdue_mark_follows_the_clock(app: Flask, installer_client: FlaskClient, clock) -> None:
    add_orders(app, 2)
    assert "is-overdue" not in "".join(_cards(installer_client.get("/today").get_data(as_text=True)))
    with app.app_context():
        order = _first_open(app)
        order.due_by = utcnow() + timedelta(minutes=5)
        db.session.commit()
    assert "is-overdue" not in "".join(_cards(installer_client.get("/today").get_data(as_text=True)))
    clock.move_to(utcnow() + timedelta(minutes=6))
    cards = "".join(_cards(installer_client.get("/today").get_data(as_text=True)))
    assert "is-overdue" in cards and "⚠" in cards


def test_each_language_gets_its_own_cards(app: Flask, installer_client: FlaskClient) -> None:
    add_orders(app, 2)
    english = _cards(installer_client.get("/today").get_data(as_text=True))
    installer_client.post("/language", data={"lang": "zh_CN", "csrf_token": csrf_token(installer_client, "/today"),
                                             "next": "/today"})
    chinese = _cards(installer_client.get("/today").get_data(as_text=True))
    assert "due " in english[0] and "due " not in chinese[0] and "前完成" in chinese[0]
    assert len(_kept(app)) == len(english) + len(chinese) and len(english) == len(chinese) >= 1
