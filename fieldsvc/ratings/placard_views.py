"""The 双评议 placards: the staff pages that print them (one A6 card a page, for a team or one
installer) and issue new codes, and the placard's public page, where a customer finds the visit to
rate by the last 4 digits of their phone and rates it, with no account."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..auth.models import Role, User
from ..auth.permissions import DISPATCHERS, role_required
from ..auth.services import PersonName
from ..errors import Conflict, InvalidInput, NotFound
from ..extensions import db
from ..forms import show_error
from .forms import as_int
from .lookup import find_visits, picked_invitation
from .models import Placard
from .placard_forms import DigitsForm, NewCodeForm, PlacardRatingForm, PrintForm
from .placards import (
    issue_placards,
    placard_by_code,
    placard_teams,
    placards_of,
    printable_installers,
    qr_svg,
    rotate_placard,
)
from .public import lookup_limit_per_address, lookup_limit_per_placard, polite_429, public_limit
from .services import submit_rating

bp = Blueprint("placards", __name__)
polite_429(bp)

STAFF = (Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)


def placard_link(placard: Placard) -> str:
    """The address the placard's QR code holds: its public page, as the outside world reaches it."""
    return url_for("placards.public", code=placard.code, _external=True)


@bp.route("/placards")
@role_required(*STAFF)
def index() -> Any:
    """Placards: an installer's own; a supervisor's or admin's teams, and the installers of one."""
    teams: list[Any] = []
    selected = None
    if current_user.role is Role.INSTALLER:
        installers = [current_user._get_current_object()]
    else:
        teams = placard_teams(current_user)
        code = request.args.get("team") or (teams[0][0].code if len(teams) == 1 else "")
        selected = next((team for team, _n, _issued in teams if team.code == code), None)
        if code and selected is None:
            abort(404)
        installers = list(db.session.scalars(printable_installers(current_user, team_code=code))) if selected else []
    return render_template("ratings/placards.html", teams=teams, selected=selected, installers=installers,
                           placards=placards_of(i.id for i in installers), form=PrintForm(formdata=None),
                           new_code_form=NewCodeForm(formdata=None))


def _chosen(team: str | None, username: str | None) -> list[User]:
    """The installers a print request names that the reader may print (404 when none)."""
    if current_user.role is Role.INSTALLER and not team and not username:
        username = current_user.username
    if not team and not username:
        abort(404)
    installers = list(db.session.scalars(printable_installers(current_user, team_code=team, username=username)))
    if not installers:
        abort(404)
    return installers


@bp.route("/placards/print", methods=["POST"])
@role_required(*STAFF)
def issue() -> Any:
    """Print placards: a code for each named installer without one, then the print-ready cards."""
    form = PrintForm()
    if not form.validate_on_submit():
        abort(400)
    team, username = form.team.data or None, form.installer.data or None
    issue_placards(_chosen(team, username), current_user)
    db.session.commit()
    return redirect(url_for("placards.sheet", team=team, installer=username), 303)


@bp.route("/placards/print")
@role_required(*STAFF)
def sheet() -> Any:
    """The print-ready cards of a team or one installer: A6, one card a page (print CSS)."""
    installers = _chosen(request.args.get("team") or None, request.args.get("installer") or None)
    placards = placards_of(i.id for i in installers)
    cards = []
    for installer in installers:
        if installer.id in placards:
            link = placard_link(placards[installer.id])
            cards.append((installer, link, qr_svg(link)))
    missing = [i for i in installers if i.id not in placards]
    return render_template("ratings/placard_sheet.html", cards=cards, missing=missing)


@bp.route("/placards/<username>/new-code", methods=["POST"])
@role_required(*DISPATCHERS)
def new_code(username: str) -> Any:
    """Retire an installer's placard code (a lost card, an address passed around) and issue another."""
    installer = db.session.scalar(printable_installers(current_user, username=username))
    if installer is None:
        abort(404)
    if not NewCodeForm().validate_on_submit():
        abort(400)
    rotate_placard(installer, current_user)
    db.session.commit()
    flash(_("%(name)s has a new placard code: print their placard again; the old one no longer works.",
            name=PersonName(installer)), "success")
    return redirect(url_for("placards.index", team=installer.team.code if installer.team else None))


# --- the public page ---------------------------------------------------------------------------

@bp.route("/p/<code>", methods=["GET", "POST"])
@public_limit
@lookup_limit_per_address
@lookup_limit_per_placard
def public(code: str) -> Any:
    """The placard's page: the installer's name and a form for the last 4 digits of the customer's
    phone; sent, the installer's visits waiting for this customer's rating, by date and job type."""
    placard = placard_by_code(code)
    if placard is None:
        return render_template("ratings/placard_public.html", state="invalid"), 404
    form = DigitsForm()
    visits = None
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            visits = find_visits(placard, form.digits.data or "")
        else:
            status = 400
    return render_template("ratings/placard_public.html", state="lookup", placard=placard, form=form,
                           visits=visits), status


@bp.route("/p/<code>/rate", methods=["POST"])
@public_limit
def rate(code: str) -> Any:
    """Rate the visit picked on the placard's page: its rating form (`step=choose`), then the
    rating, recorded by the same service as the per-order link's."""
    placard = placard_by_code(code)
    if placard is None:
        return render_template("ratings/placard_public.html", state="invalid"), 404
    form = PlacardRatingForm()
    try:
        invitation = picked_invitation(placard, form.pick.data or "")
    except NotFound:
        return render_template("ratings/placard_public.html", state="stale", placard=placard), 404
    page = {"placard": placard, "invitation": invitation}
    if request.form.get("step") == "choose":
        form = PlacardRatingForm(formdata=None, pick=form.pick.data)
        return render_template("ratings/placard_public.html", state="form", form=form, **page)
    if form.validate_on_submit():
        try:
            submit_rating(invitation, int(form.score.data), punctuality=as_int(form.punctuality.data),
                          professionalism=as_int(form.professionalism.data), result=as_int(form.result.data),
                          comment=form.comment.data)
        except Conflict:
            db.session.rollback()
            return render_template("ratings/placard_public.html", state="done", **page)
        except InvalidInput as error:
            db.session.rollback()
            show_error(form, error)
        else:
            db.session.commit()
            return render_template("ratings/placard_public.html", state="thanks", **page)
    return render_template("ratings/placard_public.html", state="form", form=form, **page), 400
