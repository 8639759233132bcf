"""Suggested installers for an order: the eligible ones ranked by a transparent score, each with
the reasons behind it, and the ineligible ones with why. Set-based: a constant number of queries
whatever the number of installers."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, Subquery, bindparam, false, func, null, or_, select
from sqlalchemy.orm import aliased

from ..auth.models import Role, User
from ..auth.scope import in_managed_team, teams_serving
from ..certifications.models import Certification, CertificationType
from ..db import among, execute_planned_for_parameters, local_day_range
from ..extensions import db
from ..snapshots.models import PeriodType, ScopeType
from ..snapshots.periods import period_start
from ..snapshots.services import summed, sums
from ..workforce.models import Team
from .dispatch import Eligibility, check_eligibility
from .models import OPEN_STATUSES, Visit, WorkOrder

# The installers' figures are read from the metrics engine's ISO-week snapshots of the last whole
# weeks (this week's figures are not final until it ends, and a fixed run of whole weeks makes the
# words shown true whenever the snapshots were computed): 5 weeks of on-site resolution, about the
# month it replaced. Ratings come slowly (a quarter of the jobs, about 20 an installer a month) and
# 99% of them are satisfied, so a month's figure is 100% for most installers whatever their work:
# satisfaction is weighed over 13 weeks (a quarter), and only from the 20 ratings PRODUCT.md asks
# before ranking anyone.
RESOLUTION_WEEKS, SATISFACTION_WEEKS = 5, 13
MIN_JOBS, MIN_RATINGS = 5, 20  # below these, a figure is shown but scored as the branch norm
NORM_RESOLUTION, NORM_SATISFACTION = 0.9, 0.99


@dataclass
class Suggestion:
    installer: User
    score: float
    reasons: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass
class Suggestions:
    eligible: list[Suggestion]
    ineligible: list[Eligibility]


def _pool_ids(role: Role, district_id: Any, me: Any) -> Select[tuple[int]]:
    """Who could take an order in `district_id` (a value or a bound parameter), as a subquery: a
    supervisor's (`me`'s) own installers; for an admin, the installers of every team serving the
    district. Figures are queried against this subquery rather than a list of a thousand ids
    (cheaper to send and to plan)."""
    query = select(User.id).where(User.role == Role.INSTALLER)
    if role is Role.SUPERVISOR:
        return query.where(in_managed_team(User.team_id, role, me))
    return query.where(User.team_id.in_(teams_serving(district_id)))


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


class _Installer(NamedTuple):
    """One installer of the pool with their figures, as plain values: a thousand User objects
    would cost more in allocation and garbage collection than every query here together, and a
    tuple's fields are read ten times faster than a result row's attributes."""

    id: int
    username: str
    role: Role
    is_active: bool
    team_id: int | None
    home: bool  # their team is based in the order's district
    load: int  # open orders today (or unbooked)
    first_time: float  # orders resolved on the first visit, of
    jobs: int  # those completed with a visit, over the last RESOLUTION_WEEKS whole weeks
    satisfied: float  # satisfied ratings, of
    ratings: int  # the ratings over the last SATISFACTION_WEEKS whole weeks
    level: int | None  # service stars
    lat: float | None  # where they last arrived today (when the order's place is known)
    lon: float | None


def suggest(order: WorkOrder, user: User, now: datetime, tz: ZoneInfo, capacity: int, explain: int = 10) -> Suggestions:
    """Rank the installers who may take `order` (the first `explain` with their reasons in words);
    list the others with what they lack."""
    today = now.astimezone(tz).date()
    target = _order_position(order)
    pool = _pool(order, user, today, tz, with_positions=target is not None)
    verdicts = check_eligibility(order, pool, today, among=_pool_ids(user.role, order.district_id, user.id))  # type: ignore[arg-type]
    eligible: list[_Installer] = [v.installer for v in verdicts if v.ok and v.installer.is_active]  # type: ignore[misc]
    ineligible = [v for v in verdicts if not v.ok]
    if not eligible:
        _as_users(ineligible)
        return Suggestions([], ineligible)
    ranked = []
    for installer in eligible:
        first_time, jobs, satisfied, ratings = round(installer.first_time), installer.jobs, installer.satisfied, installer.ratings
        facts = {"load": installer.load, "home": installer.home, "jobs": jobs,
                 "rate": first_time / jobs if jobs else None, "ratings": ratings,
                 "share": round(satisfied) / ratings if ratings else None, "level": installer.level,
                 "km": _distance_km((installer.lat, installer.lon), target)  # type: ignore[arg-type]
                 if target and installer.lat is not None else None}
        ranked.append(Suggestion(installer, round(_score(facts, capacity), 1), facts=facts))  # type: ignore[arg-type]
    ranked.sort(key=lambda s: (-s.score, s.installer.username))
    for suggestion in ranked[:explain]:  # words cost more than numbers: only for those shown
        suggestion.reasons = _reasons(suggestion.facts, capacity)
    _as_users([*ranked[:explain], *ineligible])
    return Suggestions(ranked, ineligible)


def _pool(order: WorkOrder, user: User, today: date, tz: ZoneInfo, *, with_positions: bool) -> list[_Installer]:
    """The installers of the order's pool for `user` but its own installer, by username, each
    with today's load, their weekly figures, service stars and (`with_positions`) last position:
    one statement."""
    start, end = local_day_range(today, tz)
    parameters = {"district": order.district_id, "me": user.id, "assignee": order.assignee_id or 0,
                  "today": today, "start": start, "end": end, **_window_dates(today)}
    statement = _pool_statement(user.role is Role.SUPERVISOR, with_positions)
    # Core, not the ORM's execution: plain rows for a thousand installers cost half as much.
    rows = execute_planned_for_parameters(db.session.connection(), statement, parameters)
    return [_Installer._make(row) for row in rows]


@cache
def _pool_statement(supervisor: bool, with_positions: bool) -> Select[Any]:
    """`_pool`'s statement, built once of each kind (with bound parameters): the pool, whether
    their team is based in the district, the aggregates of their figures joined to them, and each installer's last visit of the day with a
    position, found from the end of their (installer, arrived at) index range (a few rows each;
    aggregating the day's visits instead had PostgreSQL scan the whole table)."""
    pool_ids = _pool_ids(Role.SUPERVISOR if supervisor else Role.ADMIN, bindparam("district"), bindparam("me"))
    loads, figures, stars = _loads(pool_ids), _weekly_sums(pool_ids), _service_stars(pool_ids)
    query = (
        select(User.id, User.username, User.role, User.is_active, User.team_id,
               func.coalesce(Team.home_district_id == bindparam("district"), false()), func.coalesce(loads.c.load, 0), func.coalesce(figures.c.numerator_0, 0.0),
               func.coalesce(figures.c.denominator_0, 0), func.coalesce(figures.c.numerator_1, 0.0),
               func.coalesce(figures.c.denominator_1, 0), stars.c.level)
        .outerjoin(Team, Team.id == User.team_id)
        .outerjoin(loads, loads.c.user_id == User.id)
        .outerjoin(figures, figures.c.scope_id == User.username)
        .outerjoin(stars, stars.c.user_id == User.id)
        .where(User.id.in_(pool_ids), User.id != bindparam("assignee"))
        .order_by(User.username)
    )
    if not with_positions:
        return query.add_columns(null(), null())
    latest = (select(Visit.id).where(Visit.installer_id == User.id, Visit.arrived_at >= bindparam("start"),
                                     Visit.lat.is_not(None))
              .order_by(Visit.arrived_at.desc()).limit(1).correlate(User).scalar_subquery())
    last = aliased(Visit, name="last_visit")
    return query.add_columns(last.lat, last.lon).outerjoin(last, last.id == latest)


def _as_users(entries: list[Any]) -> None:
    """Swap the plain rows of the entries shown for User objects (names, display helpers)."""
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_([e.installer.id for e in entries])))}
    for entry in entries:
        entry.installer = users[entry.installer.id]


def _score(facts: dict[str, Any], capacity: int) -> float:
    """Up to 40 for spare capacity today, 10 for a crew based in the district, 25 for on-site
    resolution over the last 5 whole weeks and 15 for satisfaction over the last 13 (the branch
    norm below a minimum sample),
    2 per service star; minus half a point per km from their last visit (at most 10)."""
    score = 40.0 * (1 - min(facts["load"], capacity) / capacity)
    score += 10 if facts["home"] else 0
    score += 25 * (facts["rate"] if facts["rate"] is not None and facts["jobs"] >= MIN_JOBS else NORM_RESOLUTION)
    score += 15 * (facts["share"] if facts["share"] is not None and facts["ratings"] >= MIN_RATINGS else NORM_SATISFACTION)
    score += 2 * min(facts["level"] or 0, 5)
    if facts["km"] is not None:
        score -= min(facts["km"], 20) * 0.5
    return score


def _reasons(facts: dict[str, Any], capacity: int) -> list[str]:
    reasons = [str(_l("%(n)d of %(cap)d jobs today", n=facts["load"], cap=capacity)),
               str(_l("home district") if facts["home"] else _l("serves this district"))]
    if facts["rate"] is not None:
        reasons.append(str(_l("on-site resolution %(rate).1f%% (%(n)d jobs, last %(weeks)d weeks)",
                              rate=100 * facts["rate"], n=facts["jobs"], weeks=RESOLUTION_WEEKS)))
    else:
        reasons.append(str(_l("no completed jobs in the last %(weeks)d weeks", weeks=RESOLUTION_WEEKS)))
    if facts["share"] is not None:
        reasons.append(str(_l("satisfaction %(rate).1f%% (%(n)d ratings, last %(weeks)d weeks)",
                              rate=100 * facts["share"], n=facts["ratings"], weeks=SATISFACTION_WEEKS)))
    if facts["level"]:
        reasons.append(str(_l("service ★%(n)d", n=facts["level"])))
    if facts["km"] is not None:
        reasons.append(str(_l("%(km).1f km from their last visit", km=facts["km"])))
    return reasons


def _loads(ids: Select[tuple[int]]) -> Subquery:
    """(user_id, load): each installer's open orders booked before today ends (`end`) or not
    booked."""
    return (
        select(WorkOrder.assignee_id.label("user_id"), func.count().label("load")).where(
            WorkOrder.assignee_id.in_(ids), among(WorkOrder.status, OPEN_STATUSES),
            or_(WorkOrder.appointment_start.is_(None), WorkOrder.appointment_start < bindparam("end")),
        ).group_by(WorkOrder.assignee_id).subquery()
    )


# The snapshots the suggestions read: first-visit resolution of the orders completed with a visit
# (PRODUCT.md's gross 一次上门解决率), and the city's broad satisfaction (3–5 stars).
RESOLUTION_METRIC, SATISFACTION_METRIC = "onsite_resolution_rate", "satisfaction_rate"


_WINDOWS = ((RESOLUTION_METRIC, "resolution_from"), (SATISFACTION_METRIC, "satisfaction_from"))


def _window_dates(today: date) -> dict[str, date]:
    """The runs of week snapshots read: RESOLUTION_WEEKS and SATISFACTION_WEEKS whole ISO weeks,
    up to the week before today's."""
    last = period_start(PeriodType.WEEK, today) - timedelta(weeks=1)
    return {"resolution_from": last - timedelta(weeks=RESOLUTION_WEEKS - 1),
            "satisfaction_from": last - timedelta(weeks=SATISFACTION_WEEKS - 1), "weeks_to": last}


def _windows(dates: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    return [(metric, dates[first], dates["weeks_to"]) for metric, first in _WINDOWS]


def _weekly_sums(ids: Select[tuple[int]]) -> Subquery:
    """(scope_id, numerator_0, denominator_0, numerator_1, denominator_1): on-site resolution and
    satisfaction of each installer of `ids` over their windows (bound parameters), from the week
    snapshots."""
    usernames = select(User.username).where(User.id.in_(ids))
    windows = _windows({key: bindparam(key) for key in ("resolution_from", "satisfaction_from", "weeks_to")})
    return sums(ScopeType.INSTALLER, usernames, PeriodType.WEEK, windows).subquery()


def _weekly(usernames: Select[tuple[str]], today: date) -> dict[str, list[tuple[int, int]]]:
    """The figures the suggestions weigh, read on their own: {username: [(first-visit resolved,
    completed with a visit), (satisfied, ratings)]} for the installers of `usernames`."""
    figures = summed(ScopeType.INSTALLER, usernames, PeriodType.WEEK, _windows(_window_dates(today)))
    return {username: [(round(numerator), denominator) for numerator, denominator in pairs]
            for username, pairs in figures.items()}


def _service_stars(ids: Select[tuple[int]]) -> Subquery:
    """(user_id, level): the highest service-star level of each installer's certificates neither
    expired before `today` nor revoked."""
    return (
        select(Certification.user_id, func.max(Certification.level).label("level"))
        .join(CertificationType, CertificationType.id == Certification.certification_type_id)
        .where(Certification.user_id.in_(ids), CertificationType.code == "service_star",
               Certification.revoked_at.is_(None), Certification.expires_on >= bindparam("today"))
        .group_by(Certification.user_id).subquery()
    )


def _order_position(order: WorkOrder) -> tuple[float, float] | None:
    """Where the customer is, from an earlier visit there that recorded a position."""
    row = db.session.execute(
        select(Visit.lat, Visit.lon).join(WorkOrder, WorkOrder.id == Visit.work_order_id)
        .where(WorkOrder.customer_id == order.customer_id, Visit.lat.is_not(None))
        .order_by(Visit.arrived_at.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None

