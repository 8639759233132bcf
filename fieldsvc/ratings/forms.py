"""The customer's rating form: the city's 1–5 star scale."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import HiddenField, RadioField, SelectField, SubmitField, TextAreaField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

from ..forms import DayField, choices
from .models import COMMENT_MAX_LENGTH, PraiseChannel

STARS = choices([
    ("5", _l("★★★★★ Satisfied")),
    ("4", _l("★★★★ Fairly satisfied")),
    ("3", _l("★★★ Fairly satisfied")),
    ("2", _l("★★ Dissatisfied")),
    ("1", _l("★ Dissatisfied")),
])
DIMENSION = choices((str(n), str(n)) for n in range(5, 0, -1))


class RatingForm(FlaskForm):
    score = RadioField(_l("How satisfied are you with this visit?"), choices=STARS,
                       validators=[DataRequired(message=_l("Choose a rating."))])
    punctuality = RadioField(_l("Punctuality"), choices=DIMENSION, validators=[Optional()])
    professionalism = RadioField(_l("Professionalism"), choices=DIMENSION, validators=[Optional()])
    result = RadioField(_l("Result"), choices=DIMENSION, validators=[Optional()])
    # Stripped first, so the limit counts what is kept; the textarea's maxlength stops typing there.
    comment = TextAreaField(_l("Anything to tell us? (optional)"), filters=[lambda text: text.strip() if text else text],
                            validators=[Optional(), Length(max=COMMENT_MAX_LENGTH, message=_l(
                                "A comment has at most %(n)d characters.", n=COMMENT_MAX_LENGTH))])
    submit = SubmitField(_l("Send my rating"))


def as_int(value: str | None) -> int | None:
    return int(value) if value else None


class RemindersForm(FlaskForm):
    """Rating reminders on or off for the order's customer (job page, rating page)."""

    reminders = HiddenField(validators=[DataRequired(), AnyOf(["on", "off"])])


PRAISE_NOTE_MAX = 1000
PRAISE_CHANNELS = (
    (PraiseChannel.LETTER, _l("Thank-you letter")),
    (PraiseChannel.BANNER, _l("Banner (锦旗)")),
    (PraiseChannel.CALL, _l("Phone call")),
    (PraiseChannel.OTHER, _l("Other")),
)


class PraiseForm(FlaskForm):
    """A compliment that came by letter, banner, call… for one installer."""

    installer = SelectField(_l("Installer"), validators=[DataRequired(message=_l("Choose the installer."))])
    received_on = DayField(_l("Received on"), validators=[DataRequired()])
    channel = SelectField(_l("How it came"), choices=choices((c.value, label) for c, label in PRAISE_CHANNELS),
                          validators=[DataRequired()])
    note = TextAreaField(_l("What it said"), validators=[DataRequired(), Length(max=PRAISE_NOTE_MAX)])
    photo = FileField(_l("Photo (optional)"))
    submit = SubmitField(_l("Record the praise"))
