"""The work-order API of PRODUCT.md §5: create (idempotent on external_ref), list, read, assign,
transitions (with Idempotency-Key), events."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fieldsvc.auth.models import Role
from fieldsvc.auth.services import create_token
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.ratings.models import SurveyInvitation
from fieldsvc.workorders.models import WorkOrder, WorkOrderEvent
from tests import factories as f

PROBLEM = "application/problem+json"


@pytest.fixture
def tokens(app: Flask) -> dict[str, str]:
    with app.app_context():
        hs = f.make_team("HS01", districts=("hongshan",))
        ja = f.make_team("JA01", districts=("jiangan",))
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=hs))
        other = f.certify_fully(f.make_user(Role.INSTALLER, username="w3", team=ja))
        rookie = f.make_user(Role.INSTALLER, username="w2", team=hs)
        supervisor = f.make_user(Role.SUPERVISOR, username="s1", team=hs)
        admin = f.make_user(Role.ADMIN, username="crm")
        result = {name: create_token(user) for name, user in
                  (("installer", installer), ("other", other), ("rookie", rookie), ("supervisor", supervisor), ("admin", admin))}
        db.session.commit()
    return result


def auth(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def new_order_body(**overrides) -> dict:
    start = (utcnow() + timedelta(days=1)).replace(hour=1, minute=0, second=0, microsecond=0)
    body = {
        "external_ref": "CRM-1001",
        "job_type": "install",
        "priority": "high",
        "customer": {"account_no": "02787654321", "name": "王芳", "phone": "13900001111",
                     "address": "洪山区珞喻路1037号", "district": "hongshan"},
        "appointment_start": start.isoformat(),
        "appointment_end": (start + timedelta(hours=2)).isoformat(),
        "notes": "二楼,请先电话联系",
    }
    body.update(overrides)
    return body


def create(client: FlaskClient, tokens: dict, **overrides):
    return client.post("/api/v1/work-orders", json=new_order_body(**overrides), headers=auth(tokens["admin"]))


def test_create_is_idempotent_on_external_ref(client: FlaskClient, tokens: dict, app: Flask) -> None:
    first = create(client, tokens)
    assert first.status_code == 201, first.get_json()
    order = first.get_json()
    assert order["number"].startswith("WO") and order["status"] == "new" and order["version"] == 1
    assert order["job_type"] == "install" and order["district"] == "hongshan" and order["priority"] == "high"
    assert order["customer"]["name"] == "王芳" and order["external_ref"] == "CRM-1001"
    assert order["due_by"] and order["appointment_end"]
    assert first.headers["Location"].endswith(f"/api/v1/work-orders/{order['number']}")
    again = create(client, tokens)
    assert again.status_code == 200 and again.get_json()["number"] == order["number"]
    clash = create(client, tokens, notes="different")
    assert clash.status_code == 409 and clash.mimetype == PROBLEM
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == 1


def test_a_reused_external_ref_names_the_order_in_a_documented_problem(client: FlaskClient, tokens: dict) -> None:
    # Found by schemathesis: the 409 carried `number`, which the Problem schema did not declare.
    order = create(client, tokens).get_json()
    clash = create(client, tokens, notes="different").get_json()
    assert clash["number"] == order["number"]
    declared = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]["Problem"]["properties"]
    assert set(clash) <= set(declared)


def test_due_by_is_the_later_booked_window_end(client: FlaskClient, tokens: dict) -> None:
    start = utcnow() + timedelta(days=3)
    order = create(client, tokens, appointment_start=start.isoformat(),
                   appointment_end=(start + timedelta(hours=2)).isoformat()).get_json()
    assert order["due_by"] == order["appointment_end"]


@pytest.mark.parametrize(
    "overrides",
    [
        {"job_type": "teleport"},
        {"customer": {"account_no": "1", "name": "x", "phone": "139", "address": "a", "district": "hongshan"}},
        {"customer": {"account_no": "1", "name": "x", "phone": "13900001111", "address": "a", "district": "mars"}},
        {"appointment_start": "2026-12-01T09:00:00"},  # no offset
        {"appointment_end": None},
        {"priority": "whenever"},
        {"notes": "x" * 3000},
    ],
)
def test_create_bad_input_is_400_and_creates_nothing(client: FlaskClient, tokens: dict, app: Flask, overrides: dict) -> None:
    response = create(client, tokens, **overrides)
    assert response.status_code == 400, response.get_json()
    assert response.mimetype == PROBLEM
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == 0


def test_installers_may_not_create_orders(client: FlaskClient, tokens: dict) -> None:
    response = client.post("/api/v1/work-orders", json=new_order_body(), headers=auth(tokens["installer"]))
    assert response.status_code == 403 and response.mimetype == PROBLEM


def test_assign_then_walk_the_lifecycle_with_events(client: FlaskClient, tokens: dict) -> None:
    number = create(client, tokens, job_type="repair").get_json()["number"]
    url = f"/api/v1/work-orders/{number}"
    assigned = client.post(f"{url}/assignment", json={"installer": "w1", "version": 1}, headers=auth(tokens["supervisor"]))
    assert assigned.status_code == 200, assigned.get_json()
    assert assigned.get_json()["assignee"] == "w1" and assigned.get_json()["version"] == 2
    version = 2
    for action, extra in (("accept", {}), ("depart", {}), ("arrive", {"lat": 30.52, "lon": 114.36})):
        response = client.post(f"{url}/transitions", json={"action": action, "version": version, **extra},
                               headers=auth(tokens["installer"]))
        assert response.status_code == 200, response.get_json()
        version = response.get_json()["version"]
    done = client.post(f"{url}/transitions", json={"action": "complete", "version": version,
                                                   "evidence": {"fault_cause": "drop_fibre"}},
                       headers=auth(tokens["installer"]))
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["status"] == "completed" and body["completed_at"]
    assert body["survey_url"].startswith("http://localhost/r/")
    assert body["visits"][0]["outcome"] == "resolved"
    events = client.get(f"{url}/events", headers=auth(tokens["installer"])).get_json()
    assert [e["action"] for e in events] == ["create", "assign", "accept", "depart", "arrive", "complete"]
    assert events[1]["actor"] == "s1" and events[4]["lat"] == 30.52
    assert client.get(body["survey_url"].replace("http://localhost", "")).status_code == 200


def test_assignment_refusal_lists_unmet_requirements(client: FlaskClient, tokens: dict) -> None:
    number = create(client, tokens, work_at_height=True).get_json()["number"]
    response = client.post(f"/api/v1/work-orders/{number}/assignment", json={"installer": "w2", "version": 1},
                           headers=auth(tokens["supervisor"]))
    assert response.status_code == 422 and response.mimetype == PROBLEM
    assert response.get_json()["unmet"] == [
        {"certification_type": "ftth", "reason": "missing"},
        {"certification_type": "service_star", "reason": "missing"},
        {"certification_type": "work_at_height", "reason": "missing"},
    ]
    other = client.post(f"/api/v1/work-orders/{number}/assignment", json={"installer": "w3", "version": 1},
                        headers=auth(tokens["supervisor"]))
    assert other.get_json()["unmet"][0] == {"installer": "w3", "reason": "not_your_team"}


def test_installer_cannot_assign(client: FlaskClient, tokens: dict) -> None:
    number = create(client, tokens).get_json()["number"]
    response = client.post(f"/api/v1/work-orders/{number}/assignment", json={"installer": "w1", "version": 1},
                           headers=auth(tokens["installer"]))
    assert response.status_code in (403, 404) and response.mimetype == PROBLEM


def _assigned(client: FlaskClient, tokens: dict, **overrides) -> str:
    number = create(client, tokens, **overrides).get_json()["number"]
    client.post(f"/api/v1/work-orders/{number}/assignment", json={"installer": "w1", "version": 1},
                headers=auth(tokens["admin"]))
    return number


def test_stale_version_and_illegal_transition_are_409(client: FlaskClient, tokens: dict) -> None:
    number = _assigned(client, tokens)
    url = f"/api/v1/work-orders/{number}/transitions"
    stale = client.post(url, json={"action": "accept", "version": 1}, headers=auth(tokens["installer"]))
    assert stale.status_code == 409 and stale.mimetype == PROBLEM
    assert stale.get_json()["current_version"] == 2
    illegal = client.post(url, json={"action": "complete", "version": 2}, headers=auth(tokens["installer"]))
    assert illegal.status_code == 409 and "Cannot do this to an order" in illegal.get_json()["detail"]


def test_foreign_order_is_404_with_nothing_leaked(client: FlaskClient, tokens: dict) -> None:
    number = _assigned(client, tokens)
    for method, path, body in (("get", "", None), ("get", "/events", None),
                               ("post", "/transitions", {"action": "accept", "version": 2})):
        response = getattr(client, method)(f"/api/v1/work-orders/{number}{path}", json=body, headers=auth(tokens["other"]))
        assert response.status_code == 404 and response.mimetype == PROBLEM
        assert "王芳" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "body",
    [{"action": "fly", "version": 2}, {"action": "accept"}, {"action": "accept", "version": "2"},
     {"action": "accept", "version": 2, "lat": "north"}],
)
def test_malformed_transition_is_400(client: FlaskClient, tokens: dict, body: dict) -> None:
    number = _assigned(client, tokens)
    response = client.post(f"/api/v1/work-orders/{number}/transitions", json=body, headers=auth(tokens["installer"]))
    assert response.status_code == 400 and response.mimetype == PROBLEM


def test_missing_evidence_is_422_with_missing_fields(client: FlaskClient, tokens: dict) -> None:
    number = _assigned(client, tokens, job_type="install")
    url = f"/api/v1/work-orders/{number}/transitions"
    version = 2
    for action in ("accept", "arrive"):
        version = client.post(url, json={"action": action, "version": version}, headers=auth(tokens["installer"])).get_json()["version"]
    refused = client.post(url, json={"action": "complete", "version": version, "evidence": {"onu_serial": "ZTEG00001111"}},
                          headers=auth(tokens["installer"]))
    assert refused.status_code == 422 and refused.get_json()["missing"] == ["rx_power_dbm"]


def test_idempotency_key_replays_the_first_answer(client: FlaskClient, tokens: dict, app: Flask) -> None:
    number = _assigned(client, tokens)
    url = f"/api/v1/work-orders/{number}/transitions"
    headers = auth(tokens["installer"], **{"Idempotency-Key": "phone-retry-1"})
    first = client.post(url, json={"action": "accept", "version": 2}, headers=headers)
    again = client.post(url, json={"action": "accept", "version": 2}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    different = client.post(url, json={"action": "book", "version": 2}, headers=headers)
    assert different.status_code == 409
    with app.app_context():
        order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert order.version == 3
        assert db.session.scalar(select(func.count()).select_from(WorkOrderEvent)
                                 .where(WorkOrderEvent.work_order_id == order.id, WorkOrderEvent.action == "accept")) == 1


def test_idempotent_complete_issues_one_survey_link(client: FlaskClient, tokens: dict, app: Flask) -> None:
    number = _assigned(client, tokens, job_type="repair")
    url = f"/api/v1/work-orders/{number}/transitions"
    version = 2
    for action in ("accept", "arrive"):
        version = client.post(url, json={"action": action, "version": version}, headers=auth(tokens["installer"])).get_json()["version"]
    headers = auth(tokens["installer"], **{"Idempotency-Key": "complete-1"})
    body = {"action": "complete", "version": version, "evidence": {"fault_cause": "config"}}
    first = client.post(url, json=body, headers=headers).get_json()
    second = client.post(url, json=body, headers=headers).get_json()
    assert first["survey_url"] == second["survey_url"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(SurveyInvitation)) == 1


def test_list_filters_and_cursor(client: FlaskClient, tokens: dict) -> None:
    numbers = [create(client, tokens, external_ref=f"CRM-{i}").get_json()["number"] for i in range(5)]
    client.post(f"/api/v1/work-orders/{numbers[0]}/assignment", json={"installer": "w1", "version": 1},
                headers=auth(tokens["admin"]))
    admin = auth(tokens["admin"])
    page1 = client.get("/api/v1/work-orders?limit=3", headers=admin).get_json()
    page2 = client.get(f"/api/v1/work-orders?limit=3&cursor={page1['next_cursor']}", headers=admin).get_json()
    seen = [o["number"] for o in page1["items"] + page2["items"]]
    assert sorted(seen) == sorted(numbers) and len(set(seen)) == 5 and page2["next_cursor"] is None
    assert seen[0] == numbers[0]  # most recent change first: the assigned one changed last
    mine = client.get("/api/v1/work-orders?assignee=w1&status=assigned", headers=admin).get_json()["items"]
    assert [o["number"] for o in mine] == [numbers[0]]
    assert client.get("/api/v1/work-orders?status=new&district=hongshan&job_type=install",
                      headers=admin).get_json()["items"].__len__() == 4
    since = client.get("/api/v1/work-orders?updated_since=2999-01-01T00:00:00%2B08:00", headers=admin).get_json()
    assert since["items"] == []
    installer_view = client.get("/api/v1/work-orders", headers=auth(tokens["installer"])).get_json()["items"]
    assert [o["number"] for o in installer_view] == [numbers[0]]
    assert client.get("/api/v1/work-orders?status=lost", headers=admin).status_code == 400
    assert client.get("/api/v1/work-orders?updated_since=yesterday", headers=admin).status_code == 400
    assert client.get("/api/v1/work-orders?cursor=WyJ4Il0", headers=admin).status_code == 400


# Finding 6: inputs that were a 500 (an overflow in the driver or in moving a time between zones)
# are 400 with the field that is wrong, and write nothing.

def cursor_of(*values: object) -> str:
    from fieldsvc.api.schemas import encode_cursor

    return encode_cursor(list(values))


@pytest.mark.parametrize("cursor", [
    cursor_of("2026-03-16T02:00:00+00:00", 10**20),  # beyond bigint
    cursor_of("2026-03-16T02:00:00+00:00", 2**31),  # beyond the Integer id column PostgreSQL compares it as
    cursor_of("2026-03-16T02:00:00+00:00", True),
    cursor_of("2026-03-16T02:00:00", 1),  # no offset
    cursor_of("9999-12-31T23:59:59-12:00", 1),
    cursor_of("0001-01-01T00:00:00+14:00", 1),
    cursor_of("2026-03-16T02:00:00+00:00\u0000", 1),
    cursor_of("2026-03-16T02:00:00+00:00"),
    cursor_of(["2026-03-16T02:00:00+00:00"], 1),
])
def test_a_forged_work_order_cursor_is_400(client: FlaskClient, tokens: dict, cursor: str) -> None:
    response = client.get(f"/api/v1/work-orders?cursor={cursor}", headers=auth(tokens["admin"]))
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert "next_cursor" in response.get_json(force=True)["detail"]  # pass it as it came


@pytest.mark.parametrize("cursor", [cursor_of("w\u00001"), cursor_of(10**20), cursor_of("w1", "w2"), cursor_of({"a": 1})])
def test_a_forged_installer_cursor_is_400(client: FlaskClient, tokens: dict, cursor: str) -> None:
    response = client.get(f"/api/v1/installers?cursor={cursor}", headers=auth(tokens["admin"]))
    assert response.status_code == 400 and response.mimetype == PROBLEM


@pytest.mark.parametrize("since", ["9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00%2B14:00", "3000-01-01T00:00:00Z"])
def test_updated_since_beyond_the_accepted_days_is_400(client: FlaskClient, tokens: dict, since: str) -> None:
    response = client.get(f"/api/v1/work-orders?updated_since={since}", headers=auth(tokens["admin"]))
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert response.get_json(force=True)["errors"] == {"query": {"updated_since": ["Must be from 1900-01-01 to 2999-12-31."]}}


@pytest.mark.parametrize(("start", "end", "field"), [
    ("9999-12-31T22:00:00-08:00", "9999-12-31T23:00:00-08:00", "appointment_start"),  # overflowed on storing
    ("0001-01-01T01:00:00+14:00", "0001-01-01T02:00:00+14:00", "appointment_start"),
    ("9999-12-31T10:00:00+08:00", "9999-12-31T12:00:00+08:00", "appointment_start"),  # stored, then unreadable
    ("2026-03-18T09:00:00+08:00", "9999-12-31T12:00:00+08:00", "appointment_end"),
])
def test_create_with_a_window_in_year_1_or_9999_is_400(client: FlaskClient, tokens: dict, app: Flask, start: str,
                                                       end: str, field: str) -> None:
    response = create(client, tokens, appointment_start=start, appointment_end=end)
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert field in response.get_json(force=True)["errors"]["json"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrder)) == 0


def test_windows_are_booked_at_most_a_year_ahead(client: FlaskClient, tokens: dict, app: Flask) -> None:
    from fieldsvc.workorders.lifecycle import BOOKING_HORIZON

    start = (utcnow() + BOOKING_HORIZON + timedelta(hours=1)).replace(microsecond=0)
    far = {"appointment_start": start.isoformat(), "appointment_end": (start + timedelta(hours=2)).isoformat()}
    refused = create(client, tokens, **far)
    assert refused.status_code == 400
    assert refused.get_json(force=True)["errors"] == {"appointment_start": ["At most a year ahead."]}
    number = create(client, tokens).get_json()["number"]
    url = f"/api/v1/work-orders/{number}/transitions"
    for window in (far, {"appointment_start": "9999-12-31T22:00:00-08:00", "appointment_end": "9999-12-31T23:00:00-08:00"}):
        booked = client.post(url, json={"action": "book", "version": 1, **window}, headers=auth(tokens["admin"]))
        assert booked.status_code == 400 and booked.mimetype == PROBLEM
    near = (utcnow() + BOOKING_HORIZON - timedelta(hours=3)).replace(microsecond=0)
    booked = client.post(url, json={"action": "book", "version": 1, "appointment_start": near.isoformat(),
                                    "appointment_end": (near + timedelta(hours=2)).isoformat()}, headers=auth(tokens["admin"]))
    assert booked.status_code == 200, booked.get_json()
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WorkOrderEvent)) == 2  # create, book


# #11 item 22: a person's first page is the latest changes; a sync reads oldest first from
# `updated_since`; every time in an answer has the same precision; a bad filter says which and why.

def _changed_in_turn(app: Flask, client: FlaskClient, tokens: dict, n: int) -> list[str]:
    """n orders whose last changes come one second apart, the first order changed first."""
    numbers = [create(client, tokens, external_ref=f"ORDER-{i}").get_json()["number"] for i in range(n)]
    with app.app_context():
        start = utcnow() - timedelta(hours=1)
        for i, number in enumerate(numbers):
            db.session.execute(WorkOrder.__table__.update().where(WorkOrder.number == number)
                               .values(updated_at=start + timedelta(seconds=i, microseconds=250_000)))
        db.session.commit()
    return numbers


def _walk(client: FlaskClient, headers: dict, query: str) -> list[str]:
    seen: list[str] = []
    url = f"/api/v1/work-orders?limit=2&{query}"
    while url:
        page = client.get(url, headers=headers).get_json()
        seen += [o["number"] for o in page["items"]]
        url = f"/api/v1/work-orders?limit=2&{query}&cursor={page['next_cursor']}" if page["next_cursor"] else None
    return seen


def test_the_list_shows_the_latest_changes_first_and_syncs_oldest_first(app: Flask, client: FlaskClient,
                                                                       tokens: dict) -> None:
    numbers = _changed_in_turn(app, client, tokens, 5)
    admin = auth(tokens["admin"])
    assert _walk(client, admin, "") == numbers[::-1]
    assert _walk(client, admin, "order=newest") == numbers[::-1]
    assert _walk(client, admin, "order=oldest") == numbers
    third = client.get("/api/v1/work-orders?order=oldest", headers=admin).get_json()["items"][2]
    since = third["updated_at"].replace("+", "%2B")
    assert _walk(client, admin, f"updated_since={since}") == numbers[2:]  # ascending by default
    assert _walk(client, admin, f"updated_since={since}&order=newest") == numbers[:1:-1]


def test_a_cursor_continues_only_the_order_it_came_from(app: Flask, client: FlaskClient, tokens: dict) -> None:
    _changed_in_turn(app, client, tokens, 3)
    admin = auth(tokens["admin"], **{"Accept-Language": "en"})
    cursor = client.get("/api/v1/work-orders?limit=1", headers=admin).get_json()["next_cursor"]
    response = client.get(f"/api/v1/work-orders?limit=1&order=oldest&cursor={cursor}", headers=admin)
    assert response.status_code == 400 and "order=newest" in response.get_json()["detail"]


def test_every_time_in_an_answer_is_whole_seconds_in_the_operators_zone(app: Flask, client: FlaskClient,
                                                                        tokens: dict) -> None:
    import re

    number = _changed_in_turn(app, client, tokens, 1)[0]
    client.post(f"/api/v1/work-orders/{number}/assignment", json={"installer": "w1", "version": 1},
                headers=auth(tokens["admin"]))
    stamp = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\+08:00$")
    order = client.get(f"/api/v1/work-orders/{number}", headers=auth(tokens["admin"])).get_json()
    events = client.get(f"/api/v1/work-orders/{number}/events", headers=auth(tokens["admin"])).get_json()
    times = [order[k] for k in ("created_at", "updated_at", "due_by")] + [e["created_at"] for e in events]
    assert times and all(stamp.match(t) for t in times), times


def test_a_bad_filter_names_the_parameter_and_the_allowed_values(client: FlaskClient, tokens: dict) -> None:
    response = client.get("/api/v1/work-orders?status=lost", headers=auth(tokens["admin"], **{"Accept-Language": "en"}))
    assert response.status_code == 400 and response.mimetype == PROBLEM
    detail = response.get_json()["detail"]
    assert detail.startswith("The request has errors: status (query): Must be one of: new, assigned,"), detail
    assert "completed, cancelled." in detail
    zh = client.get("/api/v1/work-orders?order=sideways", headers=auth(tokens["admin"], **{"Accept-Language": "zh-CN"}))
    assert "order (query)" in zh.get_json()["detail"] and "newest, oldest" in zh.get_json()["detail"]
