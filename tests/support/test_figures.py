"""The support figures of the metric engine on a hand-built case: two requests of team A raised at 14:45 local, one
answered at 14:59 (on time against 15 minutes) and one at 15:01 (late), one solved while the
installer was on site; team B's on-site resolution without any request."""
from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from fieldsvc.auth.models import Role, User
from fieldsvc.db import zone
from fieldsvc.extensions import db
from fieldsvc.metrics import engine
from fieldsvc.snapshots.models import COMPANY_ID, PeriodType, ScopeType
from fieldsvc.support import services
from fieldsvc.workorders.models import OrderStatus, Visit, VisitOutcome
from tests import factories as f


def _completed(installer: User, at: datetime, visits: int):  # type: ignore[no-untyped-def]
    order = f.make_work_order(OrderStatus.COMPLETED, assignee=installer, completed_by_id=installer.id,
                              created_at=at - timedelta(hours=3), completed_at=at, visit_count=visits)
    for seq in range(1, visits + 1):  # an hour apart, the last one ending at `at`
        arrived = at - timedelta(hours=visits - seq + 1)
        db.session.add(Visit(work_order=order, seq=seq, installer=installer, arrived_at=arrived,
                             left_at=at if seq == visits else arrived + timedelta(minutes=30),
                             outcome=VisitOutcome.RESOLVED if seq == visits else VisitOutcome.NOT_RESOLVED,
                             reason_code=None if seq == visits else "no_port"))
    db.session.flush()
    return order


def test_figures_on_a_hand_built_case(app_ctx: Flask) -> None:
    tz = zone()
    day = f.today()
    at = datetime.combine(day, time(14, 45), tzinfo=tz)
    team_a, team_b = f.make_team("FA01"), f.make_team("FB01", districts=("jiangan",))
    a, b = f.make_user(Role.INSTALLER, "fa1", team_a), f.make_user(Role.INSTALLER, "fb1", team_b)
    desk = f.make_user(Role.SUPERVISOR, "fs1", team_a)
    # Team A: four completed orders, two with a request; one of those first-time resolved.
    first = _completed(a, at + timedelta(hours=2), 1)
    second = _completed(a, at + timedelta(hours=3), 2)
    _completed(a, at + timedelta(hours=1), 1)
    _completed(a, at + timedelta(hours=1), 2)
    on_time = services.SupportRequest(work_order_id=first.id, installer_id=a.id, team_id=team_a.id, raised_in="on_site",
                                      category="optical_signal", note="弱光", raised_at=at,
                                      reply_due_at=services.reply_due(at), updated_at=at)
    late = services.SupportRequest(work_order_id=second.id, installer_id=a.id, team_id=team_a.id, raised_in="on_site",
                                   category="resource_port", note="无端口", raised_at=at,
                                   reply_due_at=services.reply_due(at), updated_at=at)
    db.session.add_all([on_time, late])
    db.session.flush()
    services.reply(on_time, desk, "换口", on_time.version, at.replace(minute=59))
    services.reply(late, desk, "派人", late.version, at.replace(hour=15, minute=1))
    # The first is solved while its visit is open (15:45–16:45); the second after the installer
    # left its first visit (15:45–16:15) and before the second began (16:45).
    services.thank(on_time, a, on_time.version, at.replace(hour=16, minute=0))
    services.resolve(late, desk, "solved_remotely", None, late.version, at.replace(hour=16, minute=30))
    # Team B: two completed orders, no request; one first-time resolved.
    _completed(b, at, 1)
    _completed(b, at, 3)

    db.session.flush()

    got = f.figures_of(day)
    assert got[("support_requests", "team", "FA01")] == (None, 2, 2.0)
    assert got[("support_requests_per_100_orders", "team", "FA01")] == (200.0, 4, 50.0)
    assert got[("support_replied_in_time_rate", "team", "FA01")] == (1.0, 2, 0.5)
    assert got[("support_mean_minutes_to_reply", "team", "FA01")] == (30.0, 2, 15.0)
    assert engine.reply_minutes(ScopeType.TEAM, "FA01", PeriodType.DAY, day, tz) == pytest.approx((14.0, 16.0))
    assert got[("support_solved_on_site_rate", "team", "FA01")] == (1.0, 2, 0.5)
    assert got[("onsite_resolution_rate_with_support", "team", "FA01")] == (1.0, 2, 0.5)
    assert got[("onsite_resolution_rate_without_support", "team", "FA01")] == (1.0, 2, 0.5)
    assert got[("support_requests", "installer", "fa1")] == (None, 2, 2.0)
    # Team B asked for nothing: no support rows of its own, 0 requests per 100 orders.
    assert ("support_requests", "team", "FB01") not in got
    assert got[("support_requests_per_100_orders", "team", "FB01")] == (0.0, 2, 0.0)
    assert got[("onsite_resolution_rate_with_support", "team", "FB01")] == (0.0, 0, None)
    assert got[("onsite_resolution_rate_without_support", "team", "FB01")] == (1.0, 2, 0.5)
    assert engine.reply_minutes(ScopeType.TEAM, "FB01", PeriodType.DAY, day, tz) == (None, None)
    # The branch and the district (every customer in Hongshan).
    assert got[("support_requests_per_100_orders", "company", COMPANY_ID)][1:] == (6, pytest.approx(100 / 3))
    assert got[("onsite_resolution_rate_with_support", "company", COMPANY_ID)] == (1.0, 2, 0.5)
    assert got[("onsite_resolution_rate_without_support", "company", COMPANY_ID)] == (2.0, 4, 0.5)
    assert got[("support_requests", "district", "hongshan")] == (None, 2, 2.0)
    # The drill-down lists the requests' orders.
    behind = db.session.scalars(engine.orders_behind("support_replied_in_time_rate", ScopeType.TEAM, "FA01",
                                                     PeriodType.DAY, day, tz, "numerator")).all()
    assert behind == [first.number]
    # Another day: nothing of the support.
    assert not {key for key in f.figures_of(day + timedelta(days=1)) if key[0] == "support_requests"} - {
        ("support_requests", "company", COMPANY_ID)}
    assert db.session.scalar(select(services.SupportRequest.id).where(services.overdue_condition(at + timedelta(hours=1)))) is None


def test_a_reply_exactly_at_the_target_is_on_time(app_ctx: Flask) -> None:
    tz = zone()
    day = f.today()
    at = datetime.combine(day, time(9, 0), tzinfo=tz)
    team = f.make_team("FA01")
    a, desk = f.make_user(Role.INSTALLER, "fa1", team), f.make_user(Role.SUPERVISOR, "fs1", team)
    for minutes in (15, 15.02):  # at 09:15:00 (on time) and at 09:15:01 (late)
        order = _completed(a, at + timedelta(hours=2), 1)
        request = services.SupportRequest(work_order_id=order.id, installer_id=a.id, team_id=team.id,
                                          raised_in="on_site", category="other", note="?", raised_at=at,
                                          reply_due_at=services.reply_due(at), updated_at=at)
        db.session.add(request)
        db.session.flush()
        services.reply(request, desk, "ok", request.version, at + timedelta(minutes=minutes))
    assert f.figures_of(day)[("support_replied_in_time_rate", "installer", "fa1")] == (1.0, 2, 0.5)
