"""The certification endpoints of PRODUCT.md §5: who may read an installer's certificates, the
status of each on the operator's today, and recording one (admin)."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fieldsvc.auth.models import Role
from fieldsvc.auth.services import create_token
from fieldsvc.certifications.models import Certification
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from tests import factories as f

PROBLEM = "application/problem+json"
TODAY = date(2026, 11, 28)
PATH = "/api/v1/installers/{}/certifications"


@pytest.fixture(autouse=True)
def fixed_today(monkeypatch: pytest.MonkeyPatch) -> None:
    """The operator's today is 2026-11-28 for every status in these tests."""
    monkeypatch.setattr("fieldsvc.api.certifications.local_today", lambda _tz: TODAY)


@pytest.fixture
def tokens(app: Flask) -> dict[str, str]:
    """Installer w1 (team HS01, supervised by s1) and w2 (team JA01, supervised by s2), an admin."""
    with app.app_context():
        hs = f.make_team("HS01", districts=("hongshan",))
        ja = f.make_team("JA01", districts=("jiangan",))
        w1 = f.make_user(Role.INSTALLER, username="w1", team=hs)
        w2 = f.make_user(Role.INSTALLER, username="w2", team=ja)
        s1 = f.make_user(Role.SUPERVISOR, username="s1", team=hs)
        s2 = f.make_user(Role.SUPERVISOR, username="s2", team=ja)
        admin = f.make_user(Role.ADMIN, username="admin")
        f.make_certification(w1, "ftth", issued_on=date(2025, 1, 10), number="FT-1")
        f.make_certification(w2, "ftth", issued_on=date(2025, 1, 10))
        result = {user.username: create_token(user) for user in (w1, w2, s1, s2, admin)}
        db.session.commit()
    return result


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def certification_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Certification))


@pytest.mark.parametrize(("reader", "username", "status"), [
    ("w1", "w1", 200),       # the installer themself
    ("w1", "w2", 404),       # another installer: as if it did not exist
    ("s1", "w1", 200),       # the supervisor of the installer's team
    ("s1", "w2", 404),       # a supervisor of another team
    ("s2", "w2", 200),
    ("admin", "w1", 200),
    ("admin", "w2", 200),
    ("admin", "nobody", 404),
    ("admin", "s1", 404),    # not an installer
])
def test_who_may_read(client: FlaskClient, tokens: dict, reader: str, username: str, status: int) -> None:
    response = client.get(PATH.format(username), headers=auth(tokens[reader]))
    assert response.status_code == status
    if status == 404:
        assert response.mimetype == PROBLEM
        assert "ftth" not in response.get_data(as_text=True)


def test_hidden_and_missing_installers_answer_alike(client: FlaskClient, tokens: dict) -> None:
    hidden = client.get(PATH.format("w2"), headers=auth(tokens["w1"])).get_json()
    missing = client.get(PATH.format("w9"), headers=auth(tokens["w1"])).get_json()
    assert hidden["status"] == missing["status"] == 404
    assert hidden["title"] == missing["title"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_no_token_is_401(client: FlaskClient, tokens: dict, method: str) -> None:
    response = getattr(client, method)(PATH.format("w1"))
    assert response.status_code == 401
    assert response.mimetype == PROBLEM


def test_shape_and_status_derivation(app: Flask, client: FlaskClient, tokens: dict) -> None:
    with app.app_context():
        w1 = db.session.scalar(select(Certification).where(Certification.number == "FT-1")).user
        # service_star: a year, 60-day renewal window → expires 2027-01-09, 42 days away: expiring
        f.make_certification(w1, "service_star", issued_on=date(2026, 1, 10), level=4)
        # work at height: review every 3 years → review on 2026-06-01 has passed
        f.make_certification(w1, "work_at_height", issued_on=date(2023, 6, 1))
        # skill level: 3 years → expired 2026-10-31
        f.make_certification(w1, "skill_level", issued_on=date(2023, 11, 1), level=3)
        revoked = f.make_certification(w1, "low_voltage_electrician", issued_on=date(2024, 5, 1))
        revoked.revoked_at, revoked.revoked_reason = utcnow(), "forged certificate"
        db.session.commit()
    response = client.get(PATH.format("w1"), headers=auth(tokens["w1"]))
    assert response.status_code == 200
    items = response.get_json()
    # newest first
    assert [(i["type"], i["status"]) for i in items] == [
        ("service_star", "expiring"),
        ("ftth", "valid"),
        ("low_voltage_electrician", "revoked"),
        ("skill_level", "expired"),
        ("work_at_height", "review_due"),
    ]
    ftth = items[1]
    assert ftth == {
        "id": ftth["id"], "type": "ftth", "name_zh": "光纤到户(FTTH)安装调试专项能力",
        "name_en": "FTTH installation and commissioning", "level": None, "number": "FT-1",
        "issued_on": "2025-01-10", "expires_on": "2028-01-09", "next_review_on": None, "status": "valid",
        "revoked_reason": None, "training_record_id": None,
    }
    assert items[0]["level"] == 4
    assert items[2]["revoked_reason"] == "forged certificate"
    assert items[4]["next_review_on"] == "2026-06-01" and items[4]["expires_on"] == "2029-05-31"


@pytest.mark.parametrize(("expires_on", "status"), [
    (TODAY, "expiring"),                      # valid through its expiry date inclusive
    (TODAY - timedelta(days=1), "expired"),   # expired yesterday
    (TODAY + timedelta(days=89), "expiring"),  # inside the 90-day renewal window
    (TODAY + timedelta(days=90), "valid"),
])
def test_expiry_boundaries(app: Flask, client: FlaskClient, tokens: dict, expires_on: date, status: str) -> None:
    with app.app_context():
        db.session.execute(Certification.__table__.update().values(expires_on=expires_on))
        db.session.commit()
    items = client.get(PATH.format("w1"), headers=auth(tokens["admin"])).get_json()
    assert [i["status"] for i in items] == [status]


def test_admin_records_a_certificate_with_computed_dates(app: Flask, client: FlaskClient, tokens: dict) -> None:
    response = client.post(PATH.format("w1"), headers=auth(tokens["admin"]),
                           json={"type": "work_at_height", "issued_on": "2020-03-01", "number": " AQ-2020-0007 ",
                                 "evidence": "scan on file"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["type"] == "work_at_height" and body["name_en"] == "Special operations: work at height"
    assert body["issued_on"] == "2020-03-01"
    assert body["expires_on"] == "2026-02-28"  # 6 years, through the day before the anniversary
    assert body["next_review_on"] == "2023-03-01"
    assert body["number"] == "AQ-2020-0007" and body["level"] is None
    assert body["status"] == "expired"
    with app.app_context():
        stored = db.session.get(Certification, body["id"])
        assert stored.user.username == "w1" and stored.evidence == "scan on file"
    listed = client.get(PATH.format("w1"), headers=auth(tokens["w1"])).get_json()
    assert body["id"] in [i["id"] for i in listed]


def test_admin_records_a_level_and_today(client: FlaskClient, tokens: dict) -> None:
    response = client.post(PATH.format("w2"), headers=auth(tokens["admin"]),
                           json={"type": "service_star", "issued_on": TODAY.isoformat(), "level": 5})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["level"] == 5 and body["expires_on"] == "2027-11-27" and body["status"] == "valid"


@pytest.mark.parametrize(("body", "field"), [
    ({"type": "pilot_licence", "issued_on": "2025-01-01"}, "type"),
    ({"type": "service_star", "issued_on": "2025-01-01", "level": 6}, "level"),
    ({"type": "service_star", "issued_on": "2025-01-01"}, "level"),
    ({"type": "ftth", "issued_on": "2025-01-01", "level": 2}, "level"),
    ({"type": "ftth", "issued_on": (TODAY + timedelta(days=1)).isoformat()}, "issued_on"),
    ({"type": "ftth", "issued_on": "2025-13-01"}, None),
    ({"type": "ftth", "issued_on": "yesterday"}, None),
    ({"type": "ftth"}, None),
    ({"issued_on": "2025-01-01"}, None),
    ({"type": "service_star", "issued_on": "2025-01-01", "level": "3"}, None),
    ({"type": "ftth", "issued_on": "2025-01-01", "number": "x" * 65}, None),
    ({"type": "ftth", "issued_on": "2025-01-01", "expires_on": "2099-01-01"}, None),
    ({"type": "ftth", "issued_on": "0001-01-01"}, None),  # before the accepted days (db.FIRST_DAY)
])
def test_bad_input_is_400_and_records_nothing(app: Flask, client: FlaskClient, tokens: dict, body: dict,
                                              field: str | None) -> None:
    before = certification_count(app)
    response = client.post(PATH.format("w1"), headers=auth(tokens["admin"]), json=body)
    assert response.status_code == 400, response.get_json()
    assert response.mimetype == PROBLEM
    problem = response.get_json(force=True)
    assert problem["status"] == 400
    if field:
        assert field in problem["errors"]
    assert certification_count(app) == before


@pytest.mark.parametrize(("who", "username", "status"), [
    ("w1", "w1", 403), ("s1", "w1", 403), ("s2", "w1", 403), ("admin", "nobody", 404), ("admin", "s1", 404),
])
def test_only_admins_record_and_refusals_change_nothing(app: Flask, client: FlaskClient, tokens: dict, who: str,
                                                        username: str, status: int) -> None:
    before = certification_count(app)
    response = client.post(PATH.format(username), headers=auth(tokens[who]),
                           json={"type": "ftth", "issued_on": "2025-06-01"})
    assert response.status_code == status
    assert response.mimetype == PROBLEM
    assert certification_count(app) == before


def test_openapi_lists_both_operations(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    operations = spec["paths"]["/api/v1/installers/{username}/certifications"]
    assert {"get", "post"} <= set(operations)
    assert "201" in operations["post"]["responses"]
    assert "Certification" in spec["components"]["schemas"]
