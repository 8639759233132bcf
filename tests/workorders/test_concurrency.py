"""Two people acting on the same order at the same moment: exactly one wins, the other gets a
conflict, and nothing is overwritten. Real threads on real connections (SQLite or PostgreSQL)."""
from __future__ import annotations

import threading
from zoneinfo import ZoneInfo

from flask import Flask
from sqlalchemy import func, select

from fieldsvc.auth.models import User
from fieldsvc.auth.services import create_token
from fieldsvc.errors import Conflict
from fieldsvc.extensions import db
from fieldsvc.ratings.models import SurveyInvitation
from fieldsvc.workorders import lifecycle
from fieldsvc.workorders.models import OrderStatus, WorkOrder, WorkOrderEvent
from tests import factories as f
from tests.workorders.conftest import Crew, assigned_order

TZ = ZoneInfo("Asia/Shanghai")


def race(app: Flask, number: str, actions: list[tuple[str, str]]) -> list[str]:
    """Run each (username, action) in its own thread, all released together; returns their results."""
    barrier = threading.Barrier(len(actions))
    results: list[str] = [""] * len(actions)

    def run(index: int, username: str, action: str) -> None:
        with app.app_context():
            user = db.session.scalar(select(User).where(User.username == username))
            order = lifecycle.load_for_action(user, number)
            version = order.version
            barrier.wait()
            try:
                if action.startswith("assign:"):
                    lifecycle.assign(order, user, action.split(":", 1)[1], version, today=f.today())
                else:
                    lifecycle.transition(order, user, action, version, tz=TZ, reason="busy")
                db.session.commit()
                results[index] = "ok"
            except Conflict:
                db.session.rollback()
                results[index] = "conflict"
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run, args=(i, u, a)) for i, (u, a) in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def test_installer_accepts_while_supervisor_cancels(app: Flask, crew: Crew) -> None:
    order = assigned_order(crew.installer)
    number = order.number
    results = race(app, number, [("w1", "accept"), ("s1", "cancel")])
    assert sorted(results) == ["conflict", "ok"]
    db.session.expire_all()
    order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
    assert order.version == 2
    assert order.status in (OrderStatus.ACCEPTED, OrderStatus.CANCELLED)
    events = db.session.scalar(select(func.count()).select_from(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id))
    assert events == 1


def test_two_supervisors_assign_the_same_version(app: Flask, crew: Crew) -> None:
    f.certify_fully(f.make_user(username="w7", team=crew.installer.team))
    order = f.make_work_order()
    db.session.commit()
    number = order.number
    results = race(app, number, [("s1", "assign:w1"), ("admin", "assign:w7")])
    assert sorted(results) == ["conflict", "ok"]
    db.session.expire_all()
    order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
    assert order.version == 2 and order.assignee.username in ("w1", "w7")
    assert len([e for e in order.events if e.action == "assign"]) == 1


def _on_site_order(crew: Crew) -> WorkOrder:
    """A repair order w1 is on site for (an open visit), committed."""
    order = assigned_order(crew.installer)
    for action in ("accept", "arrive"):
        lifecycle.transition(order, crew.installer, action, order.version, tz=TZ)
    db.session.commit()
    return order


def _post_together(app: Flask, requests: list[tuple[str, dict[str, str], dict]]) -> list[int | str]:
    """POST each (path, headers, json body) from its own client and thread, all released together;
    returns each status code (or the name of the exception a request raised)."""
    barrier = threading.Barrier(len(requests))
    results: list[int | str] = [""] * len(requests)

    def run(index: int, path: str, headers: dict[str, str], body: dict) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            results[index] = client.post(path, json=body, headers=headers).status_code
        except Exception as error:  # the app raises in testing mode: a 500 in production
            results[index] = type(error).__name__

    threads = [threading.Thread(target=run, args=(i, *r)) for i, r in enumerate(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_twenty_completes_of_one_version_one_wins_the_others_conflict(app: Flask, crew: Crew) -> None:
    """The issue's finding: 20 parallel completes with one version answered 200 once, 409 17 times
    and 500 twice (a stale version found by an autoflush before the lifecycle's own flush)."""
    order = _on_site_order(crew)
    number, version = order.number, order.version
    headers = {"Authorization": f"Bearer {create_token(crew.installer)}"}
    db.session.commit()
    body = {"action": "complete", "version": version, "evidence": {"fault_cause": "config"}}
    results = _post_together(app, [(f"/api/v1/work-orders/{number}/transitions", headers, body)] * 20)
    assert sorted(results, key=str) == [200] + [409] * 19
    db.session.expire_all()
    order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
    assert order.status is OrderStatus.COMPLETED and order.version == version + 1
    assert db.session.scalar(select(func.count()).select_from(SurveyInvitation)) == 1
    assert len([e for e in order.events if e.action == "complete"]) == 1
