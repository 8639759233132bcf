"""The admin's forms for people: the list's filters, a person's details, and the plain buttons
(deactivate, reactivate, reset link) that carry only their CSRF token."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ..auth.models import EmployerType, Role, User
from ..db import column_length
from ..forms import choices
from .forms import CheckboxesField

ROLE_LABELS = {Role.INSTALLER: _l("installer"), Role.SUPERVISOR: _l("supervisor"), Role.ADMIN: _l("admin")}
EMPLOYER_LABELS = {EmployerType.STAFF: _l("staff"), EmployerType.CONTRACTOR: _l("contractor")}


class PeopleFilterForm(FlaskForm):
    """The list's filters: a GET form (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = StringField(_l("Name, employee number or phone"), validators=[Optional(), Length(max=64)])
    role = SelectField(_l("Role"), validators=[Optional()],
                       choices=choices([("", "—"), *((r.value, label) for r, label in ROLE_LABELS.items())]))
    team = SelectField(_l("Team"), validators=[Optional()])
    employer = SelectField(_l("Employer"), validators=[Optional()],
                           choices=choices([("", "—"), *((e.value, label) for e, label in EMPLOYER_LABELS.items())]))
    active = SelectField(_l("Status"), validators=[Optional()],
                         choices=choices([("", "—"), ("1", _l("active")), ("0", _l("inactive"))]))


class PersonForm(FlaskForm):
    """A person's details; the username only when creating (it is the employee number, kept for
    life). `seen` is the fingerprint of the person as the page showed them."""

    username = StringField(_l("Employee number"), validators=[
        DataRequired(message=_l("Enter the employee number.")), Length(max=column_length(User.username)),
        Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Letters, digits, dots, dashes and underscores only."))],
        render_kw={"autocapitalize": "none", "spellcheck": "false"})
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Enter a name.")),
                                               Length(max=column_length(User.name))])
    name_en = StringField(_l("Name (English)"), validators=[Optional(), Length(max=column_length(User.name_en))])
    phone = StringField(_l("Phone"), validators=[Optional(), Length(max=column_length(User.phone)),
                                                 Regexp(r"^\+?[0-9 -]{5,}$", message=_l("Digits only."))],
                        render_kw={"inputmode": "tel", "autocomplete": "off"})
    role = SelectField(_l("Role"), choices=choices((r.value, label) for r, label in ROLE_LABELS.items()))
    employer_type = SelectField(_l("Employer"),
                                choices=choices((e.value, label) for e, label in EMPLOYER_LABELS.items()))
    team = SelectField(_l("Team (installers)"), validators=[Optional()], validate_choice=False)
    supervised = CheckboxesField(_l("Teams supervised (supervisors)"), validators=[Optional()], validate_choice=False)
    seen = HiddenField()


class ButtonForm(FlaskForm):
    """A button that posts only its CSRF token."""


class ResetLinkForm(FlaskForm):
    """Make a reset link; optionally text it to the person's phone."""

    send_sms = BooleanField(_l("Also send it by text message to their phone"))
