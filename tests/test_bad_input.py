"""Input no handler should see: text with a NUL character (PostgreSQL cannot store it, SQLite would
keep it silently) is refused with 400 on every door, before anything is read or written; ids in
URLs beyond an Integer column are no page. Both were 500s (the issue's finding 6)."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fieldsvc.auth.models import Role
from fieldsvc.auth.services import create_token
from fieldsvc.extensions import db
from fieldsvc.workforce.models import Customer
from fieldsvc.workorders.models import WorkOrder, WorkOrderEvent
from tests import factories as f
from tests.conftest import csrf_token, sign_in

PROBLEM = "application/problem+json"


@pytest.fixture
def admin_token(app: Flask) -> str:
    """HS01 (hongshan) run by s1, an admin; the admin's API token."""
    with app.app_context():
        team = f.make_team("HS01", districts=("hongshan",))
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        token = create_token(f.make_user(Role.ADMIN, username="admin"))
        db.session.commit()
    return token


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def order_body(**overrides) -> dict:
    body = {"external_ref": "CRM-1", "job_type": "repair",
            "customer": {"account_no": "02788880001", "name": "王芳", "phone": "13900001111",
                         "address": "珞喻路1037号", "district": "hongshan"}}
    body.update(overrides)
    return body


def nothing_written(app: Flask) -> bool:
    with app.app_context():
        return not any(db.session.scalar(select(func.count()).select_from(model))
                       for model in (WorkOrder, WorkOrderEvent, Customer))


@pytest.mark.parametrize(("path", "where"), [
    ("/api/v1/work-orders?assignee=w1%00", {"query": {"assignee": ["Contains a NUL character (U+0000)."]}}),
    ("/api/v1/work-orders?district=hongshan%00", {"query": {"district": ["Contains a NUL character (U+0000)."]}}),
    ("/api/v1/work-orders?team=HS01%00", {"query": {"team": ["Contains a NUL character (U+0000)."]}}),
    ("/api/v1/installers?team=%00", {"query": {"team": ["Contains a NUL character (U+0000)."]}}),
    ("/api/v1/work-orders/WO%00", {"path": ["Contains a NUL character (U+0000)."]}),
    ("/api/v1/work-orders/WO%00/events", {"path": ["Contains a NUL character (U+0000)."]}),
])
def test_nul_in_api_path_or_query_is_400(client: FlaskClient, admin_token: str, path: str, where: dict) -> None:
    response = client.get(path, headers=bearer(admin_token))
    assert response.status_code == 400 and response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["title"] == "Bad input" and "NUL" in body["detail"] and body["errors"] == where


@pytest.mark.parametrize(("body", "where"), [
    (order_body(notes="二楼\u0000"), {"notes": ["Contains a NUL character (U+0000)."]}),
    (order_body(external_ref="CRM-\u00001"), {"external_ref": ["Contains a NUL character (U+0000)."]}),
    (order_body(customer={**order_body()["customer"], "name": "王\u0000芳"}),
     {"customer": {"name": ["Contains a NUL character (U+0000)."]}}),
    (order_body(**{"job\u0000type": "x"}), {"job\u0000type": ["Contains a NUL character (U+0000)."]}),
    ([{"a": ["ok", "b\u0000"]}], {"0": {"a": {"1": ["Contains a NUL character (U+0000)."]}}}),
])
def test_nul_in_a_json_body_is_400_and_writes_nothing(client: FlaskClient, app: Flask, admin_token: str,
                                                      body: object, where: dict) -> None:
    response = client.post("/api/v1/work-orders", json=body, headers=bearer(admin_token))
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert response.get_json(force=True)["errors"] == {"json": where}
    assert nothing_written(app)


def test_nul_in_a_header_is_400(client: FlaskClient, app: Flask, admin_token: str) -> None:
    response = client.post("/api/v1/work-orders", json=order_body(),
                           headers=bearer(admin_token, **{"Idempotency-Key": "k\x00"}))
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert response.get_json(force=True)["errors"] == {"headers": {"Idempotency-Key": ["Contains a NUL character (U+0000)."]}}
    assert nothing_written(app)


def test_a_json_body_nested_too_deeply_is_400(client: FlaskClient, admin_token: str) -> None:
    response = client.post("/api/v1/work-orders", data="[" * 100_000 + "]" * 100_000,
                           content_type="application/json", headers=bearer(admin_token))
    assert response.status_code == 400 and response.mimetype == PROBLEM
    assert response.get_json(force=True)["detail"] == "The JSON body is nested too deeply."


@pytest.mark.parametrize("path", ["/board?q=%00", "/board?q=WO1%00&queue=open", "/orders/new?find=139%00",
                                  "/orders/WO%00", "/board?%00=1"])
def test_nul_in_a_page_address_is_the_400_page(client: FlaskClient, admin_token: str, path: str) -> None:
    sign_in(client, "s1")
    response = client.get(path)
    assert response.status_code == 400 and response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "Bad request" in page and "contains a NUL character (U+0000)" in page


def test_nul_in_a_posted_form_is_the_400_page_and_writes_nothing(client: FlaskClient, app: Flask,
                                                                 admin_token: str) -> None:
    sign_in(client, "s1")
    response = client.post("/orders/new", data={
        "csrf_token": csrf_token(client, "/orders/new"), "job_type": "repair", "priority": "normal",
        "account_no": "02788880001", "customer_name": "王芳", "phone": "13900001111", "address": "珞喻路1号",
        "district": "hongshan", "notes": "先电话\x00联系"})
    assert response.status_code == 400 and "contains a NUL character" in response.get_data(as_text=True)
    assert nothing_written(app)


def test_nul_is_refused_in_chinese_too(client: FlaskClient, admin_token: str) -> None:
    response = client.get("/api/v1/work-orders?team=%00", headers=bearer(admin_token, **{"Accept-Language": "zh-CN"}))
    body = response.get_json(force=True)
    assert response.status_code == 400 and "U+0000" in body["detail"]
    assert "request contains" not in body["detail"] and "Contains" not in body["errors"]["query"]["team"][0]


@pytest.mark.parametrize("path", ["/photos/99999999999999999999", "/photos/2147483648", "/training/sessions/9223372036854775808"])
def test_ids_beyond_an_integer_column_are_no_page(client: FlaskClient, admin_token: str, path: str) -> None:
    sign_in(client, "admin")
    assert client.get(path).status_code == 404
