"""Customers sending the same bad rating at the same moment (a double tap, two phones on one
link): exactly one rating counts and exactly one follow-up opens. Real threads on real connections
(SQLite or PostgreSQL), in the style of tests/workorders/test_concurrency.py."""
from __future__ import annotations

import threading
from datetime import timedelta

from flask import Flask
from sqlalchemy import func, select

from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.notifications.models import Notification
from fieldsvc.ratings.models import FollowUp, SurveyResponse
from fieldsvc.ratings.services import invite
from fieldsvc.workorders.models import OrderStatus, WorkOrderEvent
from tests import factories as f
from tests.conftest import csrf_token
from tests.workorders.conftest import build_crew

SENDERS = 8


def test_simultaneous_bad_ratings_open_exactly_one_follow_up(app: Flask) -> None:
    with app.app_context():
        crew = build_crew()
        done = utcnow() - timedelta(hours=1)
        order = f.make_work_order(OrderStatus.COMPLETED, assignee=crew.installer, completed_by_id=crew.installer.id,
                                  completed_at=done)
        token = invite(order, done)
        db.session.commit()
        order_id = order.id
    path = f"/r/{token}"
    barrier = threading.Barrier(SENDERS)
    results: list[object] = [None] * SENDERS

    def send(index: int) -> None:
        client = app.test_client()
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        form = {"csrf_token": csrf_token(client, path), "score": "1", "comment": f"第{index}次"}
        barrier.wait()
        try:
            response = client.post(path, data=form)
            results[index] = (response.status_code, "Thank you!" in response.get_data(as_text=True))
        except Exception as error:  # the app raises in testing mode: a 500 in production
            results[index] = type(error).__name__

    threads = [threading.Thread(target=send, args=(i,)) for i in range(SENDERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    # One thanked, the others told the visit is rated already; nobody gets an error.
    assert sorted(results, key=str) == [(200, False)] * (SENDERS - 1) + [(200, True)], results
    with app.app_context():
        count = lambda model, *where: db.session.scalar(select(func.count()).select_from(model).where(*where))  # noqa: E731
        assert count(SurveyResponse) == 1
        assert count(FollowUp, FollowUp.work_order_id == order_id) == 1
        assert count(WorkOrderEvent, WorkOrderEvent.action == "followup_open") == 1
        assert count(Notification, Notification.kind == "followup_opened") == 1  # the one supervisor, once
