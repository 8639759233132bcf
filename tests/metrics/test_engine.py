"""The metrics engine on small hand-built data with known answers (PRODUCT.md §4): each metric,
each scope, the period edges in local time, the windows and their finality, the rules' dates."""
from __future__ import annotations

import hashlib
import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from fieldsvc.auth.models import User
from fieldsvc.db import UTC
from fieldsvc.extensions import db
from fieldsvc.metrics import engine
from fieldsvc.metrics.definitions import METRICS, Kind, split_code
from fieldsvc.metrics.engine import compute_period, orders_behind
from fieldsvc.ratings.models import SurveyInvitation, SurveyResponse
from fieldsvc.rules.services import set_setting
from fieldsvc.snapshots.models import COMPANY_ID, MetricSnapshot, PeriodType, ScopeType
from fieldsvc.workorders.models import OrderStatus, Visit, VisitOutcome, WorkOrder
from tests.factories import make_customer, make_team, make_user, make_work_order

TZ = ZoneInfo("Asia/Shanghai")
DAY = PeriodType.DAY
# Long after every period below: each figure is final, whatever its window.
LATER = datetime(2026, 9, 1, tzinfo=UTC)
_tokens = itertools.count(1)


def local(text: str) -> datetime:
    """An instant written in Wuhan's local time ("2026-03-31 23:59")."""
    return datetime.fromisoformat(text).replace(tzinfo=TZ).astimezone(UTC)


@pytest.fixture
def crew(app_ctx: Any) -> Iterator[dict[str, Any]]:
    team = make_team(code="TA", districts=("hongshan", "wuchang"))
    other = make_team(code="TB", districts=("wuchang",))
    yield {
        "team": team, "other": other,
        "ann": make_user(username="ann", team=team),
        "bob": make_user(username="bob", team=team),
        "cat": make_user(username="cat", team=other),
    }


def completed(installer: User, at: datetime, *, job_type: str = "repair", visits: tuple[Any, ...] = ("resolved",),
              created_at: datetime | None = None, due_by: datetime | None = None, customer: Any = None,
              window: tuple[datetime, datetime] | None = None, arrived: datetime | None = None,
              evidence: dict[str, Any] | None = None, district: str = "hongshan") -> WorkOrder:
    """An order completed by `installer` at `at`, after its visits: "resolved", or a reason code
    for a visit that left it unresolved (the last visit resolves it)."""
    created_at = created_at or at - timedelta(hours=5)
    order = make_work_order(OrderStatus.COMPLETED, job_type=job_type, customer=customer or make_customer(district),
                            assignee=installer, created_at=created_at, due_by=due_by or at + timedelta(hours=1),
                            completed_at=at, completed_by_id=installer.id, visit_count=len(visits),
                            evidence=evidence)
    for seq, outcome in enumerate(visits, start=1):
        came = (arrived if seq == 1 and arrived else at - timedelta(hours=len(visits) - seq + 1))
        start, end = window if seq == 1 and window else (None, None)
        db.session.add(Visit(
            work_order_id=order.id, seq=seq, installer_id=installer.id, arrived_at=came,
            left_at=came + timedelta(minutes=50),
            outcome=VisitOutcome.RESOLVED if outcome == "resolved" else VisitOutcome.NOT_RESOLVED,
            reason_code=None if outcome == "resolved" else outcome,
            appointment_start=start, appointment_end=end,
        ))
    db.session.flush()
    return order


def rated(order: WorkOrder, score: int, at: datetime) -> SurveyResponse:
    token = hashlib.sha256(f"t{next(_tokens)}".encode()).hexdigest()
    invitation = SurveyInvitation(work_order_id=order.id, token_hash=token, created_at=order.completed_at,
                                  expires_at=order.completed_at + timedelta(days=7), used_at=at)
    db.session.add(invitation)
    db.session.flush()
    response = SurveyResponse(invitation_id=invitation.id, work_order_id=order.id,
                              installer_id=order.completed_by_id, score=score, submitted_at=at)
    db.session.add(response)
    db.session.flush()
    return response


def compute(start: date, period: PeriodType = DAY, now: datetime = LATER) -> dict[tuple[str, str, str], MetricSnapshot]:
    """Compute and commit one period; its snapshots by (metric, scope type, scope id)."""
    compute_period(period, start, now, TZ)
    db.session.commit()
    rows = db.session.scalars(select(MetricSnapshot).where(
        MetricSnapshot.period_type == period, MetricSnapshot.period_start == start)).all()
    return {(r.metric, r.scope_type.value, r.scope_id): r for r in rows}


def figure(snapshots: dict[tuple[str, str, str], MetricSnapshot], metric: str,
           scope: str = "company", scope_id: str = COMPANY_ID) -> tuple[float | None, int, float | None]:
    row = snapshots[(metric, scope, scope_id)]
    return row.numerator, row.denominator, row.value


def test_every_metric_of_a_day_for_every_scope(crew: dict[str, Any]) -> None:
    ann, bob, cat = crew["ann"], crew["bob"], crew["cat"]
    day = date(2026, 3, 10)
    # ann: resolved first time, inside its booked window, by its deadline, rated 5.
    a1 = completed(ann, local("2026-03-10 11:00"), window=(local("2026-03-10 08:00"), local("2026-03-10 10:00")),
                   arrived=local("2026-03-10 09:30"), created_at=local("2026-03-10 07:00"))
    rated(a1, 5, local("2026-03-10 18:00"))
    # ann: an install, late for its window and its deadline; rx in band; rated 3 (broad, not strict).
    a2 = completed(ann, local("2026-03-10 15:00"), job_type="install", due_by=local("2026-03-10 14:00"),
                   window=(local("2026-03-10 10:00"), local("2026-03-10 12:00")), arrived=local("2026-03-10 12:01"),
                   created_at=local("2026-03-09 15:00"), evidence={"onu_serial": "ZTEG1", "rx_power_dbm": -21.5})
    rated(a2, 3, local("2026-03-10 20:00"))
    # bob: two visits, the first failed for a reason that is the installer's (gross and net).
    b1 = completed(bob, local("2026-03-10 16:00"), visits=("needs_second_visit", "resolved"))
    rated(b1, 2, local("2026-03-10 21:00"))
    # cat (the other team, in Wuchang): first visit failed, customer absent (counts gross, not net);
    # an install whose reading is out of band.
    completed(cat, local("2026-03-10 10:00"), visits=("customer_absent", "resolved"), district="wuchang")
    completed(cat, local("2026-03-10 12:00"), job_type="install", district="wuchang",
              evidence={"onu_serial": "ZTEG2", "rx_power_dbm": -29.0})
    # Not counted: completed the day before, and an open order.
    completed(ann, local("2026-03-09 23:00"))
    make_work_order(OrderStatus.ON_SITE, assignee=ann)
    db.session.commit()

    s = compute(day)
    assert figure(s, "completed_orders") == (None, 5, 5.0)
    assert figure(s, "onsite_resolution_rate") == (3.0, 5, 0.6)
    assert figure(s, "onsite_resolution_rate_net") == (3.0, 4, 0.75)
    assert figure(s, "appointment_adherence_rate") == (1.0, 2, 0.5)
    assert figure(s, "timeliness_rate") == (4.0, 5, 0.8)
    assert figure(s, "rx_power_pass_rate") == (1.0, 2, 0.5)
    assert figure(s, "rating_coverage") == (3.0, 5, 0.6)
    assert figure(s, "satisfaction_rate") == (2.0, 3, pytest.approx(2 / 3))
    assert figure(s, "satisfaction_rate_strict") == (1.0, 3, pytest.approx(1 / 3))
    assert figure(s, "dissatisfied_count") == (None, 1, 1.0)
    assert figure(s, "avg_rating") == (10.0, 3, pytest.approx(10 / 3))
    # hours from creation to completion: 4 + 24 + 5 + 5 + 5
    assert figure(s, "mean_hours_to_complete") == (43.0, 5, pytest.approx(43 / 5))

    # Timeliness and hours to complete per job type too.
    assert figure(s, "timeliness_rate.install") == (1.0, 2, 0.5)
    assert figure(s, "timeliness_rate.repair") == (3.0, 3, 1.0)
    assert figure(s, "timeliness_rate.install", "installer", "ann") == (0.0, 1, 0.0)
    assert figure(s, "mean_hours_to_complete.install") == (29.0, 2, 14.5)
    assert ("timeliness_rate.iptv", "company", COMPANY_ID) not in s  # no IPTV jobs that day

    assert figure(s, "completed_orders", "installer", "ann") == (None, 2, 2.0)
    assert figure(s, "onsite_resolution_rate", "installer", "bob") == (0.0, 1, 0.0)
    assert figure(s, "completed_orders", "team", "TA") == (None, 3, 3.0)
    assert figure(s, "onsite_resolution_rate_net", "team", "TB") == (1.0, 1, 1.0)
    assert figure(s, "completed_orders", "district", "wuchang") == (None, 2, 2.0)
    assert figure(s, "satisfaction_rate", "team", "TA") == (2.0, 3, pytest.approx(2 / 3))
    # cat has orders and no ratings: no rating figures at all for cat.
    assert ("satisfaction_rate", "installer", "cat") not in s


def test_a_denominator_of_zero_stores_null_not_zero(crew: dict[str, Any]) -> None:
    completed(crew["ann"], local("2026-03-10 11:00"))  # no booked window, no install, no rating
    db.session.commit()
    s = compute(date(2026, 3, 10))
    for metric in ("appointment_adherence_rate", "install_early_fault_rate_15d", "rx_power_pass_rate"):
        assert figure(s, metric, "installer", "ann") == (0.0, 0, None)
    assert figure(s, "satisfaction_rate") == (0.0, 0, None)  # the company row of a day without ratings
    assert figure(s, "dissatisfied_count") == (None, 0, 0.0)  # a count is 0, not unknown


def test_an_empty_day_still_has_the_company_figures(crew: dict[str, Any]) -> None:
    s = compute(date(2026, 3, 10))
    assert {scope for (_, scope, _) in s} == {"company"}  # no installer, team or district rows
    assert figure(s, "completed_orders") == (None, 0, 0.0)
    assert figure(s, "onsite_resolution_rate") == (0.0, 0, None)
    assert len(s) == len(METRICS)


def test_local_midnight_divides_the_days(crew: dict[str, Any]) -> None:
    completed(crew["ann"], local("2026-03-10 23:59"))
    completed(crew["ann"], local("2026-03-11 00:01"))
    completed(crew["ann"], local("2026-03-11 00:02"))
    db.session.commit()
    assert figure(compute(date(2026, 3, 10)), "completed_orders") == (None, 1, 1.0)
    assert figure(compute(date(2026, 3, 11)), "completed_orders") == (None, 2, 2.0)


def test_the_last_day_of_a_month_and_of_an_iso_week(crew: dict[str, Any]) -> None:
    completed(crew["ann"], local("2026-03-29 23:59"))  # Sunday: the week of Monday 23 March
    completed(crew["ann"], local("2026-03-31 23:59"))  # Tuesday, the month's last minute
    completed(crew["ann"], local("2026-04-01 00:00"))  # April, the week of Monday 30 March
    db.session.commit()
    assert figure(compute(date(2026, 3, 23), PeriodType.WEEK), "completed_orders")[1] == 1
    assert figure(compute(date(2026, 3, 30), PeriodType.WEEK), "completed_orders")[1] == 2
    assert figure(compute(date(2026, 3, 1), PeriodType.MONTH), "completed_orders")[1] == 2
    assert figure(compute(date(2026, 4, 1), PeriodType.MONTH), "completed_orders")[1] == 1


def test_a_repeat_repair_within_30_days_counts_and_on_day_31_does_not(crew: dict[str, Any]) -> None:
    ann, bob = crew["ann"], crew["bob"]
    done = local("2026-03-10 12:00")
    same, later = make_customer(), make_customer()
    completed(ann, done, customer=same)
    completed(ann, done + timedelta(minutes=5), customer=later)
    # A new repair for each customer: the first on day 30 (within 30 × 24 h), the second on day 31.
    make_work_order(OrderStatus.NEW, customer=same, created_at=done + timedelta(days=29, hours=23))
    make_work_order(OrderStatus.NEW, customer=later, created_at=done + timedelta(days=30, hours=1))
    # An install for a customer does not make a repair repeat; nor does a repair created before.
    other = make_customer()
    completed(bob, done, customer=other)
    make_work_order(OrderStatus.NEW, job_type="install", customer=other, created_at=done + timedelta(days=2))
    db.session.commit()
    s = compute(date(2026, 3, 10))
    assert figure(s, "repeat_repair_rate_30d") == (1.0, 3, pytest.approx(1 / 3))
    assert orders_list("repeat_repair_rate_30d", "numerator", date(2026, 3, 10)) == \
        [db.session.scalar(select(WorkOrder.number).where(WorkOrder.customer_id == same.id,
                                                          WorkOrder.status == OrderStatus.COMPLETED))]


def test_an_install_with_a_repair_within_15_days_is_an_early_fault(crew: dict[str, Any]) -> None:
    done = local("2026-03-10 12:00")
    faulty, fine = make_customer(), make_customer()
    completed(crew["ann"], done, job_type="install", customer=faulty)
    completed(crew["ann"], done, job_type="install", customer=fine)
    make_work_order(OrderStatus.NEW, customer=faulty, created_at=done + timedelta(days=14))
    make_work_order(OrderStatus.NEW, customer=fine, created_at=done + timedelta(days=16))
    db.session.commit()
    assert figure(compute(date(2026, 3, 10)), "install_early_fault_rate_15d") == (1.0, 2, 0.5)


def test_windows_that_look_ahead_stay_provisional_until_they_have_passed(crew: dict[str, Any]) -> None:
    completed(crew["ann"], local("2026-03-10 12:00"))
    db.session.commit()
    day_end = local("2026-03-11 00:00")

    def final(now: datetime) -> dict[str, bool]:
        return {metric: row.is_final for (metric, scope, _), row in compute(date(2026, 3, 10), now=now).items()
                if scope == "company"}

    during = final(day_end - timedelta(minutes=1))
    assert not any(during.values())  # the day is not over: everything is provisional
    after = final(day_end)
    assert after["completed_orders"] and after["satisfaction_rate"]
    assert not after["repeat_repair_rate_30d"] and not after["install_early_fault_rate_15d"]
    assert not after["rating_coverage"]  # ratings of the day's jobs may still come (7-day links)
    assert final(day_end + timedelta(days=15))["install_early_fault_rate_15d"]
    assert not final(day_end + timedelta(days=30) - timedelta(seconds=1))["repeat_repair_rate_30d"]
    assert all(final(day_end + timedelta(days=30)).values())


def test_the_rating_counts_for_the_installer_who_completed_after_a_reassignment(crew: dict[str, Any]) -> None:
    ann, bob = crew["ann"], crew["bob"]
    order = completed(bob, local("2026-03-10 12:00"), visits=("needs_second_visit", "resolved"))
    # ann made the first visit, then the order went to bob, who completed it.
    db.session.execute(Visit.__table__.update().where(Visit.work_order_id == order.id, Visit.seq == 1)
                       .values(installer_id=ann.id))
    rated(order, 1, local("2026-03-10 20:00"))
    db.session.commit()
    s = compute(date(2026, 3, 10))
    assert figure(s, "dissatisfied_count", "installer", "bob") == (None, 1, 1.0)
    assert figure(s, "completed_orders", "installer", "bob") == (None, 1, 1.0)
    assert not any(scope_id == "ann" for (_, _, scope_id) in s)


def test_the_three_star_boundary(crew: dict[str, Any]) -> None:
    for score in (1, 2, 3, 4, 5):
        rated(completed(crew["ann"], local("2026-03-10 12:00")), score, local("2026-03-10 20:00"))
    db.session.commit()
    s = compute(date(2026, 3, 10))
    assert figure(s, "satisfaction_rate") == (3.0, 5, 0.6)  # 3, 4 and 5 stars
    assert figure(s, "satisfaction_rate_strict") == (1.0, 5, 0.2)
    assert figure(s, "dissatisfied_count") == (None, 2, 2.0)  # 1 and 2 stars


def test_ratings_count_in_the_period_they_were_submitted(crew: dict[str, Any]) -> None:
    order = completed(crew["ann"], local("2026-03-10 23:00"))
    rated(order, 5, local("2026-03-11 09:00"))
    db.session.commit()
    assert figure(compute(date(2026, 3, 10)), "satisfaction_rate")[1] == 0
    assert figure(compute(date(2026, 3, 11)), "satisfaction_rate")[1] == 1
    assert figure(compute(date(2026, 3, 10)), "rating_coverage") == (1.0, 1, 1.0)  # by completion day


def test_rules_apply_from_the_date_they_took_effect(crew: dict[str, Any]) -> None:
    ann = crew["ann"]
    for day in ("2026-03-10", "2026-03-20"):
        completed(ann, local(f"{day} 12:00"), visits=("customer_absent", "resolved"))
    # From 15 March the branch counts an absent customer against the installer.
    set_setting("not_installer_fault_reasons", ["no_port"], date(2026, 3, 15), actor_id=None)
    db.session.commit()
    assert figure(compute(date(2026, 3, 10)), "onsite_resolution_rate_net")[1] == 0
    assert figure(compute(date(2026, 3, 20)), "onsite_resolution_rate_net")[1] == 1


def test_recomputing_gives_identical_snapshots_and_drops_scopes_left_empty(crew: dict[str, Any]) -> None:
    ann, bob = crew["ann"], crew["bob"]
    completed(ann, local("2026-03-10 12:00"))
    moving = completed(bob, local("2026-03-10 13:00"))
    db.session.commit()

    def state(snapshots: dict[tuple[str, str, str], MetricSnapshot]) -> dict[Any, Any]:
        return {key: (r.numerator, r.denominator, r.value, r.is_final, r.computed_at) for key, r in snapshots.items()}

    first = state(compute(date(2026, 3, 10)))
    # Recomputed an hour later: the same figures, and no row rewritten (computed_at says when a
    # figure last changed).
    again = state(compute(date(2026, 3, 10), now=LATER + timedelta(hours=1)))
    assert first == again
    assert ("completed_orders", "installer", "bob") in first
    # bob's order turns out to have been completed the next day: bob has nothing left in the day.
    moving.completed_at = local("2026-03-11 09:00")
    db.session.commit()
    after = compute(date(2026, 3, 10), now=LATER + timedelta(hours=2))
    assert not any(scope_id == "bob" for (_, _, scope_id) in after)
    assert figure(after, "completed_orders") == (None, 1, 1.0)
    assert after[("completed_orders", "company", COMPANY_ID)].computed_at == LATER + timedelta(hours=2)
    assert after[("completed_orders", "installer", "ann")].computed_at == LATER  # unchanged, not rewritten
    assert len(after) == len(first) - len([key for key in first if key[2] == "bob"])


def test_a_failure_mid_period_leaves_the_previous_snapshots(crew: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    completed(crew["ann"], local("2026-03-10 12:00"))
    db.session.commit()
    before = {key: (r.denominator, r.computed_at) for key, r in compute(date(2026, 3, 10), now=LATER).items()}
    completed(crew["ann"], local("2026-03-10 13:00"))
    db.session.commit()

    statements = engine._statements

    def broken(dialect: str) -> tuple[Any, ...]:
        # Every write is made, then the last statement fails: the caller rolls back.
        *writes, _count = statements(dialect)
        return *writes, text("SELECT no_such_column FROM metric_snapshots")

    monkeypatch.setattr(engine, "_statements", broken)
    with pytest.raises(DBAPIError):
        compute_period(DAY, date(2026, 3, 10), LATER + timedelta(hours=1), TZ)
    db.session.rollback()
    rows = db.session.scalars(select(MetricSnapshot)).all()
    assert {(r.metric, r.scope_type.value, r.scope_id): (r.denominator, r.computed_at) for r in rows} == before


def orders_list(metric: str, part: str, start: date, scope: ScopeType = ScopeType.COMPANY,
                scope_id: str = COMPANY_ID, period: PeriodType = DAY) -> list[str]:
    return list(db.session.scalars(orders_behind(metric, scope, scope_id, period, start, TZ, part)))


def test_the_orders_behind_every_figure_are_the_rows_it_counted(crew: dict[str, Any]) -> None:
    ann, cat = crew["ann"], crew["cat"]
    rated(completed(ann, local("2026-03-10 09:00"), window=(local("2026-03-10 08:00"), local("2026-03-10 10:00")),
                    arrived=local("2026-03-10 08:30")), 5, local("2026-03-10 12:00"))
    rated(completed(ann, local("2026-03-10 11:00"), visits=("customer_absent", "resolved")), 2, local("2026-03-10 13:00"))
    completed(cat, local("2026-03-10 14:00"), job_type="install", district="wuchang",
              evidence={"onu_serial": "X", "rx_power_dbm": -20.0})
    db.session.commit()
    snapshots = compute(date(2026, 3, 10))
    assert len(snapshots) > len(METRICS) * 3
    for (code, scope, scope_id), row in snapshots.items():
        behind = orders_list(code, "denominator", date(2026, 3, 10), ScopeType(scope), scope_id)
        assert len(behind) == row.denominator, (code, scope, scope_id)
        if row.numerator is not None and split_code(code)[0].kind is Kind.RATE:
            counted = orders_list(code, "numerator", date(2026, 3, 10), ScopeType(scope), scope_id)
            assert len(counted) == row.numerator, (code, scope, scope_id)
            assert set(counted) <= set(behind)


def test_scopes_name_installers_teams_and_districts_by_their_codes(crew: dict[str, Any]) -> None:
    completed(crew["cat"], local("2026-03-10 12:00"), district="wuchang")
    db.session.commit()
    keys = {(scope, scope_id) for (metric, scope, scope_id) in compute(date(2026, 3, 10)) if metric == "completed_orders"}
    assert keys == {("installer", "cat"), ("team", "TB"), ("district", "wuchang"), ("company", COMPANY_ID)}


def test_a_metric_code_names_the_job_type_only_where_the_metric_is_kept_per_job_type() -> None:
    assert split_code("timeliness_rate.install")[1] == "install"
    assert split_code("timeliness_rate") == (split_code("timeliness_rate.repair")[0], None)
    for bad in ("satisfaction_rate.install", "timeliness_rate.", "nonsense", "nonsense.install"):
        with pytest.raises(KeyError):
            split_code(bad)
