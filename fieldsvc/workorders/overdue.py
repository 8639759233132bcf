"""Overdue flagging: an open order whose deadline (`due_by`) has passed is announced once to its
installer and to the supervisors who dispatch it (its team's, or for an order no team holds, those
of the teams serving its district), through the notifications package. The board and the job page
already show an order as overdue from its `due_by`; the notice is what reaches a person who is not
looking at them. The scheduler runs this every 15 minutes.

Services flush; the edge (scheduler job, test) commits."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..auth.models import Role, User
from ..auth.scope import supervisors_by_team
from ..db import among
from ..extensions import db
from ..notifications import kinds
from ..notifications.services import Notice, Sender, deliver
from ..workforce.models import team_districts
from .models import OPEN_STATUSES, WorkOrder

ORDER_OVERDUE = "order_overdue"
# Orders that fell overdue longer ago than this are not announced any more, so the first run over
# an old database (or after long downtime) does not flood everyone with last month's backlog.
NOTICE_WITHIN = timedelta(hours=24)


def register_notice_kinds(app: Flask) -> None:
    kinds.register(app, ORDER_OVERDUE, describe)


def describe(kind: str, data: Mapping[str, Any], reader: User) -> str:
    """The overdue notice for `reader` in the current language."""
    if data.get("assignee") == reader.username:
        return _("Your order %(number)s is overdue: it was due by %(due)s.", number=data["number"], due=data["due"])
    if data.get("assignee"):
        return _("Order %(number)s (%(assignee)s) is overdue: it was due by %(due)s.", number=data["number"],
                 assignee=data["assignee"], due=data["due"])
    return _("Order %(number)s is overdue and not assigned: it was due by %(due)s.", number=data["number"],
             due=data["due"])


def overdue_alerts(now: datetime, tz: ZoneInfo, sender: Sender | None = None) -> int:
    """Announce each open order that fell overdue within NOTICE_WITHIN before `now` (once: the
    notice's key is the order); the notices sent."""
    orders = db.session.scalars(
        select(WorkOrder).options(joinedload(WorkOrder.assignee))
        .where(among(WorkOrder.status, OPEN_STATUSES), WorkOrder.due_by <= now, WorkOrder.due_by > now - NOTICE_WITHIN)
        .order_by(WorkOrder.due_by, WorkOrder.id)
    ).all()
    if not orders:
        return 0
    supervisors = supervisors_by_team()
    serving: dict[int, set[int]] = {}
    for team_id, district_id in db.session.execute(select(team_districts.c.team_id, team_districts.c.district_id)):
        serving.setdefault(district_id, set()).add(team_id)
    adapter = _urls()
    notices = []
    for order in orders:
        teams = {order.team_id} if order.team_id is not None else serving.get(order.district_id, set())
        readers = {s.id: s for team in teams for s in supervisors.get(team, [])}
        if order.assignee is not None and order.assignee.is_active and order.assignee.role is Role.INSTALLER:
            readers[order.assignee.id] = order.assignee
        data = {"number": order.number, "due": order.due_by.astimezone(tz).strftime("%Y-%m-%d %H:%M"),
                "assignee": order.assignee.username if order.assignee is not None else None}
        link = adapter.build("workorders.detail", {"number": order.number})
        notices += [Notice(reader, ORDER_OVERDUE, data, f"{ORDER_OVERDUE}:{order.number}:{reader.id}", link)
                    for reader in readers.values()]
    return deliver(notices, sender)


def _urls() -> Any:
    """The URL map bound outside a request (the scheduler has none)."""
    from flask import current_app

    return current_app.url_map.bind("localhost")
