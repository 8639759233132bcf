"""A small world for the support tests: two teams, an installer and a supervisor each, an admin;
installer A has an order on the way and one only assigned. Cheap password hashing (as the
permission matrix does: these test pages, not hashing)."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask

from fieldsvc.auth.models import Role
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus
from tests import factories as f


@dataclass
class World:
    en_route: str  # installer A's order on the way
    assigned: str  # installer A's order not started
    other: str  # installer B's order on the way


@pytest.fixture
def world(app: Flask) -> World:
    with app.app_context():
        team_a, team_b = f.make_team("SA01"), f.make_team("SB01", districts=("jiangan",))
        a = f.make_user(Role.INSTALLER, "w1", team_a)
        b = f.make_user(Role.INSTALLER, "w2", team_b)
        f.make_user(Role.SUPERVISOR, "s1", team_a)
        f.make_user(Role.SUPERVISOR, "s2", team_b)
        f.make_user(Role.ADMIN, "a1")
        en_route = f.make_work_order(OrderStatus.EN_ROUTE, assignee=a)
        assigned = f.make_work_order(OrderStatus.ASSIGNED, assignee=a)
        other = f.make_work_order(OrderStatus.EN_ROUTE, assignee=b,
                                  customer=f.make_customer("jiangan"))
        db.session.commit()
        return World(en_route.number, assigned.number, other.number)
