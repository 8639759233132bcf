"""Admins keep teams and districts (codes stable, every change audited, stale edits refused), and
see the branch at a glance on their landing page."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from fieldsvc.audit.models import AuditEntry
from fieldsvc.auth.models import Role
from fieldsvc.db import utcnow
from fieldsvc.errors import Conflict, InvalidInput, RuleViolation
from fieldsvc.extensions import db
from fieldsvc.workforce.models import District, Team
from fieldsvc.workforce.services import TeamData, create_team, edit_team, state_tag, team_state
from fieldsvc.workorders.models import OrderStatus
from fieldsvc.workorders.teams import team_in_use
from tests import factories as f
from tests.conftest import sign_in


@pytest.fixture
def admin(app: Flask) -> None:
    with app.app_context():
        f.reference()
        f.make_user(Role.ADMIN, username="admin")
        team = f.make_team("HS01", districts=("hongshan", "wuchang"))
        team.name_zh, team.name_en = "洪山一班", "Hongshan Crew 1"  # as `team_form` sends them
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        db.session.commit()


def token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def seen(page: str) -> str:
    return re.search(r'name="seen" type="hidden" value="([^"]*)"', page).group(1)


def team_form(page: str, **fields: object) -> dict[str, object]:
    form = {"csrf_token": token(page), "name_zh": "洪山一班", "name_en": "Hongshan Crew 1",
            "home_district": "hongshan", "districts": ["hongshan", "wuchang"], "is_active": "y"}
    if 'name="seen"' in page:
        form["seen"] = seen(page)
    form.update(fields)
    return {k: v for k, v in form.items() if v is not None}


def entries(action: str) -> list[AuditEntry]:
    return list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def test_admin_creates_a_team_and_it_is_audited(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/teams/new").get_data(as_text=True)
    response = client.post("/admin/teams/new", data=team_form(page, code="QS01", name_zh="青山一班",
                                                               name_en="Qingshan Crew 1", home_district="qingshan",
                                                               districts=["qingshan", "hongshan"]))
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/teams/QS01")
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.code == "QS01"))
        assert team_state(team) == {"name_zh": "青山一班", "name_en": "Qingshan Crew 1", "home_district": "qingshan",
                                    "districts": ["hongshan", "qingshan"], "is_active": True}
        (entry,) = entries("team.create")
        assert entry.object_key == "QS01" and entry.before is None and entry.after["home_district"] == "qingshan"
    listing = client.get("/admin/teams").get_data(as_text=True)
    assert "QS01" in listing and "Qingshan Crew 1" in listing


@pytest.mark.parametrize(("fields", "error"), [
    ({"code": "hs01"}, "is taken"),  # letter case does not make another code
    ({"code": "new"}, "reserved"),  # /admin/teams/new is the creation page
    ({"code": "Q S/1"}, "letters, digits"),
    ({"code": "QS02", "home_district": "jiangan"}, "must be one of the districts served"),
    ({"code": "QS02", "name_en": ""}, "required"),
    ({"code": "QS02", "districts": None}, "required"),
])
def test_a_bad_team_is_refused_with_a_field_error(client: FlaskClient, admin: None, app: Flask,
                                                   fields: dict[str, object], error: str) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/teams/new").get_data(as_text=True)
    response = client.post("/admin/teams/new", data=team_form(page, **fields))
    assert response.status_code == 400
    assert error in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Team.code).where(Team.code != "HS01")) is None
        assert entries("team.create") == []


def test_an_edit_changes_names_and_districts_but_never_the_code(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/teams/HS01").get_data(as_text=True)
    assert 'name="code"' not in page and "s1" in page  # the supervisor is listed
    response = client.post("/admin/teams/HS01", data=team_form(page, code="XX99", name_en="Guanggu Crew",
                                                               districts=["hongshan", "jiangxia"]))
    assert response.status_code == 302
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.code == "HS01"))
        assert team.name_en == "Guanggu Crew" and [d.code for d in team.districts] == ["hongshan", "jiangxia"]
        (entry,) = entries("team.edit")
        # Only what changed (not the home district nor the active flag), districts by code.
        assert entry.before == {"name_en": "Hongshan Crew 1", "districts": ["hongshan", "wuchang"]}
        assert entry.after == {"name_en": "Guanggu Crew", "districts": ["hongshan", "jiangxia"]}


def test_a_stale_edit_is_refused_not_overwritten(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/teams/HS01").get_data(as_text=True)
    with app.app_context():  # another admin renames it meanwhile
        team = db.session.scalar(select(Team).where(Team.code == "HS01"))
        team.name_zh = "别人改的"
        db.session.commit()
    response = client.post("/admin/teams/HS01", data=team_form(page, name_en="Mine"))
    assert response.status_code == 409 and "changed this team meanwhile" in response.get_data(as_text=True)
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.code == "HS01"))
        assert team.name_zh == "别人改的" and team.name_en != "Mine"
        assert entries("team.edit") == []


def test_a_team_with_live_work_is_not_deactivated(client: FlaskClient, admin: None, app: Flask) -> None:
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.code == "HS01"))
        installer = f.make_user(Role.INSTALLER, username="w1", team=team)
        order = f.make_work_order(OrderStatus.ASSIGNED, assignee=installer, number="WO-LIVE-1")
        db.session.commit()
        order_id = order.id
    sign_in(client, "admin")
    page = client.get("/admin/teams/HS01").get_data(as_text=True)
    response = client.post("/admin/teams/HS01", data=team_form(page, is_active=None))
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and "w1" in text and "WO-LIVE-1" in text
    with app.app_context():
        assert db.session.scalar(select(Team.is_active).where(Team.code == "HS01")) is True
        # Once the installer has left and the order is done, it may go.
        from fieldsvc.auth.models import User
        from fieldsvc.workorders.models import WorkOrder

        db.session.scalar(select(User).where(User.username == "w1")).is_active = False
        db.session.get(WorkOrder, order_id).status = OrderStatus.COMPLETED
        db.session.commit()
    page = client.get("/admin/teams/HS01").get_data(as_text=True)
    assert client.post("/admin/teams/HS01", data=team_form(page, is_active=None)).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(Team.is_active).where(Team.code == "HS01")) is False
        assert entries("team.edit")[-1].after == {"is_active": False}


def test_the_services_refuse_what_the_pages_refuse(app_ctx: Flask) -> None:
    """The same rules for any caller (the CLI, a future API): stale tag, bad home, live members."""
    f.reference()
    team = f.make_team("HS01", districts=("hongshan",))
    f.make_user(Role.INSTALLER, team=team)
    tag = state_tag(team_state(team))
    data = TeamData(name_zh="一班", name_en="Crew", home_district="hongshan", districts=["hongshan"])
    with pytest.raises(Conflict):
        edit_team(None, team, data, seen="stale", in_use=team_in_use)
    with pytest.raises(InvalidInput) as bad:
        edit_team(None, team, TeamData("一班", "Crew", "jiangan", ["hongshan"]), seen=tag, in_use=team_in_use)
    assert set(bad.value.details["errors"]) == {"home_district"}
    with pytest.raises(RuleViolation) as busy:
        edit_team(None, team, TeamData("一班", "Crew", "hongshan", ["hongshan"], is_active=False), seen=tag,
                  in_use=team_in_use)
    assert len(busy.value.details["active_members"]) == 1 and busy.value.details["open_order_count"] == 0
    with pytest.raises(InvalidInput):
        create_team(None, "HS01", data)


def test_a_district_is_renamed_its_code_kept(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")
    assert "hongshan" in client.get("/admin/districts").get_data(as_text=True)
    page = client.get("/admin/districts/hongshan").get_data(as_text=True)
    assert "HS01" in page  # the teams serving it
    form = {"csrf_token": token(page), "seen": seen(page), "name_zh": "洪山区光谷", "name_en": "Hongshan District",
            "code": "renamed"}
    assert client.post("/admin/districts/hongshan", data=form).status_code == 302
    # The same form again is stale now: the names it saw are gone.
    assert client.post("/admin/districts/hongshan", data={**form, "name_en": "Other"}).status_code == 409
    assert client.post("/admin/districts/hongshan", data={**form, "name_zh": ""}).status_code == 400
    with app.app_context():
        district = db.session.scalar(select(District).where(District.name_en == "Hongshan District"))
        assert district.code == "hongshan" and district.name_zh == "洪山区光谷"
        (entry,) = entries("district.edit")
        assert entry.object_key == "hongshan" and entry.after == {"name_zh": "洪山区光谷", "name_en": "Hongshan District"}


def test_supervisors_get_403(client: FlaskClient, admin: None) -> None:
    sign_in(client, "s1")
    for path in ("/admin/teams", "/admin/teams/new", "/admin/teams/HS01", "/admin/districts",
                 "/admin/districts/hongshan"):
        assert client.get(path).status_code == 403, path


@contextmanager
def counting_statements(app: Flask) -> Iterator[list[str]]:
    seen_statements: list[str] = []
    with app.app_context():
        engine = db.engine

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen_statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen_statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_team_list_costs_the_same_for_two_teams_or_six(client: FlaskClient, admin: None, app: Flask) -> None:
    sign_in(client, "admin")

    def statements() -> int:
        with counting_statements(app) as run:
            assert client.get("/admin/teams").status_code == 200
        return len(run)

    with app.app_context():
        f.make_user(Role.INSTALLER, team=f.make_team("TB01"))
        db.session.commit()
    few = statements()
    with app.app_context():
        for n in range(4):
            team = f.make_team(f"TC{n:02d}", districts=("jiangan", "hanyang"))
            f.make_user(Role.INSTALLER, team=team)
            f.make_user(Role.SUPERVISOR, team=team)
        db.session.commit()
    assert statements() == few


def test_the_overview_counts_installers_orders_and_expiring_certificates(client: FlaskClient, admin: None,
                                                                          app: Flask) -> None:
    with app.app_context():
        team = db.session.scalar(select(Team).where(Team.code == "HS01"))
        w1, w2 = f.make_user(Role.INSTALLER, team=team), f.make_user(Role.INSTALLER, team=team)
        f.make_user(Role.INSTALLER, team=team, is_active=False)
        f.make_team("QS01", districts=("qingshan",))
        today = f.today()
        soon = today + timedelta(days=10)
        f.make_certification(w1, "ftth", expires_on=soon)  # counts
        f.make_certification(w1, "work_at_height", expires_on=soon)  # renewed below: does not count
        f.make_certification(w1, "work_at_height", issued_on=today)
        f.make_certification(w2, "ftth", expires_on=soon, revoked_at=utcnow())  # revoked
        f.make_certification(w2, "service_star", level=3, expires_on=today + timedelta(days=45))  # later
        f.make_work_order(OrderStatus.ASSIGNED, assignee=w1, due_by=utcnow() - timedelta(hours=1))  # overdue
        f.make_work_order(due_by=utcnow() + timedelta(hours=5))
        f.make_work_order(OrderStatus.COMPLETED, assignee=w2, due_by=utcnow() - timedelta(hours=9))
        db.session.commit()
    sign_in(client, "admin")
    page = client.get("/admin/").get_data(as_text=True)
    tiles = dict((label.strip(), int(n)) for n, label in re.findall(r"<h2[^>]*>(\d+)</h2><p>(?:<a[^>]*>)?([^<]+)", page))
    assert tiles["open orders"] == 2 and tiles["of them overdue"] == 1
    assert tiles["certificates expiring within 30 days"] == 1
    assert "/certifications?horizon=30" in page
    per_team = dict(re.findall(r"<code>(\w+)</code></a>[^<]*</td><td>(\d+)</td>", page))
    assert per_team == {"HS01": "2", "QS01": "0"}
    assert 'href="/admin/teams"' in page and 'href="/admin/districts"' in page
