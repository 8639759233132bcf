"""replay_events: an order's state from its event trail alone, and refusing a trail with a gap."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from fieldsvc.workorders.replay import replay_events


def trail(*steps: tuple) -> list[SimpleNamespace]:
    """Events as (action, from, to[, data]) — rows of those columns, as a benchmark would read them."""
    return [SimpleNamespace(action=a, from_status=b, to_status=c, data=d[0] if d else None) for a, b, c, *d in steps]


def test_a_revisit_then_a_reassignment_and_a_completion() -> None:
    events = trail(
        ("create", None, "new"), ("assign", "new", "assigned", {"assignee": "w1", "previous": None}),
        ("accept", "assigned", "accepted"), ("arrive", "accepted", "on_site"),
        ("leave_unresolved", "on_site", "accepted", {"reason": "customer_absent"}),
        ("book", "accepted", "accepted", {"appointment_start": "x", "appointment_end": "y"}),
        ("assign", "accepted", "assigned", {"assignee": "w4", "previous": "w1"}),
        ("accept", "assigned", "accepted"), ("depart", "accepted", "en_route"), ("arrive", "en_route", "on_site"),
        ("complete", "on_site", "completed", {"evidence": {}}),
    )
    assert replay_events(events) == {
        "status": "completed", "assignee": "w4", "events": 11,
        "visits": [{"seq": 1, "installer": "w1", "outcome": "not_resolved", "reason": "customer_absent"},
                   {"seq": 2, "installer": "w4", "outcome": "resolved", "reason": None}],
    }


def test_cancelling_on_site_closes_the_visit_and_unassigning_keeps_the_visits() -> None:
    on_site = [("create", None, "new"), ("assign", "new", "assigned", {"assignee": "w1", "previous": None}),
               ("accept", "assigned", "accepted"), ("arrive", "accepted", "on_site")]
    cancelled = replay_events(trail(*on_site, ("cancel", "on_site", "cancelled", {"reason": "moved"})))
    assert (cancelled["status"], cancelled["assignee"]) == ("cancelled", "w1")
    assert cancelled["visits"] == [{"seq": 1, "installer": "w1", "outcome": "not_resolved", "reason": "customer_cancel"}]
    unassigned = replay_events(trail(*on_site, ("leave_unresolved", "on_site", "accepted", {"reason": "weather"}),
                                     ("unassign", "accepted", "new", {"previous": "w1"}),
                                     ("edit", "new", "new", {"priority": ["normal", "high"]})))
    assert (unassigned["status"], unassigned["assignee"], len(unassigned["visits"])) == ("new", None, 1)
    assert replay_events([]) == {"status": None, "assignee": None, "visits": [], "events": 0}


@pytest.mark.parametrize(("steps", "message"), [
    ((("assign", None, "assigned", {"assignee": "w1"}),), "starts with create"),
    ((("create", None, "new"), ("accept", "assigned", "accepted")), "starts from assigned, but the order was new"),
    ((("create", None, "new"), ("complete", "new", "completed")), "no visit is open"),
    ((("create", None, "new"), ("arrive", "new", "on_site"), ("arrive", "on_site", "on_site")), "still open"),
])
def test_a_trail_with_a_gap_is_refused(steps: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        replay_events(trail(*steps))
