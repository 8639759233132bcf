"""A small branch with figures: two teams (A: two installers, B: one), orders completed today and
rated, and their snapshots computed by the engine for today, this week and this month."""
from __future__ import annotations

import secrets
from datetime import datetime, time, timedelta
from types import SimpleNamespace

import pytest
from flask import Flask

from fieldsvc.auth.models import Role, User
from fieldsvc.db import utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.metrics.engine import compute_period
from fieldsvc.ratings.models import SurveyInvitation, SurveyResponse
from fieldsvc.snapshots.models import PeriodType
from fieldsvc.snapshots.periods import period_start
from fieldsvc.workorders.models import OrderStatus, Visit, VisitOutcome, WorkOrder
from tests import factories as f


def earlier_today() -> datetime:
    """An instant today (local) before now: halfway from midnight, so it is today at any hour."""
    tz = zone("Asia/Shanghai")
    now = utcnow()
    midnight = datetime.combine(now.astimezone(tz).date(), time.min, tzinfo=tz)
    return midnight + (now - midnight) / 2


def complete(installer: User, *, resolved: bool = True, score: int | None = None, job_type: str = "repair") -> WorkOrder:
    """An order of `installer` completed earlier today: resolved on the first visit or on the
    second; rated `score` stars when given."""
    at = earlier_today()
    order = f.make_work_order(OrderStatus.COMPLETED, job_type=job_type, assignee=installer,
                              created_at=at - timedelta(minutes=30), completed_by_id=installer.id, completed_at=at,
                              visit_count=1 if resolved else 2, evidence={"fault_cause": "onu"})
    db.session.add(Visit(work_order=order, seq=1, installer=installer, arrived_at=at - timedelta(minutes=20), left_at=at,
                         outcome=VisitOutcome.RESOLVED if resolved else VisitOutcome.NOT_RESOLVED,
                         reason_code=None if resolved else "missing_material"))
    if score is not None:
        invitation = SurveyInvitation(work_order=order, token_hash=secrets.token_hex(32), created_at=at,
                                      expires_at=at + timedelta(days=7), used_at=at)
        db.session.add(invitation)
        db.session.flush()
        db.session.add(SurveyResponse(invitation_id=invitation.id, work_order_id=order.id, installer_id=installer.id,
                                      score=score, submitted_at=at))
    db.session.flush()
    return order


def compute_now() -> None:
    """Today's, this week's and this month's snapshots, as the scheduler would write them."""
    tz = zone("Asia/Shanghai")
    today = utcnow().astimezone(tz).date()
    for kind in PeriodType:
        compute_period(kind, period_start(kind, today), utcnow(), tz)
    db.session.commit()


@pytest.fixture
def branch(app: Flask) -> SimpleNamespace:
    with app.app_context():
        team_a = f.make_team("TA01", districts=("hongshan",))
        team_b = f.make_team("TB01", districts=("jiangan",))
        a1 = f.make_user(Role.INSTALLER, "wa001", team_a)
        a2 = f.make_user(Role.INSTALLER, "wa002", team_a)
        b1 = f.make_user(Role.INSTALLER, "wb001", team_b)
        f.make_user(Role.SUPERVISOR, "sa001", team_a)
        f.make_user(Role.SUPERVISOR, "sb001", team_b)
        f.make_user(Role.ADMIN, "ad001")
        a1_orders = [complete(a1, score=5), complete(a1, score=5), complete(a1, resolved=False, score=1)]
        a2_orders = [complete(a2, score=4)]
        b1_orders = [complete(b1, score=2), complete(b1)]
        compute_now()
        return SimpleNamespace(
            a1=[o.number for o in a1_orders], a2=[o.number for o in a2_orders], b1=[o.number for o in b1_orders],
            today=f.today())
