"""The customer's rating form: the city's 1–5 star scale."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..forms import choices
from .models import COMMENT_MAX_LENGTH

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
