"""fieldsvc.forms.show_error: what a service refused lands on the form the user sent."""
from __future__ import annotations

from wtforms import Form, StringField

from fieldsvc.errors import InvalidInput, RuleViolation
from fieldsvc.forms import show_error


class OrderishForm(Form):
    day = StringField()
    slot = StringField()
    notes = StringField()


def _form() -> OrderishForm:
    form = OrderishForm()
    form.validate()
    return form


def test_field_errors_go_on_their_fields_through_aliases_and_the_rest_on_the_form() -> None:
    form = _form()
    error = InvalidInput("The order has errors.", errors={"notes": ["Too long."], "appointment_end": ["Is over."],
                                                           "colour": ["Unknown."]})
    show_error(form, error, {"appointment_end": "slot"})
    assert form.notes.errors == ["Too long."] and form.slot.errors == ["Is over."]
    assert form.form_errors == ["Unknown."]  # a field explains the refusal: no summary


def test_the_message_is_the_summary_when_no_field_explains_it() -> None:
    form = _form()
    show_error(form, InvalidInput("The code is taken."))
    assert form.form_errors == ["The code is taken."] and not form.errors.get("notes")


def test_missing_fields_are_marked_and_unmet_requirements_described_after_the_summary() -> None:
    form = _form()
    error = RuleViolation("w2 may not take it.", missing=["day", "photos"],
                          unmet=[{"certification_type": "ftth", "reason": "missing"}])
    show_error(form, error, missing="Required for this job type.",
               unmet=lambda items: [f"{item['certification_type']}: {item['reason']}" for item in items])
    assert form.day.errors == ["Required for this job type."]  # a field the form lacks is not marked
    assert form.form_errors == ["ftth: missing"]


def test_without_summary_only_the_details_are_placed() -> None:
    form = _form()
    show_error(form, RuleViolation("Refused.", unmet=[{"x": 1}]), unmet=lambda items: ["one"], summary=False)
    assert form.form_errors == ["one"]
    form = _form()
    show_error(form, InvalidInput("Refused."), summary=False)
    assert form.form_errors == []
