"""Conditional GET of the installer's Today and job page: 304 while nothing the page shows has
changed, a new ETag as soon as something has (a transition, a notice, the minute an order becomes
overdue, the language, the checklist, the support panel, the build), never a 304 across users or
sessions; fingerprinted static files kept for a year."""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc import caching
from fieldsvc.auth.models import User
from fieldsvc.db import utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.workorders import freshness, lifecycle, standards
from fieldsvc.workorders.models import OrderStatus, WorkOrder
from tests import factories as f
from tests.conftest import csrf_token, sign_in
from tests.workorders.test_query_counts import counting, forget_rendered

pytestmark = pytest.mark.usefixtures("web_crew")


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _order(number: str) -> WorkOrder:
    return db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))


def _make_order(app: Flask, status: OrderStatus = OrderStatus.ASSIGNED, **overrides) -> str:
    with app.app_context():
        order = f.make_work_order(status, assignee=_user("w1"), **overrides)
        db.session.commit()
        return order.number


@pytest.fixture
def installer(app: Flask, client: FlaskClient) -> FlaskClient:
    sign_in(client, "w1")
    return client


def _get(client: FlaskClient, path: str, etag: str | None = None):
    return client.get(path, headers={"If-None-Match": etag} if etag else {})


def _fresh(client: FlaskClient, path: str) -> str:
    """The page's ETag, checking that the page is kept only to be revalidated."""
    response = _get(client, path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"
    return response.headers["ETag"]


def _changed(client: FlaskClient, path: str, etag: str) -> str:
    response = _get(client, path, etag)
    assert response.status_code == 200, "the page changed: it is sent again"
    assert response.headers["ETag"] != etag
    return response.headers["ETag"]


def _unchanged(client: FlaskClient, path: str, etag: str, sent: str | None = None) -> None:
    response = _get(client, path, sent or etag)
    assert response.status_code == 304
    assert response.get_data() == b""
    assert response.headers["ETag"] == etag and response.headers["Cache-Control"] == "private, no-cache"


def test_today_answers_304_until_a_transition_changes_it(app: Flask, installer: FlaskClient) -> None:
    number = _make_order(app)
    etag = _fresh(installer, "/today")
    _unchanged(installer, "/today", etag)
    _unchanged(installer, "/today", etag, f'"other", {etag}')  # one of several validators
    with app.app_context():
        order = _order(number)
        lifecycle.transition(order, _user("w1"), "accept", order.version, tz=zone())
        db.session.commit()
    new = _changed(installer, "/today", etag)
    _unchanged(installer, "/today", new)


def test_an_order_assigned_elsewhere_changes_today(app: Flask, installer: FlaskClient) -> None:
    etag = _fresh(installer, "/today")
    with app.app_context():
        order = f.make_work_order(OrderStatus.NEW)
        db.session.commit()
        lifecycle.assign(order, _user("s1"), "w1", order.version, today=utcnow().astimezone(zone()).date())
        db.session.commit()
        number = order.number
    response = _get(installer, "/today", etag)
    assert response.status_code == 200 and number in response.get_data(as_text=True)


def test_a_new_notice_changes_today_and_reading_it_too(app: Flask, installer: FlaskClient) -> None:
    etag = _fresh(installer, "/today")
    with app.app_context():
        f.make_notification(_user("w1"))
        db.session.commit()
    etag = _changed(installer, "/today", etag)
    with app.app_context():
        from fieldsvc.notifications.services import mark_read

        mark_read(_user("w1"), utcnow())
        db.session.commit()
    _changed(installer, "/today", etag)


def test_the_minute_an_order_becomes_overdue_changes_today(app: Flask, installer: FlaskClient, clock) -> None:
    due = utcnow().replace(microsecond=0) + timedelta(minutes=3)
    number = _make_order(app, due_by=due)
    clock.move_to(due - timedelta(seconds=30))
    etag = _fresh(installer, "/today")
    assert "overdue since" not in installer.get("/today").get_data(as_text=True)
    clock.move_to(due - timedelta(seconds=5))
    _unchanged(installer, "/today", etag)  # the minutes pass, nothing Today shows moves
    clock.move_to(due + timedelta(seconds=1))
    response = _get(installer, "/today", etag)
    assert response.status_code == 200 and response.headers["ETag"] != etag
    page = response.get_data(as_text=True)
    assert "overdue since" in page and number in page


def test_switching_the_language_changes_the_etag(app: Flask, installer: FlaskClient) -> None:
    etag = _fresh(installer, "/today")
    token = csrf_token(installer, "/today")
    installer.post("/language", data={"lang": "zh_CN", "next": "/today", "csrf_token": token})
    response = _get(installer, "/today", etag)
    assert response.status_code == 200 and response.headers["ETag"] != etag
    assert "今天" in response.get_data(as_text=True)


def test_a_304_never_crosses_users_or_sessions(app: Flask, installer: FlaskClient) -> None:
    _make_order(app)
    etag = _fresh(installer, "/today")
    other = app.test_client()
    other.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(other, "w2")  # another installer, with an empty day
    assert _get(other, "/today", etag).status_code == 200
    again = app.test_client()
    again.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(again, "w1")  # the same installer on another phone: another session, another CSRF token
    response = _get(again, "/today", etag)
    assert response.status_code == 200 and response.headers["ETag"] != etag
    anonymous = app.test_client()
    assert _get(anonymous, "/today", etag).status_code == 302  # to the sign-in page


def test_signing_in_again_changes_the_etag(app: Flask, installer: FlaskClient) -> None:
    etag = _fresh(installer, "/today")
    token = csrf_token(installer, "/today")
    out = installer.post("/logout", data={"csrf_token": token})
    assert '"cache"' in out.headers["Clear-Site-Data"]  # the phone drops its kept pages
    assert _get(installer, "/today", etag).status_code == 302  # signed out: no 304, the sign-in page
    sign_in(installer, "w1")
    _changed(installer, "/today", etag)


def test_a_page_with_a_message_to_show_once_is_not_kept(app: Flask, installer: FlaskClient) -> None:
    number = _make_order(app)
    page = installer.get(f"/orders/{number}").get_data(as_text=True)
    start = page.index('name="action" value="accept"')
    form = page[page.rindex("<form", 0, start):page.index("</form>", start)]
    import re

    fields = dict(re.findall(r'name="([^"]+)"[^>]*?value="([^"]*)"', form))
    assert installer.post(f"/orders/{number}/act", data=fields).status_code == 302
    shown = installer.get(f"/orders/{number}")
    assert "Saved." in shown.get_data(as_text=True)
    assert "ETag" not in shown.headers and shown.headers["Cache-Control"] == "no-store"
    _fresh(installer, f"/orders/{number}")  # the message was shown: the next copy is kept


def test_a_weakened_etag_still_validates(app: Flask, installer: FlaskClient) -> None:
    etag = _fresh(installer, "/today")
    _unchanged(installer, "/today", etag, f"W/{etag}")  # as a proxy that compresses may pass it on


def test_pages_are_rendered_again_before_a_limited_csrf_token_expires(app: Flask, installer: FlaskClient,
                                                                     clock) -> None:
    app.config["WTF_CSRF_TIME_LIMIT"] = 3600
    half = 1800  # seconds: half the token's life
    clock.move_to(datetime.fromtimestamp((utcnow().timestamp() // half + 1) * half + 1, UTC))
    etag = _fresh(installer, "/today")
    clock.move_to(utcnow() + timedelta(minutes=20))
    _unchanged(installer, "/today", etag)
    clock.move_to(utcnow() + timedelta(minutes=15))  # past half the token's life: a new page, a new token
    _changed(installer, "/today", etag)


def test_a_new_build_or_setting_changes_every_etag(app: Flask, installer: FlaskClient) -> None:
    etag = _fresh(installer, "/today")
    app.extensions[caching.BUILD] = "another build"
    etag = _changed(installer, "/today", etag)
    app.config["TIMEZONE"] = "Asia/Urumqi"  # restarted with another zone: every time shown moves
    _changed(installer, "/today", etag)


def test_the_job_page_answers_304_until_its_order_ticks_or_support_change(app: Flask, installer: FlaskClient) -> None:
    with app.app_context():
        from tests.workorders.test_standards import STEPS, job_type, with_standard

        version = standards.put_version(job_type(), STEPS, _user("admin"), seen=0)
        order = with_standard(f.make_work_order(OrderStatus.EN_ROUTE, assignee=_user("w1")), version)
        db.session.commit()
        number = order.number
    path = f"/orders/{number}"
    etag = _fresh(installer, path)
    _unchanged(installer, path, etag)
    with app.app_context():
        standards.tick(_order(number), _user("w1"), "shoe_covers")
        db.session.commit()
    etag = _changed(installer, path, etag)
    _unchanged(installer, path, etag)
    with app.app_context():
        standards.tick(_order(number), _user("w1"), "shoe_covers", done=False)
        db.session.commit()
    etag = _changed(installer, path, etag)
    _unchanged(installer, path, etag)
    with app.app_context():
        from fieldsvc.support import services

        row = services.raise_request(_order(number), _user("w1"), services.NewRequest("technical", "配置失败"), utcnow())
        db.session.commit()
        request_id = row.id
    etag = _changed(installer, path, etag)
    with app.app_context():
        from fieldsvc.support import services
        from fieldsvc.support.models import SupportRequest

        row = db.session.get(SupportRequest, request_id)
        services.reply(row, _user("s1"), "换一个端口试试", row.version, utcnow())
        db.session.commit()
    response = _get(installer, path, etag)
    assert response.status_code == 200 and "换一个端口试试" in response.get_data(as_text=True)


def test_the_job_page_changes_with_the_minute_of_its_deadline(app: Flask, installer: FlaskClient, clock) -> None:
    due = utcnow().replace(microsecond=0) + timedelta(hours=3)
    number = _make_order(app, due_by=due)
    path = f"/orders/{number}"
    clock.move_to(due - timedelta(minutes=90, seconds=50))
    etag = _fresh(installer, path)
    clock.move_to(due - timedelta(minutes=90, seconds=45))
    _unchanged(installer, path, etag)  # still "Due in 1 h 30 min"
    clock.move_to(due - timedelta(minutes=89, seconds=55))
    response = _get(installer, path, etag)
    assert response.status_code == 200 and "Due in 1 h 29 min" in response.get_data(as_text=True)


def test_a_supervisors_job_page_is_never_kept(app: Flask, client: FlaskClient) -> None:
    number = _make_order(app)
    sign_in(client, "s1")
    response = client.get(f"/orders/{number}")
    assert response.status_code == 200 and "ETag" not in response.headers
    assert response.headers["Cache-Control"] == "no-store"


def test_another_installers_etag_opens_no_order(app: Flask, installer: FlaskClient) -> None:
    number = _make_order(app)
    etag = _fresh(installer, f"/orders/{number}")
    other = app.test_client()
    sign_in(other, "w2")
    assert _get(other, f"/orders/{number}", etag).status_code == 404


def test_a_304_costs_fewer_statements_than_the_page(app: Flask, installer: FlaskClient) -> None:
    for _ in range(5):
        _make_order(app)
    number = _make_order(app, OrderStatus.ACCEPTED)
    for path, most in (("/today", 3), (f"/orders/{number}", 3)):
        etag = _fresh(installer, path)
        forget_rendered(app)  # a page rendered afresh (a panel kept from before costs a 304's statements)
        with counting(app) as full:
            assert _get(installer, path).status_code == 200
        with counting(app) as revalidated:
            assert _get(installer, path, etag).status_code == 304
        # The user, the page's rows (Today's list, or the order's few columns), one SELECT of aggregates.
        assert len(revalidated) <= most < len(full), (path, revalidated)


# --- static files --------------------------------------------------------------------------------

def test_static_addresses_carry_the_files_content_hash(app: Flask, installer: FlaskClient) -> None:
    page = installer.get("/today").get_data(as_text=True)
    content = (Path(app.static_folder) / "css" / "app.css").read_bytes()
    fingerprint = hashlib.sha256(content).hexdigest()[:12]
    assert f"/static/css/app.css?v={fingerprint}" in page
    assert "/static/vendor/lucide/icons.svg?v=" in page and "/static/js/today.js?v=" in page


def test_a_fingerprinted_file_is_kept_for_a_year(app: Flask, client: FlaskClient) -> None:
    with app.test_request_context():
        from flask import url_for

        url = url_for("static", filename="css/app.css")
    kept = client.get(url)
    assert kept.status_code == 200 and kept.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    plain = client.get("/static/css/app.css")  # an address without the hash still works, and revalidates
    assert plain.status_code == 200 and plain.get_data() == kept.get_data()
    assert "immutable" not in plain.headers["Cache-Control"] and "no-cache" in plain.headers["Cache-Control"]
    stale = client.get("/static/css/app.css?v=000000000000")  # a page from before a deploy
    assert stale.status_code == 200 and "immutable" not in stale.headers["Cache-Control"]


def test_the_fingerprint_changes_when_the_file_does(app: Flask, client: FlaskClient, tmp_path: Path) -> None:
    from flask import url_for

    (tmp_path / "css").mkdir()
    sheet = tmp_path / "css" / "app.css"
    sheet.write_text("body { color: black }")
    app.static_folder = str(tmp_path)
    caching.fingerprint(app)  # as the app's start-up does
    with app.test_request_context():
        before = url_for("static", filename="css/app.css")
    sheet.write_text("body { color: navy }")
    caching.fingerprint(app)  # the next deploy's start-up
    with app.test_request_context():
        after = url_for("static", filename="css/app.css")
    assert before != after and after.endswith("?v=" + hashlib.sha256(b"body { color: navy }").hexdigest()[:12])
    fresh = client.get(after)
    assert fresh.get_data() == b"body { color: navy }" and fresh.headers["Cache-Control"] == caching.IMMUTABLE
    old = client.get(before)  # a page from before the deploy: the file as it is now, not kept for a year
    assert old.get_data() == b"body { color: navy }" and "immutable" not in old.headers["Cache-Control"]


def test_new_figures_beside_today_change_it(app: Flask, installer: FlaskClient) -> None:
    from fieldsvc.db import local_today
    from fieldsvc.metrics.services import current_periods
    from fieldsvc.snapshots.models import MetricSnapshot, ScopeType

    etag = _fresh(installer, "/today")
    with app.app_context():
        kind, start = current_periods(local_today(zone()))[0]
        db.session.add(MetricSnapshot(metric="completed_orders", scope_type=ScopeType.INSTALLER, scope_id="w1",
                                      period_type=kind, period_start=start, numerator=3, denominator=3, value=3,
                                      computed_at=utcnow(), is_final=False))
        db.session.commit()
    etag = _changed(installer, "/today", etag)
    _unchanged(installer, "/today", etag)
    with app.app_context():  # the scheduler recomputes the figure a quarter of an hour later
        row = db.session.scalar(select(MetricSnapshot))
        row.numerator = row.value = 4
        row.computed_at = utcnow() + timedelta(minutes=15)
        db.session.commit()
    etag = _changed(installer, "/today", etag)
    with app.app_context():  # the installer's figure is gone (nothing left in the period): the page changes
        db.session.delete(db.session.scalar(select(MetricSnapshot)))
        db.session.commit()
    _changed(installer, "/today", etag)


def test_a_rating_changes_the_job_page(app: Flask, installer: FlaskClient) -> None:
    from fieldsvc.ratings.models import SurveyInvitation

    number = _make_order(app, OrderStatus.COMPLETED, completed_at=utcnow() - timedelta(hours=1))
    with app.app_context():
        order = _order(number)
        order.completed_by_id = order.assignee_id
        db.session.add(SurveyInvitation(work_order_id=order.id, token_hash="x" * 64,
                                        expires_at=utcnow() + timedelta(days=1)))
        db.session.commit()
    path = f"/orders/{number}"
    etag = _fresh(installer, path)
    assert "Not rated yet" in installer.get(path).get_data(as_text=True)
    with app.app_context():
        invitation = db.session.scalar(select(SurveyInvitation))
        invitation.reminded_at = utcnow()
        db.session.commit()
    response = _get(installer, path, etag)
    assert response.status_code == 200 and "Reminder texted on" in response.get_data(as_text=True)


def test_a_back_office_change_the_job_page_shows_changes_it(app: Flask, installer: FlaskClient) -> None:
    """A procedure note of the order's job type, written and then edited by an admin (audited):
    the job page's ETag moves with the audit log."""
    from fieldsvc.support.knowledge import NoteData, create_note, edit_note

    number = _make_order(app, job_type="install")
    path = f"/orders/{number}"
    etag = _fresh(installer, path)
    with app.app_context():
        note = create_note(_user("admin"), NoteData(title_zh="新装标准流程", body_zh="1. 预约", job_types=["install"]))
        db.session.commit()
        note_id = note.id
    response = _get(installer, path, etag)
    assert response.status_code == 200 and "新装标准流程" in response.get_data(as_text=True)
    etag = response.headers["ETag"]
    _unchanged(installer, path, etag)
    with app.app_context():
        from fieldsvc.support.knowledge import load_note

        note = load_note(note_id)
        edit_note(_user("admin"), note, NoteData(title_zh="新装标准流程", body_zh="1. 预约 2. 穿鞋套",
                                                 job_types=["install"]), version=note.version)
        db.session.commit()
    response = _get(installer, path, etag)
    assert response.status_code == 200 and "穿鞋套" in response.get_data(as_text=True)


def test_the_validators_select_is_built_once(app: Flask, installer: FlaskClient) -> None:
    """Today's and the job page's validators are SQL built once: their combined SELECT too."""
    number = _make_order(app)
    for path in ("/today", f"/orders/{number}"):
        assert installer.get(path).status_code == 200
        built = set(freshness._STATEMENTS)
        assert installer.get(path).status_code == 200
        assert built and set(freshness._STATEMENTS) == built
