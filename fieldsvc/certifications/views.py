"""Certification pages: the dashboard and its exports (supervisors, admins), the installer's own
certificates, training sessions with enrolment and results."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload
from wtforms.fields.choices import SelectChoice

from ..auth.models import Role, User
from ..auth.permissions import DISPATCHERS, role_required
from ..auth.scope import managed_installers, managed_teams, may_see
from ..auth.services import PersonName
from ..db import local_today, utcnow, zone
from ..errors import DomainError
from ..exports import csv_response, xlsx_response
from ..extensions import current_locale, db
from ..forms import choices, show_error
from ..security import safe_next
from ..workforce.models import District
from .alerts import register_notice_kinds
from .dashboard import (
    SYMBOLS,
    build,
    export_rows,
    installers_in_scope,
    job_type_access,
    record_label,
    status_names,
)
from .forms import (
    DashboardFilterForm,
    EnrolForm,
    RecordForm,
    ResultForm,
    RevokeForm,
    SessionForm,
)
from .models import (
    Certification,
    CertificationType,
    TrainingCourse,
    TrainingRecord,
    TrainingResult,
    TrainingSession,
)
from .services import (
    certification_status,
    current_certifications,
    record_certification,
    revoke_certification,
)
from .training import SCORE_RANGE, enrol, record_result, upcoming_sessions_renewing

bp = Blueprint("certifications", __name__)
bp.add_app_template_global(record_label)
# The app that has these pages words their notices too: in every inbox and in what it sends.
bp.record_once(lambda state: register_notice_kinds(state.app))


def _filter_form() -> DashboardFilterForm:
    form = DashboardFilterForm(request.args)
    locale = current_locale()
    teams = managed_teams(current_user)
    form.team.choices = choices([("", "—"), *((t.code, f"{t.code} {t.name(locale)}") for t in teams)])
    form.district.choices = choices([("", "—"), *((d.code, d.name(locale)) for d in
                                                  db.session.scalars(select(District).order_by(District.id)))])
    form.type.choices = choices([("", "—"), *((t.code, t.name(locale)) for t in db.session.scalars(
        select(CertificationType).where(CertificationType.is_active.is_(True)).order_by(CertificationType.id)))])
    form.validate()
    return form


def _dashboard(form: DashboardFilterForm) -> Any:
    return build(current_user, local_today(zone()), team_code=form.team.data or "",
                 district_code=form.district.data or "", type_code=form.type.data or "",
                 horizon_days=form.horizon_days())


@bp.route("/certifications")
@role_required(*DISPATCHERS)
def dashboard() -> Any:
    """Coverage matrix, full-certification per team, who expires next, who is blocked from what."""
    form = _filter_form()
    data = _dashboard(form)
    sessions = upcoming_sessions_renewing([t.id for t in data.types], utcnow())
    return render_template("certifications/dashboard.html", form=form, data=data, symbols=SYMBOLS,
                           status_names=status_names(), sessions=sessions, today=local_today(zone()))


@bp.route("/certifications/export.<fmt>")
@role_required(*DISPATCHERS)
def export(fmt: str) -> Any:
    """The matrix as CSV (UTF-8 with a BOM, so Excel shows Chinese) or as an Excel workbook."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    header, rows = export_rows(_dashboard(_filter_form()), current_locale())
    filename = f"certifications-{local_today(zone()).isoformat()}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, header, rows)
    return xlsx_response(filename, _("Certifications"), header, rows)


@bp.route("/certifications/enrol", methods=["POST"])
@role_required(Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)
def enrol_installer() -> Any:
    """Book an installer into a training session (from the dashboard, a session page or the
    installer's own page)."""
    form = EnrolForm()
    back = safe_next(request.form.get("next")) or url_for("certifications.training")
    if not form.validate_on_submit():
        flash(_("Choose a session and an installer."), "error")
        return redirect(back)
    installer = db.session.scalar(select(User).where(User.username == form.username.data))
    if installer is None or not may_see(current_user, installer):
        abort(404)
    try:
        enrol(form.session_id.data, installer, current_user, utcnow())
        db.session.commit()
        flash(_("%(name)s is booked.", name=PersonName(installer)), "success")
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    return redirect(back)


@bp.route("/me/certifications")
@role_required(Role.INSTALLER)
def mine() -> Any:
    """The installer's certificates, what to renew to keep doing which job types, their training."""
    today = local_today(zone())
    types = list(db.session.scalars(select(CertificationType).where(CertificationType.is_active.is_(True))
                                    .order_by(CertificationType.id)))
    current = current_certifications([current_user.id], today)
    cells = {t.id: current.get((current_user.id, t.id), (None, None)) for t in types}
    may, blocked = job_type_access(cells, types)
    records = list(db.session.scalars(
        select(TrainingRecord).join(TrainingSession).where(TrainingRecord.user_id == current_user.id)
        .options(joinedload(TrainingRecord.session).joinedload(TrainingSession.course))
        .order_by(TrainingSession.starts_at.desc()).limit(20)))
    sessions = upcoming_sessions_renewing([t.id for t in types], utcnow())
    return render_template("certifications/mine.html", types=types, cells=cells, may=may, blocked=blocked,
                           records=records, sessions=sessions, symbols=SYMBOLS, status_names=status_names(), today=today)


@bp.route("/training")
@role_required(Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)
def training() -> Any:
    """Upcoming training sessions with their free seats; admins schedule new ones here."""
    seats = (select(TrainingRecord.session_id, func.count().label("taken"))
             .group_by(TrainingRecord.session_id).subquery())
    rows = db.session.execute(
        select(TrainingSession, func.coalesce(seats.c.taken, 0))
        .outerjoin(seats, seats.c.session_id == TrainingSession.id)
        .where(TrainingSession.ends_at >= utcnow() - timedelta(days=30))
        .options(joinedload(TrainingSession.course)).order_by(TrainingSession.starts_at).limit(200)
    ).all()
    form = None
    if current_user.role is Role.ADMIN:
        form = SessionForm(formdata=None)
        _course_choices(form)
    return render_template("certifications/training.html", rows=rows, form=form, now=utcnow())


def _course_choices(form: SessionForm) -> None:
    locale = current_locale()
    form.course.choices = choices([(str(c.id), f"{c.code} {c.name(locale)}") for c in db.session.scalars(
        select(TrainingCourse).where(TrainingCourse.is_active.is_(True)).order_by(TrainingCourse.code))])


@bp.route("/training/sessions", methods=["POST"])
@role_required(Role.ADMIN)
def new_session() -> Any:
    """Schedule a session of a course."""
    form = SessionForm()
    _course_choices(form)
    if not form.validate_on_submit():
        flash(_("The session has errors: %(errors)s", errors="; ".join(
            f"{getattr(form, name).label.text}: {' '.join(map(str, messages))}" for name, messages in form.errors.items())), "error")
        return redirect(url_for("certifications.training"))
    tz = zone()
    starts = datetime.combine(form.day.data, form.starts.data, tzinfo=tz)
    ends = datetime.combine(form.day.data, form.ends.data, tzinfo=tz)
    session = TrainingSession(course_id=int(form.course.data), starts_at=starts, ends_at=ends,
                              place=form.place.data.strip(), trainer=form.trainer.data.strip(),
                              capacity=form.capacity.data)
    db.session.add(session)
    db.session.commit()
    flash(_("Session scheduled."), "success")
    return redirect(url_for("certifications.session_page", session_id=session.id))


@bp.route("/training/sessions/<int:session_id>")
@role_required(Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)
def session_page(session_id: int) -> Any:
    """A session: its enrolments (a supervisor sees their teams', an installer their own) and,
    for admins, the attendance and score of each."""
    session = db.get_or_404(TrainingSession, session_id)
    taken = db.session.scalar(select(func.count()).select_from(TrainingRecord)
                              .where(TrainingRecord.session_id == session.id))
    managed = managed_installers(current_user, active_only=False).with_only_columns(User.id).order_by(None)
    records = list(db.session.scalars(
        select(TrainingRecord)
        .where(TrainingRecord.session_id == session.id,
               or_(TrainingRecord.user_id == current_user.id, TrainingRecord.user_id.in_(managed)))
        .options(joinedload(TrainingRecord.user)).order_by(TrainingRecord.id)))
    enrol_form = None
    if current_user.role is not Role.INSTALLER:
        enrol_form = EnrolForm(formdata=None, session_id=session.id)
        enrol_form.username.choices = _enrol_choices(session.id)
    tz = zone()
    # Results are recorded from the session's day on (record_result's rule): no form before then.
    has_taken_place = session.starts_at.astimezone(tz).date() <= local_today(tz)
    return render_template("certifications/session.html", session=session, records=records, taken=taken,
                           enrol_form=enrol_form, result_form=ResultForm(formdata=None), now=utcnow(),
                           enrolled=TrainingResult.ENROLLED, has_taken_place=has_taken_place)


def _enrol_choices(session_id: int) -> list[SelectChoice]:
    """The installers the reader may enrol who are not booked on the session yet, grouped by team
    (teams in code order, people by name), for a picker that a search box narrows."""
    locale = current_locale()
    booked = set(db.session.scalars(select(TrainingRecord.user_id).where(TrainingRecord.session_id == session_id)))
    people = sorted((u for u in installers_in_scope(current_user) if u.id not in booked),
                    key=lambda u: (u.team.code if u.team else "", u.display_name(locale), u.username))
    return [SelectChoice(u.username, f"{u.display_name(locale)} ({u.username})",
                         optgroup=u.team.name(locale) if u.team else _("No team")) for u in people]


@bp.route("/training/records/<int:record_id>/result", methods=["POST"])
@role_required(Role.ADMIN)
def result(record_id: int) -> Any:
    """Record attendance and score; passing grants or renews the course's certification."""
    record = db.get_or_404(TrainingRecord, record_id)
    form = ResultForm()
    if not form.validate_on_submit():
        flash(_("Give a score from %(low)d to %(high)d.", low=SCORE_RANGE[0], high=SCORE_RANGE[1]), "error")
        return redirect(url_for("certifications.session_page", session_id=record.session_id))
    try:
        tz = zone()
        outcome = record_result(record, current_user, form.attended.data, form.score.data, local_today(tz), tz)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        if outcome.certification is not None:
            flash(_("%(name)s passed; certificate valid until %(date)s.", name=PersonName(record.user),
                    date=outcome.certification.expires_on.isoformat()), "success")
        else:
            flash(_("Result recorded."), "success")
    return redirect(url_for("certifications.session_page", session_id=record.session_id))


@bp.route("/certifications/installers/<username>", methods=["GET", "POST"])
@role_required(*DISPATCHERS)
def installer_page(username: str) -> Any:
    """One installer's certificates with their history; admins record new ones and revoke."""
    installer = db.session.scalar(select(User).where(User.username == username, User.role == Role.INSTALLER))
    if installer is None or not may_see(current_user, installer):
        abort(404)
    locale, today = current_locale(), local_today(zone())
    form = RecordForm()
    form.type.choices = choices([(t.code, t.name(locale)) for t in db.session.scalars(
        select(CertificationType).where(CertificationType.is_active.is_(True)).order_by(CertificationType.id))])
    status = 200
    if request.method == "POST":
        if current_user.role is not Role.ADMIN:
            abort(403)
        if form.validate_on_submit():
            try:
                record_certification(installer, form.type.data, form.issued_on.data, level=form.level.data,
                                     number=form.number.data, evidence=form.evidence.data, today=today)
                db.session.commit()
                flash(_("Certificate recorded."), "success")
                return redirect(url_for("certifications.installer_page", username=username))
            except DomainError as error:
                db.session.rollback()
                show_error(form, error, {"username": "type"})
        status = 400
    history = list(db.session.scalars(select(Certification).where(Certification.user_id == installer.id)
                                      .options(joinedload(Certification.certification_type))
                                      .order_by(Certification.certification_type_id, Certification.issued_on.desc())))
    windows = {c.certification_type_id: c.certification_type.renewal_window_days for c in history}
    statuses = {c.id: certification_status(c, today, windows[c.certification_type_id]) for c in history}
    return render_template("certifications/installer.html", installer=installer, history=history, statuses=statuses,
                           form=form, revoke_form=RevokeForm(formdata=None), symbols=SYMBOLS,
                           status_names=status_names()), status


@bp.route("/certifications/<int:certification_id>/revoke", methods=["POST"])
@role_required(Role.ADMIN)
def revoke(certification_id: int) -> Any:
    """Revoke a certificate with a reason; it stays in the history, marked revoked."""
    certification = db.get_or_404(Certification, certification_id)
    form = RevokeForm()
    username = certification.user.username
    if not form.validate_on_submit():
        flash(_("Say why the certificate is revoked."), "error")
    else:
        try:
            revoke_certification(certification, current_user, form.reason.data, utcnow())
            db.session.commit()
            flash(_("Certificate revoked."), "success")
        except DomainError as error:
            db.session.rollback()
            flash(str(error.message), "error")
    return redirect(url_for("certifications.installer_page", username=username))
