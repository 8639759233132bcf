"""Jinja globals and filters: the current locale, local times, translated labels."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Flask
from flask_babel import format_datetime, get_locale

from .workorders.labels import status_label


def localtime(value: datetime | None, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC datetime shown in the operator's time zone."""
    if value is None:
        return ""
    return format_datetime(value, pattern)


def init_app(app: Flask) -> None:
    """Register the template helpers."""
    app.add_template_filter(localtime, "localtime")
    app.add_template_global(status_label, "status_label")

    @app.context_processor
    def locale() -> dict[str, Any]:
        return {"current_locale": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"])}
