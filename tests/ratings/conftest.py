"""Helpers for the ratings tests: an instant inside the reminder hours, completed orders with their
rating link, hand-built ratings and praise; and a small world for the rating pages: two teams, an
installer each (A with a placard), their supervisors, an admin, and a helper that completes an
order the way the job page does."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pytest
from flask import Flask

from fieldsvc.auth.models import Role, User
from fieldsvc.db import utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.ratings.models import Praise, PraiseChannel, SurveyInvitation, SurveyResponse
from fieldsvc.ratings.services import invite
from fieldsvc.workforce.models import Customer
from fieldsvc.workorders import lifecycle
from fieldsvc.workorders.models import OrderStatus, Visit, WorkOrder
from tests import factories as f

TZ = zone("Asia/Shanghai")



def ten_am() -> datetime:
    """Today at 10:00 in Wuhan: inside the reminder hours whatever instant the suite starts at."""
    return datetime.combine(f.today(), time(10), tzinfo=TZ)


def completed(installer: User, at: datetime, **overrides) -> tuple[WorkOrder, str]:  # type: ignore[no-untyped-def]
    """An order `installer` completed at `at`, with the rating link issued then: (order, token)."""
    order = f.make_work_order(OrderStatus.COMPLETED, assignee=installer, completed_by_id=installer.id,
                              created_at=at - timedelta(hours=2), completed_at=at, **overrides)
    token = invite(order, at)
    db.session.flush()
    return order, token


@dataclass
class World:
    installer: int
    other: int
    code: str  # installer A's placard code
    other_code: str


def complete(installer: User, customer: Customer | None = None, job_type: str = "repair") -> tuple[WorkOrder, str]:
    """An order `installer` completes now: (the order, its rating token)."""
    order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type=job_type, customer=customer)
    db.session.add(Visit(work_order=order, seq=1, installer=installer, arrived_at=utcnow()))
    db.session.flush()
    evidence = {"fault_cause": "onu"} if job_type == "repair" else {"onu_serial": "ZTEG1234", "rx_power_dbm": -18.5}
    token = lifecycle.transition(order, installer, "complete", order.version, tz=None, evidence=evidence).survey_token
    db.session.flush()
    return order, token


def rate(installer: User, score: int, at: datetime, *, team_id: int | None = None, comment: str | None = None,
         **dimensions: int) -> WorkOrder:
    """A completed order of `installer` (on `team_id`, else their team) rated `score` at `at`."""
    order = f.make_work_order(OrderStatus.COMPLETED, assignee=installer, completed_by_id=installer.id,
                              created_at=at - timedelta(hours=3), completed_at=at - timedelta(hours=1))
    if team_id is not None:
        order.team_id = team_id
    invitation = SurveyInvitation(work_order=order, token_hash=f"{order.id:064d}", created_at=at - timedelta(hours=1),
                                  expires_at=at + timedelta(days=6), used_at=at)
    db.session.add(invitation)
    db.session.flush()
    db.session.add(SurveyResponse(invitation_id=invitation.id, work_order_id=order.id, installer_id=installer.id,
                                  score=score, comment=comment, submitted_at=at, **dimensions))
    db.session.flush()
    return order


def praise(installer: User, by: User, on: date, channel: PraiseChannel = PraiseChannel.LETTER,
           note: str = "谢谢师傅") -> Praise:
    row = Praise(installer_id=installer.id, team_id=installer.team_id, received_on=on, channel=channel, note=note,
                 recorded_by_id=by.id)
    db.session.add(row)
    db.session.flush()
    return row
@pytest.fixture
def world(app: Flask) -> World:
    from fieldsvc.ratings.placards import issue_placards

    with app.app_context():
        team_a, team_b = f.make_team("PA01"), f.make_team("PB01", districts=("jiangan",))
        installer = f.make_user(Role.INSTALLER, "w100", team_a, name="张师傅", name_en="Master Zhang")
        other = f.make_user(Role.INSTALLER, "w200", team_b, name="李师傅", name_en="Master Li")
        f.make_user(Role.SUPERVISOR, "s100", team_a)
        f.make_user(Role.SUPERVISOR, "s200", team_b)
        admin = f.make_user(Role.ADMIN, "a100")
        placards = issue_placards([installer, other], admin)
        db.session.commit()
        return World(installer.id, other.id, placards[installer.id].code, placards[other.id].code)
