"""Each signed-in user's in-app notification list: newest first, unread ones marked, each worded
in the reader's language; one button marks them read."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ..db import INTEGER_RANGE, utcnow
from ..extensions import db
from .kinds import describe
from .services import latest_notifications, mark_read

bp = Blueprint("notifications", __name__)


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
    if up_to is not None:  # an id beyond a column's range: every one up to it is every one
        up_to = min(max(up_to, INTEGER_RANGE[0]), INTEGER_RANGE[1])
    count = mark_read(current_user, utcnow(), up_to)
    db.session.commit()
    if count:
        flash(_("Notifications marked as read."), "success")
    return redirect(url_for("notifications.list_notifications"))
