"""The placard's forms: printing cards and issuing a new code (staff), and the customer's phone digits
and rating on the placard's public page."""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import InputRequired, ValidationError

from .forms import RatingForm
from .lookup import DIGITS, phone_ends


class PrintForm(FlaskForm):
    """Print the placards of a team or of one installer (codes are issued to those without)."""

    team = HiddenField()
    installer = HiddenField()


class NewCodeForm(FlaskForm):
    """Retire an installer's placard code and issue a new one (CSRF only)."""


def _four_digits(form: Any, field: Any) -> None:
    if len(field.data or "") != DIGITS:
        raise ValidationError(_l("Enter the last %(n)d digits of your phone number.", n=DIGITS))


class DigitsForm(FlaskForm):
    """The customer's last 4 phone digits, to find the visit to rate."""

    digits = StringField(_l("Last 4 digits of your phone number"), filters=[phone_ends],
                         validators=[InputRequired(message=_l("Enter the last %(n)d digits of your phone number.",
                                                              n=DIGITS)), _four_digits],
                         render_kw={"inputmode": "numeric", "autocomplete": "off", "maxlength": 8})
    submit = SubmitField(_l("Find my visit"))


class PlacardRatingForm(RatingForm):
    """The rating form, for a visit picked on the placard's page (its signed pick rides along)."""

    pick = HiddenField()
