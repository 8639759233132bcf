"""Overdue flagging: an open order past its deadline is announced once to its installer and to
the supervisors who dispatch it; old backlog, closed orders and orders not yet due are not."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select

from fieldsvc.auth.models import Role
from fieldsvc.db import utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.notifications import kinds
from fieldsvc.notifications.models import Notification
from fieldsvc.workorders.models import OrderStatus
from fieldsvc.workorders.overdue import ORDER_OVERDUE, overdue_alerts
from tests.factories import make_team, make_user, make_work_order


def test_an_order_past_its_deadline_is_announced_once_to_its_installer_and_supervisors(app_ctx: Any) -> None:
    now = utcnow()
    team = make_team(code="TA", districts=("hongshan",))
    other = make_team(code="TB", districts=("hongshan",))
    boss = make_user(Role.SUPERVISOR, username="boss")
    boss.supervised_teams.append(team)
    elsewhere = make_user(Role.SUPERVISOR, username="elsewhere")
    elsewhere.supervised_teams.append(other)
    ann = make_user(username="ann", team=team)
    late = make_work_order(OrderStatus.ACCEPTED, assignee=ann, number="WO-LATE", due_by=now - timedelta(minutes=5))
    make_work_order(OrderStatus.ACCEPTED, assignee=ann, number="WO-SOON", due_by=now + timedelta(minutes=5))
    make_work_order(OrderStatus.COMPLETED, assignee=ann, number="WO-DONE", due_by=now - timedelta(hours=1))
    make_work_order(OrderStatus.ACCEPTED, assignee=ann, number="WO-OLD", due_by=now - timedelta(hours=25))
    # Unassigned, held by no team: the supervisors of every team serving Hongshan.
    make_work_order(OrderStatus.NEW, number="WO-LOOSE", due_by=now - timedelta(hours=2))
    db.session.commit()

    assert overdue_alerts(now, zone()) == 4
    db.session.commit()
    sent = {(n.user_id, n.data["number"]) for n in db.session.scalars(select(Notification))}
    assert sent == {(ann.id, "WO-LATE"), (boss.id, "WO-LATE"), (boss.id, "WO-LOOSE"), (elsewhere.id, "WO-LOOSE")}
    assert overdue_alerts(now, zone()) == 0  # once
    assert overdue_alerts(now + timedelta(minutes=15), zone()) == 2  # WO-SOON's turn: ann and boss
    note = db.session.scalar(select(Notification).where(Notification.user_id == ann.id))
    assert note.message.startswith("Your order WO-LATE is overdue") and note.link == f"/orders/{late.number}"
    with force_locale("zh_Hans_CN"):
        assert "超时" in kinds.describe(ORDER_OVERDUE, note.data, boss)


def test_nothing_is_overdue_nothing_is_sent(app_ctx: Any) -> None:
    assert overdue_alerts(utcnow(), zone()) == 0
