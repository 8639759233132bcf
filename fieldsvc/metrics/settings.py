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
