"""The installer's day and the supervisor's board (read-only until the lifecycle issue lands)."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, render_template
from flask_login import current_user

from ..auth.models import Role
from ..auth.permissions import role_required
from ..db import local_today, utcnow, zone
from .queries import installer_day, open_queue, order_for

bp = Blueprint("workorders", __name__)


@bp.route("/today")
@role_required(Role.INSTALLER)
def today() -> Any:
    """The installer's jobs for today in appointment order."""
    tz = zone()
    orders = installer_day(current_user, local_today(tz), tz)
    now = utcnow()
    open_orders = [o for o in orders if o.completed_at is None]
    return render_template(
        "workorders/today.html",
        orders=orders,
        next_order=open_orders[0] if open_orders else None,
        done_count=len(orders) - len(open_orders),
        overdue_count=sum(1 for o in open_orders if o.due_by < now),
        now=now,
    )


@bp.route("/board")
@role_required(Role.SUPERVISOR, Role.ADMIN)
def board() -> Any:
    """The open orders of the supervisor's teams, most urgent first."""
    return render_template("workorders/board.html", orders=open_queue(current_user), now=utcnow())


@bp.route("/orders/<number>")
@role_required(Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)
def detail(number: str) -> Any:
    """One work order with its visits and history, if the user may see it."""
    order = order_for(current_user, number)
    if order is None:
        abort(404)
    return render_template("workorders/detail.html", order=order, now=utcnow())
