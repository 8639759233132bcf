"""A small world for the rating pages: two teams, an installer each (A with a placard), their
supervisors, an admin; and a helper that completes an order the way the job page does."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask

from fieldsvc.auth.models import Role, User
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.workforce.models import Customer
from fieldsvc.workorders import lifecycle
from fieldsvc.workorders.models import OrderStatus, Visit, WorkOrder
from tests import factories as f


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
