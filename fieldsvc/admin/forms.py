"""Admin forms for reference data."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FloatField,
    IntegerField,
    SelectField,
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

from ..certifications.models import CertificationCategory, CertificationType
from ..certifications.services import LEVELS
from ..db import column_length
from ..forms import choices
from ..workforce.models import JobType
from ..workorders.evidence import EVIDENCE_FIELDS, PHOTOS_REQUIRED, RX_BAND_SETTABLE_DBM

CATEGORY_LABELS = {
    CertificationCategory.LEGAL: _l("legal"),
    CertificationCategory.SKILL: _l("skill"),
    CertificationCategory.SERVICE: _l("service"),
}


class CheckboxesField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class JobTypeForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=column_length(JobType.name_zh))])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=column_length(JobType.name_en))])
    same_day_cutoff_hour = IntegerField(
        _l("Same-day cut-off hour (empty: no same-day promise)"), validators=[Optional(), NumberRange(0, 23)])
    deadline_hours = IntegerField(_l("Deadline after the cut-off (hours)"), validators=[InputRequired(), NumberRange(1, 720)])
    required_evidence = CheckboxesField(_l("Evidence required to complete"),
                                        choices=choices(EVIDENCE_FIELDS.items()), validators=[Optional()])
    photos_required = IntegerField(_l("Photos required"), validators=[InputRequired(), NumberRange(*PHOTOS_REQUIRED)])
    is_active = BooleanField(_l("Active"))


class RxBandForm(FlaskForm):
    low = FloatField(_l("Lowest accepted receive power (dBm)"), validators=[InputRequired(), NumberRange(*RX_BAND_SETTABLE_DBM)])
    high = FloatField(_l("Highest accepted receive power (dBm)"),
                      validators=[InputRequired(), NumberRange(*RX_BAND_SETTABLE_DBM)])

    def validate_high(self, field: FloatField) -> None:
        if self.low.data is not None and field.data is not None and field.data <= self.low.data:
            raise ValidationError(_l("Must be above the lowest value."))


_MONTHS = (1, 600)  # a validity or review cycle


class CertificationTypeForm(FlaskForm):
    code = StringField(_l("Code"), validators=[DataRequired(), Length(max=column_length(CertificationType.code))])
    name_zh = StringField(_l("Name (Chinese)"),
                          validators=[DataRequired(), Length(max=column_length(CertificationType.name_zh))])
    name_en = StringField(_l("Name (English)"),
                          validators=[DataRequired(), Length(max=column_length(CertificationType.name_en))])
    category = SelectField(_l("Category"), choices=choices((c.value, CATEGORY_LABELS[c]) for c in CertificationCategory))
    validity_months = IntegerField(_l("Valid for (months)"), validators=[InputRequired(), NumberRange(*_MONTHS)])
    review_months = IntegerField(_l("Reviewed every (months, empty: no review)"), validators=[Optional(), NumberRange(*_MONTHS)])
    renewal_window_days = IntegerField(_l("Renewal window (days before expiry)"), validators=[InputRequired(), NumberRange(0, 730)])
    min_level = IntegerField(_l("Lowest level (empty: no levels)"), validators=[Optional(), NumberRange(*LEVELS)])
    max_level = IntegerField(_l("Highest level"), validators=[Optional(), NumberRange(*LEVELS)])
    is_level_descending = BooleanField(_l("Lower level numbers are better (5 → 1)"))
    is_work_at_height = BooleanField(_l("This is the work-at-height certificate"))
    is_active = BooleanField(_l("Active"), default=True)
    # Ticked job types; each one's minimum level comes in `level-<job type code>` (see the view).
    required_by = CheckboxesField(_l("Required by job types"), validators=[Optional()], validate_choice=False)

    def validate(self, extra_validators: Any = None) -> bool:
        """Both level bounds or neither, the highest not below the lowest (checked even when
        one is empty, which per-field validators skip)."""
        valid = super().validate(extra_validators)
        low, high = self.min_level.data, self.max_level.data
        if (low is None) != (high is None):
            self.max_level.errors = [*self.max_level.errors, _l("Give both the lowest and the highest level, or neither.")]
            return False
        if low is not None and high is not None and high < low:
            self.max_level.errors = [*self.max_level.errors, _l("Must not be below the lowest level.")]
            return False
        return valid
