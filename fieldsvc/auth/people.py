"""The people an admin manages: finding them (search, filters, pages), creating and editing them,
deactivating and reactivating them, one-time password reset links, and a user's change of their
own password. Every change is recorded in the audit log in the caller's transaction. Services
flush; the caller commits.

What depends on work orders (an installer's open orders refuse a team change) lives a layer up,
in `workorders.staffing`, which calls these."""
from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, func, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from ..audit.services import fields, record
from ..db import utcnow
from ..errors import Conflict, InvalidInput, RuleViolation
from ..extensions import db
from ..security import token_digest
from ..workforce.models import Team
from .models import ApiToken, EmployerType, PasswordResetLink, Role, User
from .services import create_user, end_sessions, set_password, verify_password

PAGE_SIZE = 50
RESET_LINK_LIFETIME = timedelta(hours=24)
# What the audit log keeps of a user's edit (never the password hash or session version).
EDITED = ("name", "name_en", "phone", "role", "employer_type")


def escape_like(text: str) -> str:
    """`text` taken literally inside a LIKE pattern (with escape "\\")."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class PeopleQuery:
    """A search of the users: free text (name, English name, employee number, phone), role, team
    code (its members, and for supervisors the teams they supervise), employer type, active."""

    q: str = ""
    role: Role | None = None
    team: str | None = None
    employer: EmployerType | None = None
    active: bool | None = None

    def statement(self) -> Select[tuple[User]]:
        query = select(User)
        text = self.q.strip()
        if text:
            pattern = f"%{escape_like(text)}%"
            query = query.where(or_(User.username.ilike(pattern, escape="\\"), User.name.ilike(pattern, escape="\\"),
                                    User.name_en.ilike(pattern, escape="\\"), User.phone.ilike(pattern, escape="\\")))
        if self.role is not None:
            query = query.where(User.role == self.role)
        if self.team:
            team_id = select(Team.id).where(Team.code == self.team).scalar_subquery()
            query = query.where(or_(User.team_id == team_id, User.supervised_teams.any(Team.id == team_id)))
        if self.employer is not None:
            query = query.where(User.employer_type == self.employer)
        if self.active is not None:
            query = query.where(User.is_active.is_(self.active))
        return query


def search_people(query: PeopleQuery, *, page: int = 1, per_page: int = PAGE_SIZE) -> tuple[list[User], int]:
    """One page of matching users by employee number, and how many match: one count, one page
    query with each user's team joined in, one for the teams supervisors supervise (no N+1)."""
    statement = query.statement()
    total = db.session.scalar(statement.with_only_columns(func.count(User.id)).order_by(None)) or 0
    rows = db.session.scalars(
        statement.options(joinedload(User.team), selectinload(User.supervised_teams))
        .order_by(User.username).limit(per_page).offset((max(page, 1) - 1) * per_page)
    ).unique().all()
    return list(rows), total


def person(username: str) -> User | None:
    """The user with this employee number, their team and supervised teams loaded."""
    return db.session.scalar(select(User).where(User.username == username)
                             .options(joinedload(User.team), selectinload(User.supervised_teams)))


def teams_by_code(codes: Sequence[str]) -> list[Team]:
    """The teams with these codes, in their order; an unknown code is bad input."""
    found = {t.code: t for t in db.session.scalars(select(Team).where(Team.code.in_(list(codes))))} if codes else {}
    missing = [code for code in codes if code not in found]
    if missing:
        raise InvalidInput(_l("No team with the code %(code)s.", code=missing[0]), errors={"team": [
            _l("No team with the code %(code)s.", code=missing[0])]})
    return [found[code] for code in codes]


def membership(user: User) -> dict[str, Any]:
    """Where `user` belongs, as the audit log records it: their team and the teams they supervise."""
    return {"team": user.team.code if user.team else None,
            "supervised_teams": sorted(t.code for t in user.supervised_teams)}


@dataclass
class PersonChanges:
    """What an edit sets. `team` is the member team's code (installers and admins; None: no team),
    `supervised` the codes of the teams a supervisor supervises."""

    name: str
    role: Role
    employer_type: EmployerType = EmployerType.STAFF
    name_en: str | None = None
    phone: str | None = None
    team: str | None = None
    supervised: list[str] = field(default_factory=list)


def create_person(actor: User | None, username: str, changes: PersonChanges) -> User:
    """Add a user with a random password that nobody ever sees or knows: the admin then gives them
    a reset link to set their own."""
    user = create_user(username, changes.role, secrets.token_urlsafe(24), name=changes.name.strip() or None)
    _apply(user, changes)
    db.session.flush()
    record(actor, "user.create", "user", user.username, None,
           {**fields(user, ("username", *EDITED)), **membership(user)})
    return user


def team_changes(user: User, changes: PersonChanges) -> bool:
    """Whether `changes` take `user` out of the team they work in now (as an installer): another
    team, no team, or another role."""
    if user.role is not Role.INSTALLER:
        return False
    return changes.role is not Role.INSTALLER or changes.team != (user.team.code if user.team else None)


def fingerprint(user: User) -> str:
    """A digest of what the edit form shows of `user`: the form carries it, so an edit made on a
    page read before someone else's edit is refused rather than overwriting it (users carry no
    version column)."""
    state = {**fields(user, EDITED), **membership(user), "is_active": user.is_active}
    return token_digest(json.dumps(state, sort_keys=True))[:16]


def check_fresh(user: User, seen: str | None) -> None:
    """Refuse (409) an edit of `user` made on a page that showed them as they no longer are."""
    if seen is not None and seen != fingerprint(user):
        raise Conflict(_l("Someone changed %(username)s since you opened the page: check and save again.",
                          username=user.username))


def edit_person(actor: User | None, user: User, changes: PersonChanges, seen: str | None = None) -> None:
    """Apply an edit; records "user.edit" for the fields and "user.move_team" for the teams. With
    `seen` (the `fingerprint` the form was read with), a user changed since is a 409. The
    open-orders rule of a team change is `workorders.staffing.edit_person`'s, which calls this."""
    check_fresh(user, seen)
    if actor is not None and actor.id == user.id and changes.role is not user.role:
        raise RuleViolation(_l("You cannot change your own role."))  # nor lock yourself out of this page
    before, teams_before = fields(user, EDITED), membership(user)
    _apply(user, changes)
    db.session.flush()
    record(actor, "user.edit", "user", user.username, before, fields(user, before))
    record(actor, "user.move_team", "user", user.username, teams_before, membership(user))


def _apply(user: User, changes: PersonChanges) -> None:
    name = changes.name.strip()
    if not name:
        raise InvalidInput(_l("Enter a name."), errors={"name": [_l("Enter a name.")]})
    user.name, user.name_en = name, (changes.name_en or "").strip() or None
    user.phone = (changes.phone or "").strip() or None
    user.role, user.employer_type = changes.role, changes.employer_type
    if changes.role is Role.SUPERVISOR:
        # A supervisor runs teams rather than belonging to one.
        user.team, user.supervised_teams = None, teams_by_code(changes.supervised)
    else:
        user.supervised_teams = []
        user.team = teams_by_code([changes.team])[0] if changes.team else None


def deactivate_person(actor: User | None, user: User) -> None:
    """Stop `user` at once everywhere: no sign-in, every browser session and remember-me cookie
    ended, every API token revoked (so reactivating them brings none back); they can no longer be
    assigned (dispatch refuses inactive installers). Their open orders stay theirs until reassigned."""
    if actor is not None and actor.id == user.id:
        raise RuleViolation(_l("You cannot deactivate yourself."))
    if not user.is_active:
        raise Conflict(_l("%(username)s is already inactive.", username=user.username))
    user.is_active = False
    end_sessions(user)
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=utcnow()))
    record(actor, "user.deactivate", "user", user.username, {"is_active": True}, {"is_active": False})


def reactivate_person(actor: User | None, user: User) -> None:
    """Let `user` sign in again (with their password, or a new reset link); no old session or
    token comes back."""
    if user.is_active:
        raise Conflict(_l("%(username)s is already active.", username=user.username))
    user.is_active = True
    db.session.flush()
    record(actor, "user.reactivate", "user", user.username, {"is_active": False}, {"is_active": True})


def create_reset_link(actor: User | None, user: User, now: datetime | None = None) -> str:
    """A new one-time token for `user` to set a password with, valid RESET_LINK_LIFETIME; any
    earlier unused link of theirs stops working. Returns the token (only its digest is stored)."""
    if not user.is_active:
        raise RuleViolation(_l("Reactivate %(username)s first.", username=user.username))
    now = now or utcnow()
    db.session.execute(update(PasswordResetLink).where(
        PasswordResetLink.user_id == user.id, PasswordResetLink.used_at.is_(None),
        PasswordResetLink.expires_at > now).values(expires_at=now))
    secret = secrets.token_urlsafe(32)
    expires = now + RESET_LINK_LIFETIME
    db.session.add(PasswordResetLink(user_id=user.id, token_hash=token_digest(secret), created_at=now,
                                     created_by_id=getattr(actor, "id", None), expires_at=expires))
    db.session.flush()
    record(actor, "user.reset_link", "user", user.username, None, {"expires_at": expires})
    return secret


def reset_link(secret: str, now: datetime | None = None) -> PasswordResetLink | None:
    """The usable link for this token: unused, unexpired, of an active user; else None."""
    if not secret or len(secret) > 128:
        return None
    link = db.session.scalar(select(PasswordResetLink).where(PasswordResetLink.token_hash == token_digest(secret))
                             .options(joinedload(PasswordResetLink.user)))
    now = now or utcnow()
    if link is None or link.used_at is not None or link.expires_at <= now or not link.user.is_active:
        return None
    return link


def use_reset_link(secret: str, password: str, now: datetime | None = None) -> User:
    """Set the link's user's password (under the policy) and spend the link; every session of
    theirs ends. A link that is unknown, used, expired or of an inactive user is refused."""
    now = now or utcnow()
    link = reset_link(secret, now)
    if link is None:
        raise RuleViolation(_l("This link has expired or was used already. Ask an admin for a new one."))
    _new_password(link.user, password)
    # Spent in SQL on the condition it was unused, so two tabs sending the form at once set one password.
    spent = db.session.execute(update(PasswordResetLink).where(
        PasswordResetLink.id == link.id, PasswordResetLink.used_at.is_(None)).values(used_at=now))
    if spent.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_l("This link has expired or was used already. Ask an admin for a new one."))
    record(link.user, "user.password_change", "user", link.user.username, None, {"via": "reset_link"})
    return link.user


def _new_password(user: User, password: str) -> None:
    """`set_password`, its policy's refusal put on the form's "new" field."""
    try:
        set_password(user, password)
    except RuleViolation as error:
        raise InvalidInput(error.message, errors={"new": [error.message]}) from error


def change_own_password(user: User, current: str, new: str) -> None:
    """A user's change of their own password: the current one must match, the new one pass the
    policy; every session of theirs ends (the view signs the current browser in again)."""
    if not verify_password(user.password_hash, current):
        raise InvalidInput(_l("The current password is wrong."), errors={"current": [_l("The current password is wrong.")]})
    _new_password(user, new)
    record(user, "user.password_change", "user", user.username, None, {"via": "own"})

