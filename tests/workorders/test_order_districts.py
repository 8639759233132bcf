"""A supervisor takes orders only in the districts their teams serve (the issue's finding 8): the
order was written and then answered 404 to its own author, and a retry without external_ref made
a second one. The service refuses, the API says 422 and the page puts it on the district field,
nothing is written; the page offers only those districts. Admins take orders anywhere."""
from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fieldsvc.auth.services import create_token
from fieldsvc.errors import RuleViolation
from fieldsvc.extensions import db
from fieldsvc.workforce.models import Customer, District
from fieldsvc.workorders.models import WorkOrder, WorkOrderEvent
from fieldsvc.workorders.services import NewOrder, create_work_order
from tests.conftest import csrf_token, sign_in
from tests.workorders.conftest import Crew

TZ = ZoneInfo("Asia/Shanghai")
PROBLEM = "application/problem+json"


def written() -> tuple[int, int, int]:
    return tuple(db.session.scalar(select(func.count()).select_from(model))  # type: ignore[return-value]
                 for model in (WorkOrder, WorkOrderEvent, Customer))


def new_order(district: str, **overrides) -> NewOrder:
    return NewOrder(**{"job_type": "repair", "account_no": "02788880001", "customer_name": "王芳",
                       "phone": "13900001111", "address": "江岸区胜利街1号", "district": district, **overrides})


def test_the_service_refuses_a_district_the_supervisors_teams_do_not_serve(crew: Crew) -> None:
    # s1 runs HS01 (hongshan, wuchang); jiangan is JA01's, hannan nobody's.
    for district in ("jiangan", "hannan"):
        with pytest.raises(RuleViolation) as refused:
            create_work_order(crew.supervisor, new_order(district, external_ref=f"CRM-{district}"), TZ)
        assert refused.value.details["errors"] == {"district": ["Not a district your teams serve."]}
        assert refused.value.details["district"] == district
    db.session.rollback()
    assert written() == (0, 0, 0)
    order, created = create_work_order(crew.supervisor, new_order("wuchang"), TZ)
    assert created and order.district.code == "wuchang"
    for district in ("jiangan", "hannan"):  # an admin takes orders anywhere
        assert create_work_order(crew.admin, new_order(district, account_no=f"027{district}"), TZ)[1]


@pytest.fixture
def tokens(app: Flask, web_crew: None) -> dict[str, str]:
    from fieldsvc.auth.models import User

    with app.app_context():
        result = {name: create_token(db.session.scalar(select(User).where(User.username == name)))
                  for name in ("s1", "admin")}
        db.session.commit()
    return result


def body(district: str, **overrides) -> dict:
    return {"job_type": "repair", "customer": {"account_no": "02788880001", "name": "王芳", "phone": "13900001111",
                                               "address": "江岸区胜利街1号", "district": district}, **overrides}


@pytest.mark.parametrize("extra", [{}, {"external_ref": "CRM-77"}])
def test_the_api_answers_422_and_writes_nothing_however_often_retried(client: FlaskClient, app: Flask,
                                                                      tokens: dict, extra: dict) -> None:
    headers = {"Authorization": f"Bearer {tokens['s1']}"}
    for _attempt in range(2):
        response = client.post("/api/v1/work-orders", json=body("jiangan", **extra), headers=headers)
        assert response.status_code == 422 and response.mimetype == PROBLEM
        problem = response.get_json(force=True)
        assert problem["errors"] == {"district": ["Not a district your teams serve."]}
        assert problem["district"] == "jiangan" and "do not serve this district" in problem["detail"]
    with app.app_context():
        assert written() == (0, 0, 0)
    made = client.post("/api/v1/work-orders", json=body("hongshan", **extra), headers=headers)
    assert made.status_code == 201
    assert client.get(made.headers["Location"], headers=headers).status_code == 200  # and it is theirs to see
    anywhere = client.post("/api/v1/work-orders", json=body("hannan", external_ref="CRM-ADMIN"),
                           headers={"Authorization": f"Bearer {tokens['admin']}"})
    assert anywhere.status_code == 201


def _offered(page: str) -> list[str]:
    select_html = re.search(r'<select[^>]*name="district"[^>]*>(.*?)</select>', page, re.S).group(1)
    return [value for value in re.findall(r'<option[^>]*value="([^"]*)"', select_html) if value]


def test_the_order_form_offers_only_served_districts_and_refuses_others(client: FlaskClient, app: Flask,
                                                                        web_crew: None) -> None:
    sign_in(client, "s1")
    page = client.get("/orders/new").get_data(as_text=True)
    assert sorted(_offered(page)) == ["hongshan", "wuchang"]
    response = client.post("/orders/new", data={
        "csrf_token": csrf_token(client, "/orders/new"), "job_type": "repair", "priority": "normal",
        "account_no": "02788880001", "customer_name": "王芳", "phone": "13900001111", "address": "江岸区胜利街1号",
        "district": "jiangan"})  # a forged choice: the form never offered it
    assert response.status_code == 400
    assert 'id="district-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert written() == (0, 0, 0)


def test_the_admins_order_form_offers_every_district(client: FlaskClient, app: Flask, web_crew: None) -> None:
    sign_in(client, "admin")
    offered = _offered(client.get("/orders/new").get_data(as_text=True))
    with app.app_context():
        assert sorted(offered) == sorted(db.session.scalars(select(District.code)))
        assert len(offered) == 13


def test_the_form_shows_the_services_refusal_on_the_district_field(client: FlaskClient, app: Flask, web_crew: None,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Should the choices and the rule ever disagree (a team stops serving a district while the form
    is open), the service's refusal lands on the district field and nothing is written."""
    sign_in(client, "s1")
    token = csrf_token(client, "/orders/new")
    with app.app_context():
        from fieldsvc.workforce.models import Team

        team = db.session.scalar(select(Team).where(Team.code == "HS01"))
        team.districts = [d for d in team.districts if d.code != "wuchang"]
        db.session.commit()
    monkeypatch.setattr("fieldsvc.workorders.board_views.order_districts",
                        lambda _user: select(District).order_by(District.id))  # the page as it was shown
    response = client.post("/orders/new", data={
        "csrf_token": token, "job_type": "repair", "priority": "normal", "account_no": "02788880001",
        "customer_name": "王芳", "phone": "13900001111", "address": "武昌区中南路1号", "district": "wuchang"})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "Not a district your teams serve." in page
    with app.app_context():
        assert written() == (0, 0, 0)
