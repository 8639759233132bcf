"""Forms of the teams, districts and API-token pages (format and required fields; the rules are in
workforce.services and auth.services)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..auth.models import ApiToken
from ..db import column_length
from ..workforce.models import District, Team
from .forms import CheckboxesField


class TeamForm(FlaskForm):
    # Only the creation page shows the code: it is fixed once the team exists.
    code = StringField(_l("Code"), validators=[Optional(), Length(max=column_length(Team.code))])
    name_zh = StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=column_length(Team.name_zh))])
    name_en = StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=column_length(Team.name_en))])
    home_district = SelectField(_l("Home district"), validators=[DataRequired()])
    districts = CheckboxesField(_l("Districts served"), validators=[DataRequired()])
    is_active = BooleanField(_l("Active"), default=True)
    seen = HiddenField()  # workforce.services.state_tag of the team as the editor saw it


class DistrictForm(FlaskForm):
    name_zh = StringField(_l("Name (Chinese)"),
                          validators=[DataRequired(), Length(max=column_length(District.name_zh))])
    name_en = StringField(_l("Name (English)"),
                          validators=[DataRequired(), Length(max=column_length(District.name_en))])
    seen = HiddenField()


class TokenForm(FlaskForm):
    name = StringField(_l("What the token is for"),
                       validators=[DataRequired(), Length(max=column_length(ApiToken.name))])


class ConfirmForm(FlaskForm):
    """A button's form: its CSRF token only (revoking a token)."""
