"""Support requests in /api/v1: an installer's token raises one on its job; a CRM or network
operations (a supervisor's or admin's token) follows them; all of it in the OpenAPI document."""
from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.auth.models import User
from fieldsvc.auth.services import create_token
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.support import services
from fieldsvc.support.models import SupportRequest

from .conftest import World

PROBLEM = "application/problem+json"


def _tokens(app: Flask) -> dict[str, dict[str, str]]:
    with app.app_context():
        users = db.session.scalars(select(User)).all()
        tokens = {u.username: {"Authorization": f"Bearer {create_token(u)}"} for u in users}
        db.session.commit()
    return tokens


def test_raise_and_follow_a_request_through_the_api(app: Flask, client: FlaskClient, world: World) -> None:
    auth = _tokens(app)
    body = {"category": "provisioning", "note": "开通失败，LOID 不认", "reading_dbm": -21.5}
    created = client.post(f"/api/v1/work-orders/{world.en_route}/support-requests", json=body, headers=auth["w1"])
    assert created.status_code == 201, created.get_data(as_text=True)
    item = created.get_json()
    assert (item["order"], item["status"], item["category"], item["installer"], item["overdue"]) == (
        world.en_route, "open", "provisioning", "w1", False)
    assert item["team"] == "SA01" and item["replies"] == [] and item["reading_dbm"] == -21.5

    again = client.post(f"/api/v1/work-orders/{world.en_route}/support-requests", json=body, headers=auth["w1"])
    assert again.status_code == 409 and again.content_type == PROBLEM
    wrong_state = client.post(f"/api/v1/work-orders/{world.assigned}/support-requests", json=body, headers=auth["w1"])
    assert wrong_state.status_code == 409
    assert client.post(f"/api/v1/work-orders/{world.other}/support-requests", json=body,
                       headers=auth["w1"]).status_code == 404
    assert client.post(f"/api/v1/work-orders/{world.en_route}/support-requests", json=body,
                       headers=auth["s1"]).status_code == 403
    bad = client.post(f"/api/v1/work-orders/{world.en_route}/support-requests", json={"category": "x", "note": ""},
                      headers=auth["w1"])
    assert bad.status_code == 400 and bad.content_type == PROBLEM

    with app.app_context():
        row = db.session.get(SupportRequest, item["id"])
        services.reply(row, db.session.scalar(select(User).where(User.username == "s1")), "重新下发配置", row.version,
                       utcnow())
        db.session.commit()
    one = client.get(f"/api/v1/support-requests/{item['id']}", headers=auth["a1"]).get_json()
    assert one["status"] == "answered" and one["taken_by"] == "s1"
    assert one["replies"][0]["body"] == "重新下发配置" and one["first_reply_at"]
    assert client.get(f"/api/v1/support-requests/{item['id']}", headers=auth["s2"]).status_code == 404
    listed = client.get("/api/v1/support-requests?status=pending", headers=auth["s1"]).get_json()
    assert [i["id"] for i in listed["items"]] == [item["id"]] and listed["next_cursor"] is None
    assert client.get("/api/v1/support-requests", headers=auth["s2"]).get_json()["items"] == []
    assert client.get(f"/api/v1/support-requests?order={world.en_route}&status=resolved",
                      headers=auth["w1"]).get_json()["items"] == []
    assert client.get("/api/v1/support-requests?status=nonsense", headers=auth["w1"]).status_code == 400


def test_the_openapi_document_describes_support(client: FlaskClient) -> None:
    doc = client.get("/api/v1/openapi.json").get_json()
    assert {"/api/v1/support-requests", "/api/v1/support-requests/{request_id}",
            "/api/v1/work-orders/{number}/support-requests"} <= set(doc["paths"])
    post = doc["paths"]["/api/v1/work-orders/{number}/support-requests"]["post"]
    assert {"201", "403", "404", "409", "400", "401"} <= set(post["responses"])
    assert "SupportRequest" in doc["components"]["schemas"]
