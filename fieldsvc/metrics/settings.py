"""The metric rules in force: the latest MetricSetting row for a key that took effect by a date."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..reference import METRIC_SETTINGS
from .models import MetricSetting


def setting(key: str, on: date) -> Any:
    """The value of rule `key` in force on `on` (the built-in default when no row exists)."""
    value = db.session.scalar(
        select(MetricSetting.value)
        .where(MetricSetting.key == key, MetricSetting.effective_from <= on)
        .order_by(MetricSetting.effective_from.desc())
        .limit(1)
    )
    return METRIC_SETTINGS[key] if value is None else value


def set_setting(key: str, value: Any, effective_from: date, actor_id: int | None, note: str | None = None) -> MetricSetting:
    """Put a rule in force from `effective_from` (a row for that date is replaced; history stays)."""
    if key not in METRIC_SETTINGS:
        raise KeyError(key)
    row = db.session.scalar(select(MetricSetting).where(MetricSetting.key == key, MetricSetting.effective_from == effective_from))
    if row is None:
        row = MetricSetting(key=key, effective_from=effective_from)
        db.session.add(row)
    row.value, row.created_by_id, row.note = value, actor_id, note
    db.session.flush()
    return row
