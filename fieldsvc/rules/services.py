"""The rules in force: the latest MetricSetting row for a key that took effect by a date, else the
built-in default. Services flush; the caller commits."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from ..extensions import db
from .models import MetricSetting

# The rules of PRODUCT.md §4 and their defaults, in force from this date unless an admin adds a
# later row (`fieldsvc seed-reference` writes these rows; a key with no row uses its default here).
RULES_EFFECTIVE_FROM = date(2020, 1, 1)
DEFAULT_RULES: dict[str, Any] = {
    "not_installer_fault_reasons": [
        "customer_absent", "customer_reschedule", "customer_cancel", "no_port", "no_coverage",
        "line_fault", "property_access", "weather", "customer_device",
    ],
    "repeat_repair_window_days": 30,
    "install_early_fault_window_days": 15,
    "ranking_min_completed_orders": 30,
    "ranking_min_ratings": 20,
    "onsite_resolution_target": 0.90,
    "satisfaction_target": 0.99,
    "rx_power_band_dbm": [-27.0, -8.0],
    "survey_link_days": 7,
    # An unrated rating link gets its one reminder this many hours after the order was completed,
    # sent only between these local hours [from, to) (a text at 03:00 helps nobody).
    "rating_reminder_after_hours": 24,
    "rating_reminder_hours": [9, 21],
    "installer_daily_capacity": 8,
    # A follow-up (回访) of a dissatisfied rating not contacted within this many hours is overdue.
    "followup_contact_hours": 24,
    # The follow-up figures of a period stay provisional this many days after it (contacts and
    # closings still to come change them).
    "followup_window_days": 7,
}


def setting(key: str, on: date) -> Any:
    """The value of rule `key` in force on `on` (the built-in default when no row exists)."""
    value = db.session.scalar(
        select(MetricSetting.value)
        .where(MetricSetting.key == key, MetricSetting.effective_from <= on)
        .order_by(MetricSetting.effective_from.desc())
        .limit(1)
    )
    return DEFAULT_RULES[key] if value is None else value


def set_setting(key: str, value: Any, effective_from: date, actor_id: int | None, note: str | None = None) -> MetricSetting:
    """Put a rule in force from `effective_from` (a row for that date is replaced; history stays)."""
    if key not in DEFAULT_RULES:
        raise KeyError(key)
    row = db.session.scalar(select(MetricSetting).where(MetricSetting.key == key, MetricSetting.effective_from == effective_from))
    if row is None:
        row = MetricSetting(key=key, effective_from=effective_from)
        db.session.add(row)
    row.value, row.created_by_id, row.note = value, actor_id, note
    db.session.flush()
    return row


def settings_on(on: date) -> dict[str, Any]:
    """Every rule in force on `on`, in one query (the built-in default where no row exists)."""
    rows = db.session.execute(
        select(MetricSetting.key, MetricSetting.value)
        .where(MetricSetting.effective_from <= on)
        .order_by(MetricSetting.key, MetricSetting.effective_from)
    ).all()
    rules = dict(DEFAULT_RULES)
    rules.update({key: value for key, value in rows if key in DEFAULT_RULES})  # the latest row wins
    return rules
