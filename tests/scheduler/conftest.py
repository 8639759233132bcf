"""Helpers for the scheduler's tests: a settable clock and a completed order to count."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from fieldsvc.auth.models import Role
from fieldsvc.workorders.models import OrderStatus
from tests import factories as f


class FixedClock:
    """A clock that says what the test sets (the scheduler is given its clock as a function)."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def fixed_clock() -> FixedClock:
    from tests.conftest import suite_now

    return FixedClock(suite_now())


def completed_order(completed_at: datetime, **overrides):  # type: ignore[no-untyped-def]
    """A repair completed at `completed_at` by a new installer of a new team."""
    team = f.make_team()
    installer = f.make_user(Role.INSTALLER, team=team)
    return f.make_work_order(OrderStatus.COMPLETED, assignee=installer, completed_by_id=installer.id,
                             created_at=completed_at - timedelta(hours=3), completed_at=completed_at,
                             **overrides)
