"""Replaying an order's event trail from scratch: what status, assignee and visits the events
alone describe, to hold against the order as stored (the lifecycle tests and the benchmarks)."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from .lifecycle import CANCELLED_VISIT_REASON


def replay_events(events: Iterable[Any]) -> dict[str, Any]:
    """The state an order's events describe, applied in order from its `create`: {"status",
    "assignee" (a username or None), "visits": [{"seq", "installer", "outcome", "reason"}],
    "events" (how many: an order's version once its trail is whole)}. `events` are
    WorkOrderEvents or rows with their `action`, `from_status`, `to_status` and `data`. A trail
    that does not hold together (a step from another status than the one reached, a visit closed
    that was never opened) is a ValueError naming the event."""
    status: str | None = None
    assignee: str | None = None
    visits: list[dict[str, Any]] = []
    count = 0
    for count, event in enumerate(events, start=1):
        data = event.data or {}
        where = f"event {count} ({event.action})"
        if count == 1 and event.action != "create":
            raise ValueError(f"{where}: a trail starts with create")
        if event.from_status != status:
            raise ValueError(f"{where} starts from {event.from_status}, but the order was {status}")
        opened = visits[-1] if visits and visits[-1]["outcome"] is None else None
        if event.action == "assign":
            assignee = data["assignee"]
        elif event.action == "unassign":
            assignee = None
        elif event.action == "arrive":
            if opened is not None:
                raise ValueError(f"{where}: visit {opened['seq']} is still open")
            visits.append({"seq": len(visits) + 1, "installer": assignee, "outcome": None, "reason": None})
        elif event.action in ("complete", "leave_unresolved"):
            if opened is None:
                raise ValueError(f"{where}: no visit is open")
            opened["outcome"] = "resolved" if event.action == "complete" else "not_resolved"
            opened["reason"] = data.get("reason") if event.action == "leave_unresolved" else None
        elif event.action == "cancel" and opened is not None:
            opened["outcome"], opened["reason"] = "not_resolved", CANCELLED_VISIT_REASON
        status = event.to_status
    return {"status": status, "assignee": assignee, "visits": visits, "events": count}
