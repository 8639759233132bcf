"""Sign-in form."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Length

from .services import MAX_PASSWORD, MAX_USERNAME


class LoginForm(FlaskForm):
    username = StringField(
        _l("Employee number"),
        validators=[DataRequired(message=_l("Enter your employee number.")), Length(max=MAX_USERNAME, message=_l("An employee number has at most %(max)d characters."))],
        render_kw={"autocomplete": "username", "autocapitalize": "none", "spellcheck": "false"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(message=_l("Enter your password.")), Length(max=MAX_PASSWORD)],
        render_kw={"autocomplete": "current-password"},
    )
    remember = BooleanField(_l("Keep me signed in on this device"))
    submit = SubmitField(_l("Sign in"))
