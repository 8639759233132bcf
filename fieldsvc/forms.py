"""Form pieces shared by every area."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

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
