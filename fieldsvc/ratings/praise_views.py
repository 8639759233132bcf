"""Praise on record: the list (supervisors their teams', admins all, installers their own), the form
that records one (supervisors and admins), and a praise's photo."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select
from werkzeug.datastructures import FileStorage

from ..auth.models import Role, User
from ..auth.permissions import DISPATCHERS, role_required
from ..auth.scope import managed_installers, managed_teams
from ..auth.services import PersonName
from ..db import local_today, zone
from ..errors import DomainError
from ..extensions import current_locale, db
from ..forms import body_limit, choices, show_error
from ..workorders import photos
from .forms import PRAISE_CHANNELS, PraiseForm
from .models import PraiseChannel
from .praise import photo_upload, praise_list, praise_photo, record_praise

bp = Blueprint("praise", __name__)


def channel_names() -> dict[PraiseChannel, str]:
    """Each channel's name in the current language."""
    return {channel: str(label) for channel, label in PRAISE_CHANNELS}


bp.add_app_template_global(channel_names, "praise_channel_names")


@bp.route("/praise")
@role_required(Role.INSTALLER, *DISPATCHERS)
def praise_page() -> Any:
    """The praise on record that the reader may see, newest first; supervisors and admins filter
    by team."""
    teams = managed_teams(current_user) if current_user.role is not Role.INSTALLER else []
    code = request.args.get("team") or ""
    team = next((t for t in teams if t.code == code), None)
    if code and team is None:
        abort(404)
    rows = list(db.session.scalars(praise_list(current_user, team_id=team.id if team else None)))
    return render_template("ratings/praise_list.html", rows=rows, teams=teams, team=team)


def _form() -> PraiseForm:
    form = PraiseForm()
    locale = current_locale()
    form.installer.choices = choices([("", "—"), *(
        (u.username, f"{u.display_name(locale)} ({u.username})") for u in db.session.scalars(managed_installers(current_user)))])
    if request.method == "GET":
        form.installer.data = request.args.get("installer", "")
        form.received_on.data = local_today(zone())
    return form


@bp.route("/praise/new", methods=["GET", "POST"])
@body_limit(photos.MAX_BYTES + 1024 * 1024)  # one photo and the fields
@role_required(*DISPATCHERS)
def new_praise() -> Any:
    """Record a compliment for an installer of the supervisor's teams (admins: any)."""
    form = _form()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            installer = db.session.scalar(select(User).where(User.username == form.installer.data,
                                                             User.role == Role.INSTALLER))
            try:
                if installer is None:
                    abort(404)
                sent = form.photo.data
                upload = photo_upload(sent.filename or "", sent.stream) if isinstance(sent, FileStorage) and sent.filename else None
                record_praise(installer, current_user, form.received_on.data, PraiseChannel(form.channel.data),
                              form.note.data, local_today(zone()), upload)
                db.session.commit()
                flash(_("Praise recorded for %(name)s.", name=PersonName(installer)), "success")
                return redirect(url_for("praise.praise_page"), 303)
            except DomainError as error:
                db.session.rollback()
                if error.status == 403:
                    abort(404)  # another team's installer: as if there were none
                show_error(form, error)
        status = 400
    return render_template("ratings/praise_form.html", form=form, photo_limits=photos), status


@bp.route("/praise/<int:praise_id>/photo")
@role_required(Role.INSTALLER, *DISPATCHERS)
def photo(praise_id: int) -> Any:
    """A praise's photo, for those who may see the praise."""
    path = praise_photo(current_user, praise_id)
    if path is None:
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=3600)
    response.headers["Cache-Control"] = "private, max-age=3600"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
