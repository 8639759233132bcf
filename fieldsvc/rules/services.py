"""The rules in force: the latest MetricSetting row for a key that took effect by a date, else the
built-in default. Services flush; the caller commits."""
from __future__ import annotations

import hashlib
import json
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..audit.services import record
from ..db import utcnow
from ..errors import Conflict, InvalidInput
from ..extensions import db
from .models import MetricSetting
from .registry import RULES

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
    # The service standard: the customer is called to book within this many minutes of the
    # dispatch (预约及时率; a call exactly on the limit is on time).
    "booking_within_minutes": 30,
    # A follow-up (回访) of a dissatisfied rating not contacted within this many hours is overdue.
    "followup_contact_hours": 24,
    # The follow-up figures of a period stay provisional this many days after it (contacts and
    # closings still to come change them).
    "followup_window_days": 7,
    # A support request (现场支撑) with no reply from the desk this many minutes after it was raised
    # is overdue (flagged on the desk; the time-to-first-reply figures measure against it).
    "support_reply_minutes": 15,
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
    else:
        row.created_at = utcnow()  # rewritten now: the history shows when and by whom
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


def rule_rows(key: str) -> list[MetricSetting]:
    """Every dated row of rule `key`, the latest effective date first (its history)."""
    return list(db.session.scalars(
        select(MetricSetting).where(MetricSetting.key == key)
        .order_by(MetricSetting.effective_from.desc(), MetricSetting.id.desc())
    ))


def in_force(on: date) -> dict[str, MetricSetting]:
    """The row of each rule in force on `on` (a key without one runs on its built-in default), in
    one query: the rules page shows who set each value and since when."""
    rows = db.session.scalars(
        select(MetricSetting).where(MetricSetting.effective_from <= on)
        .order_by(MetricSetting.key, MetricSetting.effective_from)
    ).all()
    return {row.key: row for row in rows}  # the latest row of a key wins


def rule_version(rows: list[MetricSetting]) -> str:
    """A digest of a rule's rows (`rule_rows`), the version its form carries: any row added or
    replaced since (set_setting replaces a date's row in place, so an id alone would miss it)
    changes it."""
    state = [(r.id, r.effective_from.isoformat(), r.value, r.note, r.created_by_id) for r in rows]
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()[:32]


def put_rule(key: str, value: Any, effective_from: date, actor: Any, today: date, *,
             note: str | None = None, seen: str | None = None) -> MetricSetting:
    """Put a checked value of rule `key` in force from `effective_from` (today or later), recorded
    in the audit log ("rule.set") in the same transaction.

    A past date is refused: the snapshots computed for past periods used the old value, and a rule
    quietly rewritten behind them would leave figures that no longer match their rules. `seen` is
    the `rule_version` the admin's form showed: a rule changed by someone else since is refused
    (Conflict), not overwritten."""
    spec = RULES[key]
    value = spec.check(value)
    if effective_from < today:
        raise InvalidInput(str(_PAST), errors={"effective_from": [_PAST]})
    if seen is not None and rule_version(rule_rows(key)) != seen:
        raise Conflict(str(_l("Someone else changed this rule meanwhile; the page now shows the latest.")))
    note = (note or "").strip() or None
    current = db.session.scalar(
        select(MetricSetting).where(MetricSetting.key == key, MetricSetting.effective_from <= effective_from)
        .order_by(MetricSetting.effective_from.desc()).limit(1)
    )
    before = ({"value": DEFAULT_RULES[key], "effective_from": None, "note": None} if current is None else
              {"value": current.value, "effective_from": current.effective_from, "note": current.note})
    row = set_setting(key, value, effective_from, getattr(actor, "id", None), note)
    record(actor, "rule.set", "rule", key, before,
           {"value": row.value, "effective_from": row.effective_from, "note": row.note})
    return row


_PAST = _l("Choose today or a later day: figures already computed used the rule in force then.")
