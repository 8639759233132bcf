"""Admin pages for the organisation: teams (create, edit, members and supervisors) and districts
(renamed, never recoded). Thin views over workforce.services."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import Select, func, select
from sqlalchemy.orm import selectinload

from ..auth.models import Role, User
from ..auth.permissions import role_required
from ..errors import DomainError
from ..extensions import current_locale, db
from ..forms import choices, show_error
from ..workforce.models import District, Team, team_districts, team_supervisors
from ..workforce.services import (
    TeamData,
    create_team,
    district_state,
    edit_district,
    edit_team,
    state_tag,
    team_state,
)
from ..workorders.teams import team_in_use
from .organisation_forms import DistrictForm, TeamForm

bp = Blueprint("organisation", __name__, url_prefix="/admin")

ROLE_NAMES = {Role.INSTALLER: _l("installer"), Role.SUPERVISOR: _l("supervisor"), Role.ADMIN: _l("admin")}


def _locked(query: Select[Any]) -> Select[Any]:
    """On a POST, the row locked until the commit (PostgreSQL), so the edit's check of what the
    editor saw and its write are one step: two admins saving at once cannot both pass the check."""
    return query.with_for_update() if request.method == "POST" else query


def _all_districts() -> list[District]:
    return list(db.session.scalars(select(District).order_by(District.id)))


@bp.route("/teams")
@role_required(Role.ADMIN)
def teams() -> Any:
    """Every team with its districts, home district, active member count and supervisors: three
    statements whatever the number of teams (teams with their districts, one grouped count, one
    list of supervisors), no query per team."""
    rows = list(db.session.scalars(select(Team).options(selectinload(Team.districts)).order_by(Team.code)))
    members = dict(db.session.execute(
        select(User.team_id, func.count()).where(User.is_active.is_(True), User.team_id.is_not(None))
        .group_by(User.team_id)).all())
    supervisors: dict[int, list[User]] = {}
    for team_id, user in db.session.execute(
            select(team_supervisors.c.team_id, User).join(User, User.id == team_supervisors.c.user_id)
            .order_by(User.username)).all():
        supervisors.setdefault(team_id, []).append(user)
    districts = {d.id: d for d in _all_districts()}
    return render_template("admin/teams.html", teams=rows, members=members, supervisors=supervisors,
                           districts=districts)


def _team_form(team: Team | None) -> TeamForm:
    """The team form with its district choices; on GET filled from the team (or the defaults)."""
    form = TeamForm(formdata=request.form if request.method == "POST" else None)
    locale = current_locale()
    options = [(d.code, d.name(locale)) for d in _all_districts()]
    form.districts.choices = choices(options)
    form.home_district.choices = choices([("", "—"), *options])
    if request.method == "GET" and team is not None:
        state = team_state(team)
        form.name_zh.data, form.name_en.data = team.name_zh, team.name_en
        form.home_district.data, form.districts.data = state["home_district"] or "", state["districts"]
        form.is_active.data, form.seen.data = team.is_active, state_tag(state)
    return form


def _team_data(form: TeamForm) -> TeamData:
    return TeamData(name_zh=form.name_zh.data or "", name_en=form.name_en.data or "",
                    home_district=form.home_district.data or None, districts=list(form.districts.data or []),
                    is_active=bool(form.is_active.data))


@bp.route("/teams/new", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def new_team() -> Any:
    """Create a team: its code (fixed from then on), names, home district and districts served."""
    form = _team_form(None)
    status = 200
    if form.validate_on_submit():
        try:
            team = create_team(current_user, form.code.data or "", _team_data(form))
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
            status = error.status
        else:
            flash(_("Team %(code)s created.", code=team.code), "success")
            return redirect(url_for("organisation.team", code=team.code))
    elif form.errors:
        status = 400
    return render_template("admin/team_form.html", form=form, team=None), status


@bp.route("/teams/<code>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def team(code: str) -> Any:
    """Edit a team (not its code); its members (active first) and supervisors."""
    found = db.session.scalar(_locked(select(Team).where(Team.code == code)))
    if found is None:
        abort(404)
    form = _team_form(found)
    status, blockers = 200, None
    if form.validate_on_submit():
        try:
            edit_team(current_user, found, _team_data(form), seen=form.seen.data, in_use=team_in_use)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
            status = error.status
            blockers = error.details if "active_members" in error.details else None
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("organisation.team", code=found.code))
    elif form.errors:
        status = 400
    members = list(db.session.scalars(select(User).where(User.team_id == found.id)
                                      .order_by(User.is_active.desc(), User.username)))
    return render_template("admin/team_form.html", form=form, team=found, members=members,
                           supervisors=sorted(found.supervisors, key=lambda u: u.username),
                           blockers=blockers, role_names=ROLE_NAMES), status


@bp.route("/districts")
@role_required(Role.ADMIN)
def districts() -> Any:
    """The districts (codes stable, names editable) and how many teams serve each (one grouped query)."""
    serving = dict(db.session.execute(
        select(team_districts.c.district_id, func.count()).join(Team, Team.id == team_districts.c.team_id)
        .where(Team.is_active.is_(True)).group_by(team_districts.c.district_id)).all())
    return render_template("admin/districts.html", districts=_all_districts(), serving=serving)


@bp.route("/districts/<code>", methods=["GET", "POST"])
@role_required(Role.ADMIN)
def district(code: str) -> Any:
    """Rename a district in both languages; the teams serving it."""
    found = db.session.scalar(_locked(select(District).where(District.code == code)))
    if found is None:
        abort(404)
    form = DistrictForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.name_zh.data, form.name_en.data = found.name_zh, found.name_en
        form.seen.data = state_tag(district_state(found))
    status = 200
    if form.validate_on_submit():
        try:
            edit_district(current_user, found, form.name_zh.data or "", form.name_en.data or "", seen=form.seen.data)
            db.session.commit()
        except DomainError as error:
            db.session.rollback()
            show_error(form, error)
            status = error.status
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("organisation.districts"))
    elif form.errors:
        status = 400
    serving = list(db.session.scalars(select(Team).join(team_districts, team_districts.c.team_id == Team.id)
                                      .where(team_districts.c.district_id == found.id).order_by(Team.code)))
    return render_template("admin/district_form.html", form=form, district=found, teams=serving), status
