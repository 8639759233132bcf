"""Support requests from the job: who may raise one and when, the desk's scope, the steps and
their trail, replies reaching the job page and its polled fragment, conflicts, the reply target."""
from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from fieldsvc.auth.models import User
from fieldsvc.db import utcnow, zone
from fieldsvc.errors import Conflict, Forbidden
from fieldsvc.extensions import db
from fieldsvc.notifications.models import Notification
from fieldsvc.rules.services import set_setting
from fieldsvc.support import services
from fieldsvc.support.models import SupportRequest, SupportStatus
from fieldsvc.workorders.models import WorkOrder, WorkOrderEvent
from tests.conftest import CSRF_RE, csrf_token, sign_in

from .conftest import World


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _order(number: str) -> WorkOrder:
    return db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))


def _ask(client: FlaskClient, number: str, **fields: str):
    token = csrf_token(client, "/notifications")
    data = {"csrf_token": token, "category": "optical_signal", "note": "光功率-29，怀疑分光器口", **fields}
    return client.post(f"/orders/{number}/support", data=data, content_type="multipart/form-data")


def _version(page: str, form_id: str) -> str:
    """The version a page's form carries (what the browser sends back)."""
    found = re.search(rf'<input[^>]*id="{form_id}"[^>]*value="(\d+)"', page)
    assert found, form_id
    return found.group(1)


def _desk_post(client: FlaskClient, request_id: int, step: str, **fields: str):
    """A desk step sent from the request's page as shown (its CSRF token and version)."""
    page = client.get(f"/support/requests/{request_id}").get_data(as_text=True)
    if page.count(f"/support/requests/{request_id}/{step}") == 0:
        return client.post(f"/support/requests/{request_id}/{step}", data={"csrf_token": csrf_token(client, "/notifications"),
                                                                            "version": "1", **fields})
    token = CSRF_RE.search(page)
    data = {"csrf_token": token.group(1) or token.group(2), "version": _version(page, f"{step}-version"), **fields}
    return client.post(f"/support/requests/{request_id}/{step}", data=data)


def _raised(app: Flask, number: str) -> int:
    with app.app_context():
        return db.session.scalar(select(SupportRequest.id).join(WorkOrder).where(WorkOrder.number == number))


def test_the_installer_asks_on_their_own_order_on_the_way(app: Flask, client: FlaskClient, world: World) -> None:
    sign_in(client, "w1")
    page = client.get(f"/orders/{world.en_route}").get_data(as_text=True)
    assert "Ask for help" in page and "js/support.js" in page
    response = _ask(client, world.en_route, reading_dbm="-29.4")
    assert response.status_code == 302 and response.location.endswith(f"/orders/{world.en_route}#support")
    with app.app_context():
        row = db.session.scalar(select(SupportRequest))
        assert (row.status, row.category, row.reading_dbm, row.raised_in) == (
            SupportStatus.OPEN, "optical_signal", -29.4, "en_route")
        assert row.reply_due_at - row.raised_at == timedelta(minutes=15)
        order = _order(world.en_route)
        assert order.version == 1  # a support step does not make the job page's forms stale
        events = db.session.scalars(select(WorkOrderEvent.action).where(WorkOrderEvent.work_order_id == order.id)).all()
        assert events == ["support_raise"]
        # The desk of the order's team hears of it; the other team's supervisor does not.
        readers = db.session.scalars(select(User.username).join(Notification, Notification.user_id == User.id)).all()
        assert readers == ["s1"]
    page = client.get(f"/orders/{world.en_route}").get_data(as_text=True)
    assert "Waiting for the support desk" in page and "Ask for help" not in page  # one at a time
    assert _ask(client, world.en_route).status_code == 409


def test_a_request_only_on_the_own_order_in_the_right_state(app: Flask, client: FlaskClient, world: World) -> None:
    sign_in(client, "w1")
    assert "Ask for help" not in client.get(f"/orders/{world.assigned}").get_data(as_text=True)
    refused = _ask(client, world.assigned)
    assert refused.status_code == 409 and "on the way or on site" in refused.get_data(as_text=True)
    assert _ask(client, world.other).status_code == 404  # another installer's order looks absent
    assert _ask(client, world.en_route, category="nonsense").status_code == 400
    assert _ask(client, world.en_route, note="").status_code == 400
    client.post("/logout", data={"csrf_token": csrf_token(client, "/notifications")})
    sign_in(client, "s1")
    assert _ask(client, world.en_route).status_code == 403  # the desk does not raise them
    with app.app_context():
        assert db.session.scalar(select(SupportRequest)) is None
        with pytest.raises(Forbidden):
            services.raise_request(_order(world.en_route), _user("w2"), services.NewRequest("other", "x"), utcnow())


def test_the_desk_sees_only_its_teams_and_a_reply_reaches_the_job_page(app: Flask, world: World) -> None:
    installer, desk, other_desk, admin = (app.test_client() for _ in range(4))
    for client, name in ((installer, "w1"), (desk, "s1"), (other_desk, "s2"), (admin, "a1")):
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        sign_in(client, name)
    _ask(installer, world.en_route)
    request_id = _raised(app, world.en_route)
    assert world.en_route in desk.get("/support").get_data(as_text=True)
    assert world.en_route in desk.get("/support/queue").get_data(as_text=True)
    assert world.en_route in admin.get("/support/queue").get_data(as_text=True)
    assert world.en_route not in other_desk.get("/support/queue").get_data(as_text=True)
    assert other_desk.get(f"/support/requests/{request_id}").status_code == 404
    assert _desk_post(other_desk, request_id, "reply", body="x").status_code == 404
    assert installer.get("/support").status_code == 403

    assert _desk_post(desk, request_id, "take").status_code == 302
    assert _desk_post(desk, request_id, "reply", body="换到3号分光器口再测").status_code == 302
    live = installer.get(f"/orders/{world.en_route}/support/live")
    assert live.status_code == 200 and live.headers["Cache-Control"] == "no-store"
    assert "换到3号分光器口再测" in live.get_data(as_text=True)
    page = installer.get(f"/orders/{world.en_route}").get_data(as_text=True)
    assert "换到3号分光器口再测" in page and "Solved, thanks" in page
    assert installer.get(f"/orders/{world.other}/support/live").status_code == 404

    token = csrf_token(installer, "/notifications")
    version = _version(page, f"thanks-version-{request_id}")
    done = installer.post(f"/support/requests/{request_id}/thanks", data={"csrf_token": token, "version": version})
    assert done.status_code == 302
    with app.app_context():
        row = db.session.get(SupportRequest, request_id)
        assert row.status is SupportStatus.THANKED and row.resolution.value == "solved_remotely"
        assert row.taken_by.username == "s1" and row.first_reply_at is not None
        trail = db.session.scalars(select(WorkOrderEvent.action).where(WorkOrderEvent.work_order_id == row.work_order_id)
                                   .order_by(WorkOrderEvent.id)).all()
        assert trail == ["support_raise", "support_take", "support_reply", "support_thank"]
    story = installer.get(f"/orders/{world.en_route}").get_data(as_text=True)
    for step in ("Asked for help", "Support request taken", "Support desk replied", "Marked solved, thanks"):
        assert step in story
    assert 'data-settled' in story  # nothing waits: the page stops polling


def test_the_desk_resolves_and_a_stale_form_is_a_conflict(app: Flask, world: World, client: FlaskClient) -> None:
    with app.app_context():
        row = services.raise_request(_order(world.en_route), _user("w1"), services.NewRequest("resource_port", "没有空闲端口"),
                                     utcnow())
        db.session.commit()
        request_id, stale = row.id, row.version
        services.take(row, _user("a1"), row.version, utcnow())
        db.session.commit()
    sign_in(client, "s1")
    token = csrf_token(client, f"/support/requests/{request_id}")
    refused = client.post(f"/support/requests/{request_id}/take", data={"csrf_token": token, "version": stale})
    assert refused.status_code == 409 and "latest state" in refused.get_data(as_text=True)
    assert _desk_post(client, request_id, "take").status_code == 409  # someone has it already
    assert _desk_post(client, request_id, "resolve", resolution="").status_code == 400
    assert _desk_post(client, request_id, "resolve", resolution="expert_sent", note="派资深师傅30分钟到").status_code == 302
    with app.app_context():
        row = db.session.get(SupportRequest, request_id)
        assert row.status is SupportStatus.RESOLVED and row.resolved_by.username == "s1"
        assert [m.body for m in row.replies] == ["派资深师傅30分钟到"]
        with pytest.raises(Conflict):
            services.reply(row, _user("s1"), "again", row.version, utcnow())


def test_the_reply_target_at_its_boundary_and_as_a_dated_rule(app: Flask, world: World) -> None:
    """Raised 14:45 against a 15-minute target: a reply at 14:59 is on time, none by 15:01 is overdue."""
    with app.app_context():
        tz = zone()
        raised = datetime.combine(utcnow().astimezone(tz).date(), time(14, 45), tzinfo=tz)
        row = services.raise_request(_order(world.en_route), _user("w1"), services.NewRequest("technical", "配置失败"),
                                     raised)
        assert row.reply_due_at == raised + timedelta(minutes=15)
        assert not services.is_overdue(row, raised.replace(minute=59))
        assert services.is_overdue(row, raised.replace(hour=15, minute=1))
        overdue = db.session.scalar(select(SupportRequest.id).where(services.overdue_condition(raised.replace(hour=15, minute=1))))
        assert overdue == row.id
        services.reply(row, _user("s1"), "重启ONU", row.version, raised.replace(hour=15, minute=1))
        assert not services.is_overdue(row, raised.replace(hour=16))  # answered, late but answered
        # A later change of the rule applies to requests raised after it, not to this one.
        set_setting("support_reply_minutes", 5, raised.date() + timedelta(days=1), _user("a1").id)
        assert services.reply_due(raised + timedelta(days=1)) == raised + timedelta(days=1, minutes=5)
        assert row.reply_due_at == raised + timedelta(minutes=15)
        db.session.rollback()


def test_a_photo_goes_with_the_request_and_the_desk_sees_it(app: Flask, client: FlaskClient, world: World) -> None:
    image = io.BytesIO()
    Image.new("RGB", (200, 150), "blue").save(image, "JPEG")
    image.seek(0)
    sign_in(client, "w1")
    response = _ask(client, world.en_route, photo=(image, "port.jpg"))
    assert response.status_code == 302
    with app.app_context():
        row = db.session.scalar(select(SupportRequest))
        assert row.photo is not None and row.photo.work_order_id == row.work_order_id
        photo_id, request_id = row.photo_id, row.id
    with client.get(f"/photos/{photo_id}") as shown:  # (a file answer: closed after)
        assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    client.post("/logout", data={"csrf_token": csrf_token(client, "/notifications")})
    sign_in(client, "s1")
    assert f"/photos/{photo_id}" in client.get(f"/support/requests/{request_id}").get_data(as_text=True)


def test_the_board_says_how_many_wait_and_how_many_are_overdue(app: Flask, client: FlaskClient, world: World,
                                                               clock) -> None:
    sign_in(client, "s1")
    assert "Open the support desk" not in client.get("/board").get_data(as_text=True)
    with app.app_context():
        services.raise_request(_order(world.en_route), _user("w1"), services.NewRequest("other", "求助"), utcnow())
        db.session.commit()
    board = client.get("/board").get_data(as_text=True)
    assert "Open the support desk" in board and "overdue" not in board.split('id="support-queue-heading"')[1][:200]
    clock.shift(timedelta(minutes=16))
    board = client.get("/board").get_data(as_text=True)
    assert "1 overdue" in board.split('id="support-queue-heading"')[1][:300]
    assert "is-overdue" in client.get("/support").get_data(as_text=True)


def test_thanks_before_any_answer_is_refused_with_409(app: Flask, client: FlaskClient, world: World) -> None:
    with app.app_context():
        row = services.raise_request(_order(world.en_route), _user("w1"), services.NewRequest("other", "求助"), utcnow())
        db.session.commit()
        request_id, version = row.id, row.version
    sign_in(client, "w1")
    token = csrf_token(client, "/notifications")
    refused = client.post(f"/support/requests/{request_id}/thanks", data={"csrf_token": token, "version": version})
    assert refused.status_code == 409 and "no answer to thank for" in refused.get_data(as_text=True)
    assert client.post(f"/support/requests/{request_id}/thanks", data={"version": version}).status_code == 400  # no CSRF
