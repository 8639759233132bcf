"""The follow-up figures of the metrics engine on hand-built data with known answers: opened in the
period (by the bad rating's time), contacted by the deadline fixed when it opened, closed, by
outcome; in every scope; provisional while contacts and closings may still come; the ratings
counted as the customer gave them, whatever the follow-up found."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest

from fieldsvc.extensions import db
from fieldsvc.ratings.models import FollowUp, FollowUpCause, FollowUpOutcome, FollowUpStatus
from fieldsvc.snapshots.models import ScopeType
from tests.factories import make_team, make_user
from tests.metrics.test_engine import completed, compute, figure, local, orders_list, rated

DAY = date(2026, 3, 10)


@pytest.fixture
def people(app_ctx: Any) -> dict[str, Any]:
    team = make_team(code="TA", districts=("hongshan", "wuchang"))
    other = make_team(code="TB", districts=("wuchang",))
    return {"ann": make_user(username="ann", team=team), "bob": make_user(username="bob", team=team),
            "cat": make_user(username="cat", team=other)}


def bad(installer: Any, rated_at: datetime, *, contacted: datetime | None = None, outcome: FollowUpOutcome | None = None,
        district: str = "hongshan", **extra: Any) -> FollowUp:
    """A 1-star rating at `rated_at` of an order `installer` completed an hour before, and its
    follow-up (24 h to contact), contacted and closed as given."""
    order = completed(installer, rated_at - timedelta(hours=1), district=district)
    response = rated(order, 1, rated_at)
    followup = FollowUp(response_id=response.id, work_order_id=order.id, installer_id=installer.id,
                        opened_at=rated_at, contact_due_at=rated_at + timedelta(hours=24), **extra)
    if contacted is not None:
        followup.status, followup.contacted_at, followup.contacted_by_id = FollowUpStatus.CONTACTED, contacted, installer.id
    if outcome is not None:
        followup.status, followup.closed_at, followup.outcome = FollowUpStatus.CLOSED, contacted, outcome
    db.session.add(followup)
    db.session.flush()
    return followup


def test_follow_up_figures_of_a_day_for_every_scope(people: dict[str, Any]) -> None:
    ann, bob, cat = people["ann"], people["bob"], people["cat"]
    # ann: contacted after 5 h and resolved; contacted after 25 h (late) and a revisit booked.
    a1 = bad(ann, local("2026-03-10 10:00"), contacted=local("2026-03-10 15:00"), outcome=FollowUpOutcome.RESOLVED)
    a2 = bad(ann, local("2026-03-10 12:00"), contacted=local("2026-03-11 13:00"), outcome=FollowUpOutcome.REVISIT_BOOKED)
    # bob: rated just before local midnight, nobody has called yet.
    bad(bob, local("2026-03-10 23:30"))
    # cat (the other team, in Wuchang): contacted in time, then found not to be the installer's fault.
    bad(cat, local("2026-03-10 09:00"), contacted=local("2026-03-10 09:30"), district="wuchang",
        outcome=FollowUpOutcome.NOT_INSTALLER_FAULT, cause=FollowUpCause.NETWORK_QUALITY, counts_against_installer=False)
    # Opened after local midnight: the next day's.
    bad(ann, local("2026-03-11 00:10"))
    db.session.commit()

    s = compute(DAY)
    assert figure(s, "followups_opened") == (None, 4, 4.0)
    assert figure(s, "followup_contacted_in_time_rate") == (2.0, 4, 0.5)
    assert figure(s, "followups_closed") == (None, 3, 3.0)
    assert figure(s, "followups_resolved") == (None, 1, 1.0)
    assert figure(s, "followups_revisit_booked") == (None, 1, 1.0)
    assert figure(s, "followups_not_installer_fault") == (None, 1, 1.0)
    assert figure(s, "followups_explained") == (None, 0, 0.0)
    assert figure(s, "followups_customer_unreachable") == (None, 0, 0.0)
    # The ratings count as the customer gave them: cat's reclassified one is still dissatisfied.
    assert figure(s, "dissatisfied_count") == (None, 4, 4.0)
    assert figure(s, "dissatisfied_count", "installer", "cat") == (None, 1, 1.0)

    assert figure(s, "followups_opened", "installer", "ann") == (None, 2, 2.0)
    assert figure(s, "followup_contacted_in_time_rate", "installer", "ann") == (1.0, 2, 0.5)
    assert figure(s, "followup_contacted_in_time_rate", "installer", "bob") == (0.0, 1, 0.0)
    assert figure(s, "followups_closed", "installer", "bob") == (None, 0, 0.0)
    assert figure(s, "followup_contacted_in_time_rate", "team", "TA") == (1.0, 3, pytest.approx(1 / 3))
    assert figure(s, "followups_opened", "team", "TB") == (None, 1, 1.0)
    assert figure(s, "followups_opened", "district", "wuchang") == (None, 1, 1.0)
    assert figure(compute(date(2026, 3, 11)), "followups_opened") == (None, 1, 1.0)

    # The orders behind a figure are the rows it counted.
    numbers = {f.id: f.work_order.number for f in (a1, a2)}
    assert orders_list("followups_closed", "denominator", DAY, ScopeType.INSTALLER, "ann") == sorted(numbers.values())
    assert orders_list("followup_contacted_in_time_rate", "numerator", DAY, ScopeType.INSTALLER, "ann") == [numbers[a1.id]]


def test_follow_up_figures_stay_provisional_for_the_window(people: dict[str, Any]) -> None:
    bad(people["ann"], local("2026-03-10 10:00"))
    db.session.commit()
    day_end = local("2026-03-11 00:00")

    def final(now: datetime) -> dict[str, bool]:
        return {metric: row.is_final for (metric, scope, _), row in compute(DAY, now=now).items()
                if scope == "company" and metric.startswith("followup")}

    after = final(day_end)
    assert after.pop("followups_opened") and not any(after.values())  # contacts and closings may still come
    assert all(final(day_end + timedelta(days=7)).values())  # followup_window_days
