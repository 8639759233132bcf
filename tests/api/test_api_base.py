"""The API's base: bearer tokens, problem+json, the OpenAPI document, the first endpoints."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.auth.models import ApiToken, Role
from fieldsvc.auth.services import create_token, revoke_token
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus, Visit, VisitOutcome
from tests import factories as f

PROBLEM = "application/problem+json"


@pytest.fixture
def world(app: Flask) -> dict[str, object]:
    """Two teams in two districts, an installer in each, a supervisor of team A, an admin;
    an order for each installer; a token for each person."""
    with app.app_context():
        team_a = f.make_team("HS01", districts=("hongshan",))
        team_b = f.make_team("JA01", districts=("jiangan", "jianghan"))
        installer_a = f.make_user(Role.INSTALLER, username="w10001", team=team_a, name="张伟", name_en="Zhang Wei")
        installer_b = f.make_user(Role.INSTALLER, username="w10002", team=team_b)
        f.make_user(Role.INSTALLER, username="w10003", team=team_b, is_active=False)
        supervisor = f.make_user(Role.SUPERVISOR, username="s0001", team=team_a)
        admin = f.make_user(Role.ADMIN, username="admin")
        order_a = f.make_work_order(OrderStatus.ON_SITE, assignee=installer_a, number="WO261128-0000001",
                                    customer=f.make_customer("hongshan"))
        db.session.add(Visit(work_order=order_a, seq=1, installer=installer_a, arrived_at=utcnow(),
                             left_at=utcnow(), outcome=VisitOutcome.NOT_RESOLVED, reason_code="customer_absent"))
        f.make_work_order(OrderStatus.ASSIGNED, assignee=installer_b, number="WO261128-0000002",
                          customer=f.make_customer("jiangan"))
        f.make_work_order(OrderStatus.NEW, number="WO261128-0000003", customer=f.make_customer("hongshan"))
        tokens = {
            "installer_a": create_token(installer_a),
            "installer_b": create_token(installer_b),
            "supervisor": create_token(supervisor),
            "admin": create_token(admin),
        }
        db.session.commit()
    return tokens


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer fsv_nope"}],
)
@pytest.mark.parametrize("path", ["/api/v1/installers", "/api/v1/work-orders/WO261128-0000001"])
def test_no_or_bad_token_is_401_problem_json(client: FlaskClient, world: dict, headers: dict, path: str) -> None:
    response = client.get(path, headers=headers)
    assert response.status_code == 401
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == 401 and body["title"] == "Unauthorized"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_and_inactive_user_are_401(app: Flask, client: FlaskClient, world: dict) -> None:
    assert client.get("/api/v1/installers", headers=bearer(world["admin"])).status_code == 200
    with app.app_context():
        api_token = db.session.scalar(select(ApiToken).join(ApiToken.user).where(ApiToken.user.has(username="admin")))
        revoke_token(api_token.id, api_token.user)
        installer = db.session.scalar(select(ApiToken).where(ApiToken.prefix == world["installer_b"][:10])).user
        installer.is_active = False
        db.session.commit()
    assert client.get("/api/v1/installers", headers=bearer(world["admin"])).status_code == 401
    assert client.get("/api/v1/installers", headers=bearer(world["installer_b"])).status_code == 401


def test_tokens_are_stored_as_digests(app: Flask, world: dict) -> None:
    with app.app_context():
        stored = db.session.scalars(select(ApiToken.token_hash)).all()
    assert len(stored) == 4
    assert not set(stored) & set(world.values())
    assert all(len(digest) == 64 for digest in stored)


def test_unknown_api_path_is_404_problem_json(client: FlaskClient, world: dict) -> None:
    response = client.get("/api/v1/nothing-here", headers=bearer(world["admin"]))
    assert response.status_code == 404
    assert response.mimetype == PROBLEM


@pytest.mark.parametrize("path", ["/api/v1/work-orders/WO261128-0000001", "/api/v1/installers"])
def test_an_unsupported_method_is_405_problem_json_with_allow(client: FlaskClient, world: dict, path: str) -> None:
    # Found by schemathesis: the problem+json answer dropped the Allow header RFC 9110 requires.
    response = client.delete(path, headers=bearer(world["admin"]))
    assert response.status_code == 405
    assert response.mimetype == PROBLEM
    assert {m.strip() for m in response.headers["Allow"].split(",")} >= {"GET", "HEAD", "OPTIONS"}
    assert "DELETE" not in response.headers["Allow"]


def test_an_unsupported_method_on_a_page_keeps_allow(client: FlaskClient) -> None:
    response = client.put("/login")
    assert response.status_code == 405
    assert response.mimetype == "text/html"
    assert "POST" in response.headers["Allow"]


def test_installers_list(client: FlaskClient, world: dict) -> None:
    response = client.get("/api/v1/installers", headers=bearer(world["installer_a"]))
    assert response.status_code == 200
    body = response.get_json()
    assert [i["username"] for i in body["items"]] == ["w10001", "w10002", "w10003"]
    first = body["items"][0]
    assert first == {"username": "w10001", "name": "张伟", "name_en": "Zhang Wei", "team": "HS01",
                     "districts": ["hongshan"], "active": True}
    assert body["next_cursor"] is None


def test_installers_filters_and_cursor_pagination(client: FlaskClient, world: dict) -> None:
    headers = bearer(world["admin"])
    by_team = client.get("/api/v1/installers?team=JA01", headers=headers).get_json()["items"]
    assert [i["username"] for i in by_team] == ["w10002", "w10003"]
    by_district = client.get("/api/v1/installers?district=jianghan&active=true", headers=headers).get_json()["items"]
    assert [i["username"] for i in by_district] == ["w10002"]
    page1 = client.get("/api/v1/installers?limit=2", headers=headers).get_json()
    assert [i["username"] for i in page1["items"]] == ["w10001", "w10002"]
    page2 = client.get(f"/api/v1/installers?limit=2&cursor={page1['next_cursor']}", headers=headers).get_json()
    assert [i["username"] for i in page2["items"]] == ["w10003"]
    assert page2["next_cursor"] is None


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=100000", "cursor=%%%", "cursor=eyJ4IjoxfQ", "active=maybe"])
def test_bad_query_is_400_problem_json(client: FlaskClient, world: dict, query: str) -> None:
    response = client.get(f"/api/v1/installers?{query}", headers=bearer(world["admin"]))
    assert response.status_code == 400
    assert response.mimetype == PROBLEM


def test_work_order_as_its_installer(client: FlaskClient, world: dict) -> None:
    response = client.get("/api/v1/work-orders/WO261128-0000001", headers=bearer(world["installer_a"]))
    assert response.status_code == 200
    order = response.get_json()
    assert order["number"] == "WO261128-0000001"
    assert order["status"] == "on_site" and order["version"] == 1
    assert order["assignee"] == "w10001" and order["district"] == "hongshan" and order["job_type"] == "repair"
    assert order["customer"]["account_no"].startswith("027")
    assert order["visits"] == [{"seq": 1, "arrived_at": order["visits"][0]["arrived_at"],
                                "left_at": order["visits"][0]["left_at"], "outcome": "not_resolved",
                                "reason": "customer_absent"}]
    assert order["due_by"].endswith("+08:00")  # shown in the operator's time zone, with its offset
    assert order["completed_at"] is None


def test_work_order_of_someone_else_is_404(client: FlaskClient, world: dict) -> None:
    response = client.get("/api/v1/work-orders/WO261128-0000002", headers=bearer(world["installer_a"]))
    assert response.status_code == 404
    assert response.mimetype == PROBLEM
    assert "jiangan" not in response.get_data(as_text=True)


def test_supervisor_sees_own_teams_and_unassigned_in_served_districts(client: FlaskClient, world: dict) -> None:
    headers = bearer(world["supervisor"])
    assert client.get("/api/v1/work-orders/WO261128-0000001", headers=headers).status_code == 200
    assert client.get("/api/v1/work-orders/WO261128-0000003", headers=headers).status_code == 200
    assert client.get("/api/v1/work-orders/WO261128-0000002", headers=headers).status_code == 404


def test_admin_sees_every_order(client: FlaskClient, world: dict) -> None:
    for number in ("WO261128-0000001", "WO261128-0000002", "WO261128-0000003"):
        assert client.get(f"/api/v1/work-orders/{number}", headers=bearer(world["admin"])).status_code == 200


def test_openapi_document_is_generated_from_the_code(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/v1/installers" in spec["paths"]
    assert "/api/v1/work-orders/{number}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "WorkOrder" in spec["components"]["schemas"]


# The error statuses each operation can answer (besides 400 for bad arguments, which flask-smorest
# documents wherever there are arguments): every one authenticates and reads the database (401,
# 503), one with a body can be sent too much (413).
DECLARED_ERRORS = {
    ("get", "/api/v1/installers"): {400, 401, 503},
    ("get", "/api/v1/metrics"): {400, 401, 503},
    ("get", "/api/v1/metrics/orders"): {400, 401, 404, 503},
    ("get", "/api/v1/installers/{username}/certifications"): {401, 404, 503},
    ("post", "/api/v1/installers/{username}/certifications"): {400, 401, 403, 404, 413, 503},
    ("get", "/api/v1/work-orders"): {400, 401, 503},
    ("post", "/api/v1/work-orders"): {400, 401, 403, 409, 413, 422, 503},
    ("get", "/api/v1/work-orders/{number}"): {401, 404, 503},
    ("get", "/api/v1/work-orders/{number}/events"): {401, 404, 503},
    ("post", "/api/v1/work-orders/{number}/assignment"): {400, 401, 403, 404, 409, 413, 422, 503},
    ("post", "/api/v1/work-orders/{number}/transitions"): {400, 401, 403, 404, 409, 413, 422, 503},
    ("get", "/api/v1/follow-ups"): {400, 401, 503},
    ("get", "/api/v1/follow-ups/{followup_id}"): {401, 404, 503},
    ("get", "/api/v1/support-requests"): {400, 401, 503},
    ("get", "/api/v1/support-requests/{request_id}"): {401, 404, 503},
    ("get", "/api/v1/support-requests/{request_id}/photo"): {401, 404, 503},
    ("post", "/api/v1/work-orders/{number}/support-requests"): {400, 401, 403, 404, 409, 413, 503},
}


def test_every_operation_declares_the_errors_it_can_answer_as_problem_json(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    components = spec["components"]["responses"]
    operations = {(method, path): operation for path, item in spec["paths"].items()
                  for method, operation in item.items() if method != "parameters"}
    assert set(operations) == set(DECLARED_ERRORS)
    for key, operation in operations.items():
        responses = operation["responses"]
        assert "default" not in responses, key  # a catch-all would make any status "documented"
        errors = {int(status) for status in responses if int(status) >= 400}
        assert errors == DECLARED_ERRORS[key], key
        for status in errors:
            response = components[responses[str(status)]["$ref"].rsplit("/", 1)[1]]
            assert response["content"] == {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}, key
    assert components["UNAUTHORIZED"]["headers"]["WWW-Authenticate"]["required"] is True
    assert components["SERVICE_UNAVAILABLE"]["headers"]["Retry-After"]["required"] is True
    problem_schema = spec["components"]["schemas"]["Problem"]
    assert set(problem_schema["required"]) == {"type", "title", "status"}
    assert problem_schema["additionalProperties"] is False


def test_the_document_states_the_accepted_years(client: FlaskClient) -> None:
    # ACCEPTED_YEARS says in a pattern what db.FIRST_DAY and db.LAST_DAY say in dates.
    from fieldsvc.api.schemas import ACCEPTED_YEARS
    from fieldsvc.db import FIRST_DAY, LAST_DAY

    years = [year for year in range(1000, 10000) if re.match(ACCEPTED_YEARS, f"{year}-01-01")]
    assert (years[0], years[-1], len(years)) == (FIRST_DAY.year, LAST_DAY.year, LAST_DAY.year - FIRST_DAY.year + 1)
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["NewCertification"]["properties"]["issued_on"]["pattern"] == ACCEPTED_YEARS
    assert schemas["NewWorkOrder"]["properties"]["appointment_start"]["pattern"] == ACCEPTED_YEARS
    updated_since = next(p for p in spec["paths"]["/api/v1/work-orders"]["get"]["parameters"] if p["name"] == "updated_since")
    assert updated_since["schema"]["pattern"] == ACCEPTED_YEARS


def test_healthz(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_a_browser_session_plays_no_part_in_the_api(app: Flask, client: FlaskClient, world: dict) -> None:
    """The API answers by token only: a signed-in browser's cookie is neither needed nor read
    (the same statements with and without it), and it is no substitute for a token."""
    from sqlalchemy import event

    from tests.conftest import sign_in

    with app.app_context():
        engine = db.engine
    statements: list[str] = []
    assert client.get("/api/v1/installers", headers=bearer(world["admin"])).status_code == 200  # touches the token
    event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert client.get("/api/v1/installers", headers=bearer(world["admin"])).status_code == 200
    without_cookie = list(statements)
    sign_in(client, "w10001")
    assert client.get("/api/v1/installers").status_code == 401
    statements.clear()
    assert client.get("/api/v1/installers", headers=bearer(world["admin"])).status_code == 200
    assert statements == without_cookie
