"""Suggested installers weigh on-site resolution and satisfaction as the metrics engine's week
snapshots have them: the last 5 and 13 whole ISO weeks, numerators and denominators summed."""
from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta

from flask import Flask

from fieldsvc.auth.models import Role, User
from fieldsvc.db import local_today, utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.metrics.engine import compute_period
from fieldsvc.ratings.models import SurveyInvitation, SurveyResponse
from fieldsvc.snapshots.models import PeriodType
from fieldsvc.snapshots.periods import period_start
from fieldsvc.workorders.models import OrderStatus, Visit, VisitOutcome, WorkOrder
from fieldsvc.workorders.suggestions import Suggestion, suggest
from tests import factories as f
from tests.workorders.conftest import Crew

_tokens = itertools.count(1)


def weeks_ago(n: int) -> datetime:
    """Wednesday noon (local) of the ISO week `n` weeks before this one, in UTC; this week (n=0):
    a minute ago, or its first minute if the week began less than a minute ago."""
    tz = zone()
    this_week = period_start(PeriodType.WEEK, local_today(tz))
    if n == 0:
        return max(utcnow() - timedelta(minutes=1), datetime.combine(this_week, time.min, tzinfo=tz))
    return datetime.combine(this_week - timedelta(weeks=n, days=-2), time(12), tzinfo=tz)


def completed(installer: User, at: datetime, first_visit_resolved: bool | None = None,
              reason: str = "needs_second_visit") -> WorkOrder:
    """An order `installer` completed at `at`: resolved on its first visit, on its second (the
    first left unresolved for `reason`), or with no visit (None)."""
    order = f.make_work_order(OrderStatus.COMPLETED, assignee=installer, created_at=at - timedelta(hours=3),
                              completed_at=at, completed_by_id=installer.id)
    outcomes = [] if first_visit_resolved is None else (
        [VisitOutcome.RESOLVED] if first_visit_resolved else [VisitOutcome.NOT_RESOLVED, VisitOutcome.RESOLVED])
    for seq, outcome in enumerate(outcomes, start=1):
        db.session.add(Visit(work_order_id=order.id, seq=seq, installer_id=installer.id,
                             arrived_at=at - timedelta(hours=2 * (len(outcomes) - seq) + 1), outcome=outcome,
                             reason_code=reason if outcome is VisitOutcome.NOT_RESOLVED else None))
    order.visit_count = len(outcomes)
    db.session.flush()
    return order


def rated(installer: User, at: datetime, score: int) -> None:
    """A rating of `score` stars submitted at `at` for an order `installer` completed just before."""
    order = completed(installer, at - timedelta(hours=1))
    invitation = SurveyInvitation(work_order_id=order.id, token_hash=f"{next(_tokens):064d}",
                                  created_at=order.completed_at, expires_at=order.completed_at + timedelta(days=7),
                                  used_at=at)
    db.session.add(invitation)
    db.session.flush()
    db.session.add(SurveyResponse(invitation_id=invitation.id, work_order_id=order.id, installer_id=installer.id,
                                  score=score, submitted_at=at))
    db.session.flush()


def compute_weeks(back: int) -> None:
    """The week snapshots from `back` weeks ago up to this week, committed (as the scheduler does)."""
    this_week = period_start(PeriodType.WEEK, local_today(zone()))
    for n in range(back, -1, -1):
        compute_period(PeriodType.WEEK, this_week - timedelta(weeks=n), utcnow(), zone())
    db.session.commit()


def suggestion_for(crew: Crew, username: str) -> Suggestion:
    order = f.make_work_order(customer=f.make_customer("hongshan"))
    db.session.commit()
    ranked = suggest(order, crew.supervisor, utcnow(), zone(), capacity=8).eligible
    return next(s for s in ranked if s.installer.username == username)


def test_figures_come_from_the_last_whole_weeks_snapshots(crew: Crew, app_ctx: Flask) -> None:
    w1 = crew.installer
    f.certify_fully(f.make_user(Role.INSTALLER, username="w4", team=w1.team))
    for _ in range(4):
        completed(w1, weeks_ago(1), first_visit_resolved=True)
    completed(w1, weeks_ago(5), first_visit_resolved=True)
    completed(w1, weeks_ago(5), first_visit_resolved=False)
    completed(w1, weeks_ago(4), first_visit_resolved=False, reason="customer_absent")  # gross: counts
    completed(w1, weeks_ago(3))  # no visit: not in on-site resolution
    for outside in (weeks_ago(0), weeks_ago(6), weeks_ago(6)):  # this week's and older: not weighed
        completed(w1, outside, first_visit_resolved=False)
    for _ in range(20):
        rated(w1, weeks_ago(2), 5)
    rated(w1, weeks_ago(13), 2)
    rated(w1, weeks_ago(13), 3)
    rated(w1, weeks_ago(14), 1)  # older than 13 weeks
    rated(w1, weeks_ago(0), 1)   # this week
    compute_weeks(back=14)

    mine = suggestion_for(crew, "w1")
    assert (mine.facts["jobs"], mine.facts["rate"]) == (7, 5 / 7)
    assert (mine.facts["ratings"], mine.facts["share"]) == (22, 21 / 22)
    assert "on-site resolution 71.4% (7 jobs, last 5 weeks)" in mine.reasons
    assert "satisfaction 95.5% (22 ratings, last 13 weeks)" in mine.reasons

    theirs = suggestion_for(crew, "w4")
    assert theirs.facts["jobs"] == 0 and theirs.facts["rate"] is None and theirs.facts["share"] is None
    assert "no completed jobs in the last 5 weeks" in theirs.reasons
    # Without a sample w4 is scored as the branch norm (90%, 99%); w1 on their own figures.
    assert abs(mine.score - theirs.score - (25 * (5 / 7 - 0.9) + 15 * (21 / 22 - 0.99))) < 0.11


def test_figures_wait_for_the_snapshots(crew: Crew, app_ctx: Flask) -> None:
    """Orders and ratings the engine has not computed yet are not weighed."""
    for _ in range(6):
        completed(crew.installer, weeks_ago(1), first_visit_resolved=True)
    db.session.commit()
    assert suggestion_for(crew, "w1").facts["jobs"] == 0
    compute_weeks(back=1)
    assert suggestion_for(crew, "w1").facts["jobs"] == 6


def test_distance_is_from_the_last_visit_today_with_a_position(crew: Crew, app_ctx: Flask) -> None:
    """km: from where the installer last arrived today (a visit without a position, or
    yesterday's, does not count) to where the customer was last visited with one."""
    tz = zone()
    customer = f.make_customer("hongshan")
    today_start = datetime.combine(local_today(tz), time.min, tzinfo=tz)
    earlier = f.make_work_order(OrderStatus.COMPLETED, customer=customer, assignee=crew.other)
    db.session.add(Visit(work_order_id=earlier.id, seq=1, installer_id=crew.other.id, lat=30.50, lon=114.40,
                         arrived_at=today_start - timedelta(days=30), outcome=VisitOutcome.RESOLVED))
    now = utcnow()
    for seq, (arrived, lat, lon) in enumerate([(today_start - timedelta(minutes=1), 30.50, 114.40),  # yesterday
                                               (today_start + (now - today_start) / 3, 30.50, 114.30),  # the last with one
                                               (today_start + (now - today_start) / 2, None, None)], start=1):
        job = f.make_work_order(OrderStatus.COMPLETED, assignee=crew.installer)
        db.session.add(Visit(work_order_id=job.id, seq=seq, installer_id=crew.installer.id, arrived_at=arrived,
                             lat=lat, lon=lon, outcome=VisitOutcome.RESOLVED))
    order = f.make_work_order(customer=customer)
    db.session.commit()
    (mine,) = suggest(order, crew.supervisor, now, tz, capacity=8).eligible
    assert mine.installer.username == "w1" and abs(mine.facts["km"] - 9.59) < 0.01  # 0.1° of longitude at 30.5° N
    assert "9.6 km from their last visit" in mine.reasons
