"""A small branch for lifecycle tests: two teams, certified and uncertified installers."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fieldsvc.auth.models import Role, User
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus, WorkOrder
from tests import factories as f
from tests.conftest import sign_in


@dataclass
class Crew:
    installer: User  # HS01, fully certified
    rookie: User  # HS01, no certificates
    other: User  # JA01, fully certified
    supervisor: User  # runs HS01
    other_supervisor: User  # runs JA01
    admin: User


@pytest.fixture
def crew(app_ctx: Flask) -> Crew:
    """The crew, for calling services inside the test's app context."""
    return build_crew()


@pytest.fixture
def installer_client(app: Flask, client: FlaskClient) -> FlaskClient:
    """The browser of installer w1, signed in."""
    with app.app_context():
        f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=f.make_team()))
        db.session.commit()
    sign_in(client, "w1")
    return client


@pytest.fixture
def web_crew(app: Flask) -> None:
    """The crew committed from a context that is closed again, for tests that drive the browser
    client (an app context left pushed would share `g`, and so the sign-in, between requests)."""
    with app.app_context():
        build_crew()


def build_crew() -> Crew:
    hs = f.make_team("HS01", districts=("hongshan", "wuchang"))
    ja = f.make_team("JA01", districts=("jiangan",))
    people = Crew(
        installer=f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=hs)),
        rookie=f.make_user(Role.INSTALLER, username="w2", team=hs),
        other=f.certify_fully(f.make_user(Role.INSTALLER, username="w3", team=ja)),
        supervisor=f.make_user(Role.SUPERVISOR, username="s1", team=hs),
        other_supervisor=f.make_user(Role.SUPERVISOR, username="s2", team=ja),
        admin=f.make_user(Role.ADMIN, username="admin"),
    )
    db.session.commit()
    return people


def assigned_order(installer: User, status: OrderStatus = OrderStatus.ASSIGNED, **overrides) -> WorkOrder:
    """An order in hongshan assigned to `installer` (for lifecycle steps after assignment)."""
    order = f.make_work_order(status, assignee=installer, **overrides)
    db.session.commit()
    return order
