"""Standard-procedure notes: the admin pages (list, new, edit, each with a preview that saves
nothing), the read page any signed-in user may open, and the notes of the order's job type on the
job page. Views are thin: a form, one service call, then a redirect or a page."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from ..auth.models import Role, User
from ..auth.permissions import role_required
from ..errors import DomainError
from ..extensions import current_locale, db
from ..forms import choices, show_error
from ..workforce.models import JobType
from ..workorders.views import register_job_panel
from .categories import SUPPORT_CATEGORIES
from .knowledge import (
    NoteData,
    ProcedureNote,
    all_notes,
    create_note,
    edit_note,
    linked_labels,
    load_note,
    notes_for,
    render,
    render_markdown,
)
from .knowledge_forms import NoteForm

bp = Blueprint("knowledge", __name__)

bp.add_app_template_global(render, "note_html")
bp.add_app_template_global(linked_labels, "note_links")


def _form(note: ProcedureNote | None) -> NoteForm:
    """The note form with its choices; on GET filled from the note (or the defaults)."""
    form = NoteForm(formdata=request.form if request.method == "POST" else None)
    locale = current_locale()
    types = db.session.scalars(select(JobType).where(JobType.is_active.is_(True)).order_by(JobType.id))
    kept = {t.code: t for t in (note.job_types if note else [])}  # an inactive type stays offered while linked
    offered = {t.code: t for t in types} | kept
    form.job_types.choices = choices((code, t.name(locale)) for code, t in offered.items())
    form.categories.choices = choices((code, label) for code, label in SUPPORT_CATEGORIES.items())
    if request.method == "GET" and note is not None:
        form.title_zh.data, form.title_en.data = note.title_zh, note.title_en
        form.body_zh.data, form.body_en.data = note.body_zh, note.body_en
        form.job_types.data, form.categories.data = [t.code for t in note.job_types], note.categories
        form.is_active.data, form.version.data = note.is_active, str(note.version)
    return form


def _data(form: NoteForm) -> NoteData:
    return NoteData(title_zh=form.title_zh.data or "", title_en=form.title_en.data or "",
                    body_zh=form.body_zh.data or "", body_en=form.body_en.data or "",
                    job_types=list(form.job_types.data or []), categories=list(form.categories.data or []),
                    is_active=bool(form.is_active.data))


def _preview(form: NoteForm) -> dict[str, Markup] | None:
    """The texts as the job page will show them, when the preview button was pressed."""
    if "preview" not in request.form:
        return None
    return {"zh": render_markdown((form.body_zh.data or "").strip()),
            "en": render_markdown((form.body_en.data or "").strip())}


def _version(form: NoteForm) -> int | None:
    try:
        return int(form.version.data or "")
    except ValueError:
        return None


def _edit_page(note: ProcedureNote | None) -> Any:
    """New or edit: the preview renders and saves nothing; saving creates or edits, then redirects."""
    form = _form(note)
    status, preview = 200, None
    if form.validate_on_submit():
        preview = _preview(form)
        if preview is None:
            try:
                if note is None:
                    note = create_note(current_user, _data(form))
                else:
                    edit_note(current_user, note, _data(form), version=_version(form))
                db.session.commit()
            except DomainError as error:
                db.session.rollback()
                show_error(form, error)
                status = error.status
            else:
                flash(_("Note saved."), "success")
                return redirect(url_for("knowledge.admin_list"))
    elif form.errors:
        status = 400
    return render_template("knowledge/note_form.html", form=form, note=note, preview=preview), status


@bp.route("/admin/notes")
@role_required(Role.ADMIN)
def admin_list() -> Any:
    """Every standard-procedure note with what it is linked to (active first)."""
    return render_template("knowledge/notes.html", notes=all_notes())


@bp.route("/admin/notes/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_new() -> Any:
    """Write a new note: titles, Markdown texts, the job types and support categories it serves."""
    return _edit_page(None)


@bp.route("/admin/notes/<int:note_id>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def admin_edit(note_id: int) -> Any:
    """Edit a note (refused when someone saved it since the page was opened)."""
    note = load_note(note_id, lock=request.method == "POST")
    if note is None:
        abort(404)
    return _edit_page(note)


@bp.route("/notes/<int:note_id>")
@role_required(Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)
def read(note_id: int) -> Any:
    """One note on its own page, for anyone signed in (an inactive one for admins only)."""
    note = load_note(note_id)
    if note is None or (not note.is_active and current_user.role is not Role.ADMIN):
        abort(404)
    return render_template("knowledge/note.html", note=note)


def job_panel(order: Any, user: User) -> Markup:
    """The notes of the order's job type on its page, each folded under its title, or nothing."""
    notes = notes_for(job_type_code=order.job_type.code)
    if not notes:
        return Markup("")
    # An autoescaped template's output around sanitised note HTML: marked so the page does not escape it twice.
    return Markup(render_template("knowledge/_job_panel.html", notes=notes))  # nosec B704


def job_panel_validator(head: Any, user: User, now: Any) -> list[Any]:
    """What `job_panel` shows: the notes of the order's job type; every change to a note is
    audited, which the job page's own validator covers."""
    return [head.job_type_id]


@bp.record_once
def _plug_in(state: Any) -> None:
    register_job_panel(state.app, job_panel, job_panel_validator)
