"""Where ratings show, besides the job page: the installer's own ratings page (their counts by band,
their praise, their latest ratings), the same page of one installer for their supervisors and
admins, and a team's ratings (counts and praise per installer, the latest ratings)."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_login import current_user
from sqlalchemy import select

from ..auth.models import Role, User
from ..auth.permissions import DISPATCHERS, role_required
from ..auth.scope import managed_teams, may_see
from ..db import local_today, zone
from ..extensions import db
from ..workorders.models import WorkOrder
from .models import SurveyResponse
from .praise import praise_list
from .summaries import WINDOWS, Counts, installer_counts, latest_ratings, team_counts

bp = Blueprint("rating_pages", __name__)


def _window() -> tuple[int, datetime, Any]:
    """The days counted (?days=, one of WINDOWS), and the local day and instant they start at."""
    days = request.args.get("days", type=int)
    days = days if days in WINDOWS else WINDOWS[0]
    tz = zone()
    first = local_today(tz) - timedelta(days=days - 1)
    return days, datetime.combine(first, time.min, tzinfo=tz), first


def _installer_page(installer: User, template_vars: dict[str, Any]) -> Any:
    days, since, first = _window()
    return render_template(
        "ratings/installer.html", installer=installer, days=days, windows=WINDOWS,
        counts=installer_counts(installer.id, since, first),
        ratings=latest_ratings(SurveyResponse.installer_id == installer.id),
        praise=list(db.session.scalars(praise_list(current_user, installer_ids=[installer.id], since=first,
                                                   limit=10))),
        **template_vars)


@bp.route("/me/ratings")
@role_required(Role.INSTALLER)
def mine() -> Any:
    """The installer's own ratings: counts by 5 / 4–3 / 2–1, praise, the latest ratings."""
    return _installer_page(current_user, {"own": True})


@bp.route("/ratings/installers/<username>")
@role_required(*DISPATCHERS)
def installer(username: str) -> Any:
    """One installer's ratings page, for their supervisors and admins (another's: 404)."""
    person = db.session.scalar(select(User).where(User.username == username, User.role == Role.INSTALLER))
    if person is None or not may_see(current_user, person):
        abort(404)
    return _installer_page(person, {"own": False})


@bp.route("/ratings/team")
@role_required(*DISPATCHERS)
def team() -> Any:
    """A team's ratings: per installer the counts by band and the praise, the team's total, the
    latest ratings of its orders (?team=CODE among the caller's teams; the first by default)."""
    teams = managed_teams(current_user)
    code = request.args.get("team") or (teams[0].code if teams else None)
    chosen = next((t for t in teams if t.code == code), None)
    if code is not None and chosen is None:
        abort(404)
    days, since, first = _window()
    rows: list[tuple[User, Counts]] = []
    total = Counts()
    ratings: list[SurveyResponse] = []
    if chosen is not None:
        counts = team_counts(chosen.id, since, first)
        # Its installers now, and anyone who earned ratings or praise in it in the window and left.
        people = db.session.scalars(select(User).where(
            (User.id.in_(list(counts))) | ((User.team_id == chosen.id) & (User.role == Role.INSTALLER)
                                            & User.is_active.is_(True))).order_by(User.username))
        for person in people:
            rows.append((person, counts.get(person.id, Counts())))
            total += counts.get(person.id, Counts())
        ratings = latest_ratings(WorkOrder.team_id == chosen.id)
    return render_template("ratings/team.html", teams=teams, team=chosen, days=days, windows=WINDOWS, rows=rows,
                           total=total, ratings=ratings)
