"""The form of one rule, typed by its kind in the rules registry, and the audit log's filters."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import FloatField, HiddenField, IntegerField, SelectField, StringField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from ..forms import DayField
from ..rules.registry import Kind, RuleSpec
from .forms import CheckboxesField

NOTE_LENGTH = 500


class RuleForm(FlaskForm):
    """What every rule's form asks besides the value: from when, why, and the version seen."""

    effective_from = DayField(_l("In force from"), validators=[InputRequired()])
    note = StringField(_l("Note (why the change)"), validators=[Optional(), Length(max=NOTE_LENGTH)])
    version = HiddenField()


def rule_form(spec: RuleSpec, reason_choices: list[Any], **kwargs: Any) -> RuleForm:
    """A form for `spec`: one typed `value` field, or `low`/`high` for a pair."""
    low, high = spec.bounds

    class Form(RuleForm):
        pass

    if spec.kind is Kind.COUNT:
        Form.value = IntegerField(spec.label, validators=[InputRequired(), NumberRange(int(low), int(high))])
    elif spec.kind is Kind.PERCENT:
        Form.value = FloatField(_l("%(rule)s (%%)", rule=spec.label), validators=[InputRequired(), NumberRange(0, 100)])
    elif spec.kind is Kind.HOUR_RANGE:
        Form.low = IntegerField(_l("From (hour)"), validators=[InputRequired(), NumberRange(int(low), int(high))])
        Form.high = IntegerField(_l("To (hour, not included)"), validators=[InputRequired(), NumberRange(int(low), int(high))])
    elif spec.kind is Kind.BAND:
        Form.low = FloatField(_l("Lowest (%(unit)s)", unit=spec.unit), validators=[InputRequired(), NumberRange(low, high)])
        Form.high = FloatField(_l("Highest (%(unit)s)", unit=spec.unit), validators=[InputRequired(), NumberRange(low, high)])
    else:
        Form.value = CheckboxesField(spec.label, choices=reason_choices, validators=[Optional()])
    return Form(**kwargs)


def form_value(spec: RuleSpec, form: RuleForm) -> Any:
    """The rule's value from a validated form, as stored (a percentage becomes a fraction)."""
    if spec.kind in (Kind.HOUR_RANGE, Kind.BAND):
        return [form.low.data, form.high.data]
    if spec.kind is Kind.PERCENT:
        return form.value.data / 100
    if spec.kind is Kind.REASONS:
        return list(form.value.data or [])
    return form.value.data


def form_data(spec: RuleSpec, value: Any) -> dict[str, Any]:
    """A stored value as the form's initial data (a fraction shown as a percentage)."""
    if spec.kind in (Kind.HOUR_RANGE, Kind.BAND):
        return {"low": value[0], "high": value[1]}
    if spec.kind is Kind.PERCENT:
        return {"value": round(float(value) * 100, 2)}
    return {"value": value}


class AuditFilterForm(FlaskForm):
    """The audit log's filters: a GET form (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    actor = StringField(_l("Who (employee number)"), validators=[Optional(), Length(max=32)])
    object_type = SelectField(_l("Object type"), validators=[Optional()])
    object_key = StringField(_l("Object (code, username, rule…)"), validators=[Optional(), Length(max=64)])
    action = StringField(_l("Action"), validators=[Optional(), Length(max=48)])
    date_from = DayField(_l("From"), validators=[Optional()])
    date_to = DayField(_l("To"), validators=[Optional()])
