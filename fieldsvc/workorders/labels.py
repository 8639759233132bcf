"""Human names of statuses, actions and priorities, in the user's language."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from .models import OrderStatus, Priority

STATUS_LABELS = {
    OrderStatus.NEW: _l("new"),
    OrderStatus.ASSIGNED: _l("assigned"),
    OrderStatus.ACCEPTED: _l("accepted"),
    OrderStatus.EN_ROUTE: _l("en route"),
    OrderStatus.ON_SITE: _l("on site"),
    OrderStatus.COMPLETED: _l("completed"),
    OrderStatus.CANCELLED: _l("cancelled"),
}

ACTION_LABELS = {
    "create": _l("Created"),
    "assign": _l("Assign"),
    "unassign": _l("Unassign"),
    "accept": _l("Accept the job"),
    "book": _l("Book the appointment"),
    "depart": _l("On my way"),
    "arrive": _l("I have arrived"),
    "complete": _l("Complete the job"),
    "leave_unresolved": _l("Could not finish"),
    "cancel": _l("Cancel the order"),
    "edit": _l("Edited"),
    # the follow-up (回访) of a dissatisfied rating (fieldsvc.ratings.followups)
    "followup_open": _l("Follow-up opened"),
    "followup_contact": _l("Customer contacted"),
    "followup_close": _l("Follow-up closed"),
    # on-site support (现场支撑) from the job (fieldsvc.support.services)
    "support_raise": _l("Asked for help"),
    "support_take": _l("Support request taken"),
    "support_reply": _l("Support desk replied"),
    "support_resolve": _l("Support request resolved"),
    "support_thank": _l("Marked solved, thanks"),
}

PRIORITY_LABELS = {
    Priority.LOW: _l("low priority"),
    Priority.NORMAL: _l("normal priority"),
    Priority.HIGH: _l("high priority"),
    Priority.URGENT: _l("urgent"),
}


def status_label(status: OrderStatus | str) -> str:
    """The translated name of a status (an enum member or its value)."""
    return str(STATUS_LABELS[OrderStatus(status)])


def action_label(action: str) -> str:
    return str(ACTION_LABELS.get(action, action))


def priority_label(priority: Priority) -> str:
    return str(PRIORITY_LABELS[priority])
