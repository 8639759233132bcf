"""Forms of the certification and training pages."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    IntegerField,
    SelectField,
    StringField,
    TimeField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from ..db import INTEGER_RANGE, column_length
from ..forms import DayField, choices
from .models import Certification, TrainingSession
from .services import LEVELS, MAX_EVIDENCE, MAX_REVOKE_REASON
from .training import SCORE_RANGE

HORIZON_DAYS = (30, 60, 90)  # how far ahead the dashboard looks for expiries and reviews; the last is the default


class DashboardFilterForm(FlaskForm):
    """The dashboard's filters: a GET form (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    team = SelectField(_l("Team"), validators=[Optional()])
    district = SelectField(_l("District"), validators=[Optional()])
    type = SelectField(_l("Certification"), validators=[Optional()])
    horizon = SelectField(_l("Expiring or due within"), validators=[Optional()], default=str(HORIZON_DAYS[-1]),
                          choices=choices((str(days), _l("%(n)d days", n=days)) for days in HORIZON_DAYS))

    def horizon_days(self) -> int:
        """The horizon chosen (after `validate`), the default when the choice is missing or invalid."""
        return int(self.horizon.data) if self.horizon.data and not self.horizon.errors else HORIZON_DAYS[-1]


class EnrolForm(FlaskForm):
    session_id = IntegerField(validators=[InputRequired(), NumberRange(1, INTEGER_RANGE[1])])
    username = SelectField(_l("Installer"), validators=[InputRequired()], validate_choice=False)


class ResultForm(FlaskForm):
    attended = BooleanField(_l("Attended"))
    score = IntegerField(_l("Score"), validators=[Optional(), NumberRange(*SCORE_RANGE)])


class SessionForm(FlaskForm):
    course = SelectField(_l("Course"), validators=[InputRequired()])
    day = DayField(_l("Day"), validators=[InputRequired()])
    starts = TimeField(_l("Starts"), validators=[InputRequired()])
    ends = TimeField(_l("Ends"), validators=[InputRequired()])
    place = StringField(_l("Place"), validators=[DataRequired(), Length(max=column_length(TrainingSession.place))])
    trainer = StringField(_l("Trainer"), validators=[DataRequired(), Length(max=column_length(TrainingSession.trainer))])
    capacity = IntegerField(_l("Seats"), validators=[InputRequired(), NumberRange(1, 500)])

    def validate_ends(self, field: TimeField) -> None:
        if self.starts.data and field.data and field.data <= self.starts.data:
            raise ValidationError(_l("Must be after the start."))


class RecordForm(FlaskForm):
    """Record a certificate an installer obtained (a renewal is a new one)."""

    type = SelectField(_l("Certification"), validators=[InputRequired()])
    issued_on = DayField(_l("Issued on"), validators=[InputRequired()])
    level = IntegerField(_l("Level (for types with levels)"), validators=[Optional(), NumberRange(*LEVELS)])
    number = StringField(_l("Certificate number"), validators=[Optional(), Length(max=column_length(Certification.number))])
    evidence = StringField(_l("Evidence (issuer, training record…)"), validators=[Optional(), Length(max=MAX_EVIDENCE)])


class RevokeForm(FlaskForm):
    reason = StringField(_l("Why is it revoked?"),
                         validators=[DataRequired(message=_l("Say why.")), Length(max=MAX_REVOKE_REASON)])
