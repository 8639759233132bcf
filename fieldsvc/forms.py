"""Form pieces shared by every area: choices, refusals shown on a form, request body limits."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import flask
from flask import current_app
from flask_babel import lazy_gettext as _l
from wtforms import DateField, Form
from wtforms.fields.choices import SelectChoice
from wtforms.validators import ValidationError

from .db import FIRST_DAY, LAST_DAY, within_days
from .errors import DomainError


class DayField(DateField):
    """A date a person picks (appointment day, filter, certificate, training session), within the
    days fieldsvc accepts (`db.FIRST_DAY` to `db.LAST_DAY`): the picker offers no other, and a typed
    year 0001 or 9999 is a field error rather than an overflow further on."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        render_kw = {"min": FIRST_DAY.isoformat(), "max": LAST_DAY.isoformat(), **(kwargs.pop("render_kw", None) or {})}
        super().__init__(*args, render_kw=render_kw, **kwargs)

    def pre_validate(self, form: Form) -> None:
        if self.data is not None and not within_days(self.data):
            raise ValidationError(_l("Must be from %(first)s to %(last)s.", first=FIRST_DAY.isoformat(),
                                     last=LAST_DAY.isoformat()))


def choices(pairs: Iterable[tuple[str, Any]]) -> list[SelectChoice]:
    """(value, label) pairs as WTForms choices (tuples are deprecated since WTForms 3.3)."""
    return [SelectChoice(value, label) for value, label in pairs]


def show_error(form: Form, error: DomainError, aliases: Mapping[str, str] | None = None, *,
               missing: str | None = None, unmet: Callable[[list[Any]], list[str]] | None = None,
               summary: bool = True) -> None:
    """Put what a service refused onto the form the user sent, the way every page shows it:
    each of the error's `errors={field: [messages]}` on that field (named through `aliases` where
    the form calls it otherwise), each `missing` field marked with the message `missing`, and the
    `unmet` requirements described (by the domain's function) as form-level errors, like
    messages about fields the form does not have. With `summary`, the error's own message comes
    first among the form-level errors when no field carries the explanation."""
    aliases = aliases or {}
    details = error.details
    on_fields = False
    for name, messages in (details.get("errors") or {}).items():
        target = aliases.get(name, name)
        if target in form:
            form[target].errors = [*form[target].errors, *(str(m) for m in messages)]
            on_fields = True
        else:
            form.form_errors.extend(str(m) for m in messages)
    if missing is not None:
        for name in details.get("missing") or []:
            target = aliases.get(name, name)
            if target in form:
                form[target].errors = [*form[target].errors, str(missing)]
                on_fields = True
    if unmet is not None:
        form.form_errors.extend(unmet(details.get("unmet") or []))
    if summary and not on_fields:
        form.form_errors.insert(0, str(error.message))


_View = TypeVar("_View", bound=Callable[..., Any])


def body_limit(max_bytes: int) -> Callable[[_View], _View]:
    """Let one view (an upload form) accept a request body of up to `max_bytes`; every other request
    keeps the app's MAX_CONTENT_LENGTH. Put it right under the route decorator. Needs `Request`."""
    def mark(view: _View) -> _View:
        view.max_content_length = max_bytes  # type: ignore[attr-defined]
        return view
    return mark


class Request(flask.Request):
    """Flask's request, whose body limit is the matched view's `body_limit` when it has one (read
    when the body is parsed, so it holds for the CSRF check that parses the form first)."""

    @property
    def max_content_length(self) -> int | None:
        if self._max_content_length is None and self.url_rule is not None and current_app:
            limit = getattr(current_app.view_functions.get(self.url_rule.endpoint), "max_content_length", None)
            if limit is not None:
                return int(limit)
        return super().max_content_length

    @max_content_length.setter
    def max_content_length(self, value: int | None) -> None:
        self._max_content_length = value
