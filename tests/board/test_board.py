"""The dispatch board: queues, filters, search, bulk assignment, workload, creating and editing
orders, suggestions; and that a supervisor never sees or touches another team's orders."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fieldsvc.auth.models import Role, User
from fieldsvc.db import local_day_range, local_today, utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus, WorkOrder, WorkOrderEvent
from tests import factories as f
from tests.conftest import sign_in


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


@pytest.fixture
def branch(app: Flask) -> None:
    """HS01 (hongshan, wuchang) run by s1 with w1 (certified) and w2 (rookie); JA01 (jiangan) run
    by s2 with w3. Orders in every queue."""
    with app.app_context():
        hs = f.make_team("HS01", districts=("hongshan", "wuchang"))
        ja = f.make_team("JA01", districts=("jiangan",))
        w1 = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=hs, name="张伟"))
        f.make_user(Role.INSTALLER, username="w2", team=hs, name="李强")
        f.certify_fully(f.make_user(Role.INSTALLER, username="w3", team=ja))
        f.make_user(Role.SUPERVISOR, username="s1", team=hs)
        f.make_user(Role.SUPERVISOR, username="s2", team=ja)
        f.make_user(Role.ADMIN, username="admin")
        now = utcnow()
        f.make_work_order(number="WO-UNASSIGNED", customer=f.make_customer(phone="13911112222", account_no="02700000001"),
                          due_by=now + timedelta(hours=8))
        f.make_work_order(number="WO-RISK", due_by=now + timedelta(hours=1), assignee=w1, status=OrderStatus.ACCEPTED)
        f.make_work_order(number="WO-LATE", due_by=now - timedelta(hours=3), assignee=w1, status=OrderStatus.ASSIGNED,
                          customer=f.make_customer(address="武昌区中南路99号"))
        midday = local_day_range(local_today(zone()), zone())[0] + timedelta(hours=12)  # today, at any hour
        f.make_work_order(number="WO-TODAY", due_by=now + timedelta(hours=20), assignee=w1, status=OrderStatus.ACCEPTED,
                          appointment_start=midday, appointment_end=midday + timedelta(hours=2))
        f.make_work_order(number="WO-JIANGAN", customer=f.make_customer("jiangan"), due_by=now + timedelta(hours=5))
        f.make_work_order(number="WO-DONE", status=OrderStatus.COMPLETED, assignee=w1, completed_at=now)
        db.session.commit()


def in_app(app: Flask, fn):
    with app.app_context():
        return fn()


def numbers(page: str) -> set[str]:
    return set(re.findall(r">(WO-[A-Z]+)<", page))


def token(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def test_queues_hold_the_right_orders_and_show_counts(client: FlaskClient, branch: None) -> None:
    sign_in(client, "s1")
    assert numbers(client.get("/board").get_data(as_text=True)) == {"WO-UNASSIGNED", "WO-RISK", "WO-LATE", "WO-TODAY"}
    assert numbers(client.get("/board?queue=unassigned").get_data(as_text=True)) == {"WO-UNASSIGNED"}
    assert numbers(client.get("/board?queue=at_risk").get_data(as_text=True)) == {"WO-RISK"}
    assert numbers(client.get("/board?queue=overdue").get_data(as_text=True)) == {"WO-LATE"}
    page = client.get("/board?queue=today").get_data(as_text=True)
    assert "WO-TODAY" in numbers(page)
    counts = dict(re.findall(r'queue=(\w+)[^"]*"[^>]*>\s*[^<]+<span class="badge[^"]*">(\d+)<', page))
    assert counts == {"unassigned": "1", "at_risk": "1", "overdue": "1", "today": "1", "open": "4"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [("q=13911112222", {"WO-UNASSIGNED"}), ("q=02700000001", {"WO-UNASSIGNED"}), ("q=wo-late", {"WO-LATE"}),
     ("q=中南路", {"WO-LATE"}), ("q=100%25", set()), ("status=assigned", {"WO-LATE"}), ("priority=urgent", set()),
     ("district=wuchang", set()), ("job_type=install", set()), ("job_type=repair&status=accepted", {"WO-RISK", "WO-TODAY"})],
)
def test_filters_and_search(client: FlaskClient, branch: None, query: str, expected: set) -> None:
    sign_in(client, "s1")
    assert numbers(client.get(f"/board?{query}").get_data(as_text=True)) == expected


def test_today_by_installer_is_grouped_and_sorted_by_installer(client: FlaskClient, branch: None, app: Flask) -> None:
    """Each installer's orders booked today under their name, installers in name order, each one's
    day in appointment order; an unassigned order booked today waits in "Unassigned", not here."""
    with app.app_context():
        w1, w2 = user("w1"), user("w2")
        w1.name_en, w2.name_en = "Zhang Wei", "Li Qiang"
        day = local_day_range(local_today(zone()), zone())[0]
        for number, who, hour in (("WO-WLATE", w1, 16), ("WO-LEARLY", w2, 9), ("WO-WEARLY", w1, 9), ("WO-NOBODY", None, 10)):
            start = day + timedelta(hours=hour)
            f.make_work_order(number=number, assignee=who, status=OrderStatus.ASSIGNED if who else OrderStatus.NEW,
                              appointment_start=start, appointment_end=start + timedelta(hours=2))
        db.session.commit()
    sign_in(client, "s1")
    page = client.get("/board?queue=today").get_data(as_text=True)
    body = page.split("<tbody>")[1]
    sequence = re.findall(r'class="group"><th[^>]*>([^<]+)<|>(WO-[A-Z]+)<', body)
    shown = [name.strip() or number for name, number in sequence]
    assert shown == ["Li Qiang", "WO-LEARLY", "Zhang Wei", "WO-WEARLY", "WO-TODAY", "WO-WLATE"]
    assert "WO-NOBODY" in numbers(client.get("/board?queue=unassigned").get_data(as_text=True))


def test_search_and_status_filter_reach_closed_orders(client: FlaskClient, branch: None, app: Flask) -> None:
    """A customer on the phone about a finished or cancelled job: found by number, phone, account or
    address, and by a completed/cancelled status filter; the queues themselves stay open orders."""
    with app.app_context():
        caller = f.make_customer(phone="13722223333", account_no="02799999999", address="江汉路1号")
        f.make_work_order(number="WO-CALLER", customer=caller, status=OrderStatus.CANCELLED, cancelled_at=utcnow())
        f.make_work_order(number="WO-CALLED", customer=caller, status=OrderStatus.COMPLETED, completed_at=utcnow(),
                          assignee=user("w1"))
        f.make_work_order(number="WO-OTHERS", customer=f.make_customer("jiangan", phone="13722224444"),
                          status=OrderStatus.COMPLETED, completed_at=utcnow())
        db.session.commit()
    sign_in(client, "s1")
    for query in ("q=13722223333", "q=02799999999", "q=江汉路", "q=wo-caller"):
        page = client.get(f"/board?{query}").get_data(as_text=True)
        assert numbers(page) >= ({"WO-CALLER"} if "wo-" in query else {"WO-CALLER", "WO-CALLED"}), query
        assert "All matches" in page
    assert numbers(client.get("/board?status=completed").get_data(as_text=True)) == {"WO-DONE", "WO-CALLED"}
    assert numbers(client.get("/board?status=cancelled").get_data(as_text=True)) == {"WO-CALLER"}
    assert numbers(client.get("/board?queue=unassigned&q=13722223333").get_data(as_text=True)) == set()
    assert numbers(client.get("/board?q=13722224444").get_data(as_text=True)) == set()  # another team's
    page = client.get("/board?q=13722223333").get_data(as_text=True)
    assert "WO-CALLED:" not in page  # a closed order has no box to tick for assignment
    assert "All matches" not in client.get("/board").get_data(as_text=True)


def test_day_filter(client: FlaskClient, branch: None) -> None:
    sign_in(client, "s1")
    tomorrow = (f.today() + timedelta(days=3)).isoformat()
    assert numbers(client.get(f"/board?day={tomorrow}").get_data(as_text=True)) == set()


def test_supervisor_never_sees_other_teams_orders(client: FlaskClient, branch: None) -> None:
    sign_in(client, "s1")
    assert "WO-JIANGAN" not in numbers(client.get("/board?q=WO-JIANGAN").get_data(as_text=True))
    assert client.get("/orders/WO-JIANGAN").status_code == 404
    assert client.get("/orders/WO-JIANGAN/edit").status_code == 404


def test_admin_sees_every_team(client: FlaskClient, branch: None) -> None:
    sign_in(client, "admin")
    assert "WO-JIANGAN" in numbers(client.get("/board").get_data(as_text=True))


@pytest.mark.parametrize("path", ["/board", "/board/workload", "/orders/new", "/orders/WO-RISK/edit"])
def test_installers_cannot_dispatch(client: FlaskClient, branch: None, path: str) -> None:
    sign_in(client, "w1")
    assert client.get(path).status_code == 403
    assert client.post("/board/assign", data={}).status_code in (400, 403)


def test_bulk_assignment_reports_each_order(client: FlaskClient, branch: None, app: Flask) -> None:
    sign_in(client, "s1")
    page = client.get("/board").get_data(as_text=True)
    picked = re.findall(r'name="orders" value="([^"]+)"', page)
    stale = "WO-LATE:1" if "WO-LATE:1" not in picked else "WO-LATE:99"
    data = {"csrf_token": token(page), "installer": "w1",
            "orders": [v for v in picked if v.startswith(("WO-UNASSIGNED", "WO-RISK"))] + [stale, "WO-JIANGAN:1"]}
    response = client.post("/board/assign", data=data)
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert text.count("✔") == 1 and text.count("✘") == 3  # WO-RISK already w1's; stale; another team's
    w1_name = in_app(app, lambda: user("w1").name_en)
    assert f"✔ assigned to {w1_name}\n" in text and f"already assigned to {w1_name}." in text
    assert "has changed since you opened it" in text and "w1" not in text.split("<main")[1]  # names, not numbers
    rookie = client.post("/board/assign", data={"csrf_token": token(page), "installer": "w2",
                                                "orders": [v for v in picked if v.startswith("WO-RISK")]})
    assert "Special operations: work at height" not in rookie.get_data(as_text=True)
    assert "no certificate" in rookie.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-UNASSIGNED")).assignee.username == "w1"
        assert db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-JIANGAN")).assignee is None


def test_workload_flags_idle_and_overloaded(client: FlaskClient, branch: None, app: Flask) -> None:
    sign_in(client, "s1")
    page = client.get("/board/workload").get_data(as_text=True)
    assert "<small>w1</small>" in page and "<small>w2</small>" in page and "idle" in page
    rows = re.findall(r"<tr class=\"([^\"]*)\">\s*<td>([^<]+)<small>(\w+)</small>", page)
    flags = {username: cls for cls, _name, username in rows}
    assert flags["w2"] == "idle" and flags["w1"] == ""
    with app.app_context():
        for _ in range(8):
            f.make_work_order(status=OrderStatus.ASSIGNED, assignee=user("w1"))
        db.session.commit()
    page = client.get("/board/workload").get_data(as_text=True)
    assert dict((u, c) for c, _n, u in re.findall(r"<tr class=\"([^\"]*)\">\s*<td>([^<]+)<small>(\w+)</small>", page))["w1"] == "overloaded"


def test_the_customer_lookup_finds_only_customers_in_the_callers_districts(app: Flask, branch: None) -> None:
    # The customer of 13911112222 lives in hongshan, which HS01 serves and JA01 does not.
    for username, finds in (("s2", False), ("s1", True), ("admin", True)):
        browser = app.test_client()
        browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        sign_in(browser, username)
        page = browser.get("/orders/new?find=13911112222").get_data(as_text=True)
        assert ('value="02700000001"' in page) is finds, username
        assert ("No customer with that phone or account number" in page) is not finds, username


def test_create_an_order_from_a_phone_call(client: FlaskClient, branch: None, app: Flask) -> None:
    sign_in(client, "s1")
    found = client.get("/orders/new?find=13911112222").get_data(as_text=True)
    assert 'value="02700000001"' in found
    page = client.get("/orders/new").get_data(as_text=True)
    day = (f.today() + timedelta(days=1)).isoformat()
    bad = client.post("/orders/new", data={"csrf_token": token(page), "job_type": "install", "priority": "normal",
                                           "account_no": "", "customer_name": "王芳", "phone": "139",
                                           "address": "珞喻路1号", "district": "hongshan", "day": day, "slot": ""})
    assert bad.status_code == 400
    with app.app_context():
        before = db.session.scalar(select(func.count()).select_from(WorkOrder))
    response = client.post("/orders/new", data={
        "csrf_token": token(page), "job_type": "install", "priority": "high", "account_no": "02799990000",
        "customer_name": "王芳", "phone": "13900001111", "address": "珞喻路1号", "district": "hongshan",
        "day": day, "slot": "14-16", "is_work_at_height": "y", "notes": "先电话联系"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == before + 1
        order = db.session.scalar(select(WorkOrder).order_by(WorkOrder.id.desc()).limit(1))
        assert order.is_work_at_height and order.priority.value == "high" and order.notes == "先电话联系"
        assert order.appointment_start.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Shanghai")).hour == 14
        assert order.due_by == order.appointment_end or order.due_by > order.appointment_end


def test_edit_reschedule_and_stale_edit(client: FlaskClient, branch: None, app: Flask) -> None:
    sign_in(client, "s1")
    page = client.get("/orders/WO-RISK/edit").get_data(as_text=True)
    day = (f.today() + timedelta(days=2)).isoformat()
    data = {"csrf_token": token(page), "version": re.search(r'name="version" value="(\d+)"', page).group(1),
            "priority": "urgent", "day": day, "slot": "09-11", "notes": "客户改约"}
    assert client.post("/orders/WO-RISK/edit", data=data).status_code == 302
    stale = client.post("/orders/WO-RISK/edit", data={**data, "priority": "low"})
    assert stale.status_code == 409
    with app.app_context():
        order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-RISK"))
        assert order.priority.value == "urgent" and order.notes == "客户改约"
        assert db.session.scalar(select(WorkOrderEvent.action).where(WorkOrderEvent.work_order_id == order.id)) == "edit"


def test_flagging_height_on_an_order_whose_installer_lacks_it_is_refused(client: FlaskClient, branch: None, app: Flask) -> None:
    with app.app_context():
        f.make_work_order(number="WO-ROOKIE", assignee=user("w2"), status=OrderStatus.ASSIGNED)
        db.session.commit()
    sign_in(client, "s1")
    page = client.get("/orders/WO-ROOKIE/edit").get_data(as_text=True)
    response = client.post("/orders/WO-ROOKIE/edit", data={
        "csrf_token": token(page), "version": "1", "priority": "normal", "is_work_at_height": "y"})
    assert response.status_code == 422
    assert "may not work at height" in response.get_data(as_text=True)
    with app.app_context():
        assert not db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-ROOKIE")).is_work_at_height


def test_suggestions_rank_eligible_installers_with_reasons(client: FlaskClient, branch: None) -> None:
    sign_in(client, "s1")
    page = client.get("/orders/WO-UNASSIGNED").get_data(as_text=True)
    assert "Suggested installers" in page and 'name="assign-installer" value="w1"' in page
    assert "jobs today" in page and "home district" in page
    assert "Not eligible (1)" in page and "(w2)" in page and "no certificate" in page


def test_two_clicks_from_the_board_assign_a_suggested_installer(client: FlaskClient, branch: None, app: Flask) -> None:
    sign_in(client, "s1")
    page = client.get("/orders/WO-UNASSIGNED").get_data(as_text=True)
    start = page.index('name="assign-installer" value="w1"')
    form = page[page.rindex("<form", 0, start):page.index("</form>", start)]
    fields = dict(re.findall(r'name="([^"]+)"[^>]*?value="([^"]*)"', form))
    assert client.post("/orders/WO-UNASSIGNED/act", data=fields).status_code == 302
    with app.app_context():
        assert db.session.scalar(select(WorkOrder).where(WorkOrder.number == "WO-UNASSIGNED")).assignee.username == "w1"


def test_board_answers_htmx_with_just_the_results(client: FlaskClient, branch: None) -> None:
    sign_in(client, "s1")
    full = client.get("/board?queue=overdue").get_data(as_text=True)
    assert "<html" in full and 'id="board"' in full and "htmx.min.js" in full
    fragment = client.get("/board?queue=overdue", headers={"HX-Request": "true"})
    text = fragment.get_data(as_text=True)
    assert "<html" not in text and text.lstrip().startswith('<div id="board"')
    assert numbers(text) == {"WO-LATE"} and "HX-Request" in fragment.headers["Vary"]


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775808", "2", "-3", "x", "1" * 5000])
def test_a_page_past_the_end_shows_the_last_page(client: FlaskClient, branch: None, page: str) -> None:
    sign_in(client, "s1")
    response = client.get(f"/board?page={page}")
    assert response.status_code == 200  # was a 500: an OFFSET beyond what the database takes
    assert numbers(response.get_data(as_text=True)) == {"WO-UNASSIGNED", "WO-RISK", "WO-LATE", "WO-TODAY"}


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_a_day_filter_in_year_1_or_9999_is_a_field_error(client: FlaskClient, branch: None, day: str) -> None:
    sign_in(client, "s1")
    response = client.get(f"/board?day={day}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Must be from 1900-01-01 to 2999-12-31." in page
    assert 'max="2999-12-31"' in page and 'min="1900-01-01"' in page


@pytest.mark.parametrize("day", ["9999-12-31", "0001-01-01"])
def test_an_order_or_booking_in_year_1_or_9999_is_a_field_error_and_writes_nothing(
        client: FlaskClient, branch: None, app: Flask, day: str) -> None:
    sign_in(client, "s1")
    page = client.get("/orders/new").get_data(as_text=True)
    response = client.post("/orders/new", data={
        "csrf_token": token(page), "job_type": "install", "priority": "normal", "account_no": "02799990000",
        "customer_name": "王芳", "phone": "13900001111", "address": "珞喻路1号", "district": "hongshan",
        "day": day, "slot": "09-11"})
    assert response.status_code == 400 and "Must be from 1900-01-01 to 2999-12-31." in response.get_data(as_text=True)
    edit = client.get("/orders/WO-RISK/edit").get_data(as_text=True)
    response = client.post("/orders/WO-RISK/edit", data={
        "csrf_token": token(edit), "version": re.search(r'name="version" value="(\d+)"', edit).group(1),
        "priority": "normal", "day": day, "slot": "09-11"})
    assert response.status_code == 400 and "Must be from 1900-01-01 to 2999-12-31." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == 6
        assert db.session.scalar(select(func.count()).select_from(WorkOrderEvent)) == 0


def test_an_order_form_window_more_than_a_year_ahead_is_a_field_error(client: FlaskClient, branch: None, app: Flask) -> None:
    sign_in(client, "s1")
    page = client.get("/orders/new").get_data(as_text=True)
    response = client.post("/orders/new", data={
        "csrf_token": token(page), "job_type": "install", "priority": "normal", "account_no": "02799990000",
        "customer_name": "王芳", "phone": "13900001111", "address": "珞喻路1号", "district": "hongshan",
        "day": (f.today() + timedelta(days=400)).isoformat(), "slot": "09-11"})
    assert response.status_code == 400 and "At most a year ahead." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == 6


def test_suggestion_figures_have_one_decimal_and_name_their_window(app_ctx: Flask) -> None:
    """Against a 99% target, 99.4% and 99.6% are not both "99%" and "100%" (PRODUCT.md: rates to
    one decimal)."""
    from fieldsvc.workorders.suggestions import _reasons

    reasons = _reasons({"load": 2, "home": True, "rate": 6 / 7, "jobs": 7, "share": 199 / 200, "ratings": 200,
                        "level": 0, "km": None}, capacity=6)
    assert "on-site resolution 85.7% (7 jobs, last 5 weeks)" in reasons
    assert "satisfaction 99.5% (200 ratings, last 13 weeks)" in reasons
