"""Figures as every metrics page shows them — the value (rates in percent, one decimal), "—" with
the word why, the numerator/denominator beside, each count linked to the orders it counted, and
the "provisional" mark — built in Python and registered as template globals (`metric_…`).

Jinja macros cost a new context per call and Today's table makes dozens of them on every page;
these are plain functions returning escaped Markup."""
from __future__ import annotations

from typing import Any

from flask import g, url_for
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from ..snapshots.models import PeriodType
from .definitions import Base, Kind, Metric

# The word beside "—", by what the figure counts.
EMPTY_WORDS = {Base.ORDERS: _l("no orders"), Base.FOLLOWUPS: _l("no follow-ups"), Base.RATINGS: _l("no ratings"),
               Base.VISITS: _l("no visits"), Base.SUPPORT: _l("no support requests")}
PERIOD_NAMES = {PeriodType.DAY: _l("Today"), PeriodType.WEEK: _l("This week"), PeriodType.MONTH: _l("This month")}
PROVISIONAL = _l("provisional")
PROVISIONAL_TITLE = _l("This figure can still change: its period or its follow-up window is not over.")


def _words() -> dict[Any, str]:
    """The words above in the request's language, translated once per request."""
    words = g.get("metric_words")
    if words is None:
        words = {base: str(word) for base, word in EMPTY_WORDS.items()}
        words["provisional"] = str(PROVISIONAL)
        words["provisional_title"] = str(PROVISIONAL_TITLE)
        g.metric_words = words
    return words


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def figure_text(item: Metric, value: float | None) -> str:
    """A figure as shown: a rate in percent with one decimal, a count whole, a mean with one
    decimal; "—" when there was nothing to count."""
    if value is None:
        return "—"
    if item.kind is Kind.RATE:
        return percent(value)
    if item.kind is Kind.COUNT:
        return f"{value:.0f}"
    return f"{value:.1f}"


def why_empty(item: Metric) -> str:
    """The word beside "—": why there is no figure."""
    return _words()[item.base]


def period_name(period_type: PeriodType) -> str:
    return str(PERIOD_NAMES[period_type])


def drill_url(snapshot: Any, part: str) -> str:
    """The orders behind a stored figure's numerator or denominator."""
    return url_for("metrics.orders", metric=snapshot.metric, scope=snapshot.scope_type.value, id=snapshot.scope_id,
                   period=snapshot.period_type.value, start=snapshot.period_start.isoformat(), part=part)


def _count(snapshot: Any, part: str, count: float, drill: bool) -> Markup:
    text = f"{count:g}"
    if drill and count:
        return Markup('<a href="{}" class="drill">{}</a>').format(drill_url(snapshot, part), text)
    return Markup.escape(text)


def value(item: Metric, snapshot: Any, drill: bool) -> Markup:
    """The figure, or "—" and why; a count links to its orders where the reader may drill."""
    if snapshot is None or snapshot.value is None:
        return Markup('<span class="figure-empty">—</span> <small>{}</small>').format(why_empty(item))
    text = figure_text(item, snapshot.value)
    if drill and item.kind is Kind.COUNT and snapshot.denominator:
        return Markup('<a href="{}" class="drill">{}</a>').format(drill_url(snapshot, "denominator"), text)
    return Markup.escape(text)


def fraction(item: Metric, snapshot: Any, drill: bool) -> Markup:
    """numerator/denominator beside a rate, n beside a mean, each linked to its orders."""
    if snapshot is None:
        return Markup("")
    if item.kind is Kind.RATE:
        return Markup('<span class="fraction">{}/{}</span>').format(
            _count(snapshot, "numerator", snapshot.numerator or 0, drill),
            _count(snapshot, "denominator", snapshot.denominator, drill))
    if item.kind is Kind.MEAN:
        return Markup('<span class="fraction">n = {}</span>').format(_count(snapshot, "denominator", snapshot.denominator, drill))
    return Markup("")


def provisional(snapshot: Any) -> Markup:
    """The mark of a figure that can still change."""
    if snapshot is None or snapshot.is_final:
        return Markup("")
    words = _words()
    return Markup(' <span class="badge provisional" title="{}">{}</span>').format(
        words["provisional_title"], words["provisional"])


HELPERS = (figure_text, why_empty, percent, period_name, value, fraction, provisional, drill_url)
