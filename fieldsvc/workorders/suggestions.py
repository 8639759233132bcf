"""Suggested installers for an order: the eligible ones ranked by a transparent score, each with
the reasons behind it, and the ineligible ones with why. Set-based: a constant number of queries
whatever the number of installers."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, and_, func, or_, select

from ..auth.models import Role, User
from ..auth.scope import in_managed_team, teams_serving
from ..certifications.models import Certification, CertificationType
from ..db import local_day_range
from ..extensions import db
from ..snapshots.models import PeriodType, ScopeType
from ..snapshots.periods import period_start
from ..snapshots.services import summed
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


def _pool_ids(order: WorkOrder, user: User) -> Select[tuple[int]]:
    """Who could take the order, as a subquery: a supervisor's own installers; for an admin, the
    installers of every team serving the order's district. Figures are queried against this
    subquery rather than a list of a thousand ids (cheaper to send and to plan)."""
    query = select(User.id).where(User.role == Role.INSTALLER)
    if user.role is Role.SUPERVISOR:
        return query.where(in_managed_team(User.team_id, user.role, user.id))
    return query.where(User.team_id.in_(teams_serving(order.district_id)))


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def suggest(order: WorkOrder, user: User, now: datetime, tz: ZoneInfo, capacity: int, explain: int = 10) -> Suggestions:
    """Rank the installers who may take `order` (the first `explain` with their reasons in words);
    list the others with what they lack."""
    today = now.astimezone(tz).date()
    pool_ids = _pool_ids(order, user)
    # Plain rows (not ORM objects) for the whole pool: a thousand installers would otherwise cost
    # more in allocation and garbage collection than every query here together.
    pool = db.session.execute(
        select(User.id, User.username, User.role, User.is_active, User.team_id)
        .where(User.id.in_(pool_ids), User.id != (order.assignee_id or 0)).order_by(User.username)
    ).all()
    verdicts = check_eligibility(order, pool, today)  # type: ignore[arg-type]
    eligible = [v.installer for v in verdicts if v.ok and v.installer.is_active]
    ineligible = [v for v in verdicts if not v.ok]
    if not eligible:
        _as_users(ineligible)
        return Suggestions([], ineligible)
    ids = pool_ids
    loads = _loads(ids, today, tz)
    usernames = select(User.username).where(User.id.in_(ids))
    resolution = _weekly(RESOLUTION_METRIC, usernames, today, RESOLUTION_WEEKS)
    satisfaction = _weekly(SATISFACTION_METRIC, usernames, today, SATISFACTION_WEEKS)
    stars = _service_stars(ids, today)
    positions = _last_positions(ids, today, tz)
    target = _order_position(order)
    home_teams = _home_teams(order)
    ranked = []
    for installer in eligible:
        load = loads.get(installer.id, 0)
        first_time, jobs = resolution.get(installer.username, (0, 0))
        satisfied, ratings = satisfaction.get(installer.username, (0, 0))
        km = _distance_km(positions[installer.id], target) if target and installer.id in positions else None
        facts = {"load": load, "home": installer.team_id in home_teams, "jobs": jobs,
                 "rate": first_time / jobs if jobs else None, "ratings": ratings,
                 "share": satisfied / ratings if ratings else None, "level": stars.get(installer.id), "km": km}
        ranked.append(Suggestion(installer, round(_score(facts, capacity), 1), facts=facts))
    ranked.sort(key=lambda s: (-s.score, s.installer.username))
    for suggestion in ranked[:explain]:  # words cost more than numbers: only for those shown
        suggestion.reasons = _reasons(suggestion.facts, capacity)
    _as_users([*ranked[:explain], *ineligible])
    return Suggestions(ranked, ineligible)


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


def _home_teams(order: WorkOrder) -> set[int]:
    """Teams based in the order's district."""
    return set(db.session.scalars(select(Team.id).where(Team.home_district_id == order.district_id)))


def _loads(ids: Select[tuple[int]], today: date, tz: ZoneInfo) -> dict[int, int]:
    start, end = local_day_range(today, tz)
    rows = db.session.execute(
        select(WorkOrder.assignee_id, func.count()).where(
            WorkOrder.assignee_id.in_(ids), WorkOrder.status.in_(OPEN_STATUSES),
            or_(WorkOrder.appointment_start.is_(None), WorkOrder.appointment_start < end),
        ).group_by(WorkOrder.assignee_id)
    ).all()
    return {assignee: int(count) for assignee, count in rows}


# The snapshots the suggestions read: first-visit resolution of the orders completed with a visit
# (PRODUCT.md's gross 一次上门解决率), and the city's broad satisfaction (3–5 stars).
RESOLUTION_METRIC, SATISFACTION_METRIC = "onsite_resolution_rate", "satisfaction_rate"


def _weekly(metric: str, usernames: Select[tuple[str]], today: date, weeks: int) -> dict[str, tuple[int, int]]:
    """(numerator, denominator) of `metric` per installer over the last `weeks` whole ISO weeks
    before today's, from their week snapshots."""
    last = period_start(PeriodType.WEEK, today) - timedelta(weeks=1)
    sums = summed(metric, ScopeType.INSTALLER, usernames, PeriodType.WEEK, last - timedelta(weeks=weeks - 1), last)
    return {username: (round(numerator), denominator) for username, (numerator, denominator) in sums.items()}


def _service_stars(ids: Select[tuple[int]], today: date) -> dict[int, int]:
    rows = db.session.execute(
        select(Certification.user_id, func.max(Certification.level))
        .join(CertificationType, CertificationType.id == Certification.certification_type_id)
        .where(Certification.user_id.in_(ids), CertificationType.code == "service_star",
               Certification.revoked_at.is_(None), Certification.expires_on >= today)
        .group_by(Certification.user_id)
    ).all()
    return {user_id: int(level) for user_id, level in rows if level is not None}


def _last_positions(ids: Select[tuple[int]], today: date, tz: ZoneInfo) -> dict[int, tuple[float, float]]:
    """Where each installer last arrived today, when their phone gave a position."""
    start, _end = local_day_range(today, tz)
    latest = (select(Visit.installer_id, func.max(Visit.arrived_at).label("at"))
              .where(Visit.installer_id.in_(ids), Visit.arrived_at >= start, Visit.lat.is_not(None))
              .group_by(Visit.installer_id).subquery())
    rows = db.session.execute(
        select(Visit.installer_id, Visit.lat, Visit.lon)
        .join(latest, and_(Visit.installer_id == latest.c.installer_id, Visit.arrived_at == latest.c.at))
    ).all()
    return {installer: (lat, lon) for installer, lat, lon in rows}


def _order_position(order: WorkOrder) -> tuple[float, float] | None:
    """Where the customer is, from an earlier visit there that recorded a position."""
    row = db.session.execute(
        select(Visit.lat, Visit.lon).join(WorkOrder, WorkOrder.id == Visit.work_order_id)
        .where(WorkOrder.customer_id == order.customer_id, Visit.lat.is_not(None))
        .order_by(Visit.arrived_at.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None

