"""The installer's and supervisor's action forms on the job page. Every form carries the version
the user saw and an idempotency key, so a resent form (weak signal) changes nothing twice."""
from __future__ import annotations

import uuid

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import (
    BooleanField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)

from ..db import column_length
from ..forms import DayField, choices
from ..workforce.models import Customer
from .evidence import (
    FAULT_CAUSE_LABELS,
    ONU_SERIAL_LENGTH,
    RX_POWER_DECIMALS,
    RX_POWER_PLAUSIBLE_DBM,
    SPEED_MBPS,
)
from .idempotency import MAX_KEY
from .lifecycle import LATITUDE, LONGITUDE, MAX_CANCEL_REASON, MAX_NOTE
from .slots import slot_labels

MATERIAL_ROWS = 3


class StepForm(FlaskForm):
    """Tick (done=1) or untick (done=0) one step of the service standard: idempotent, so it
    carries no version (a resent tap changes nothing)."""

    done = HiddenField(default="1")


class ActionForm(FlaskForm):
    """An action with no extra input (accept, depart, arrive), and the base of the others."""

    version = IntegerField(validators=[InputRequired()])
    idempotency_key = HiddenField(validators=[DataRequired(), Length(max=MAX_KEY)])
    note = TextAreaField(_l("Note (optional)"), validators=[Optional(), Length(max=MAX_NOTE)])
    lat = FloatField(validators=[Optional(), NumberRange(*LATITUDE)])
    lon = FloatField(validators=[Optional(), NumberRange(*LONGITUDE)])

    def fill(self, version: int) -> ActionForm:
        """Set the version shown and a fresh idempotency key for this rendering."""
        self.version.data = version
        self.idempotency_key.data = uuid.uuid4().hex
        return self


class BookForm(ActionForm):
    day = DayField(_l("Day"), validators=[InputRequired(message=_l("Choose the day."))])
    slot = SelectField(_l("Window"), choices=choices(slot_labels()), validators=[InputRequired()])


class LeaveForm(ActionForm):
    reason = SelectField(_l("Why could the job not be finished?"), validators=[InputRequired(message=_l("Choose a reason."))])


class CancelForm(ActionForm):
    reason = StringField(_l("Why is the order cancelled?"),
                         validators=[DataRequired(message=_l("Say why the order is cancelled.")), Length(max=MAX_CANCEL_REASON)])


class CompleteForm(ActionForm):
    onu_serial = StringField(_l("ONU serial number"), validators=[Optional(), Length(*ONU_SERIAL_LENGTH)],
                             render_kw={"autocapitalize": "characters", "autocomplete": "off"})
    rx_power_dbm = FloatField(_l("Optical receive power (dBm)"), validators=[Optional(), NumberRange(*RX_POWER_PLAUSIBLE_DBM)],
                              render_kw={"inputmode": "decimal", "step": f"{10 ** -RX_POWER_DECIMALS:g}"})
    fault_cause = SelectField(_l("Fault cause"), choices=choices([("", "—"), *FAULT_CAUSE_LABELS.items()]),
                              validators=[Optional()])
    speed_mbps = FloatField(_l("Measured speed (Mbps)"), validators=[Optional(), NumberRange(*SPEED_MBPS)],
                            render_kw={"inputmode": "decimal"})
    photos = MultipleFileField(_l("Photos"), render_kw={"accept": "image/jpeg,image/png", "capture": "environment"})
    signature_data = HiddenField()

    def evidence(self) -> dict[str, object]:
        """The evidence object for the lifecycle service, from the fields filled in."""
        from flask import request

        evidence: dict[str, object] = {}
        for name in ("onu_serial", "rx_power_dbm", "fault_cause", "speed_mbps"):
            value = getattr(self, name).data
            if value not in (None, ""):
                evidence[name] = value
        materials = []
        for row in range(MATERIAL_ROWS):
            item = (request.form.get(f"complete-material_item_{row}") or "").strip()
            quantity = (request.form.get(f"complete-material_qty_{row}") or "").strip()
            if item or quantity:
                try:
                    materials.append({"item": item, "quantity": float(quantity)})
                except ValueError:
                    materials.append({"item": item, "quantity": None})
        if materials:
            evidence["materials"] = materials
        return evidence


class AssignForm(ActionForm):
    installer = SelectField(_l("Installer"), validators=[InputRequired(message=_l("Choose an installer."))])


FORMS: dict[str, type[ActionForm]] = {
    "accept": ActionForm, "depart": ActionForm, "arrive": ActionForm, "book": BookForm,
    "leave_unresolved": LeaveForm, "complete": CompleteForm, "cancel": CancelForm,
    "assign": AssignForm, "unassign": ActionForm,
}


class BoardFilterForm(FlaskForm):
    """The board's filters: a GET form (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    district = SelectField(_l("District"), validators=[Optional()])
    job_type = SelectField(_l("Job type"), validators=[Optional()])
    priority = SelectField(_l("Priority"), validators=[Optional()])
    status = SelectField(_l("Status"), validators=[Optional()])
    day = DayField(_l("Appointment day"), validators=[Optional()])
    q = StringField(_l("Find an order"), validators=[Optional(), Length(max=64)])  # the placeholder says by what


class OrderForm(FlaskForm):
    """A new order taken on the phone, or an existing one edited (customer fields then read-only)."""

    job_type = SelectField(_l("Job type"), validators=[InputRequired(message=_l("Choose the job type."))])
    priority = SelectField(_l("Priority"), validators=[InputRequired()])
    account_no = StringField(_l("Account number"),
                             validators=[DataRequired(), Length(max=column_length(Customer.account_no))])
    customer_name = StringField(_l("Customer name"), validators=[DataRequired(), Length(max=column_length(Customer.name))])
    phone = StringField(_l("Phone"), validators=[DataRequired(), Length(min=5, max=column_length(Customer.phone))],
                        render_kw={"inputmode": "tel", "autocomplete": "off"})
    address = StringField(_l("Address"), validators=[DataRequired(), Length(max=column_length(Customer.address))])
    district = SelectField(_l("District"), validators=[InputRequired(message=_l("Choose the district."))])
    day = DayField(_l("Appointment day (optional)"), validators=[Optional()])
    slot = SelectField(_l("Window"), choices=choices([("", "—"), *slot_labels()]), validators=[Optional()])
    is_work_at_height = BooleanField(_l("Work at height (pole, ladder or outside wall)"))
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_NOTE)])
    version = IntegerField(validators=[Optional()])

    def validate_slot(self, field: SelectField) -> None:
        if bool(field.data) != bool(self.day.data):
            from wtforms.validators import ValidationError

            raise ValidationError(_l("Give both the day and the window, or neither."))


class BulkAssignForm(FlaskForm):
    installer = SelectField(_l("Installer"), validators=[InputRequired(message=_l("Choose an installer."))])
