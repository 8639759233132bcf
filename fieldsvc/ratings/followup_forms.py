"""Forms of the follow-up pages: the list's filters, recording the contact, closing."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from ..forms import DayField, choices
from ..workorders.lifecycle import MAX_NOTE
from .followups import CAUSES, OUTCOMES, STATES


def state_choices() -> list:
    names = {"pending": _l("Not closed"), "overdue": _l("Overdue"), "open": _l("Not contacted yet"),
             "contacted": _l("Contacted"), "closed": _l("Closed")}
    return choices([("", _l("All")), *((state, names[state]) for state in STATES)])


class FollowUpFilterForm(FlaskForm):
    """The list's filters: a GET form (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    state = SelectField(_l("State"), validators=[Optional()])
    team = SelectField(_l("Team"), validators=[Optional()])
    installer = StringField(_l("Installer (employee number)"), validators=[Optional(), Length(max=32)])
    outcome = SelectField(_l("Outcome"), validators=[Optional()],
                          choices=choices([("", "—"), *((o.value, label) for o, label in OUTCOMES.items())]))
    opened_from = DayField(_l("Opened from"), validators=[Optional()])
    opened_to = DayField(_l("Opened to"), validators=[Optional()])


_NOTE = [DataRequired(message=_l("Write a note: what the customer said, what was agreed.")), Length(max=MAX_NOTE)]


class ContactForm(FlaskForm):
    version = IntegerField(validators=[InputRequired()])
    note = TextAreaField(_l("What did the customer say?"), validators=_NOTE)


class CloseForm(FlaskForm):
    version = IntegerField(validators=[InputRequired()])
    outcome = SelectField(_l("Outcome"), validators=[InputRequired(message=_l("Choose an outcome."))],
                          choices=choices([("", "—"), *((o.value, label) for o, label in OUTCOMES.items())]))
    cause = SelectField(_l("Cause of the dissatisfaction (reclassify)"), validators=[Optional()],
                        choices=choices([("", _l("not classified")), *((c.value, cause.label) for c, cause in CAUSES.items())]))
    revisit_job_type = SelectField(_l("Revisit as (when a revisit is booked)"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=_NOTE)
