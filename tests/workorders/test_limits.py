"""Each limit has one definition: the lifecycle, the job page's form, the API's schema and the
rendered page refuse exactly at the same boundary, because they all read it from the domain."""
from __future__ import annotations

import math
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.datastructures import MultiDict
from wtforms.validators import Length

from fieldsvc.api.schemas import NewWorkOrderSchema, TransitionSchema
from fieldsvc.auth.models import User
from fieldsvc.auth.services import create_token
from fieldsvc.db import column_length
from fieldsvc.errors import InvalidInput
from fieldsvc.extensions import db
from fieldsvc.workforce.models import Customer
from fieldsvc.workorders import lifecycle
from fieldsvc.workorders.evidence import (
    FAULT_CAUSES,
    MATERIAL_ITEM_LENGTH,
    ONU_SERIAL_LENGTH,
    RX_POWER_PLAUSIBLE_DBM,
    SPEED_MBPS,
    clean_evidence,
)
from fieldsvc.workorders.forms import ActionForm, CancelForm, CompleteForm, OrderForm
from fieldsvc.workorders.lifecycle import ACTIONS, MAX_CANCEL_REASON, MAX_NOTE
from fieldsvc.workorders.models import OrderStatus, Priority, WorkOrder, WorkOrderEvent
from fieldsvc.workorders.services import NewOrder, create_work_order
from tests import factories as f
from tests.conftest import sign_in
from tests.workorders.test_pages import do

TZ = ZoneInfo("Asia/Shanghai")
BAND = (-27.0, -8.0)


def below(bound: float) -> float:
    return math.nextafter(bound, -math.inf)


def above(bound: float) -> float:
    return math.nextafter(bound, math.inf)


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


class Doors:
    """One order at a time, acted on through the service, the API or the job page."""

    def __init__(self, app: Flask, client: FlaskClient) -> None:
        self.app, self.client = app, client
        with app.app_context():
            self.tokens = {name: create_token(_user(name)) for name in ("w1", "s1")}
            db.session.commit()

    def order(self, status: OrderStatus = OrderStatus.ASSIGNED, job_type: str = "smart_home") -> str:
        """A new order of w1's, moved on to `status` (on_site: its visit is open)."""
        with self.app.app_context():
            installer = _user("w1")
            order = f.make_work_order(OrderStatus.ASSIGNED, assignee=installer, job_type=job_type)
            db.session.commit()
            path = {OrderStatus.ASSIGNED: (), OrderStatus.ACCEPTED: ("accept",), OrderStatus.ON_SITE: ("accept", "arrive")}
            for action in path[status]:
                lifecycle.transition(order, installer, action, order.version, tz=TZ)
                db.session.commit()
            return order.number

    def state(self, number: str) -> tuple[OrderStatus, int, int]:
        """The order's status, version and number of events (to see that a refusal changed nothing)."""
        with self.app.app_context():
            order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
            events = len(db.session.scalars(select(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id)).all())
            return order.status, order.version, events

    def service(self, number: str, username: str, action: str, **kwargs) -> int:
        """200 when the lifecycle accepts, else the refusal's status."""
        with self.app.app_context():
            order = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
            try:
                lifecycle.transition(order, _user(username), action, order.version, tz=TZ, **kwargs)
            except InvalidInput as error:
                db.session.rollback()
                return error.status
            db.session.commit()
            return 200

    def api(self, number: str, username: str, action: str, **body) -> int:
        version = self.state(number)[1]
        response = self.client.post(f"/api/v1/work-orders/{number}/transitions", json={
            "action": action, "version": version, **body}, headers={"Authorization": f"Bearer {self.tokens[username]}"})
        return response.status_code

    def browser(self, username: str) -> FlaskClient:
        """A browser of its own, signed in as `username`."""
        browser = self.app.test_client()
        browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
        sign_in(browser, username)
        return browser

    def page(self, number: str, username: str, action: str, **fields) -> int:
        return do(self.browser(username), number, action, **fields).status_code


@pytest.fixture
def doors(app: Flask, client: FlaskClient, web_crew: None) -> Doors:
    return Doors(app, client)


DOORS = ("service", "api", "page")
ACCEPTED = {"service": 200, "api": 200, "page": 302}


def _through(doors: Doors, door: str, number: str, username: str, action: str, service: dict, wire: dict) -> int:
    if door == "service":
        return doors.service(number, username, action, **service)
    if door == "api":
        return doors.api(number, username, action, **wire)
    return doors.page(number, username, action, **{k: str(v) for k, v in wire.items()})


# --- the note and the cancel reason -----------------------------------------------------------

TEXTS = [  # who, doing what, writes which text, up to which length; the status it then leads to
    ("w1", "accept", "note", MAX_NOTE, OrderStatus.ACCEPTED),
    ("s1", "cancel", "reason", MAX_CANCEL_REASON, OrderStatus.CANCELLED),
]


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize("over", [0, 1])
@pytest.mark.parametrize(("username", "action", "name", "limit", "after"), TEXTS)
def test_a_text_is_refused_past_its_length_by_every_door(doors: Doors, door: str, over: int, username: str, action: str,
                                                         name: str, limit: int, after: OrderStatus) -> None:
    number = doors.order()
    before = doors.state(number)
    text = {name: "记" * (limit + over)}
    status = _through(doors, door, number, username, action, text, text)
    if not over:
        assert status == ACCEPTED[door] and doors.state(number)[0] is after
    else:
        assert status == 400 and doors.state(number) == before


# --- completion evidence: speed and optical power ---------------------------------------------

SPEED_CASES = [(SPEED_MBPS[0], True), (SPEED_MBPS[1], True), (below(SPEED_MBPS[0]), False), (above(SPEED_MBPS[1]), False),
               (0.05, False)]  # 0.05 once passed the service ("above 0") and was stored rounded to 0.1
RX_CASES = [(RX_POWER_PLAUSIBLE_DBM[0], True), (RX_POWER_PLAUSIBLE_DBM[1], True),
            (below(RX_POWER_PLAUSIBLE_DBM[0]), False), (above(RX_POWER_PLAUSIBLE_DBM[1]), False)]


def _complete(doors: Doors, door: str, evidence: dict) -> tuple[str, int]:
    number = doors.order(OrderStatus.ON_SITE)
    wire = {"evidence": evidence} if door == "api" else evidence
    return number, _through(doors, door, number, "w1", "complete", {"evidence": evidence}, wire)


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(("speed", "ok"), SPEED_CASES)
def test_the_speed_range_is_the_same_for_every_door(doors: Doors, door: str, speed: float, ok: bool) -> None:
    number, status = _complete(doors, door, {"speed_mbps": speed})
    assert (status == ACCEPTED[door]) is ok and (status == 400) is not ok
    assert (doors.state(number)[0] is OrderStatus.COMPLETED) is ok


@pytest.mark.parametrize("door", DOORS)
@pytest.mark.parametrize(("reading", "ok"), RX_CASES)
def test_the_plausible_optical_reading_is_the_same_for_every_door(doors: Doors, door: str, reading: float, ok: bool) -> None:
    number, status = _complete(doors, door, {"speed_mbps": 300, "rx_power_dbm": reading})
    assert (status == ACCEPTED[door]) is ok and (status == 400) is not ok
    assert (doors.state(number)[0] is OrderStatus.COMPLETED) is ok


@pytest.mark.parametrize(("reading", "in_band"), [(BAND[0], True), (BAND[1], True), (below(BAND[0]), False),
                                                  (above(BAND[1]), False), (RX_POWER_PLAUSIBLE_DBM[0], False)])
def test_the_accepted_band_flags_and_never_refuses(reading: float, in_band: bool) -> None:
    clean = clean_evidence({"rx_power_dbm": reading}, BAND)
    assert clean["rx_power_in_band"] is in_band


def _field_accepts(app: Flask, form_class: type, name: str, value: object) -> bool:
    """Whether the form's field, given `value` as a browser sends it, passes its own validators."""
    with app.test_request_context():
        form = form_class(formdata=MultiDict({name: str(value)}), meta={"csrf": False})
        return form[name].validate(form)


@pytest.mark.parametrize(("name", "cases"), [("speed_mbps", SPEED_CASES), ("rx_power_dbm", RX_CASES)])
def test_the_completion_form_refuses_exactly_what_the_service_refuses(app: Flask, name: str, cases: list) -> None:
    for value, ok in cases:
        try:
            clean_evidence({name: value}, BAND)
            service_ok = True
        except InvalidInput:
            service_ok = False
        assert _field_accepts(app, CompleteForm, name, value) is service_ok is ok, value


@pytest.mark.parametrize(("serial", "ok"), [("A" * ONU_SERIAL_LENGTH[0], True), ("A" * ONU_SERIAL_LENGTH[1], True),
                                            ("A" * (ONU_SERIAL_LENGTH[0] - 1), False),
                                            ("A" * (ONU_SERIAL_LENGTH[1] + 1), False)])
def test_the_onu_serial_length_is_the_same_for_form_and_service(app: Flask, serial: str, ok: bool) -> None:
    try:
        clean_evidence({"onu_serial": serial}, BAND)
        service_ok = True
    except InvalidInput:
        service_ok = False
    assert _field_accepts(app, CompleteForm, "onu_serial", serial) is service_ok is ok


# --- where each door reads the limit from -----------------------------------------------------

def _length_max(validators: list) -> int:
    return next(v.max for v in validators if isinstance(v, Length))


def _schema_max(schema, name: str) -> int:
    return next(v.max for v in schema.fields[name].validators if type(v).__name__ == "Length")


def test_forms_and_schemas_take_their_lengths_from_the_domain(app: Flask) -> None:
    with app.test_request_context():
        action, cancel, order = ActionForm(meta={"csrf": False}), CancelForm(meta={"csrf": False}), OrderForm(meta={"csrf": False})
        assert _length_max(action.note.validators) == _length_max(order.notes.validators) == MAX_NOTE
        assert _length_max(cancel.reason.validators) == MAX_CANCEL_REASON == column_length(WorkOrder.cancel_reason)
        assert _length_max(order.address.validators) == column_length(Customer.address)
    transition, new_order = TransitionSchema(), NewWorkOrderSchema()
    assert _schema_max(transition, "note") == _schema_max(new_order, "notes") == MAX_NOTE
    assert _schema_max(transition, "reason") == MAX_CANCEL_REASON


def test_the_job_page_renders_the_limits_from_the_forms(doors: Doors) -> None:
    number = doors.order(OrderStatus.ON_SITE)
    page = doors.browser("s1").get(f"/orders/{number}").get_data(as_text=True)  # a supervisor may cancel
    assert f'id="cancel-reason" maxlength="{MAX_CANCEL_REASON}"' in page
    assert f'id="cancel-note" maxlength="{MAX_NOTE}"' in page
    page = doors.browser("w1").get(f"/orders/{number}").get_data(as_text=True)  # the installer completes
    assert f'max="{SPEED_MBPS[1]}" min="{SPEED_MBPS[0]}" name="complete-speed_mbps"' in page
    assert f'maxlength="{MATERIAL_ITEM_LENGTH}" value=""' in page


# --- an order's notes -------------------------------------------------------------------------

def test_an_orders_notes_are_refused_past_the_note_length_by_service_api_and_board(doors: Doors) -> None:
    app, client = doors.app, doors.client
    with app.app_context():
        data = NewOrder(job_type="install", account_no="02700000001", customer_name="王芳", phone="13900001111",
                        address="珞喻路1号", district="hongshan", notes="记" * (MAX_NOTE + 1))
        with pytest.raises(InvalidInput) as refused:
            create_work_order(_user("s1"), data, TZ)
        assert "notes" in refused.value.details["errors"]
        db.session.rollback()
        data.notes = "记" * MAX_NOTE
        order, _created = create_work_order(_user("s1"), data, TZ)
        assert order.notes == data.notes
        db.session.rollback()
    body = {"job_type": "install", "customer": {"account_no": "02700000002", "name": "李雷", "phone": "13900002222",
                                                "address": "珞喻路2号", "district": "hongshan"}}
    headers = {"Authorization": f"Bearer {doors.tokens['s1']}"}
    assert client.post("/api/v1/work-orders", json={**body, "notes": "记" * (MAX_NOTE + 1)}, headers=headers).status_code == 400
    assert client.post("/api/v1/work-orders", json={**body, "notes": "记" * MAX_NOTE}, headers=headers).status_code == 201


# --- vocabularies in the OpenAPI document -----------------------------------------------------

def test_the_openapi_document_enumerates_the_domains_vocabularies(client: FlaskClient) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    statuses = [s.value for s in OrderStatus]
    priorities = [p.value for p in Priority]
    assert schemas["Transition"]["properties"]["action"]["enum"] == list(ACTIONS)
    assert schemas["NewWorkOrder"]["properties"]["priority"]["enum"] == priorities
    assert schemas["NewWorkOrder"]["properties"]["priority"]["default"] == Priority.NORMAL.value
    assert schemas["WorkOrder"]["properties"]["status"]["enum"] == statuses
    assert schemas["WorkOrder"]["properties"]["priority"]["enum"] == priorities
    (status_filter,) = [p for p in spec["paths"]["/api/v1/work-orders"]["get"]["parameters"] if p["name"] == "status"]
    assert status_filter["schema"]["items"]["enum"] == statuses
    evidence = schemas["Transition"]["properties"]["evidence"]["properties"]
    assert evidence["fault_cause"]["enum"] == list(FAULT_CAUSES)
    assert (evidence["speed_mbps"]["minimum"], evidence["speed_mbps"]["maximum"]) == SPEED_MBPS
    assert (evidence["rx_power_dbm"]["minimum"], evidence["rx_power_dbm"]["maximum"]) == RX_POWER_PLAUSIBLE_DBM
    assert schemas["Transition"]["properties"]["note"]["maxLength"] == MAX_NOTE
    assert schemas["Transition"]["properties"]["reason"]["maxLength"] == MAX_CANCEL_REASON


def test_every_action_the_schema_takes_is_one_the_lifecycle_knows() -> None:
    assert set(TransitionSchema().fields["action"].validators[0].choices) == set(lifecycle.TRANSITIONS)



# --- refusals on the job page -----------------------------------------------------------------

def test_the_job_page_shows_what_no_field_of_the_form_can_hold(doors: Doors) -> None:
    """A material's refusal has no field of its own: it is listed under the page's message."""
    number = doors.order(OrderStatus.ON_SITE)
    response = do(doors.browser("w1"), number, "complete", speed_mbps="300", material_item_0="蝶形光缆",
                  material_qty_0="")
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and "The evidence has errors." in page
    assert f"Each material needs an item (at most {MATERIAL_ITEM_LENGTH} characters) and a quantity above 0." in page
    assert doors.state(number)[0] is OrderStatus.ON_SITE
