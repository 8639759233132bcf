"""Who manages whom: the one rule for which teams, installers and districts a user may see and
manage. An admin manages every team; a supervisor the teams they supervise; an installer none
(they see only themselves and their own orders). Every list, check and dashboard starts here, so
the rule is written once; the work-order visibility of `workorders.queries` is built on it.

The statements take the user as (role, id), where the id may be a bound parameter, so hot
queries built once (`functools.cache` + `bindparam`) share the same rule."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, false, select, true

from ..extensions import db
from ..workforce.models import District, Team, team_districts, team_supervisors
from .models import Role, User


def managed_team_ids(role: Role, me: Any) -> Select[tuple[int]]:
    """A SELECT of the ids of the teams a user of `role` (whose id is `me`) manages."""
    if role is Role.ADMIN:
        return select(Team.id)
    if role is Role.SUPERVISOR:
        return select(team_supervisors.c.team_id).where(team_supervisors.c.user_id == me)
    return select(Team.id).where(false())


def in_managed_team(team_id: Any, role: Role, me: Any) -> ColumnElement[bool]:
    """A condition: the team id in `team_id` (a column) is one the user manages. Admins need no
    subquery: for them it is always true."""
    if role is Role.ADMIN:
        return true()
    return team_id.in_(managed_team_ids(role, me))


def served_district_ids(role: Role, me: Any) -> Select[tuple[int]]:
    """A SELECT of the districts that the user's managed teams serve."""
    query = select(team_districts.c.district_id)
    if role is Role.ADMIN:
        return query
    return query.where(team_districts.c.team_id.in_(managed_team_ids(role, me)))


def order_districts(user: User) -> Select[tuple[District]]:
    """A SELECT of the districts `user` may take new orders in, by id: an admin every district, a
    supervisor those their teams serve (where the order stays theirs to see), an installer none."""
    query = select(District).order_by(District.id)
    if user.role is Role.ADMIN:
        return query
    return query.where(District.id.in_(served_district_ids(user.role, user.id)))


def takes_orders_in(user: User, district_id: int) -> bool:
    """Whether `user` may take a new order in the district `district_id` (`order_districts`)."""
    return db.session.scalar(order_districts(user).with_only_columns(District.id)
                             .where(District.id == district_id)) is not None


def teams_serving(district_id: Any) -> Select[tuple[int]]:
    """A SELECT of the ids of the active teams that serve a district (a value or a column): a
    deactivated team takes no new work there (it has no active members left either)."""
    return (select(team_districts.c.team_id)
            .join(Team, Team.id == team_districts.c.team_id)
            .where(team_districts.c.district_id == district_id, Team.is_active.is_(True)))


def managed_installers(user: User, *, active_only: bool = True) -> Select[tuple[User]]:
    """A SELECT of the installers `user` manages (for an installer: none), active ones unless
    `active_only` is false, in team and username order."""
    query = select(User).where(User.role == Role.INSTALLER,
                               in_managed_team(User.team_id, user.role, user.id))
    if active_only:
        query = query.where(User.is_active.is_(True))
    return query.order_by(User.team_id, User.username)


def manages(user: User, installer: User) -> bool:
    """Whether `user` manages `installer`: an admin always, a supervisor of the installer's team."""
    if user.role is Role.ADMIN:
        return True
    if user.role is not Role.SUPERVISOR or installer.team_id is None:
        return False
    return db.session.scalar(managed_team_ids(user.role, user.id)
                             .where(team_supervisors.c.team_id == installer.team_id)) is not None


def may_see(user: User, installer: User) -> bool:
    """Whether `user` may see (and act for) `installer`: themself, or someone who manages them."""
    return user.id == installer.id or manages(user, installer)


def managed_teams(user: User) -> list[Team]:
    """The teams `user` manages, by code (for filters and pickers)."""
    return list(db.session.scalars(select(Team).where(in_managed_team(Team.id, user.role, user.id))
                                   .order_by(Team.code)))


def supervisors_by_team() -> dict[int, list[User]]:
    """The rule read the other way round: each team's active supervisors, in one query."""
    found: dict[int, list[User]] = {}
    rows = db.session.execute(
        select(team_supervisors.c.team_id, User).join(User, User.id == team_supervisors.c.user_id)
        .where(User.is_active.is_(True), User.role == Role.SUPERVISOR).order_by(User.id))
    for team_id, supervisor in rows:
        found.setdefault(team_id, []).append(supervisor)
    return found
