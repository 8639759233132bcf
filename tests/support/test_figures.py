"""The support figures on a hand-built case: two requests of team A raised at 14:45 local, one
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
from fieldsvc.support import figures, services
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

    by_team = figures.support_figures("team", day, day, tz)
    fa, fb = by_team[team_a.id], by_team[team_b.id]
    assert (fa.requests, fa.completed_orders, fa.replied, fa.replied_on_time) == (2, 4, 2, 1)
    assert fa.requests_per_100_orders == 50.0
    assert sorted(fa.reply_minutes) == pytest.approx([14.0, 16.0])
    assert (fa.median_reply_minutes, fa.p90_reply_minutes) == (14.0, 16.0)
    assert (fa.solved_on_site, fa.solved_on_site_rate) == (1, 0.5)
    assert fa.with_request == (1, 2) and fa.without_request == (1, 2)
    assert (fb.requests, fb.requests_per_100_orders, fb.median_reply_minutes, fb.solved_on_site_rate) == (0, 0.0, None, None)
    assert fb.with_request == (0, 0) and fb.onsite_resolution_with_request is None
    assert fb.onsite_resolution_without_request == 0.5

    (branch,) = figures.support_figures("branch", day, day, tz).values()
    assert (branch.requests, branch.completed_orders, branch.with_request, branch.without_request) == (2, 6, (1, 2), (2, 4))
    by_district = figures.support_figures("district", day, day, tz)
    assert {k: (v.requests, v.completed_orders) for k, v in by_district.items()} == {f.district("hongshan").id: (2, 6)}
    # Another day: nothing.
    assert figures.support_figures("team", day + timedelta(days=1), day + timedelta(days=1), tz) == {}
    assert db.session.scalar(select(services.SupportRequest.id).where(services.overdue_condition(at + timedelta(hours=1)))) is None
