"""The 双评议 placard (二维码挂牌): each installer's printable A6 card with the QR code of their
stable rating page, where a customer finds the visit to rate by the last digits of their phone
(`lookup`). Who may print whose card is the one scope rule (`auth.scope`): an installer their own,
a supervisor their teams' installers, an admin everyone's. Services flush; the edge commits."""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, select
from sqlalchemy.orm import joinedload

from ..auth.models import Role, User
from ..auth.scope import in_managed_team, managed_installers, manages
from ..db import utcnow
from ..errors import Forbidden
from ..extensions import db
from ..workforce.models import Team
from .models import Placard

# Lower-case letters and digits without the look-alikes (0/o, 1/l/i), so the address printed under
# the QR code can be typed: 14 of 31 symbols, about 69 bits, not worth guessing.
CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 14


def new_code() -> str:
    """A fresh random placard code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def printable_installers(user: User, *, team_code: str | None = None,
                         username: str | None = None) -> Select[tuple[User]]:
    """A SELECT of the active installers whose placards `user` may print, by team and employee
    number: an installer only their own, a supervisor their teams', an admin all; narrowed to one
    team or one installer when asked."""
    if user.role is Role.INSTALLER:
        query = select(User).where(User.id == user.id, User.is_active.is_(True))
        if team_code:
            query = query.where(User.team.has(Team.code == team_code))
    else:
        query = managed_installers(user)
        if team_code:
            query = query.where(User.team_id.in_(select(Team.id).where(Team.code == team_code)))
    if username:
        query = query.where(User.username == username)
    return query.options(joinedload(User.team))


def placard_teams(user: User) -> list[tuple[Team, int, int]]:
    """The teams whose placards a supervisor or admin prints, by code: each with its number of
    active installers and how many of them have a placard code (one query)."""
    rows = db.session.execute(
        select(Team, func.count(User.id), func.count(Placard.id))
        .outerjoin(User, (User.team_id == Team.id) & (User.role == Role.INSTALLER) & User.is_active.is_(True))
        .outerjoin(Placard, Placard.installer_id == User.id)
        .where(in_managed_team(Team.id, user.role, user.id))
        .group_by(Team.id).order_by(Team.code))
    return [(team, installers, issued) for team, installers, issued in rows]


def placards_of(installer_ids: Iterable[int]) -> dict[int, Placard]:
    """The placards of these installers, by installer id (one query)."""
    ids = list(installer_ids)
    if not ids:
        return {}
    return {p.installer_id: p for p in db.session.scalars(select(Placard).where(Placard.installer_id.in_(ids)))}


def issue_placards(installers: Iterable[User], actor: User, now: datetime | None = None) -> dict[int, Placard]:
    """Every installer's placard, a code issued to those who had none (a code, once issued, stays:
    a card printed again shows the same QR code). The caller passes installers `actor` may print
    (`printable_installers`)."""
    now = now or utcnow()
    installers = list(installers)
    found = placards_of(i.id for i in installers)
    for installer in installers:
        if installer.id not in found:
            found[installer.id] = Placard(installer_id=installer.id, code=new_code(), issued_at=now,
                                          issued_by_id=actor.id)
            db.session.add(found[installer.id])
    db.session.flush()
    return found


def rotate_placard(installer: User, actor: User, now: datetime | None = None) -> Placard:
    """A new code for `installer`'s placard: the page of the old one (a lost card, an address passed
    around) is gone, and the card must be printed again. A supervisor of the installer's team or
    an admin only (Forbidden otherwise)."""
    now = now or utcnow()
    if installer.role is not Role.INSTALLER or not manages(actor, installer):
        raise Forbidden(_l("Only the installer's supervisor or an admin issues a new placard code."))
    placard = db.session.scalar(select(Placard).where(Placard.installer_id == installer.id))
    if placard is None:
        placard = Placard(installer_id=installer.id)
        db.session.add(placard)
    placard.code, placard.issued_at, placard.issued_by_id = new_code(), now, actor.id
    db.session.flush()
    return placard


def placard_by_code(code: str) -> Placard | None:
    """The placard behind a public code, while its installer is an active installer; else None
    (an unknown, retired or malformed code, or a deactivated installer: the same answer)."""
    if not code or len(code) > CODE_LENGTH or any(c not in CODE_ALPHABET for c in code):
        return None
    return db.session.scalar(
        select(Placard).join(User, User.id == Placard.installer_id)
        .where(Placard.code == code, User.is_active.is_(True), User.role == Role.INSTALLER)
        .options(joinedload(Placard.installer)))


def qr_svg(link: str, scale: int = 6) -> str:
    """`link` as an inline SVG QR code, with a viewBox (the CSS sizes it), error correction M: the
    same code as the rating link's after completion."""
    import segno

    return segno.make(link, error="m").svg_inline(scale=scale, border=2, omitsize=True)
