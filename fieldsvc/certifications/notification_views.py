"""Each signed-in user's in-app notification list: newest first, unread ones marked, each worded
in the reader's language; one button marks them read."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select, update

from ..auth.models import User
from ..db import utcnow
from ..extensions import db
from .alerts import describe
from .models import Notification

bp = Blueprint("notifications", __name__)

PAGE_SIZE = 100


def latest_notifications(user: User, limit: int = PAGE_SIZE) -> tuple[list[Notification], bool]:
    """The user's newest `limit` notifications, and whether older ones exist beyond them."""
    rows = list(db.session.scalars(
        select(Notification).where(Notification.user_id == user.id)
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(limit + 1)
    ))
    return rows[:limit], len(rows) > limit


def mark_read(user: User, now: datetime, up_to: int | None = None) -> int:
    """Mark the user's unread notifications read (only those up to id `up_to` when given, so one
    that arrived after the page was shown stays unread); returns how many."""
    statement = (update(Notification)
                 .where(Notification.user_id == user.id, Notification.read_at.is_(None))
                 .values(read_at=now))
    if up_to is not None:
        statement = statement.where(Notification.id <= up_to)
    return db.session.execute(statement, execution_options={"synchronize_session": False}).rowcount


@bp.route("/notifications")
@login_required
def list_notifications() -> Any:
    """The signed-in user's own notifications, newest first, at most 100."""
    notifications, more = latest_notifications(current_user)
    items = [{"notification": n, "text": describe(n.kind, n.data, current_user, fallback=n.message),
              "unread": n.read_at is None} for n in notifications]
    return render_template(
        "notifications/list.html", items=items, more=more,
        unread=sum(1 for item in items if item["unread"]),
        newest_id=max((n.id for n in notifications), default=None),
    )


@bp.route("/notifications/read", methods=["POST"])
@login_required
def read_all() -> Any:
    """Mark the user's notifications read (the form carries a CSRF token), then back to the list."""
    up_to = request.form.get("up_to", type=int)
    count = mark_read(current_user, utcnow(), up_to)
    db.session.commit()
    if count:
        flash(_("Notifications marked as read."), "success")
    return redirect(url_for("notifications.list_notifications"))
