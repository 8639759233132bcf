"""Form pieces shared by every area."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from wtforms import Form
from wtforms.fields.choices import SelectChoice

from .errors import DomainError


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
