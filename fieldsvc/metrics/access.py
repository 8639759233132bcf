"""Who may read which figures, and whose orders behind them: the one rule for the quality
dashboard, the installer's Today figures and GET /api/v1/metrics.

- An admin reads every scope and drills into every figure.
- A supervisor reads their teams and those teams' installers, and drills into them; the figures of
  the districts and the whole company are shown to them as a reference (sums, no names), without
  the orders behind them (those are mostly other teams' orders).
- An installer reads their own figures, and drills into them (their own jobs), and their team's
  figures as a reference, without its orders.

Whatever the scope, the orders listed behind a figure are also cut to the orders the caller may
see (`workorders.queries.visible_orders`), so a drill-down never lists an order outside the
caller's reach, even for an installer who has since moved team."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, false, literal, or_, select, true

from ..auth.models import Role, User
from ..auth.scope import in_managed_team, managed_team_ids
from ..extensions import db
from ..snapshots.models import MetricSnapshot, ScopeType
from ..workforce.models import Team

# The scopes shown to a supervisor as a reference only (figures, no orders behind them).
REFERENCE_SCOPES = (ScopeType.DISTRICT, ScopeType.COMPANY)


def _managed_usernames(user: User) -> Any:
    return select(User.username).where(User.role == Role.INSTALLER, in_managed_team(User.team_id, user.role, user.id))


def _managed_team_codes(user: User) -> Any:
    return select(Team.code).where(Team.id.in_(managed_team_ids(user.role, user.id)))


def _own_team_code(user: User) -> Any:
    return select(Team.code).where(Team.id == user.team_id).scalar_subquery()


def _managed(user: User, scope_type: Any, scope_id: Any) -> ColumnElement[bool]:
    """A supervisor's teams and those teams' installers."""
    return or_(
        and_(scope_type == ScopeType.TEAM, scope_id.in_(_managed_team_codes(user))),
        and_(scope_type == ScopeType.INSTALLER, scope_id.in_(_managed_usernames(user))),
    )


def _own(user: User, scope_type: Any, scope_id: Any) -> ColumnElement[bool]:
    """An installer's own figures."""
    return and_(scope_type == ScopeType.INSTALLER, scope_id == user.username)


def readable(user: User, scope_type: Any = MetricSnapshot.scope_type,
             scope_id: Any = MetricSnapshot.scope_id) -> ColumnElement[bool]:
    """A condition on snapshot rows (or any pair of scope columns): the figures `user` may read."""
    if user.role is Role.ADMIN:
        return true()
    if user.role is Role.SUPERVISOR:
        return or_(scope_type.in_(REFERENCE_SCOPES), _managed(user, scope_type, scope_id))
    if user.role is Role.INSTALLER:
        mine = _own(user, scope_type, scope_id)
        if user.team_id is None:
            return mine
        return or_(mine, and_(scope_type == ScopeType.TEAM, scope_id == _own_team_code(user)))
    return false()


def drillable(user: User, scope_type: Any = MetricSnapshot.scope_type,
              scope_id: Any = MetricSnapshot.scope_id) -> ColumnElement[bool]:
    """A condition: the figures whose orders `user` may list (for links on a page of many)."""
    if user.role is Role.ADMIN:
        return true()
    if user.role is Role.SUPERVISOR:
        return _managed(user, scope_type, scope_id)
    if user.role is Role.INSTALLER:
        return _own(user, scope_type, scope_id)
    return false()


def _holds(condition: ColumnElement[bool]) -> bool:
    return bool(db.session.scalar(select(condition)))


def may_read(user: User, scope_type: ScopeType, scope_id: str) -> bool:
    """Whether `user` may read the figures of one scope."""
    return _holds(readable(user, literal(scope_type, MetricSnapshot.__table__.c.scope_type.type), literal(scope_id)))


def may_drill(user: User, scope_type: ScopeType, scope_id: str) -> bool:
    """Whether `user` may list the orders behind the figures of one scope."""
    return _holds(drillable(user, literal(scope_type, MetricSnapshot.__table__.c.scope_type.type), literal(scope_id)))
