"""Jinja filters and globals every area uses: the current locale, local times, durations, and
gettext bound once per page. Each area registers its own globals with its blueprint
(`bp.add_app_template_global`), so this module knows no domain."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app, has_request_context, request, url_for
from flask_babel import format_datetime, get_locale, get_translations
from flask_babel import gettext as _
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from .db import zone

# The numeric patterns the pages use, as strftime formats: the same in every language, and much
# cheaper than Babel's pattern engine on list pages that show hundreds of times.
_PATTERNS = {"yyyy-MM-dd HH:mm": "%Y-%m-%d %H:%M", "MM-dd HH:mm": "%m-%d %H:%M", "HH:mm": "%H:%M",
             "yyyy-MM-dd": "%Y-%m-%d"}


def localtime(value: datetime | None, pattern: str = "yyyy-MM-dd HH:mm") -> str:
    """A UTC datetime shown in the operator's time zone."""
    if value is None:
        return ""
    fmt = _PATTERNS.get(pattern)
    if fmt is None:
        return format_datetime(value, pattern)
    return value.astimezone(zone()).strftime(fmt)


def duration(value: timedelta) -> str:
    """A span as days/hours/minutes, e.g. "3 h 20 min" (the sign is the caller's to say)."""
    minutes = int(abs(value.total_seconds()) // 60)
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(d)d d %(h)d h", d=days, h=hours)
    if hours:
        return _("%(h)d h %(m)d min", h=hours, m=minutes)
    return _("%(m)d min", m=minutes)


def _template_gettext(translations: Any) -> dict[str, Any]:
    """`_`, `gettext` and `ngettext` for one rendering, bound to the request's translations.

    They behave exactly as the ones Flask-Babel installs in Jinja (new-style: the result is
    escaped, then %-formatted with the keyword arguments), but look the translations up once per
    page instead of once per string: a list page calls them hundreds of times, and each lookup
    through Flask-Babel walks several context-local proxies."""
    translate, translate_plural = translations.ugettext, translations.ungettext

    @pass_context
    def gettext(context: Context, string: str, **variables: Any) -> str:
        text = translate(string)
        # The catalogue's text is ours; Markup's % escapes every variable (bandit B704 waived).
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # nosec B704

    @pass_context
    def ngettext(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        text = translate_plural(singular, plural, num)
        return (Markup(text) if context.eval_ctx.autoescape else text) % variables  # nosec B704

    return {"_": gettext, "gettext": gettext, "ngettext": ngettext}


FIXED_URLS = "fieldsvc.fixed_urls"


def fixed_url_for(endpoint: str, **values: Any) -> str:
    """`url_for` for the templates, which build the same few addresses on every page: a static
    file's (with its fingerprint) and a page's that takes no values (the menu's) are built once per
    script root and kept; any other address is built as `url_for` builds it."""
    if endpoint.startswith(".") or (values and (endpoint != "static" or values.keys() != {"filename"})):
        return url_for(endpoint, **values)
    key = (request.script_root if has_request_context() else None, endpoint, values.get("filename"))
    kept = current_app.extensions.setdefault(FIXED_URLS, {})
    address = kept.get(key)
    if address is None:
        address = kept[key] = url_for(endpoint, **values)
    return address


def icon(name: str) -> Markup:
    """An inline SVG icon from the vendored Lucide sprite (static/vendor/lucide/icons.svg), for
    decoration beside a text label: hidden from screen readers, sized by the CSS (`.icon`)."""
    href = fixed_url_for("static", filename="vendor/lucide/icons.svg") + "#" + name
    return Markup('<svg class="icon" aria-hidden="true" focusable="false"><use href="%s"></use></svg>') % href


def _is_chinese() -> bool:
    return str(get_locale() or "").startswith("zh")


def parens(text: Any) -> str:
    """`text` in brackets after what precedes it, as the reader's script writes them: "（可不填）"
    in Chinese (full width, no space), " (optional)" in English."""
    return f"（{text}）" if _is_chinese() else f" ({text})"


def colon(text: Any) -> str:
    """`text` followed by a colon and what comes next: "预约：" in Chinese, "Appointment: " in English."""
    return f"{text}：" if _is_chinese() else f"{text}: "


def init_app(app: Flask) -> None:
    """Register the template helpers."""
    app.add_template_filter(localtime, "localtime")
    app.add_template_filter(duration, "duration")
    app.add_template_global(icon, "icon")
    app.add_template_global(fixed_url_for, "url_for")
    app.add_template_filter(parens, "parens")
    app.add_template_filter(colon, "colon")

    @app.context_processor
    def locale() -> dict[str, Any]:
        return {"current_locale": str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"]),
                **_template_gettext(get_translations())}
