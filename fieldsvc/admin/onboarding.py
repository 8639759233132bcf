"""Bulk onboarding pages: upload an installers' spreadsheet, see its preview (nothing written),
confirm it (everything written in one transaction), download the template."""
from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from sqlalchemy.exc import IntegrityError
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length

from ..auth.models import Role
from ..auth.permissions import role_required
from ..errors import DomainError
from ..exports import csv_response, xlsx_response
from ..extensions import current_locale, db
from ..forms import body_limit, show_error
from ..onboarding import storage
from ..onboarding.parse import HEADERS, parse
from ..onboarding.services import Preview, RowStatus, apply, preview, seal_passwords

bp = Blueprint("onboarding", __name__, url_prefix="/admin/onboarding")

LISTED = 200
MAX_UPLOAD_BYTES = 8 * 1024 * 1024  # a 5,000-row workbook is well under 1 MB; room for formatting
COLUMN_LABELS = {
    "file": _l("File"),
    "username": _l("Employee number"),
    "name": _l("Name"),
    "phone": _l("Phone"),
    "team": _l("Team code"),
    "employer_type": _l("Employer type"),
    "cert_type": _l("Certificate type"),
    "cert_number": _l("Certificate number"),
    "cert_issued_on": _l("Issued on"),
    "cert_level": _l("Level"),
    "initial_password": _l("Initial password"),
}
STATUS_LABELS = {
    RowStatus.NEW: _l("New"),
    RowStatus.CHANGED: _l("Changed"),
    RowStatus.UNCHANGED: _l("Unchanged"),
    RowStatus.ERROR: _l("Error"),
}
EMPLOYER_LABELS = {"staff": _l("staff"), "contractor": _l("contractor")}


class UploadForm(FlaskForm):
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"), validators=[FileRequired()],
                     render_kw={"accept": ".xlsx,.csv,text/csv"})


class ConfirmForm(FlaskForm):
    # The fingerprint of the preview the admin saw: a confirm after the data moved is refused.
    digest = HiddenField(validators=[DataRequired(), Length(min=64, max=64)])


def _render_preview(upload: storage.StoredUpload, result: Preview, form: ConfirmForm | None = None,
                    status: int = 200) -> Any:
    form = form or ConfirmForm(formdata=None)
    form.digest.data = result.digest
    # Every error is listed; of the new and changed rows the first LISTED unless asked for all (a
    # thousand cards are a heavy page on a phone, and the counts say how many there are).
    listed = [row for row in result.ordered() if row.status is not RowStatus.UNCHANGED]
    errors = sum(1 for row in listed if row.status is RowStatus.ERROR)
    shown = listed if request.args.get("all") else listed[:errors + LISTED]
    return render_template("admin/onboarding/preview.html", upload=upload, result=result, form=form,
                           listed=shown, hidden=len(listed) - len(shown),
                           upload_form=UploadForm(formdata=None), columns=COLUMN_LABELS, statuses=STATUS_LABELS,
                           employer_labels=EMPLOYER_LABELS, RowStatus=RowStatus), status


@bp.route("/", methods=["GET", "POST"])
@body_limit(MAX_UPLOAD_BYTES)
@role_required(Role.ADMIN)
def upload() -> Any:
    """The upload form; a file sent is read, judged and kept (nothing written), then previewed."""
    form = UploadForm()
    if form.validate_on_submit():
        data = form.file.data.read()
        try:
            parsed = parse(data)
            result = preview(parsed.rows, parsed.lines)
            rows = seal_passwords(parsed.rows, result)
        except DomainError as error:
            show_error(form, error)
        else:
            upload_id = storage.save(rows, parsed.lines, filename=form.file.data.filename or "",
                                     sha256=hashlib.sha256(data).hexdigest(), actor_id=current_user.id)
            return redirect(url_for(".show", upload_id=upload_id), 303)
        finally:
            db.session.rollback()  # the preview only read
    return render_template("admin/onboarding/upload.html", form=form, columns=COLUMN_LABELS,
                           headers=HEADERS), 400 if form.errors or form.form_errors else 200


@bp.route("/preview/<upload_id>")
@role_required(Role.ADMIN)
def show(upload_id: str) -> Any:
    """The preview of a kept upload, judged again against the database as it is now."""
    upload = storage.load(upload_id, current_user.id) or abort(404)
    return _render_preview(upload, preview(upload.rows, upload.lines))


@bp.route("/preview/<upload_id>/confirm", methods=["POST"])
@role_required(Role.ADMIN)
def confirm(upload_id: str) -> Any:
    """Import a previewed upload in one transaction, if the preview still shows what it showed."""
    upload = storage.load(upload_id, current_user.id) or abort(404)
    form = ConfirmForm()
    result = preview(upload.rows, upload.lines)
    if not form.validate_on_submit():
        return _render_preview(upload, result, status=400)
    if form.digest.data != result.digest:
        flash(_("The data changed since this preview: check the new preview, then confirm again."), "error")
        return _render_preview(upload, result, status=409)
    if result.has_errors:
        flash(_("Correct the rows in error first: nothing was imported."), "error")
        return _render_preview(upload, result, status=400)
    try:
        counts = apply(result, upload.rows, current_user)
        db.session.commit()
    except IntegrityError:  # another admin imported the same people in the meantime
        db.session.rollback()
        flash(_("The data changed since this preview: check the new preview, then confirm again."), "error")
        return _render_preview(upload, preview(upload.rows, upload.lines), status=409)
    storage.discard(upload_id)
    flash(_("Imported: %(new)d new, %(changed)d changed, %(unchanged)d unchanged.", new=counts[RowStatus.NEW],
            changed=counts[RowStatus.CHANGED], unchanged=counts[RowStatus.UNCHANGED]), "success")
    return redirect(url_for(".upload"), 303)


@bp.route("/template.<fmt>")
@role_required(Role.ADMIN)
def template(fmt: str) -> Any:
    """The empty template, its header in the reader's language (either language is read back)."""
    header = HEADERS["zh" if current_locale().startswith("zh") else "en"]
    if fmt == "csv":
        return csv_response("installers-template.csv", header, [])
    if fmt == "xlsx":
        return xlsx_response("installers-template.xlsx", _("Installers"), header, [])
    abort(404)
