"""The admin's people pages: the list (search, filters, pages, a constant number of queries), a
new person, edits (a supervisor of several teams; a team change refused while the installer has
open orders), deactivation cutting off a browser and an API token on their next request, and
reactivation bringing neither back. Supervisors and installers get 403."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, select

from fieldsvc.audit.models import AuditEntry
from fieldsvc.auth import people
from fieldsvc.auth.models import ApiToken, EmployerType, Role, User
from fieldsvc.auth.services import create_token
from fieldsvc.db import utcnow
from fieldsvc.errors import RuleViolation
from fieldsvc.extensions import db
from fieldsvc.notifications.sms import sms_sender
from fieldsvc.workforce.models import Team
from fieldsvc.workorders import lifecycle
from fieldsvc.workorders.models import OrderStatus, WorkOrder
from tests import factories as f
from tests.conftest import csrf_token, sign_in

SEEN_RE = re.compile(r'name="seen" type="hidden" value="([^"]*)"|name="seen" value="([^"]*)"')



@contextmanager
def counting_statements() -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


@pytest.fixture
def world(app: Flask) -> dict[str, str]:
    """Two teams, an admin, a supervisor of team A, installer w1 of team A with an open order."""
    with app.app_context():
        team_a, _team_b = f.make_team("TA01"), f.make_team("TB01")
        f.make_user(Role.ADMIN, "ad001")
        f.make_user(Role.SUPERVISOR, "sa001", team_a)
        installer = f.make_user(Role.INSTALLER, "w1", team_a, name="张伟", phone="13900000001")
        f.make_work_order(OrderStatus.ASSIGNED, assignee=installer)
        db.session.commit()
    return {"admin": "ad001", "supervisor": "sa001", "installer": "w1"}


def admin_client(app: Flask) -> FlaskClient:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert sign_in(client, "ad001").status_code == 302
    return client


def edit_form(client: FlaskClient, username: str, **fields: Any) -> dict[str, Any]:
    """The person's edit form as the page shows it (with its CSRF token and fingerprint), changed by `fields`."""
    page = client.get(f"/admin/people/{username}").get_data(as_text=True)
    seen = SEEN_RE.search(page)
    assert seen
    with client.application.app_context():
        user = people.person(username)
        assert user is not None
        form = {"csrf_token": csrf_token(client, f"/admin/people/{username}"), "seen": seen.group(1) or seen.group(2),
                "name": user.name, "name_en": user.name_en or "", "phone": user.phone or "", "role": user.role.value,
                "employer_type": user.employer_type.value, "team": user.team.code if user.team else "",
                "supervised": [t.code for t in user.supervised_teams]}
    return {**form, **fields}


def actions(app: Flask, action: str) -> list[AuditEntry]:
    """The audit entries of `action`, in order, usable after their context closes."""
    with app.app_context():
        entries = list(db.session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))
        db.session.expunge_all()
        return entries


@pytest.mark.parametrize("username", ["sa001", "w1"])
def test_only_admins_reach_the_people_pages(app: Flask, client: FlaskClient, world: dict[str, str],
                                            username: str) -> None:
    assert client.get("/admin/people").status_code == 302  # anonymous: sign in first
    assert sign_in(client, username).status_code == 302
    token = csrf_token(client, "/notifications")
    assert client.get("/admin/people").status_code == 403
    assert client.get("/admin/people/w1").status_code == 403
    assert client.post("/admin/people/w1/deactivate", data={"csrf_token": token}).status_code == 403
    assert client.post("/admin/people/w1/reset-link", data={"csrf_token": token}).status_code == 403
    with app.app_context():
        assert people.person("w1").is_active


def test_list_searches_filters_and_pages_in_constant_queries(app: Flask, world: dict[str, str],
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    with app.app_context():
        team_b = db.session.scalar(select(Team).where(Team.code == "TB01"))
        for n in range(6):
            f.make_user(Role.INSTALLER, f"c{n}", team_b, name=f"承包{n}", employer_type=EmployerType.CONTRACTOR,
                        phone=f"1380000{n:04d}")
        sup = f.make_user(Role.SUPERVISOR, "sm001", name="多队长")
        sup.supervised_teams = [team_b, db.session.scalar(select(Team).where(Team.code == "TA01"))]
        db.session.commit()
        rows, total = people.search_people(people.PeopleQuery(employer=EmployerType.CONTRACTOR), page=2, per_page=4)
        assert total == 6 and [u.username for u in rows] == ["c4", "c5"]
        assert people.search_people(people.PeopleQuery(q="13800000003"))[1] == 1  # by phone
        assert people.search_people(people.PeopleQuery(q="张伟"))[0][0].username == "w1"  # by name
        assert people.search_people(people.PeopleQuery(q="%"))[1] == 0  # wildcards are literal
        team_b_people = {u.username for u in people.search_people(people.PeopleQuery(team="TB01"))[0]}
        assert team_b_people == {f"c{n}" for n in range(6)} | {"sm001"}  # a supervisor of several teams too
        assert people.search_people(people.PeopleQuery(role=Role.SUPERVISOR, active=True))[1] == 2
    monkeypatch.setattr(people, "PAGE_SIZE", 4)
    client = admin_client(app)
    with app.app_context(), counting_statements() as statements:
        page = client.get("/admin/people?employer=contractor&page=2&active=1")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    shown = set(re.findall(r'href="/admin/people/([^"/]+)"', text)) - {"new"}
    assert shown == {"c4", "c5"} and "Page 2 of 2" in text
    with app.app_context(), counting_statements() as more:
        client.get("/admin/people")
    assert len(more) == len(statements)  # 8 people or 6 contractors: the same statements
    assert 'href="/admin/people/sm001"' in client.get("/admin/people?q=多队长").get_data(as_text=True)


def test_create_gives_no_password_and_records_it(app: Flask, world: dict[str, str]) -> None:
    client = admin_client(app)
    answer = client.post("/admin/people/new", data={
        "csrf_token": csrf_token(client, "/admin/people/new"), "username": "w2", "name": "李强", "name_en": "Li Qiang",
        "phone": "13900000002", "role": "installer", "employer_type": "contractor", "team": "TB01"})
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/admin/people/w2")
    with app.app_context():
        user = people.person("w2")
        assert user is not None and user.team.code == "TB01" and user.employer_type is EmployerType.CONTRACTOR
    (entry,) = actions(app, "user.create")
    assert entry.object_key == "w2" and entry.after["team"] == "TB01" and "password_hash" not in entry.after
    again = client.post("/admin/people/new", data={"csrf_token": csrf_token(client, "/admin/people/new"),
                                                   "username": "w2", "name": "又一个", "role": "installer",
                                                   "employer_type": "staff"})
    assert again.status_code == 400 and "taken" in again.get_data(as_text=True)


def test_edit_and_a_supervisor_of_several_teams(app: Flask, world: dict[str, str]) -> None:
    client = admin_client(app)
    answer = client.post("/admin/people/sa001", data=edit_form(client, "sa001", phone="13700000000",
                                                                supervised=["TA01", "TB01"]))
    assert answer.status_code == 302
    with app.app_context():
        sup = people.person("sa001")
        assert sup.phone == "13700000000" and sorted(t.code for t in sup.supervised_teams) == ["TA01", "TB01"]
    assert actions(app, "user.edit")[0].after == {"phone": "13700000000"}
    assert actions(app, "user.move_team")[0].after["supervised_teams"] == ["TA01", "TB01"]
    assert client.get("/admin/people?team=TB01").get_data(as_text=True).count('href="/admin/people/sa001"') == 1


def test_a_stale_edit_is_refused(app: Flask, world: dict[str, str]) -> None:
    client = admin_client(app)
    first, second = edit_form(client, "sa001", name="甲"), edit_form(client, "sa001", name="乙")
    assert client.post("/admin/people/sa001", data=first).status_code == 302
    assert client.post("/admin/people/sa001", data=second).status_code == 409
    with app.app_context():
        assert people.person("sa001").name == "甲"


def test_a_team_change_waits_until_the_open_orders_are_reassigned(app: Flask, world: dict[str, str]) -> None:
    with app.app_context():
        installer = people.person("w1")
        done = f.make_work_order(OrderStatus.COMPLETED, assignee=installer, completed_by_id=installer.id,
                                 completed_at=utcnow())
        done_team, done_id = done.team_id, done.id
        (open_order,) = db.session.scalars(select(WorkOrder).where(WorkOrder.status == OrderStatus.ASSIGNED)).all()
        number, version = open_order.number, open_order.version
        db.session.commit()
    client = admin_client(app)
    refused = client.post("/admin/people/w1", data=edit_form(client, "w1", team="TB01"))
    assert refused.status_code == 409
    assert f'href="/orders/{number}"' in refused.get_data(as_text=True)  # listed, with the link to reassign it
    with app.app_context():
        assert people.person("w1").team.code == "TA01"
        admin = people.person("ad001")
        lifecycle.assign(db.session.scalar(select(WorkOrder).where(WorkOrder.number == number)), admin, None,
                         version, today=f.today())
        db.session.commit()
    assert client.post("/admin/people/w1", data=edit_form(client, "w1", team="TB01")).status_code == 302
    with app.app_context():
        assert people.person("w1").team.code == "TB01"
        assert db.session.get(WorkOrder, done_id).team_id == done_team  # the history stays with team A
    (entry,) = actions(app, "user.move_team")
    assert (entry.before, entry.after) == ({"team": "TA01"}, {"team": "TB01"})


def test_deactivation_cuts_off_a_browser_and_a_token_on_their_next_request(app: Flask, world: dict[str, str]) -> None:
    installer = app.test_client()
    installer.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    assert sign_in(installer, "w1").status_code == 302
    assert installer.get("/today").status_code == 200
    with app.app_context():
        token = create_token(people.person("w1"))
        db.session.commit()
    bearer = {"Authorization": f"Bearer {token}"}
    assert app.test_client().get("/api/v1/work-orders", headers=bearer).status_code == 200
    admin = admin_client(app)
    answer = admin.post("/admin/people/w1/deactivate", data={"csrf_token": csrf_token(admin, "/admin/people/w1")})
    assert answer.status_code == 302
    page = admin.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Open orders still assigned to them: 1." in page  # listed for reassignment
    after = installer.get("/today")
    assert after.status_code == 302 and "/login" in after.headers["Location"]
    assert app.test_client().get("/api/v1/work-orders", headers=bearer).status_code == 401
    assert sign_in(app.test_client(), "w1").status_code == 400
    # Reactivated: they may sign in again, but neither the old session nor the old token comes back.
    assert admin.post("/admin/people/w1/reactivate",
                      data={"csrf_token": csrf_token(admin, "/admin/people/w1")}).status_code == 302
    assert installer.get("/today").status_code == 302
    assert app.test_client().get("/api/v1/work-orders", headers=bearer).status_code == 401
    assert sign_in(app.test_client(), "w1").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(ApiToken.revoked_at)) is not None
    assert [e.action for e in actions(app, "user.deactivate") + actions(app, "user.reactivate")] == [
        "user.deactivate", "user.reactivate"]


def test_an_inactive_installer_cannot_be_assigned(app_ctx: Flask, world: dict[str, str]) -> None:
    installer, admin = people.person("w1"), people.person("ad001")
    f.certify_fully(installer)
    people.deactivate_person(admin, installer)
    order = f.make_work_order()
    with pytest.raises(RuleViolation) as refused:
        lifecycle.assign(order, admin, "w1", order.version, today=f.today())
    assert {"installer": "w1", "reason": "inactive"} in refused.value.details["unmet"]


def test_an_admin_cannot_deactivate_themself_nor_change_their_role(app: Flask, world: dict[str, str]) -> None:
    admin = admin_client(app)
    answer = admin.post("/admin/people/ad001/deactivate", data={"csrf_token": csrf_token(admin, "/admin/people")})
    assert answer.status_code == 302
    assert admin.post("/admin/people/ad001", data=edit_form(admin, "ad001", role="installer")).status_code == 400
    with app.app_context():
        assert people.person("ad001").is_active and people.person("ad001").role is Role.ADMIN


def test_a_reset_link_is_shown_once_and_may_be_texted(app: Flask, world: dict[str, str]) -> None:
    admin = admin_client(app)
    answer = admin.post("/admin/people/w1/reset-link", data={"csrf_token": csrf_token(admin, "/admin/people/w1"),
                                                              "send_sms": "y"})
    assert answer.status_code == 200
    link = re.search(r'value="(http://localhost/reset/[^"]+)"', answer.get_data(as_text=True))
    assert link
    (message,) = sms_sender(app).sent
    assert message.phone == "13900000001" and link.group(1) in message.text
    assert link.group(1) not in admin.get("/admin/people/w1").get_data(as_text=True)  # shown that once
    assert app.test_client().get(link.group(1).removeprefix("http://localhost")).status_code == 200
    (entry,) = actions(app, "user.reset_link")
    assert entry.object_key == "w1" and link.group(1).rsplit("/", 1)[1] not in str(entry.after)
    with app.app_context():
        assert db.session.scalar(select(User.password_hash).where(User.username == "w1")) == f._hash()
