"""The service standard pages (admins, issue #15 item 3): per job type the checklist in force, its
history of versions, and an edit that writes a new version (orders created from then on get it;
older orders keep theirs). Each edit is audited ("standard.edit").

A version is entered as one step a line, `code | phase | required or optional | 中文 | English`:
a dozen steps fit on one screen, are reordered by moving lines, and the form stays a plain post."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from ..auth.models import Role
from ..auth.permissions import role_required
from ..errors import Conflict, InvalidInput
from ..extensions import db
from ..forms import show_error
from ..workforce.models import JobType
from ..workorders import standards
from ..workorders.standards import Phase, StepInput

bp = Blueprint("standards", __name__, url_prefix="/admin/standards")

_REQUIRED = {"required": True, "optional": False}


class StandardForm(FlaskForm):
    """A new version of a job type's checklist."""

    steps = TextAreaField(_l("Steps, one a line: code | phase | required or optional | 中文 | English"),
                          validators=[DataRequired(), Length(max=20_000)])
    note = StringField(_l("Note (optional)"), validators=[Optional(), Length(max=255)])
    seen = HiddenField(validators=[DataRequired()])


def parse_steps(text: str) -> list[StepInput]:
    """The steps of the edit form's lines; a malformed line is bad input naming it."""
    steps = []
    for n, line in enumerate((raw for raw in text.splitlines() if raw.strip()), start=1):
        parts = [p.strip() for p in line.split("|")]
        if len(parts) != 5 or parts[1] not in {p.value for p in Phase} or parts[2] not in _REQUIRED:
            raise InvalidInput(_("Line %(n)d is not “code | phase | required or optional | 中文 | English”.", n=n),
                               errors={"steps": [_("Line %(n)d: phase is before_arrival, on_site or at_completion; "
                                                   "then required or optional.", n=n)]})
        steps.append(StepInput(parts[0], parts[3], parts[4], Phase(parts[1]), _REQUIRED[parts[2]]))
    return steps


def step_lines(version: Any) -> str:
    """A version's steps as the form's lines."""
    if version is None:
        return ""
    return "\n".join(f"{s.code} | {s.phase.value} | {'required' if s.is_required else 'optional'} | {s.text_zh} | "
                     f"{s.text_en}" for s in version.steps)


@bp.route("/")
@role_required(Role.ADMIN)
def index() -> Any:
    """Every job type with the version of its checklist in force."""
    job_types = list(db.session.scalars(select(JobType).order_by(JobType.code)))
    return render_template("admin/standards.html", job_types=job_types,
                           current={t.id: standards.current_version(t.id) for t in job_types})


@bp.route("/<code>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(code: str) -> Any:
    """A job type's checklist: the steps in force, the history, and the form for a new version."""
    job_type = db.session.scalar(select(JobType).where(JobType.code == code))
    if job_type is None:
        abort(404)
    current = standards.current_version(job_type.id)
    form = StandardForm()
    status = 200
    if form.validate_on_submit():
        try:
            seen = int(form.seen.data) if form.seen.data.isdigit() else -1
            standards.put_version(job_type, parse_steps(form.steps.data), current_user, seen=seen, note=form.note.data)
        except (InvalidInput, Conflict) as error:
            db.session.rollback()
            show_error(form, error)
            status = error.status
        else:
            db.session.commit()
            flash(_("Saved: orders created from now on follow the new version."), "success")
            return redirect(url_for("standards.edit", code=code))
    elif form.is_submitted():
        status = 400
    if not form.is_submitted() or status == 409:
        form.steps.data = form.steps.data if status == 409 else step_lines(current)
    form.seen.data = str(current.number if current else 0)
    return render_template("admin/standard.html", job_type=job_type, current=current, form=form,
                           history=standards.versions(job_type.id), phase_labels=standards.PHASE_LABELS), status
