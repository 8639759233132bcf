"""The service standard (issue #15 item 3): versions apply to later orders only, completion is
refused without a required step (service, page, API), `book` ticks the booking call with its lag,
the 30-minute rule at its boundary, and the two figures on a hand-built case."""
from __future__ import annotations

import re
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsvc.audit.models import AuditEntry
from fieldsvc.auth.services import create_token
from fieldsvc.db import utcnow
from fieldsvc.errors import Forbidden, InvalidInput, RuleViolation
from fieldsvc.extensions import db
from fieldsvc.metrics.engine import orders_behind
from fieldsvc.reference import STANDARD_STEPS, ensure_standards
from fieldsvc.rules.services import set_setting
from fieldsvc.snapshots.models import COMPANY_ID, PeriodType, ScopeType
from fieldsvc.workforce.models import JobType
from fieldsvc.workorders import lifecycle, standards
from fieldsvc.workorders.models import OrderStatus, Visit, VisitOutcome, WorkOrder
from fieldsvc.workorders.services import NewOrder, create_work_order
from fieldsvc.workorders.standards import OrderStandard, Phase, StepInput, StepTick
from tests import factories as f
from tests.conftest import sign_in
from tests.workorders.conftest import Crew
from tests.workorders.test_pages import form_fields

TZ = ZoneInfo("Asia/Shanghai")
S = OrderStatus
STEPS = [StepInput("booked_call", "电话预约", "Call to book", Phase.BEFORE_ARRIVAL),
         StepInput("shoe_covers", "穿鞋套", "Shoe covers", Phase.ON_SITE),
         StepInput("cleaned_up", "清理现场", "Clean up", Phase.AT_COMPLETION),
         StepInput("explained", "讲解", "Explain", Phase.AT_COMPLETION, is_required=False)]


def job_type(code: str = "repair") -> JobType:
    f.reference()
    return db.session.scalar(select(JobType).where(JobType.code == code))


def with_standard(order: WorkOrder, version: standards.StandardVersion) -> WorkOrder:
    db.session.add(OrderStandard(work_order_id=order.id, version_id=version.id))
    db.session.flush()
    return order


def new_order(actor, code: str = "repair") -> WorkOrder:
    data = NewOrder(job_type=code, priority="normal", account_no="02700000001", customer_name="王芳",
                    phone="13900001111", address="珞喻路1号", district="hongshan")
    return create_work_order(actor, data, TZ)[0]


def test_a_new_version_applies_to_orders_created_after_it_and_is_audited(crew: Crew) -> None:
    repair = job_type()
    first = standards.put_version(repair, STEPS, crew.admin, seen=0)
    older = new_order(crew.admin)
    second = standards.put_version(repair, STEPS[1:2], crew.admin, seen=1, note="shorter")
    newer = new_order(crew.admin)
    db.session.commit()
    assert (first.number, second.number) == (1, 2)
    assert [s.code for s in standards.order_steps(older)] == ["booked_call", "shoe_covers", "cleaned_up", "explained"]
    assert [s.code for s in standards.order_steps(newer)] == ["shoe_covers"]
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "standard.edit")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.object_key == "repair" and entry.before["version"] == 1 and entry.after["version"] == 2
    with pytest.raises(Exception, match="changed this standard"):  # a stale form: 409, not overwritten
        standards.put_version(repair, STEPS, crew.admin, seen=1)


def test_completion_is_refused_until_every_required_step_is_ticked(crew: Crew) -> None:
    version = standards.put_version(job_type(), STEPS, crew.admin, seen=0)
    order = with_standard(f.make_work_order(S.ON_SITE, assignee=crew.installer), version)
    db.session.add(Visit(work_order=order, seq=1, installer=crew.installer, arrived_at=utcnow()))
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        lifecycle.transition(order, crew.installer, "complete", order.version, tz=TZ, evidence={"fault_cause": "onu"})
    assert refused.value.details["missing_steps"] == ["booked_call", "shoe_covers", "cleaned_up"]
    db.session.rollback()
    assert standards.tick(order, crew.installer, "shoe_covers") is True
    assert standards.tick(order, crew.installer, "shoe_covers") is False  # twice is harmless
    standards.tick(order, crew.installer, "cleaned_up")
    with pytest.raises(Forbidden):
        standards.tick(order, crew.other, "cleaned_up")
    assert [s.code for s in standards.missing_steps(order)] == ["booked_call"]
    db.session.add(StepTick(work_order_id=order.id, code="booked_call", ticked_at=utcnow(), dispatch_lag_seconds=60))
    standards.tick(order, crew.installer, "cleaned_up", done=False)  # untick while open
    assert [s.code for s in standards.missing_steps(order)] == ["cleaned_up"]
    standards.tick(order, crew.installer, "cleaned_up")
    lifecycle.transition(order, crew.installer, "complete", order.version, tz=TZ, evidence={"fault_cause": "onu"})
    db.session.commit()
    assert order.status is S.COMPLETED


def test_a_job_booked_at_creation_has_its_call_ticked_on_the_checklist(crew: Crew) -> None:
    """A window agreed when the order was created leaves no `book` to record the call: the
    installer ticks it (timed from the tap like a booking), and it cannot be unticked."""
    version = standards.put_version(job_type(), STEPS, crew.admin, seen=0)
    order = with_standard(f.make_work_order(), version)
    db.session.commit()
    dispatched = utcnow().replace(microsecond=0)
    lifecycle.assign(order, crew.supervisor, "w1", order.version, today=f.today(), now=dispatched)
    assert standards.tick(order, crew.installer, "booked_call", now=dispatched + timedelta(minutes=45)) is True
    assert standards.tick(order, crew.installer, "booked_call") is False  # once
    call = standards.ticks(order)["booked_call"]
    assert call.dispatch_lag_seconds == 45 * 60 and not standards.on_time(call.dispatch_lag_seconds, 30)
    with pytest.raises(InvalidInput):
        standards.tick(order, crew.installer, "booked_call", done=False)
    with pytest.raises(Forbidden):
        standards.tick(order, crew.other, "booked_call")
    assert "booked_call" in standards.ticks(order)


def test_orders_without_a_standard_complete_as_before(crew: Crew) -> None:
    order = f.make_work_order(S.ON_SITE, assignee=crew.installer)
    db.session.add(Visit(work_order=order, seq=1, installer=crew.installer, arrived_at=utcnow()))
    lifecycle.transition(order, crew.installer, "complete", order.version, tz=TZ, evidence={"fault_cause": "onu"})
    assert order.status is S.COMPLETED


@pytest.mark.parametrize(("lag", "on_time"), [(timedelta(minutes=29, seconds=59), True),
                                              (timedelta(minutes=30), True),
                                              (timedelta(minutes=30, seconds=1), False)])
def test_book_ticks_the_call_with_its_lag_after_dispatch(crew: Crew, lag: timedelta, on_time: bool) -> None:
    order = f.make_work_order()
    db.session.commit()
    dispatched = utcnow().replace(microsecond=0)
    lifecycle.assign(order, crew.supervisor, "w1", order.version, today=f.today(), now=dispatched)
    start = (dispatched + timedelta(days=1)).replace(minute=0, second=0)
    lifecycle.transition(order, crew.installer, "book", order.version, tz=TZ, now=dispatched + lag,
                         appointment_start=start, appointment_end=start + timedelta(hours=2))
    db.session.commit()
    call = standards.ticks(order)["booked_call"]
    assert call.ticked_at == dispatched + lag and call.ticked_by_id == crew.installer.id
    assert call.dispatch_lag_seconds == int(lag.total_seconds())
    assert standards.on_time(call.dispatch_lag_seconds, 30) is on_time
    # a rebooking keeps the first call
    later = start + timedelta(days=1)
    lifecycle.transition(order, crew.installer, "book", order.version, tz=TZ, now=dispatched + lag + timedelta(hours=1),
                         appointment_start=later, appointment_end=later + timedelta(hours=2))
    assert standards.ticks(order)["booked_call"].dispatch_lag_seconds == int(lag.total_seconds())


def test_booking_timeliness_counts_the_boundary_as_on_time(crew: Crew) -> None:
    now = utcnow().replace(microsecond=0)
    done = now + timedelta(hours=2)
    for lag in (1799, 1800, 1801, None):  # the last one never booked
        order = f.make_work_order(S.COMPLETED, assignee=crew.installer, completed_by_id=crew.installer.id,
                                  completed_at=done)
        if lag is not None:
            db.session.add(StepTick(work_order_id=order.id, code="booked_call", ticked_at=now + timedelta(seconds=lag),
                                    dispatch_lag_seconds=lag))
    f.make_work_order(S.COMPLETED, assignee=crew.other, completed_by_id=crew.other.id, completed_at=done,
                      customer=f.make_customer("jiangan"))
    f.make_work_order(S.ASSIGNED, assignee=crew.installer)  # not completed: not counted
    db.session.flush()
    got = f.figures_of(done.astimezone(TZ).date())
    assert got[("booking_in_time_rate", "installer", "w1")] == (2.0, 4, 0.5)
    assert got[("booking_in_time_rate", "installer", "w3")] == (0.0, 1, 0.0)
    assert got[("booking_in_time_rate", "company", COMPANY_ID)][:2] == (2.0, 5)
    assert got[("booking_in_time_rate", "team", "HS01")][1] == 4
    # The rule is dated: from the day it took effect a 31-minute call is in time.
    set_setting("booking_within_minutes", 31, done.astimezone(TZ).date(), crew.admin.id)
    assert f.figures_of(done.astimezone(TZ).date())[("booking_in_time_rate", "installer", "w1")] == (3.0, 4, 0.75)


def test_checklist_compliance_on_a_hand_built_case(crew: Crew) -> None:
    version = standards.put_version(job_type(), STEPS, crew.admin, seen=0)
    now = utcnow().replace(microsecond=0)
    left = now - timedelta(minutes=5)

    def visit(outcome: VisitOutcome, ticked: tuple[str, ...], installer=crew.installer, late: str | None = None):
        order = with_standard(f.make_work_order(S.ACCEPTED, assignee=installer), version)
        db.session.add(Visit(work_order=order, seq=1, installer=installer, arrived_at=left - timedelta(hours=1),
                             left_at=left, outcome=outcome,
                             reason_code="customer_absent" if outcome is VisitOutcome.NOT_RESOLVED else None))
        for code in ticked:
            db.session.add(StepTick(work_order_id=order.id, code=code, ticked_at=left - timedelta(minutes=10)))
        if late:  # ticked after the installer left: does not count for that visit
            db.session.add(StepTick(work_order_id=order.id, code=late, ticked_at=left + timedelta(minutes=1)))
        return order

    visit(VisitOutcome.RESOLVED, ("booked_call", "shoe_covers", "cleaned_up"))  # compliant
    visit(VisitOutcome.RESOLVED, ("booked_call", "shoe_covers"), late="cleaned_up")  # not
    visit(VisitOutcome.NOT_RESOLVED, ("booked_call", "shoe_covers"))  # compliant: nothing to complete
    missed = visit(VisitOutcome.NOT_RESOLVED, ("booked_call",))  # not: no shoe covers
    visit(VisitOutcome.RESOLVED, ("booked_call", "shoe_covers", "cleaned_up"), installer=crew.other)
    # a visit of an order without a standard is not counted
    plain = f.make_work_order(S.ACCEPTED, assignee=crew.installer)
    db.session.add(Visit(work_order=plain, seq=1, installer=crew.installer, arrived_at=left - timedelta(hours=1),
                         left_at=left, outcome=VisitOutcome.RESOLVED))
    db.session.flush()
    day = left.astimezone(TZ).date()
    got = f.figures_of(day)
    assert got[("checklist_compliance_rate", "installer", "w1")] == (2.0, 4, 0.5)
    assert got[("checklist_compliance_rate", "installer", "w3")] == (1.0, 1, 1.0)
    assert got[("checklist_compliance_rate", "company", COMPANY_ID)] == (3.0, 5, 0.6)
    assert got[("checklist_compliance_rate", "team", "HS01")][1] == 4
    behind = db.session.scalars(orders_behind("checklist_compliance_rate", ScopeType.INSTALLER, "w1",
                                              PeriodType.DAY, day, TZ, "denominator")).all()
    assert missed.number in behind and plain.number not in behind and len(behind) == 4


def test_default_standard_covers_every_job_type_and_is_seeded_only_on_demand(app_ctx: Flask) -> None:
    f.reference()
    assert standards.current_version(job_type("install").id) is None  # reference data alone: no checklist
    ensure_standards()
    ensure_standards()  # idempotent
    for code in STANDARD_STEPS:
        version = standards.current_version(job_type(code).id)
        assert version.number == 1 and version.steps[0].code == "booked_call"


# --- through the page and the API -------------------------------------------------------------

@pytest.fixture
def standard_order(app: Flask, web_crew: None) -> str:
    from fieldsvc.auth.models import User
    with app.app_context():
        installer = db.session.scalar(select(User).where(User.username == "w1"))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        version = standards.put_version(job_type(), STEPS[1:], admin, seen=0)
        order = with_standard(f.make_work_order(S.ON_SITE, assignee=installer), version)
        db.session.add(Visit(work_order=order, seq=1, installer=installer, arrived_at=utcnow()))
        db.session.commit()
        return order.number


def _tick(client: FlaskClient, number: str, code: str, done: str = "1"):
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    return client.post(f"/orders/{number}/steps/{code}", data={"csrf_token": _csrf(page), "done": done})


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"|value="([^"]+)"[^>]*?name="csrf_token"', page)
    return (match.group(1) or match.group(2)) if match else ""


def test_the_installer_ticks_steps_on_the_job_page_and_completes(client: FlaskClient, standard_order: str) -> None:
    sign_in(client, "w1")
    page = client.get(f"/orders/{standard_order}").get_data(as_text=True)
    assert "Service standard" in page and "Shoe covers" in page and "On site" in page
    fields = form_fields(page, "complete")
    fields["complete-fault_cause"] = "onu"
    refused = client.post(f"/orders/{standard_order}/act", data=fields, content_type="multipart/form-data")
    assert refused.status_code == 422
    assert "tick the required steps: Shoe covers; Clean up" in refused.get_data(as_text=True)
    assert _tick(client, standard_order, "shoe_covers").status_code == 302
    assert _tick(client, standard_order, "shoe_covers").status_code == 302  # twice is harmless
    # the ticked step's own form unticks it (one `done` field, 0: a second one once made it "1" again)
    form = re.search(r'<form[^>]*steps/shoe_covers.*?</form>', client.get(f"/orders/{standard_order}").get_data(as_text=True), re.S)
    assert form and re.findall(r'name="done" value="(\d)"', form.group(0)) == ["0"]
    assert _tick(client, standard_order, "cleaned_up").status_code == 302
    assert _tick(client, standard_order, "nope").status_code == 404
    page = client.get(f"/orders/{standard_order}").get_data(as_text=True)
    fields = form_fields(page, "complete")
    fields["complete-fault_cause"] = "onu"
    done = client.post(f"/orders/{standard_order}/act", data=fields, content_type="multipart/form-data")
    assert done.status_code == 302
    assert _tick(client, standard_order, "explained").status_code == 409  # a finished order's steps stay


def test_the_call_of_a_job_booked_beforehand_is_ticked_on_the_page(app: Flask, client: FlaskClient,
                                                                  web_crew: None) -> None:
    from fieldsvc.auth.models import User
    with app.app_context():
        installer = db.session.scalar(select(User).where(User.username == "w1"))
        admin = db.session.scalar(select(User).where(User.username == "admin"))
        version = standards.put_version(job_type(), STEPS, admin, seen=0)
        number = with_standard(f.make_work_order(S.ON_SITE, assignee=installer), version).number
        db.session.commit()
    sign_in(client, "w1")
    assert f"/orders/{number}/steps/booked_call" in client.get(f"/orders/{number}").get_data(as_text=True)
    assert _tick(client, number, "booked_call").status_code == 302
    page = client.get(f"/orders/{number}").get_data(as_text=True)
    assert "Customer called to book at" in page and f"/orders/{number}/steps/booked_call" not in page
    kept = _tick(client, number, "booked_call", done="0")
    assert kept.status_code == 400 and "once recorded, stays recorded" in kept.get_data(as_text=True)


def test_the_api_refuses_completion_with_the_missing_steps(app: Flask, client: FlaskClient, standard_order: str) -> None:
    from fieldsvc.auth.models import User
    with app.app_context():
        token = create_token(db.session.scalar(select(User).where(User.username == "w1")))
        version = db.session.scalar(select(WorkOrder.version).where(WorkOrder.number == standard_order))
        db.session.commit()
    refused = client.post(f"/api/v1/work-orders/{standard_order}/transitions",
                          json={"action": "complete", "version": version, "evidence": {"fault_cause": "onu"}},
                          headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert refused.get_json()["missing_steps"] == ["shoe_covers", "cleaned_up"]


def test_admin_edits_a_standard_as_a_new_version(app: Flask, client: FlaskClient, web_crew: None) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/standards/repair").get_data(as_text=True)
    assert "No standard yet" in page
    token = _csrf(page)
    lines = "shoe_covers | on_site | required | 穿鞋套 | Shoe covers\ncleaned_up | at_completion | optional | 清理 | Clean up"
    saved = client.post("/admin/standards/repair", data={"csrf_token": token, "steps": lines, "seen": "0"})
    assert saved.status_code == 302
    bad = client.post("/admin/standards/repair", data={"csrf_token": token, "steps": "x | later | required | a | b",
                                                       "seen": "1"})
    assert bad.status_code == 400 and "Line 1" in bad.get_data(as_text=True)
    stale = client.post("/admin/standards/repair", data={"csrf_token": token, "steps": lines, "seen": "0"})
    assert stale.status_code == 409
    with app.app_context():
        version = standards.current_version(job_type().id)
        assert version.number == 1 and [(s.code, s.is_required) for s in version.steps] == [
            ("shoe_covers", True), ("cleaned_up", False)]
    assert "/admin/standards/repair" in client.get("/admin/standards/").get_data(as_text=True)


def test_supervisor_sees_the_steps_but_does_not_tick(client: FlaskClient, standard_order: str) -> None:
    sign_in(client, "s1")
    page = client.get(f"/orders/{standard_order}").get_data(as_text=True)
    assert "Shoe covers" in page and "/steps/" not in page
    assert client.post(f"/orders/{standard_order}/steps/shoe_covers",
                       data={"csrf_token": _csrf(page), "done": "1"}).status_code == 403
