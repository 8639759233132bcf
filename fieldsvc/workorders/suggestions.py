"""Suggested installers for an order: the eligible ones ranked by a transparent score, each with
the reasons behind it, and the ineligible ones with why. Set-based: a constant number of queries
whatever the number of installers."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, or_, select
from zoneinfo import ZoneInfo

from ..auth.models import Role, User
from ..certifications.models import Certification, CertificationType
from ..db import local_day_range
from ..extensions import db
from ..ratings.models import SurveyResponse
from ..workforce.models import Team, team_districts, team_supervisors
from .dispatch import Eligibility, check_eligibility
from .models import OPEN_STATUSES, Visit, VisitOutcome, WorkOrder

WINDOW_DAYS = 30
MIN_JOBS, MIN_RATINGS = 5, 3  # below these, a figure is shown but scored as the branch norm
NORM_RESOLUTION, NORM_SATISFACTION = 0.9, 0.99


@dataclass
class Suggestion:
    installer: User
    score: float
    reasons: list[str] = field(default_factory=list)


@dataclass
class Suggestions:
    eligible: list[Suggestion]
    ineligible: list[Eligibility]


def _pool(order: WorkOrder, user: User) -> list[User]:
    """Who could take the order: a supervisor's own installers; for an admin, the installers of
    every team serving the order's district."""
    query = select(User).where(User.role == Role.INSTALLER)
    if user.role is Role.SUPERVISOR:
        mine = select(team_supervisors.c.team_id).where(team_supervisors.c.user_id == user.id)
        query = query.where(User.team_id.in_(mine))
    else:
        serving = select(team_districts.c.team_id).where(team_districts.c.district_id == order.district_id)
        query = query.where(User.team_id.in_(serving))
    return list(db.session.scalars(query.order_by(User.username)))


def _distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def suggest(order: WorkOrder, user: User, now: datetime, tz: ZoneInfo, capacity: int) -> Suggestions:
    """Rank the installers who may take `order`; list the others with what they lack."""
    today = now.astimezone(tz).date()
    pool = _pool(order, user)
    verdicts = check_eligibility(order, [u for u in pool if u.id != order.assignee_id], today)
    eligible = [v.installer for v in verdicts if v.ok and v.installer.is_active]
    ineligible = [v for v in verdicts if not v.ok]
    if not eligible:
        return Suggestions([], ineligible)
    ids = [u.id for u in eligible]
    loads = _loads(ids, today, tz)
    resolution = _resolution(ids, now)
    satisfaction = _satisfaction(ids, now)
    stars = _service_stars(ids, today)
    positions = _last_positions(ids, today, tz)
    target = _order_position(order)
    home_teams = _home_teams(order)
    ranked = []
    for installer in eligible:
        reasons: list[str] = []
        load = loads.get(installer.id, 0)
        score = 40.0 * (1 - min(load, capacity) / capacity)
        reasons.append(str(_l("%(n)d of %(cap)d jobs today", n=load, cap=capacity)))
        if installer.team_id in home_teams:
            score += 10
            reasons.append(str(_l("home district")))
        else:
            reasons.append(str(_l("serves this district")))
        jobs, first_time = resolution.get(installer.id, (0, 0))
        rate = first_time / jobs if jobs else None
        score += 25 * (rate if rate is not None and jobs >= MIN_JOBS else NORM_RESOLUTION)
        if rate is not None:
            reasons.append(str(_l("on-site resolution %(rate).0f%% (%(n)d jobs, 30 days)", rate=100 * rate, n=jobs)))
        else:
            reasons.append(str(_l("no completed jobs in 30 days")))
        ratings, satisfied = satisfaction.get(installer.id, (0, 0))
        share = satisfied / ratings if ratings else None
        score += 15 * (share if share is not None and ratings >= MIN_RATINGS else NORM_SATISFACTION)
        if share is not None:
            reasons.append(str(_l("satisfaction %(rate).0f%% (%(n)d ratings)", rate=100 * share, n=ratings)))
        level = stars.get(installer.id)
        if level:
            score += 2 * min(level, 5)
            reasons.append(str(_l("service ★%(n)d", n=level)))
        if target and installer.id in positions:
            km = _distance_km(positions[installer.id], target)
            score -= min(km, 20) * 0.5
            reasons.append(str(_l("%(km).1f km from their last visit", km=km)))
        ranked.append(Suggestion(installer, round(score, 1), reasons))
    ranked.sort(key=lambda s: (-s.score, s.installer.username))
    return Suggestions(ranked, ineligible)


def _home_teams(order: WorkOrder) -> set[int]:
    """Teams based in the order's district."""
    return set(db.session.scalars(select(Team.id).where(Team.home_district_id == order.district_id)))


def _loads(ids: list[int], today: date, tz: ZoneInfo) -> dict[int, int]:
    start, end = local_day_range(today, tz)
    rows = db.session.execute(
        select(WorkOrder.assignee_id, func.count()).where(
            WorkOrder.assignee_id.in_(ids), WorkOrder.status.in_(OPEN_STATUSES),
            or_(WorkOrder.appointment_start.is_(None), WorkOrder.appointment_start < end),
        ).group_by(WorkOrder.assignee_id)
    ).all()
    return {assignee: int(count) for assignee, count in rows}


def _resolution(ids: list[int], now: datetime) -> dict[int, tuple[int, int]]:
    """(orders completed with a visit, of which resolved on the first visit) per installer, 30 days."""
    rows = db.session.execute(
        select(WorkOrder.completed_by_id, func.count(),
               func.sum(case((Visit.outcome == VisitOutcome.RESOLVED, 1), else_=0)))
        .join(Visit, and_(Visit.work_order_id == WorkOrder.id, Visit.seq == 1))
        .where(WorkOrder.completed_by_id.in_(ids), WorkOrder.completed_at >= now - timedelta(days=WINDOW_DAYS))
        .group_by(WorkOrder.completed_by_id)
    ).all()
    return {installer: (int(total), int(first or 0)) for installer, total, first in rows}


def _satisfaction(ids: list[int], now: datetime) -> dict[int, tuple[int, int]]:
    """(ratings, of which 3–5 stars: the city's broad satisfaction) per installer, 30 days."""
    rows = db.session.execute(
        select(SurveyResponse.installer_id, func.count(),
               func.sum(case((SurveyResponse.score >= 3, 1), else_=0)))
        .where(SurveyResponse.installer_id.in_(ids), SurveyResponse.submitted_at >= now - timedelta(days=WINDOW_DAYS))
        .group_by(SurveyResponse.installer_id)
    ).all()
    return {installer: (int(total), int(good or 0)) for installer, total, good in rows}


def _service_stars(ids: list[int], today: date) -> dict[int, int]:
    rows = db.session.execute(
        select(Certification.user_id, func.max(Certification.level))
        .join(CertificationType, CertificationType.id == Certification.certification_type_id)
        .where(Certification.user_id.in_(ids), CertificationType.code == "service_star",
               Certification.revoked_at.is_(None), Certification.expires_on >= today)
        .group_by(Certification.user_id)
    ).all()
    return {user_id: int(level) for user_id, level in rows if level is not None}


def _last_positions(ids: list[int], today: date, tz: ZoneInfo) -> dict[int, tuple[float, float]]:
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

