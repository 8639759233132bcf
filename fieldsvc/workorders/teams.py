"""What ties a team to live work, asked before it is deactivated (`workforce.services.edit_team`):
here because it reads users (auth) and orders, which sit above the workforce layer."""
from __future__ import annotations

from sqlalchemy import func, select

from ..auth.models import User
from ..db import among
from ..extensions import db
from ..workforce.models import Team
from ..workforce.services import TeamInUse
from .models import OPEN_STATUSES, WorkOrder

SHOWN_ORDERS = 20  # a refusal lists this many open orders, and counts the rest


def team_in_use(team: Team) -> TeamInUse:
    """The team's active members (by username) and its open orders (an assignment sets the order's
    team to the installer's, so `team_id` finds them by the index on team and status)."""
    members = list(db.session.scalars(
        select(User.username).where(User.team_id == team.id, User.is_active.is_(True)).order_by(User.username)))
    open_orders = select(WorkOrder.number).where(WorkOrder.team_id == team.id, among(WorkOrder.status, OPEN_STATUSES))
    count = db.session.scalar(select(func.count()).select_from(open_orders.subquery())) or 0
    shown = list(db.session.scalars(open_orders.order_by(WorkOrder.number).limit(SHOWN_ORDERS))) if count else []
    return TeamInUse(active_members=members, open_orders=shown, open_order_count=count)
