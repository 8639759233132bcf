"""Password forms: a user's change of their own, and setting one through a reset link."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from .services import MAX_PASSWORD, MIN_PASSWORD

_NEW = [DataRequired(message=_l("Enter the new password.")), Length(max=MAX_PASSWORD)]
_AGAIN = [DataRequired(message=_l("Enter the new password again.")),
          EqualTo("new", message=_l("The two new passwords differ."))]


class NewPasswordForm(FlaskForm):
    """A new password, twice (the policy itself is `services.check_password`'s)."""

    new = PasswordField(_l("New password (at least %(min)d characters)", min=MIN_PASSWORD), validators=_NEW,
                        render_kw={"autocomplete": "new-password"})
    again = PasswordField(_l("New password again"), validators=_AGAIN, render_kw={"autocomplete": "new-password"})


class ChangePasswordForm(NewPasswordForm):
    current = PasswordField(_l("Current password"), validators=[
        DataRequired(message=_l("Enter your current password.")), Length(max=MAX_PASSWORD)],
        render_kw={"autocomplete": "current-password"})
