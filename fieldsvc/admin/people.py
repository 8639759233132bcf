"""The admin's people pages: the list (search, filters, pages), a new person, a person's page
(details, teams, open orders to reassign), deactivation and reactivation, and one-time password
reset links. Admins only; views are thin over `auth.people` and `workorders.staffing`."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import or_, select

from ..auth import people
from ..auth.models import EmployerType, Role, User
from ..auth.people import PeopleQuery, PersonChanges
from ..auth.permissions import role_required
from ..db import utcnow
from ..errors import DomainError
from ..extensions import current_locale, db
from ..forms import choices, show_error
from ..notifications.sms import SmsMessage, send_on_commit, sms_sender
from ..ratings.reminders import public_url
from ..templating import localtime
from ..workforce.models import Team
from ..workorders.staffing import edit_person, open_orders
from .people_forms import EMPLOYER_LABELS, ROLE_LABELS, ButtonForm, PeopleFilterForm, PersonForm, ResetLinkForm

bp = Blueprint("people", __name__, url_prefix="/admin/people")


@bp.app_context_processor
def _labels() -> dict[str, Any]:
    return {"role_labels": ROLE_LABELS, "employer_labels": EMPLOYER_LABELS}


def _teams(*keep: int | None) -> list[Team]:
    """The teams a person may be put in: the active ones, and any inactive one they are in now."""
    ids = [i for i in keep if i is not None]
    return list(db.session.scalars(select(Team).where(or_(Team.is_active.is_(True), Team.id.in_(ids)))
                                   .order_by(Team.code)))


def _team_choices(teams: list[Team]) -> list[tuple[str, str]]:
    locale = current_locale()
    return [(t.code, f"{t.code} {t.name(locale)}") for t in teams]


def _filters() -> tuple[PeopleFilterForm, PeopleQuery]:
    form = PeopleFilterForm(request.args)
    form.team.choices = choices([("", "—"), *_team_choices(_teams())])
    if not form.validate():
        return form, PeopleQuery()
    return form, PeopleQuery(
        q=(form.q.data or "").strip(), role=Role(form.role.data) if form.role.data else None,
        team=form.team.data or None, employer=EmployerType(form.employer.data) if form.employer.data else None,
        active={"1": True, "0": False}.get(form.active.data or ""))


@bp.route("")
@role_required(Role.ADMIN)
def index() -> Any:
    """Everyone, found by name, employee number or phone, filtered, 50 a page."""
    form, query = _filters()
    try:
        page = max(int(request.args.get("page", 1)), 1)
    except ValueError:
        page = 1
    rows, total = people.search_people(query, page=page, per_page=people.PAGE_SIZE)
    pages = max((total + people.PAGE_SIZE - 1) // people.PAGE_SIZE, 1)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("admin/people/list.html", form=form, rows=rows, total=total, page=page, pages=pages,
                           args=args)


def _changes(form: PersonForm) -> PersonChanges:
    return PersonChanges(name=form.name.data or "", name_en=form.name_en.data, phone=form.phone.data,
                         role=Role(form.role.data), employer_type=EmployerType(form.employer_type.data),
                         team=form.team.data or None, supervised=list(form.supervised.data or []))


def _prepare(form: PersonForm, user: User | None) -> None:
    teams = _teams(user.team_id if user else None, *(t.id for t in (user.supervised_teams if user else [])))
    form.team.choices = choices([("", "—"), *_team_choices(teams)])
    form.supervised.choices = choices(_team_choices(teams))


@bp.route("/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new() -> Any:
    """Add a person; they get no password: their page then makes them a reset link."""
    form = PersonForm()
    _prepare(form, None)
    if form.validate_on_submit():
        try:
            user = people.create_person(current_user, form.username.data or "", _changes(form))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
        else:
            flash(_("%(username)s is added. Make them a reset link to set their password.", username=user.username),
                  "success")
            return redirect(url_for("people.edit", username=user.username))
    failed = request.method == "POST"
    return render_template("admin/people/form.html", form=form, user=None), 400 if failed else 200


def _person(username: str) -> User:
    user = people.person(username)
    if user is None:
        abort(404)
    return user


def _page(user: User, form: PersonForm, status: int = 200, conflict: list[str] | None = None) -> Any:
    orders = open_orders(user)
    return render_template("admin/people/form.html", form=form, user=user, orders=orders, conflict=conflict or [],
                           button=ButtonForm(), reset_form=ResetLinkForm()), status


@bp.route("/<username>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def edit(username: str) -> Any:
    """A person's page: their details and teams (a team change waits until their open orders are
    reassigned), their open orders, and the buttons to deactivate and make a reset link."""
    user = _person(username)
    form = PersonForm(obj=user)
    del form.username  # the employee number is kept for life
    _prepare(form, user)
    if request.method == "GET":
        form.role.data, form.employer_type.data = user.role.value, user.employer_type.value
        form.team.data = user.team.code if user.team else ""
        form.supervised.data = [t.code for t in user.supervised_teams]
        form.seen.data = people.fingerprint(user)
    if form.validate_on_submit():
        try:
            edit_person(current_user, user, _changes(form), form.seen.data or None)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
            return _page(_person(username), form, error.status if error.status == 409 else 400,
                         conflict=error.details.get("orders"))
        flash(_("Saved."), "success")
        return redirect(url_for("people.edit", username=user.username))
    return _page(user, form, 400 if request.method == "POST" else 200)


@bp.route("/<username>/deactivate", methods=["POST"])
@role_required(Role.ADMIN)
def deactivate(username: str) -> Any:
    """Sign the person out everywhere and stop them signing in or being assigned; their page then
    lists their open orders to reassign."""
    user = _person(username)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        people.deactivate_person(current_user, user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("people.edit", username=username))
    count = len(open_orders(user))
    flash(_("%(username)s is deactivated and signed out everywhere.", username=username), "success")
    if count:
        flash(_("Open orders still assigned to them: %(n)d. Reassign them below.", n=count), "warning")
    return redirect(url_for("people.edit", username=username))


@bp.route("/<username>/reactivate", methods=["POST"])
@role_required(Role.ADMIN)
def reactivate(username: str) -> Any:
    """Let the person sign in again."""
    user = _person(username)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        people.reactivate_person(current_user, user)
        db.session.commit()
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
    else:
        flash(_("%(username)s is active again.", username=username), "success")
    return redirect(url_for("people.edit", username=username))


@bp.route("/<username>/reset-link", methods=["POST"])
@role_required(Role.ADMIN)
def reset_link(username: str) -> Any:
    """Make a one-time password reset link and show it this once (it is not stored, only its
    digest); with the box ticked, also text it to the person's phone."""
    user = _person(username)
    form = ResetLinkForm()
    if not form.validate_on_submit():
        abort(400)
    now = utcnow()
    try:
        secret = people.create_reset_link(current_user, user, now)
    except DomainError as error:
        db.session.rollback()
        flash(str(error.message), "error")
        return redirect(url_for("people.edit", username=username))
    link = public_url("password.reset", token=secret) or url_for("password.reset", token=secret, _external=True)
    expires = now + people.RESET_LINK_LIFETIME
    texted = bool(form.send_sms.data and user.phone)
    if form.send_sms.data and user.phone:
        send_reset_text(user.username, user.phone, link, localtime(expires))
    db.session.commit()
    return render_template("admin/people/reset_link.html", user=user, link=link, expires=expires, texted=texted,
                           no_phone=bool(form.send_sms.data and not user.phone))


def send_reset_text(username: str, phone: str, link: str, until: str) -> None:
    """Text the reset link to the person's phone once the transaction commits (the pluggable sender)."""
    text = _("fieldsvc: set your password at %(link)s (until %(until)s). Do not share this link.",
             link=link, until=until)
    send_on_commit(db.session, sms_sender(), SmsMessage(phone, text, f"reset-{username}-{int(utcnow().timestamp())}"))
