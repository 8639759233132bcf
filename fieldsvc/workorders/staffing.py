"""People changes that depend on their work: an installer's open orders, listed for reassignment,
and the rule that an installer leaves their team (another team, no team, another role) only once
their open orders are reassigned. The rest of a person's edit is `auth.people`'s.

Refusing rather than reassigning for the admin: which installer of which team takes each order is
the dispatcher's call (eligibility, certificates, workload), made on the order's page, so the
admin page lists the orders with links to reassign them and the move goes through once none is
left. Completed orders keep the team they were done for (`WorkOrder.team_id`), so an installer's
history and their old team's figures stay as they were."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..auth import people
from ..auth.models import User
from ..db import among
from ..errors import Conflict
from ..extensions import db
from .models import OPEN_STATUSES, WorkOrder


def open_orders(user: User) -> list[WorkOrder]:
    """The orders still open that are assigned to `user`, by appointment then number."""
    return list(db.session.scalars(
        select(WorkOrder).where(WorkOrder.assignee_id == user.id, among(WorkOrder.status, OPEN_STATUSES))
        .options(joinedload(WorkOrder.customer)).order_by(WorkOrder.appointment_start, WorkOrder.number)
    ))


def edit_person(actor: User | None, user: User, changes: people.PersonChanges, seen: str | None = None) -> None:
    """`auth.people.edit_person`, refused (409, the order numbers in `orders`) when it takes an
    installer out of their team while orders are still assigned to them."""
    people.check_fresh(user, seen)  # a stale page is refused first: its choices may be moot
    if people.team_changes(user, changes):
        numbers = [order.number for order in open_orders(user)]
        if numbers:
            raise Conflict(_l("Open orders still assigned to %(username)s: %(n)d. Reassign them before the team or "
                              "role changes.", username=user.username, n=len(numbers)), orders=numbers)
    people.edit_person(actor, user, changes, seen)
