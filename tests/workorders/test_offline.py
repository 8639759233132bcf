"""The server's side of the installer's phone offline (README "Offline on the phone"): the pages
it may keep, the outbox's replays answered in JSON with the version each step produced (so that a
queue of steps on one order chains without spurious conflicts while anyone else's change is still
refused), a step re-sent after its answer was lost is not applied twice, a fresh CSRF token for a
replay hours later, and signing out clearing the device."""
from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlalchemy import select

from fieldsvc.db import zone
from fieldsvc.extensions import db
from fieldsvc.workorders import lifecycle
from fieldsvc.workorders.models import OrderStatus, WorkOrder, WorkOrderEvent
from tests import factories as f
from tests.conftest import sign_in
from tests.workorders.test_pages import Ref, form_fields, order, user  # noqa: F401

OUTBOX = {"X-Fieldsvc-Outbox": "1"}
STATIC = Path(__file__).resolve().parents[2] / "static"


def token(client: FlaskClient) -> str:
    answer = client.get("/session/token")
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    return answer.get_json()["csrf_token"]


def replay(client: FlaskClient, number: str, action: str, version: int, key: str | None = None,
           csrf: str | None = None, **data: str):
    """What the phone's outbox sends: the form's fields, a fresh token, the version it chains from."""
    fields = {"action": action, f"{action}-version": str(version), f"{action}-idempotency_key": key or uuid.uuid4().hex,
              f"{action}-csrf_token": csrf or token(client), **{f"{action}-{k}": v for k, v in data.items()}}
    return client.post(f"/orders/{number}/act", data=fields, headers=OUTBOX, content_type="multipart/form-data")


def trail(app: Flask, order_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(WorkOrderEvent.action).where(WorkOrderEvent.work_order_id == order_id)
                                       .order_by(WorkOrderEvent.id)))


def cancel_as_supervisor(app: Flask, order_id: int) -> None:
    with app.app_context():
        stored = db.session.get(WorkOrder, order_id)
        lifecycle.transition(stored, user("s1"), "cancel", stored.version, tz=zone(), reason="客户撤单")
        db.session.commit()


def version_of(app: Flask, order_id: int) -> int:
    with app.app_context():
        return db.session.get(WorkOrder, order_id).version


def test_twenty_queued_steps_chain_on_the_versions_they_produce(client: FlaskClient, order: Ref, app: Flask) -> None:  # noqa: F811
    """Each replay answers the version its step produced; the next step of the queue goes with it:
    twenty steps in a row, none refused, each recorded once in order."""
    sign_in(client, "w1")
    day = (f.today() + timedelta(days=1)).isoformat()
    steps = [("accept", {})]
    for _visit in range(4):
        steps += [("book", {"day": day, "slot": "14-16"}), ("depart", {}), ("arrive", {}),
                  ("leave_unresolved", {"reason": "customer_absent"})]
    steps += [("book", {"day": day, "slot": "14-16"}), ("depart", {}), ("arrive", {})]
    assert len(steps) == 20
    version = version_of(app, order.id)
    for action, data in steps:
        answer = replay(client, order.number, action, version, **data)
        assert answer.status_code == 200, (action, answer.get_data(as_text=True))
        said = answer.get_json()
        assert said["ok"] is True and said["replayed"] is False and said["version"] > version
        version = said["version"]
    assert version == version_of(app, order.id)
    assert trail(app, order.id) == [action for action, _data in steps]


def test_a_change_by_someone_else_between_queued_steps_is_refused_with_its_reason(client: FlaskClient, order: Ref,  # noqa: F811
                                                                                   app: Flask) -> None:
    sign_in(client, "w1")
    accepted = replay(client, order.number, "accept", version_of(app, order.id)).get_json()
    cancel_as_supervisor(app, order.id)
    answer = replay(client, order.number, "depart", accepted["version"])
    assert answer.status_code == 409
    said = answer.get_json()
    assert said["ok"] is False and "has changed since you opened it" in said["message"]
    assert "Cancel the order" in said["message"] and "cancelled" in said["message"]
    assert trail(app, order.id) == ["accept", "cancel"]


def test_a_step_that_reached_the_server_before_the_connection_dropped_is_not_applied_twice(
        client: FlaskClient, order: Ref, app: Flask) -> None:  # noqa: F811
    """Re-sent with its key, the step is answered as the first time, with the version it produced
    then: a supervisor's change after it still makes the next queued step a conflict."""
    sign_in(client, "w1")
    key = uuid.uuid4().hex
    start = version_of(app, order.id)
    first = replay(client, order.number, "accept", start, key=key).get_json()
    cancel_as_supervisor(app, order.id)
    again = replay(client, order.number, "accept", start, key=key)
    assert again.status_code == 200
    said = again.get_json()
    assert said["replayed"] is True and said["version"] == first["version"] < version_of(app, order.id)
    assert trail(app, order.id) == ["accept", "cancel"]
    assert replay(client, order.number, "depart", said["version"]).status_code == 409


def test_refusals_come_with_their_reasons(client: FlaskClient, order: Ref, app: Flask) -> None:  # noqa: F811
    """An illegal step, a form error and missing evidence: each its status, message and details."""
    sign_in(client, "w1")
    version = version_of(app, order.id)
    illegal = replay(client, order.number, "depart", version)
    assert illegal.status_code == 409 and "Cannot do this to an order that is assigned" in illegal.get_json()["message"]
    bad = replay(client, order.number, "book", version, day="", slot="14-16")
    assert bad.status_code == 400 and any("Choose the day." in d for d in bad.get_json()["details"])
    with app.app_context():
        stored = db.session.get(WorkOrder, order.id)
        stored.status = OrderStatus.ON_SITE
        from fieldsvc.workorders.models import Visit

        db.session.add(Visit(work_order=stored, seq=1, installer=user("w1"), arrived_at=stored.created_at))
        db.session.commit()
    missing = replay(client, order.number, "complete", version_of(app, order.id))
    said = missing.get_json()
    assert missing.status_code == 422 and said["message"].startswith("To complete this job, add:")
    assert any("ONU serial number" in d for d in said["details"])
    assert trail(app, order.id) == []


def test_a_queued_tick_is_answered_in_json(client: FlaskClient, app: Flask, web_crew: None) -> None:
    from fieldsvc.workforce.models import JobType
    from fieldsvc.workorders import standards

    with app.app_context():
        repair = db.session.scalar(select(JobType).where(JobType.code == "repair"))
        steps = [standards.StepInput("shoe_covers", "进门穿戴鞋套", "Put on shoe covers", standards.Phase.ON_SITE)]
        version = standards.put_version(repair, steps, user("admin"), seen=0)
        made = f.make_work_order(OrderStatus.ACCEPTED, assignee=user("w1"), job_type="repair")
        db.session.add(standards.OrderStandard(work_order_id=made.id, version_id=version.id))
        db.session.commit()
        number, before = made.number, made.version
    sign_in(client, "w1")
    answer = client.post(f"/orders/{number}/steps/shoe_covers", data={"csrf_token": token(client), "done": "1"},
                         headers=OUTBOX)
    assert answer.status_code == 200 and answer.get_json() == {"ok": True, "version": before}
    cancel_as_supervisor(app, db_id(app, number))
    refused = client.post(f"/orders/{number}/steps/shoe_covers", data={"csrf_token": token(client), "done": "0"},
                          headers=OUTBOX)
    assert refused.status_code == 409 and "cannot change" in refused.get_json()["message"]


def db_id(app: Flask, number: str) -> int:
    with app.app_context():
        return db.session.scalar(select(WorkOrder.id).where(WorkOrder.number == number))


def test_a_replay_in_a_new_session_goes_with_the_fresh_token(client: FlaskClient, order: Ref, app: Flask) -> None:  # noqa: F811
    """Hours later the session the saved page's token belonged to has ended: that token is refused,
    the one the outbox fetches for the new session works, for the same user."""
    sign_in(client, "w1")
    page = client.get(f"/orders/{order.number}").get_data(as_text=True)
    old = form_fields(page, "accept")["accept-csrf_token"]
    client.delete_cookie("session")  # the session expired; signing in again starts a new one
    sign_in(client, "w1")
    answer = client.get("/session/token").get_json()
    assert answer["user"] == "w1" and answer["csrf_token"] != old
    stale = replay(client, order.number, "accept", version_of(app, order.id), csrf=old)
    assert stale.status_code == 400 and trail(app, order.id) == []
    fresh = replay(client, order.number, "accept", version_of(app, order.id), csrf=answer["csrf_token"])
    assert fresh.status_code == 200 and trail(app, order.id) == ["accept"]


def test_the_token_needs_a_signed_in_user(client: FlaskClient) -> None:
    answer = client.get("/session/token")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_the_installers_pages_may_be_kept_offline_and_nothing_else(client: FlaskClient, order: Ref,  # noqa: F811
                                                                  app: Flask) -> None:
    sign_in(client, "w1")
    assert client.get("/today").headers["X-Fieldsvc-Offline"] == "home"
    assert client.get("/upcoming").headers["X-Fieldsvc-Offline"] == "1"
    job = client.get(f"/orders/{order.number}")
    # (kept by the browser to be revalidated, never shown from its cache without asking: test_conditional_get.py)
    assert job.headers["X-Fieldsvc-Offline"] == "1" and job.headers["Cache-Control"] == "private, no-cache"
    for path in ("/", "/done", "/me/certifications", "/notifications", "/session/token"):
        assert "X-Fieldsvc-Offline" not in client.get(path).headers, path
    assert "X-Fieldsvc-Offline" not in client.get("/orders/WO-NOSUCH").headers
    other = app.test_client()
    sign_in(other, "s1")
    assert "X-Fieldsvc-Offline" not in other.get(f"/orders/{order.number}").headers


def test_the_job_page_keeps_the_installers_later_steps_in_templates(client: FlaskClient, order: Ref,  # noqa: F811
                                                                    app: Flask) -> None:
    """Assigned: "accept" and "book" shown; depart, arrive, complete and leave in <template>s, for
    the outbox to show once the queued steps lead there; the steps' statuses for the script."""
    sign_in(client, "w1")
    page = client.get(f"/orders/{order.number}").get_data(as_text=True)
    shown = re.sub(r"<template data-later>.*?</template>", "", page, flags=re.S)
    kept = "".join(re.findall(r"<template data-later>(.*?)</template>", page, flags=re.S))
    for action in ("accept", "book"):
        assert f'name="action" value="{action}"' in shown and f'value="{action}"' not in kept
    for action in ("depart", "arrive", "complete", "leave_unresolved"):
        assert f'name="action" value="{action}"' in kept and f'name="action" value="{action}"' not in shown
    data = json.loads(re.search(r'<script type="application/json" id="job-data">(.*?)</script>', page).group(1))
    assert data["number"] == order.number and data["status"] == "assigned"
    assert data["steps"]["depart"] == {"from": ["accepted"], "to": "en_route"}
    assert data["steps"]["book"]["to"] is None and "cancel" not in data["steps"]
    assert data["labels"]["en_route"] == "en route"
    supervisor = app.test_client()
    sign_in(supervisor, "s1")
    theirs = supervisor.get(f"/orders/{order.number}").get_data(as_text=True)
    assert "<template data-later>" not in theirs and 'id="job-data"' not in theirs and 'id="offline-data"' not in theirs


def test_signing_out_clears_the_device(client: FlaskClient, web_crew: None) -> None:
    sign_in(client, "w1")
    answer = client.post("/logout", data={"csrf_token": token(client)})
    assert answer.status_code == 302 and answer.headers["Clear-Site-Data"] == '"cache", "storage"'


def test_the_service_worker_and_the_manifest(client: FlaskClient) -> None:
    worker = client.get("/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Cache-Control"] == "no-cache" and b"X-Fieldsvc-Offline" in worker.data
    manifest = client.get("/manifest.webmanifest")
    assert manifest.mimetype == "application/manifest+json"
    said = manifest.get_json()
    assert said["start_url"] == "/" and said["display"] == "standalone" and said["name"]
    for icon in said["icons"]:
        assert icon["src"].startswith("/static/")
        served = client.get(icon["src"])
        assert served.status_code == 200
        with Image.open(STATIC / icon["src"].removeprefix("/static/").partition("?")[0]) as image:  # (?v=: its fingerprint)
            assert f"{image.width}x{image.height}" == icon["sizes"]
    assert {i["sizes"] for i in said["icons"]} >= {"192x192", "512x512"}


@pytest.mark.parametrize("path", ["/manifest.webmanifest", "/sw.js"])
@pytest.mark.parametrize("encoding", ["identity", "br"])
def test_the_manifest_and_the_worker_revalidate_to_304(client: FlaskClient, path: str, encoding: str) -> None:
    """The phone asks for both again with every page: what it holds is answered with a 304."""
    headers = {"Accept-Encoding": encoding}
    first = client.get(path, headers=headers)
    assert first.status_code == 200 and first.headers["ETag"] and first.headers["Cache-Control"] == "no-cache"
    again = client.get(path, headers={**headers, "If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    assert client.get(path, headers={**headers, "If-None-Match": '"something-else"'}).status_code == 200
    if path == "/manifest.webmanifest":  # its words are the reader's language: another language, another copy
        chinese = client.get(path, headers={**headers, "Accept-Language": "zh-CN",
                                            "If-None-Match": first.headers["ETag"]})
        assert chinese.status_code == 200 and chinese.get_json()["name"] != first.get_json()["name"]


@pytest.mark.parametrize("path", ["/static/js/outbox.js", "/static/js/offline.js", "/sw.js"])
def test_the_scripts_stay_small(client: FlaskClient, path: str) -> None:
    assert len(client.get(path).data) < 16_000


def _offline_data(page: str) -> dict:
    found = re.search(r'<script type="application/json" id="offline-data">(.*?)</script>', page, re.S)
    assert found, "no outbox data on the page"
    return json.loads(found[1])


def test_the_kept_outbox_names_the_installer_whose_page_it_is(app: Flask, web_crew: None) -> None:
    """The outbox is rendered once per language and kept (`outbox_block`): each installer's page
    still carries their own name (which outbox entries are theirs) and their language's words."""
    seen = []
    for username, language in (("w1", "en"), ("w2", "en"), ("w1", "zh-CN"), ("w3", "zh-CN")):
        browser = app.test_client()
        browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        sign_in(browser, username)
        page = browser.get("/today").get_data(as_text=True)
        data = _offline_data(page)
        assert data["user"] == username
        seen.append(data["strings"]["discard"])
        assert 'id="outbox"' in page and page.count('id="offline-data"') == 1
    assert seen[0] == seen[1] == "Discard"
    assert seen[2] == seen[3] != "Discard"
