"""The state machine: every legal step, every refusal (which changes nothing), the event trail."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from fieldsvc.db import utcnow
from fieldsvc.errors import Conflict, Forbidden, InvalidInput, NotFound, RuleViolation
from fieldsvc.extensions import db
from fieldsvc.ratings.models import SurveyInvitation
from fieldsvc.workorders import lifecycle
from fieldsvc.workorders.models import (
    OrderStatus,
    Visit,
    VisitOutcome,
    WorkOrder,
    WorkOrderEvent,
)
from tests import factories as f
from tests.workorders.conftest import Crew, assigned_order

TZ = ZoneInfo("Asia/Shanghai")
S = OrderStatus


def step(order: WorkOrder, actor, action: str, **kwargs):
    outcome = lifecycle.transition(order, actor, action, order.version, tz=TZ, **kwargs)
    db.session.commit()
    return outcome


def snapshot(order: WorkOrder) -> tuple:
    db.session.rollback()
    db.session.refresh(order)
    events = db.session.scalar(select(func.count()).select_from(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id))
    visits = db.session.scalar(select(func.count()).select_from(Visit).where(Visit.work_order_id == order.id))
    return order.status, order.version, events, visits, order.assignee_id, order.appointment_start


def window(hours_from_now: int = 2) -> dict:
    start = (utcnow() + timedelta(hours=hours_from_now)).replace(minute=0, second=0, microsecond=0)
    return {"appointment_start": start, "appointment_end": start + timedelta(hours=2)}


def test_full_happy_path_from_new_to_completed(crew: Crew) -> None:
    order = f.make_work_order(job_type="repair")
    db.session.commit()
    lifecycle.assign(order, crew.supervisor, "w1", 1, today=f.today())
    db.session.commit()
    assert (order.status, order.assignee, order.team_id, order.version) == (S.ASSIGNED, crew.installer, crew.installer.team_id, 2)
    step(order, crew.installer, "accept")
    step(order, crew.installer, "book", **window())
    step(order, crew.installer, "depart")
    step(order, crew.installer, "arrive", lat=30.5, lon=114.3)
    assert order.status is S.ON_SITE
    outcome = step(order, crew.installer, "complete", evidence={"fault_cause": "connector"}, note="replaced connector")
    assert order.status is S.COMPLETED and order.completed_at is not None
    assert order.completed_by == crew.installer
    assert order.evidence["fault_cause"] == "connector"
    assert outcome.survey_token and len(outcome.survey_token) >= 30
    (visit,) = order.visits
    assert order.visit_count == 1
    assert (visit.seq, visit.outcome, visit.reason_code, visit.lat) == (1, VisitOutcome.RESOLVED, None, 30.5)
    assert visit.appointment_start == order.appointment_start and visit.left_at is not None
    actions = [(e.action, e.from_status, e.to_status) for e in order.events]
    assert actions == [
        ("assign", "new", "assigned"), ("accept", "assigned", "accepted"), ("book", "accepted", "accepted"),
        ("depart", "accepted", "en_route"), ("arrive", "en_route", "on_site"), ("complete", "on_site", "completed"),
    ]
    assert order.events[-1].note == "replaced connector" and order.events[-1].actor == crew.installer
    assert order.events[4].lat == 30.5
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.work_order_id == order.id))
    assert invitation.token_hash != outcome.survey_token and invitation.expires_at > utcnow() + timedelta(days=6)


def test_leave_unresolved_then_revisit_and_complete(crew: Crew) -> None:
    order = assigned_order(crew.installer, S.ON_SITE, visit_count=1)
    db.session.add(Visit(work_order=order, seq=1, installer=crew.installer, arrived_at=utcnow()))
    db.session.commit()
    step(order, crew.installer, "leave_unresolved", reason="customer_absent", note="nobody home")
    assert order.status is S.ACCEPTED and order.appointment_start is None
    assert (order.visits[0].outcome, order.visits[0].reason_code) == (VisitOutcome.NOT_RESOLVED, "customer_absent")
    step(order, crew.installer, "book", **window(20))
    step(order, crew.installer, "arrive")  # straight from accepted
    step(order, crew.installer, "complete", evidence={"fault_cause": "onu"})
    assert [v.seq for v in order.visits] == [1, 2] and order.visit_count == 2
    assert order.visits[1].outcome is VisitOutcome.RESOLVED


ILLEGAL = [
    (S.NEW, "accept"), (S.NEW, "depart"), (S.NEW, "arrive"), (S.NEW, "complete"),
    (S.ASSIGNED, "depart"), (S.ASSIGNED, "arrive"), (S.ASSIGNED, "complete"), (S.ASSIGNED, "leave_unresolved"),
    (S.ACCEPTED, "accept"), (S.ACCEPTED, "complete"), (S.ACCEPTED, "leave_unresolved"),
    (S.EN_ROUTE, "accept"), (S.EN_ROUTE, "book"), (S.EN_ROUTE, "depart"), (S.EN_ROUTE, "complete"),
    (S.ON_SITE, "accept"), (S.ON_SITE, "book"), (S.ON_SITE, "arrive"), (S.ON_SITE, "depart"),
    (S.COMPLETED, "accept"), (S.COMPLETED, "arrive"), (S.COMPLETED, "complete"), (S.COMPLETED, "cancel"),
    (S.COMPLETED, "book"), (S.CANCELLED, "accept"), (S.CANCELLED, "cancel"), (S.CANCELLED, "book"),
]


@pytest.mark.parametrize(("status", "action"), ILLEGAL)
def test_illegal_transitions_are_refused_and_change_nothing(crew: Crew, status: OrderStatus, action: str) -> None:
    order = assigned_order(crew.installer, status)
    before = snapshot(order)
    actor = crew.supervisor if action == "cancel" else crew.installer
    with pytest.raises(Conflict, match="Cannot do this to an order"):
        lifecycle.transition(order, actor, action, order.version, tz=TZ, reason="x", **window())
    assert snapshot(order) == before


def test_stale_version_is_a_conflict_and_changes_nothing(crew: Crew) -> None:
    order = assigned_order(crew.installer)
    before = snapshot(order)
    with pytest.raises(Conflict, match="has changed since you opened it") as raised:
        lifecycle.transition(order, crew.installer, "accept", order.version - 1 if order.version > 1 else 99, tz=TZ)
    assert raised.value.details["current_version"] == order.version
    assert snapshot(order) == before


def test_missing_version_is_bad_input(crew: Crew) -> None:
    order = assigned_order(crew.installer)
    with pytest.raises(InvalidInput):
        lifecycle.transition(order, crew.installer, "accept", None, tz=TZ)


def test_installer_acts_only_on_own_orders(crew: Crew) -> None:
    order = assigned_order(crew.other)
    with pytest.raises(NotFound):
        lifecycle.load_for_action(crew.installer, order.number)
    before = snapshot(order)
    with pytest.raises(Forbidden):
        lifecycle.transition(order, crew.installer, "accept", order.version, tz=TZ)
    assert snapshot(order) == before


def test_supervisor_acts_only_on_own_teams_orders(crew: Crew) -> None:
    mine = assigned_order(crew.installer)
    theirs = assigned_order(crew.other)
    assert lifecycle.load_for_action(crew.supervisor, mine.number) == mine
    with pytest.raises(NotFound):
        lifecycle.load_for_action(crew.supervisor, theirs.number)
    assert lifecycle.load_for_action(crew.admin, theirs.number) == theirs


@pytest.mark.parametrize("action", ["cancel"])
def test_installers_may_not_cancel_assign_or_unassign(crew: Crew, action: str) -> None:
    order = assigned_order(crew.installer)
    with pytest.raises(Forbidden):
        lifecycle.transition(order, crew.installer, action, order.version, tz=TZ, reason="no")
    with pytest.raises(Forbidden):
        lifecycle.assign(order, crew.installer, "w1", order.version, today=f.today())
    with pytest.raises(Forbidden):
        lifecycle.assign(order, crew.installer, None, order.version, today=f.today())


def test_cancel_needs_a_reason_and_closes_an_open_visit(crew: Crew) -> None:
    order = assigned_order(crew.installer, S.ON_SITE)
    db.session.add(Visit(work_order=order, seq=1, installer=crew.installer, arrived_at=utcnow()))
    db.session.commit()
    with pytest.raises(InvalidInput):
        lifecycle.transition(order, crew.supervisor, "cancel", order.version, tz=TZ, reason="  ")
    db.session.rollback()
    step(order, crew.supervisor, "cancel", reason="customer moved away")
    assert order.status is S.CANCELLED and order.cancel_reason == "customer moved away"
    assert order.visits[0].outcome is VisitOutcome.NOT_RESOLVED and order.visits[0].left_at is not None


def test_leave_unresolved_needs_a_known_reason(crew: Crew) -> None:
    order = assigned_order(crew.installer, S.ON_SITE)
    db.session.add(Visit(work_order=order, seq=1, installer=crew.installer, arrived_at=utcnow()))
    db.session.commit()
    before = snapshot(order)
    for reason in (None, "", "aliens"):
        with pytest.raises(InvalidInput):
            lifecycle.transition(order, crew.installer, "leave_unresolved", order.version, tz=TZ, reason=reason)
        assert snapshot(order) == before


@pytest.mark.parametrize(
    ("job_type", "evidence", "missing"),
    [
        ("install", {}, ["onu_serial", "rx_power_dbm"]),
        ("install", {"onu_serial": "ZTEG12345678"}, ["rx_power_dbm"]),
        ("repair", {}, ["fault_cause"]),
        ("smart_home", {"note": 1} if False else {}, ["speed_mbps"]),
    ],
)
def test_complete_without_required_evidence_is_refused_with_what_is_missing(
    crew: Crew, job_type: str, evidence: dict, missing: list
) -> None:
    order = assigned_order(crew.installer, S.ON_SITE, job_type=job_type)
    db.session.add(Visit(work_order=order, seq=1, installer=crew.installer, arrived_at=utcnow()))
    db.session.commit()
    before = snapshot(order)
    with pytest.raises(RuleViolation) as refused:
        lifecycle.transition(order, crew.installer, "complete", order.version, tz=TZ, evidence=evidence)
    assert refused.value.status == 422
    assert refused.value.details["missing"] == missing
    assert snapshot(order) == before
    assert db.session.scalar(select(func.count()).select_from(SurveyInvitation)) == 0


@pytest.mark.parametrize(
    "evidence",
    [{"rx_power_dbm": "bright"}, {"rx_power_dbm": -99}, {"fault_cause": "gremlins"}, {"onu_serial": "x"},
     {"speed_mbps": -3}, {"colour": "red"}, {"materials": [{"item": "", "quantity": 1}]},
     {"materials": [{"item": "drop cable", "quantity": True}]}, {"rx_power_dbm": float("nan")}],
)
def test_malformed_evidence_is_bad_input(crew: Crew, evidence: dict) -> None:
    order = assigned_order(crew.installer, S.ON_SITE, job_type="install")
    db.session.add(Visit(work_order=order, seq=1, installer=crew.installer, arrived_at=utcnow()))
    db.session.commit()
    with pytest.raises(InvalidInput):
        lifecycle.transition(order, crew.installer, "complete", order.version, tz=TZ,
                             evidence={"onu_serial": "ZTEG12345678", "rx_power_dbm": -19, **evidence})


def test_out_of_band_reading_is_kept_and_flagged_and_extra_evidence_kept(crew: Crew) -> None:
    order = assigned_order(crew.installer, S.ON_SITE, job_type="install")
    db.session.add(Visit(work_order=order, seq=1, installer=crew.installer, arrived_at=utcnow()))
    db.session.commit()
    step(order, crew.installer, "complete", evidence={
        "onu_serial": "zteg1234abcd", "rx_power_dbm": -28.4, "speed_mbps": 940,
        "materials": [{"item": "蝶形光缆", "quantity": 35}]})
    assert order.evidence["onu_serial"] == "ZTEG1234ABCD"
    assert order.evidence["rx_power_dbm"] == -28.4 and order.evidence["rx_power_in_band"] is False
    assert order.evidence["speed_mbps"] == 940 and order.evidence["materials"] == [{"item": "蝶形光缆", "quantity": 35}]


def test_book_validates_the_window(crew: Crew) -> None:
    order = assigned_order(crew.installer, S.ACCEPTED)
    start = utcnow() + timedelta(hours=3)
    bad = [
        {"appointment_start": start},
        {"appointment_start": start, "appointment_end": start - timedelta(hours=1)},
        {"appointment_start": start - timedelta(days=2), "appointment_end": start - timedelta(days=2, hours=-2)},
        {"appointment_start": start, "appointment_end": start + timedelta(hours=13)},
        {"appointment_start": datetime(2030, 1, 1, 9), "appointment_end": datetime(2030, 1, 1, 11)},
    ]
    before = snapshot(order)
    for window_args in bad:
        with pytest.raises(InvalidInput):
            lifecycle.transition(order, crew.installer, "book", order.version, tz=TZ, **window_args)
        assert snapshot(order) == before


def test_positions_must_be_plausible(crew: Crew) -> None:
    order = assigned_order(crew.installer, S.ACCEPTED)
    for lat, lon in ((91, 114), (30, None), (None, 200)):
        with pytest.raises(InvalidInput):
            lifecycle.transition(order, crew.installer, "arrive", order.version, tz=TZ, lat=lat, lon=lon)


def test_allowed_actions_follow_role_and_status(crew: Crew) -> None:
    order = assigned_order(crew.installer)
    assert lifecycle.allowed_actions(order, crew.installer) == ["accept", "book"]
    assert lifecycle.allowed_actions(order, crew.supervisor) == ["book", "cancel", "assign", "unassign"]
    assert lifecycle.allowed_actions(order, crew.other) == []
    order.status = S.COMPLETED
    assert lifecycle.allowed_actions(order, crew.admin) == []
    db.session.rollback()


@pytest.mark.parametrize("action", ["accept", "depart", "arrive", "complete", "leave_unresolved"])
def test_the_visit_steps_are_the_installers_alone(crew: Crew, action: str) -> None:
    """A supervisor or admin books, cancels and (re)assigns; the steps of the visit are refused."""
    status = {"accept": S.ASSIGNED, "depart": S.ACCEPTED, "arrive": S.ACCEPTED}.get(action, S.ON_SITE)
    order = assigned_order(crew.installer, status)
    for boss in (crew.supervisor, crew.admin):
        assert action not in lifecycle.allowed_actions(order, boss)
        with pytest.raises(Forbidden):
            lifecycle.transition(order, boss, action, order.version, tz=TZ, reason="other")
    assert order.status is status
