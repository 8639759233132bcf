"""Forms of on-site support: asking for help on the job page, and the desk's steps."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import FloatField, IntegerField, SelectField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..forms import choices
from ..workorders.lifecycle import MAX_NOTE
from .categories import SUPPORT_CATEGORIES
from .services import READING_RANGE, RESOLUTIONS


class AskForm(FlaskForm):
    """The installer's call for help: what with, a few words, and a photo or reading if useful."""

    category = SelectField(_l("What do you need help with?"),
                           validators=[InputRequired(message=_l("Choose a category."))],
                           choices=choices([("", "—"), *SUPPORT_CATEGORIES.items()]))
    note = TextAreaField(_l("What is wrong?"), validators=[DataRequired(message=_l("Say in a few words what is wrong.")),
                                                           Length(max=MAX_NOTE)])
    reading_dbm = FloatField(_l("Optical reading (dBm, optional)"),
                             validators=[Optional(), NumberRange(min=READING_RANGE[0], max=READING_RANGE[1])])
    photo = FileField(_l("Photo (optional)"))


class StepForm(FlaskForm):
    """Take, or "solved, thanks": the version seen is all they carry."""

    version = IntegerField(validators=[InputRequired()])


class ReplyForm(FlaskForm):
    version = IntegerField(validators=[InputRequired()])
    body = TextAreaField(_l("Reply to the installer"), validators=[DataRequired(message=_l("Write the reply.")),
                                                                   Length(max=MAX_NOTE)])


class ResolveForm(FlaskForm):
    version = IntegerField(validators=[InputRequired()])
    resolution = SelectField(_l("How did it end?"), validators=[InputRequired(message=_l("Choose one."))],
                             choices=choices([("", "—"), *((r.value, label) for r, label in RESOLUTIONS.items())]))
    note = TextAreaField(_l("Last word to the installer (optional)"), validators=[Optional(), Length(max=MAX_NOTE)])
