"""The rules page (admins): every rule in force today with since when and by whom, each rule's
history, and a form putting a new value in force from a date (today or later).

The deadline rule stays on the job types (`same_day_cutoff_hour`, `deadline_hours`, edited on the
job type's page): an order's `due_by` is fixed and stored at creation, so an edit never rewrites an
order's deadline, and creating an order reads no rule table. Its history is the job type's audit
entries ("job_type.edit"), shown here beside the dated rules."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from ..audit.models import AuditEntry
from ..audit.services import history
from ..auth.models import Role, User
from ..auth.permissions import role_required
from ..db import local_today, zone
from ..errors import Conflict, InvalidInput
from ..extensions import current_locale, db
from ..forms import choices, show_error
from ..rules.models import MetricSetting
from ..rules.registry import GROUPS, RULES, Kind, RuleSpec
from ..rules.services import DEFAULT_RULES, in_force, put_rule, rule_rows, rule_version
from ..workforce.models import JobType
from ..workorders.models import UnresolvedReason
from .audit import shown
from .rule_forms import form_data, form_value, rule_form

bp = Blueprint("rules", __name__, url_prefix="/admin/rules")

DEADLINE_FIELDS = ("same_day_cutoff_hour", "deadline_hours")


def reason_names() -> dict[str, str]:
    """Reason code → name in the reader's language, in the list's order."""
    locale = current_locale()
    rows = db.session.scalars(select(UnresolvedReason).order_by(UnresolvedReason.sort_order, UnresolvedReason.code))
    return {r.code: r.name(locale) for r in rows}


def show_value(spec: RuleSpec, value: Any, reasons: dict[str, str]) -> str:
    """A rule's value as the page prints it: 90.0 %, 09:00–21:00, −27 to −8 dBm, reason names…"""
    if spec.kind is Kind.PERCENT:
        return f"{float(value) * 100:.1f} %"
    if spec.kind is Kind.HOUR_RANGE:
        return f"{int(value[0]):02d}:00–{int(value[1]):02d}:00"
    if spec.kind is Kind.BAND:
        low, high = (f"{float(v):g}".replace("-", "\N{MINUS SIGN}") for v in value)
        return _("%(low)s to %(high)s %(unit)s", low=low, high=high, unit=spec.unit)
    if spec.kind is Kind.REASONS:
        return ", ".join(reasons.get(code, code) for code in value) or "—"
    return f"{value} {spec.unit}".strip()


def _people(ids: set[int | None]) -> dict[int, User]:
    """The users behind rows and entries, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(wanted)))}


def _deadline_changes(job_types: list[JobType]) -> dict[str, AuditEntry]:
    """Each job type's latest audit entry that changed its deadline rule, in one query."""
    entries = db.session.scalars(
        select(AuditEntry).where(AuditEntry.object_type == "job_type",
                                 AuditEntry.object_key.in_([jt.code for jt in job_types]))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
    ).all()
    latest: dict[str, AuditEntry] = {}
    for entry in entries:
        if entry.object_key not in latest and set(DEADLINE_FIELDS) & ((entry.before or {}).keys() | (entry.after or {}).keys()):
            latest[entry.object_key] = entry
    return latest


@bp.route("/")
@role_required(Role.ADMIN)
def index() -> Any:
    """Every rule, grouped, with the value in force today, since when, who set it and what comes next."""
    today = local_today(zone())
    current = in_force(today)
    upcoming: dict[str, MetricSetting] = {}
    for row in db.session.scalars(select(MetricSetting).where(MetricSetting.effective_from > today)
                                  .order_by(MetricSetting.effective_from.desc())):
        upcoming[row.key] = row  # the earliest coming change of each key wins
    job_types = list(db.session.scalars(select(JobType).order_by(JobType.id)))
    deadline_changes = _deadline_changes(job_types)
    people = _people({r.created_by_id for r in [*current.values(), *upcoming.values()]}
                     | {e.actor_id for e in deadline_changes.values()})
    groups = [(group, [spec for spec in RULES.values() if spec.group == group.code]) for group in GROUPS]
    return render_template("admin/rules.html", groups=groups, current=current, upcoming=upcoming, defaults=DEFAULT_RULES,
                           people=people, job_types=job_types, deadline_changes=deadline_changes,
                           reasons=reason_names(), show_value=show_value, today=today)


@bp.route("/<key>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def rule(key: str) -> Any:
    """One rule's history (every dated row, who, when, why) and the form for a new value."""
    spec = RULES.get(key)
    if spec is None:
        abort(404)
    today = local_today(zone())
    reasons = reason_names()
    rows = rule_rows(key)
    in_force_now = next((r for r in rows if r.effective_from <= today), None)
    value = DEFAULT_RULES[key] if in_force_now is None else in_force_now.value
    form = rule_form(spec, choices(reasons.items()),
                     data={**form_data(spec, value), "effective_from": today, "version": rule_version(rows)},
                     formdata=request.form if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                put_rule(key, form_value(spec, form), form.effective_from.data, current_user, today,
                         note=form.note.data, seen=form.version.data)
                db.session.commit()
            except Conflict as error:
                db.session.rollback()
                form.form_errors.append(str(error.message))
                form.version.data = rule_version(rule_rows(key))  # a retry now applies to what is shown
                status = 409
            except InvalidInput as error:
                db.session.rollback()
                show_error(form, error, {"value": "value" if "value" in form else "high"})
                status = 400
            else:
                flash(_("Saved."), "success")
                return redirect(url_for("rules.rule", key=key))
        else:
            status = 400
    if status == 409:
        rows = rule_rows(key)
        in_force_now = next((r for r in rows if r.effective_from <= today), None)
    return render_template("admin/rule.html", spec=spec, form=form, rows=rows, in_force_now=in_force_now,
                           default=DEFAULT_RULES[key], people=_people({r.created_by_id for r in rows}),
                           reasons=reasons, show_value=show_value, today=today), status


@bp.route("/deadlines/<code>")
@role_required(Role.ADMIN)
def deadline(code: str) -> Any:
    """A job type's deadline rule now, and every change of it from the audit log."""
    job_type = db.session.scalar(select(JobType).where(JobType.code == code))
    if job_type is None:
        abort(404)
    entries = history("job_type", code, DEADLINE_FIELDS)
    return render_template("admin/deadline_history.html", job_type=job_type, entries=entries,
                           people=_people({e.actor_id for e in entries}), fields=DEADLINE_FIELDS, shown=shown)
