"""What each rule is: its label, group, kind and bounds, described once so that the rules page, the
validation of a new value and the README speak of the same thing. A key of `DEFAULT_RULES` without
an entry here fails tests/admin/test_rules.py."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l

from ..errors import InvalidInput, number_text


class Kind(enum.Enum):
    """How a rule's value is typed, entered and checked."""

    COUNT = "count"  # a whole number within the bounds (days, hours, orders…)
    PERCENT = "percent"  # stored as a fraction 0–1, entered and shown as a percentage 0–100
    HOUR_RANGE = "hour_range"  # [from, to) local hours, whole, 0–24, from before to
    BAND = "band"  # [low, high] numbers within the bounds, low below high
    REASONS = "reasons"  # a list of reason codes (from the reasons for leaving unresolved)


@dataclass(frozen=True)
class Group:
    code: str
    label: Any


GROUPS = (
    Group("deadlines", _l("Deadlines")),
    Group("dispatch", _l("Dispatch capacity")),
    Group("targets", _l("Metric targets")),
    Group("windows", _l("Metric windows")),
    Group("samples", _l("Minimum samples for rankings")),
    Group("counting", _l("What counts against the installer")),
    Group("evidence", _l("Completion evidence")),
    Group("followups", _l("Follow-ups")),
    Group("ratings", _l("Rating links and reminders")),
    Group("support", _l("On-site support")),
)


@dataclass(frozen=True)
class RuleSpec:
    """One rule: `bounds` are the lowest and highest value accepted (for a pair: of each end)."""

    key: str
    group: str
    kind: Kind
    label: Any
    bounds: tuple[float, float] = (0, 0)
    unit: Any = ""

    def check(self, value: Any) -> Any:
        """`value` as stored when it fits this rule; else InvalidInput with `errors={"value": […]}`."""
        low, high = self.bounds
        out_of_range = _l("Must be from %(low)s to %(high)s.", low=number_text(low), high=number_text(high))
        if self.kind is Kind.COUNT:
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise _invalid(out_of_range)
            return value
        if self.kind is Kind.PERCENT:
            if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
                raise _invalid(_l("Must be a percentage from 0 to 100."))
            return round(float(value), 4)  # a percentage with two decimals is precise enough
        if self.kind in (Kind.HOUR_RANGE, Kind.BAND):
            whole = self.kind is Kind.HOUR_RANGE
            if (not isinstance(value, list | tuple) or len(value) != 2
                    or any(isinstance(v, bool) or not isinstance(v, int if whole else int | float) for v in value)):
                raise _invalid(_l("Give both ends."))
            first, last = (int(v) if whole else float(v) for v in value)
            if not (low <= first <= high and low <= last <= high):
                raise _invalid(out_of_range)
            if last <= first:
                raise _invalid(_l("The end must be above the start."))
            return [first, last]
        if (not isinstance(value, list | tuple) or not all(isinstance(v, str) and v for v in value)
                or len(set(value)) != len(value)):
            raise _invalid(_l("Choose reasons from the list."))
        return sorted(value)


def _invalid(message: Any) -> InvalidInput:
    return InvalidInput(str(message), errors={"value": [message]})


_DAYS, _HOURS, _ORDERS = _l("days"), _l("hours"), _l("orders")
_SPECS = (
    RuleSpec("installer_daily_capacity", "dispatch", Kind.COUNT, _l("Jobs an installer takes a day"), (1, 50), _ORDERS),
    RuleSpec("booking_within_minutes", "dispatch", Kind.COUNT, _l("Call the customer to book within (of dispatch)"),
             (1, 1440), _l("minutes")),
    RuleSpec("onsite_resolution_target", "targets", Kind.PERCENT, _l("On-site resolution rate target")),
    RuleSpec("satisfaction_target", "targets", Kind.PERCENT, _l("Satisfaction rate target")),
    RuleSpec("repeat_repair_window_days", "windows", Kind.COUNT, _l("Repeat repair window"), (1, 365), _DAYS),
    RuleSpec("install_early_fault_window_days", "windows", Kind.COUNT, _l("Early fault after install window"),
             (1, 365), _DAYS),
    RuleSpec("ranking_min_completed_orders", "samples", Kind.COUNT, _l("Completed orders to be ranked"), (0, 10_000),
             _ORDERS),
    RuleSpec("ranking_min_ratings", "samples", Kind.COUNT, _l("Ratings to be ranked"), (0, 10_000), _l("ratings")),
    RuleSpec("not_installer_fault_reasons", "counting", Kind.REASONS,
             _l("Reasons that do not count against the installer (net on-site resolution)")),
    # The same bounds as the completion form's check (workorders.evidence reads them from here).
    RuleSpec("rx_power_band_dbm", "evidence", Kind.BAND, _l("Accepted optical receive power"), (-40, 0), "dBm"),
    RuleSpec("followup_contact_hours", "followups", Kind.COUNT, _l("Contact a dissatisfied customer within"),
             (1, 720), _HOURS),
    RuleSpec("followup_window_days", "followups", Kind.COUNT, _l("Follow-up figures stay provisional for"),
             (1, 90), _DAYS),
    RuleSpec("support_reply_minutes", "support", Kind.COUNT, _l("The support desk replies within"), (1, 240),
             _l("minutes")),
    RuleSpec("survey_link_days", "ratings", Kind.COUNT, _l("A rating link is valid for"), (1, 90), _DAYS),
    RuleSpec("rating_reminder_after_hours", "ratings", Kind.COUNT, _l("Remind an unrated customer after"),
             (1, 168), _HOURS),
    RuleSpec("rating_reminder_hours", "ratings", Kind.HOUR_RANGE, _l("Reminders are sent between (local hours)"),
             (0, 24)),
)
RULES: dict[str, RuleSpec] = {spec.key: spec for spec in _SPECS}
