"""Admin forms for reference data."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import choices
from ..workorders.evidence import EVIDENCE_FIELDS


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class JobTypeForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=64)])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=64)])
    same_day_cutoff_hour = IntegerField(
        _l("Same-day cut-off hour (empty: no same-day promise)"), validators=[Optional(), NumberRange(0, 23)])
    deadline_hours = IntegerField(_l("Deadline after the cut-off (hours)"), validators=[InputRequired(), NumberRange(1, 720)])
    required_evidence = CheckboxesField(_l("Evidence required to complete"),
                                        choices=choices(EVIDENCE_FIELDS.items()), validators=[Optional()])
    photos_required = IntegerField(_l("Photos required"), validators=[InputRequired(), NumberRange(0, 10)])
    is_active = BooleanField(_l("Active"))


class RxBandForm(FlaskForm):
    low = FloatField(_l("Lowest accepted receive power (dBm)"), validators=[InputRequired(), NumberRange(-40, 0)])
    high = FloatField(_l("Highest accepted receive power (dBm)"), validators=[InputRequired(), NumberRange(-40, 0)])

    def validate_high(self, field: FloatField) -> None:
        if self.low.data is not None and field.data is not None and field.data <= self.low.data:
            raise ValidationError(_l("Must be above the lowest value."))
