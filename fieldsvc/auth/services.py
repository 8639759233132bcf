"""Passwords and their policy, sign-in checks, session versions, users and API tokens. Services
flush; the caller commits."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, select

from ..audit import services as audit
from ..db import column_length, utcnow
from ..errors import Conflict, InvalidInput, NotFound, RuleViolation
from ..extensions import db
from ..security import token_digest
from ..workforce.models import Team
from .models import ApiToken, Role, User

# Argon2id with the library's RFC 9106 low-memory profile (t=3, m=64 MiB, p=4), above OWASP's floor.
_hasher = PasswordHasher()
# Verified against when the username is unknown, so both failures take the same time.
_DUMMY_HASH = _hasher.hash("not a real password")

TOKEN_TOUCH_INTERVAL = timedelta(minutes=5)
MAX_USERNAME = column_length(User.username)
MAX_TOKEN_NAME = column_length(ApiToken.name)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # the sign-in form takes no more
# A browser session's user id as `User.get_id` writes it: id and session version, ASCII digits
# within the database's 32-bit integers.
_SESSION_ID = re.compile(r"([0-9]{1,9}):([0-9]{1,9})")


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Whether `password` matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def _common_passwords() -> frozenset[str]:
    """The 30,000 most common passwords of zxcvbn's frequency list (from leaked password sets),
    read on first use: only setting a password needs them."""
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(password.casefold() for password in FREQUENCY_LISTS["passwords"])


def check_password(password: str, username: str) -> None:
    """Refuse (RuleViolation) a password shorter than MIN_PASSWORD or longer than MAX_PASSWORD,
    one that is the username, or one of the common passwords (in any letter case)."""
    if len(password) < MIN_PASSWORD:
        raise RuleViolation(_l("A password has at least %(min)d characters.", min=MIN_PASSWORD))
    if len(password) > MAX_PASSWORD:
        raise RuleViolation(_l("A password has at most %(max)d characters.", max=MAX_PASSWORD))
    if password.strip().casefold() == username.strip().casefold():
        raise RuleViolation(_l("The password may not be the employee number."))
    if password.casefold() in _common_passwords():
        raise RuleViolation(_l("This password is one of the most common ones: choose another."))


def authenticate(username: str, password: str) -> User | None:
    """The active user with this username and password, else None (one answer for every failure)."""
    user = db.session.scalar(select(User).where(User.username == username.strip()))
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return None
    if not verify_password(user.password_hash, password) or not user.is_active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


@cache
def _session_user_statement() -> Select[tuple[User]]:
    """Built once: every signed-in page runs it (`Session.get` builds its query on each call)."""
    return select(User).where(User.id == bindparam("id"))


def user_for_session(session_id: str) -> User | None:
    """The user a browser session or remember-me cookie names (`User.get_id`), if they are still
    active and the cookie carries their current session version; else None."""
    match = _SESSION_ID.fullmatch(session_id)
    if match is None:
        return None
    user = db.session.scalars(_session_user_statement(), {"id": int(match[1])}).first()
    if user is None or not user.is_active or user.session_version != int(match[2]):
        return None
    return user


def end_sessions(user: User) -> None:
    """End every browser session and remember-me cookie of `user`, on every device, copies
    included, by raising their session version (API tokens are separate: `revoke_token`)."""
    # In SQL, so a bump always moves past the version in the database, not a stale copy's.
    user.session_version = User.session_version + 1  # type: ignore[assignment]
    db.session.flush()


def set_password(user: User, password: str) -> None:
    """Give `user` a new password (checked by `check_password`) and end all their sessions; a
    view changing the signed-in user's own password signs them in again after committing."""
    check_password(password, user.username)
    user.password_hash = hash_password(password)
    end_sessions(user)


def deactivate_user(user: User) -> None:
    """Stop `user` signing in and end their sessions now; their API tokens stop working too (a
    token needs an active user)."""
    user.is_active = False
    end_sessions(user)


def create_user(
    username: str,
    role: Role,
    password: str,
    *,
    name: str | None = None,
    name_en: str | None = None,
    phone: str | None = None,
    team_code: str | None = None,
) -> User:
    """Add a user; installers belong to a team, supervisors supervise it."""
    username = username.strip()
    if not username or len(username) > MAX_USERNAME:
        raise RuleViolation(f"a username has 1 to {MAX_USERNAME} characters")
    check_password(password, username)
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"the username {username} is taken")
    team = None
    if team_code:
        team = db.session.scalar(select(Team).where(Team.code == team_code))
        if team is None:
            raise NotFound(f"no team with the code {team_code}")
    user = User(
        username=username,
        role=role,
        name=name or username,
        name_en=name_en,
        phone=phone,
        password_hash=hash_password(password),
    )
    if team is not None:
        place_in_team(user, team)
    db.session.add(user)
    db.session.flush()
    return user


def place_in_team(user: User, team: Team) -> None:
    """Put `user` in `team`: an installer (or admin) joins it, a supervisor supervises it."""
    if user.role is Role.SUPERVISOR:
        user.supervised_teams.append(team)
    else:
        user.team = team


def create_token(user: User, name: str | None = None) -> str:
    """Issue a new API token for `user`; returns the token, of which only a digest is stored
    (unaudited: `issue_token` is the audited way for admins, users and the command line)."""
    return _new_token(user, name)[1]


def _new_token(user: User, name: str | None) -> tuple[ApiToken, str]:
    token = "fsv_" + secrets.token_urlsafe(32)
    api_token = ApiToken(user=user, token_hash=token_digest(token), prefix=token[:10], name=name)
    db.session.add(api_token)
    db.session.flush()
    return api_token, token


def issue_token(actor: User | None, user: User, name: str | None) -> tuple[ApiToken, str]:
    """Issue a named API token for active `user` (by themself, an admin, or the command line when
    `actor` is None): the row and the token, which is shown once and stored only as a digest.
    Audited "token.create" with its name and prefix, never the token."""
    name = (name or "").strip() or None
    if name is not None and len(name) > MAX_TOKEN_NAME:
        raise InvalidInput(str(_l("At most %(max)d characters.", max=MAX_TOKEN_NAME)),
                           errors={"name": [_l("At most %(max)d characters.", max=MAX_TOKEN_NAME)]})
    if not user.is_active:
        raise RuleViolation(str(_l("A deactivated user cannot be given an API token.")))
    api_token, token = _new_token(user, name)
    audit.record(actor, "token.create", "api_token", str(api_token.id), None, _token_fields(api_token))
    return api_token, token


def _token_fields(api_token: ApiToken) -> dict[str, object]:
    """What the audit log keeps of a token: whose, its name and prefix (the digest and the token
    itself never: the prefix alone cannot be used)."""
    return {"user": api_token.user.username, "name": api_token.name, "prefix": api_token.prefix,
            "revoked_at": api_token.revoked_at}


def list_tokens(user: User) -> list[ApiToken]:
    """All of `user`'s API tokens, live first, then newest first (revoked ones stay listed, marked)."""
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(), ApiToken.id.desc())))


@cache
def _token_statement() -> Select[tuple[ApiToken, User]]:
    """Built once: every API request runs it."""
    return (select(ApiToken, User).join(User, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == bindparam("digest"), ApiToken.revoked_at.is_(None),
                   User.is_active.is_(True)))


def user_for_token(token: str) -> User | None:
    """The active user owning this unrevoked token, else None."""
    row = db.session.execute(_token_statement(), {"digest": token_digest(token)}).first()
    if row is None:
        return None
    api_token, user = row
    now = utcnow()
    # Touch the token at most every few minutes, so reads don't each cost a write.
    if api_token.last_used_at is None or now - api_token.last_used_at > TOKEN_TOUCH_INTERVAL:
        api_token.last_used_at = now
    return user


def revoke_token(token_id: int, owner: User, actor: User | None = None) -> ApiToken:
    """Revoke one of `owner`'s tokens (audited "token.revoke", by `actor`; None: the command line or
    a job): from the next request on, the API answers it with 401 (`user_for_token` reads the row on
    every request). A token of someone else is not found; revoking a revoked token again changes
    nothing and keeps the first time."""
    api_token = db.session.get(ApiToken, token_id)
    if api_token is None or api_token.user_id != owner.id:
        raise NotFound(str(_l("No such token.")))
    if api_token.revoked_at is None:
        before = _token_fields(api_token)
        api_token.revoked_at = utcnow()
        db.session.flush()
        audit.record(actor, "token.revoke", "api_token", str(api_token.id), before, _token_fields(api_token))
    return api_token


class PersonName:
    """A user as messages name them: their name in the reader's language, with the employee number
    added when another user shares that name ("李强（w10016）", "Li Qiang (w10016)"). Lazy, like the messages it goes
    into: it becomes text when the message is shown, in the reader's language then."""

    def __init__(self, user: User) -> None:
        self.name, self.name_en, self.username = user.name, user.name_en, user.username

    def __str__(self) -> str:
        from flask import has_request_context

        from ..extensions import current_locale

        chinese = not has_request_context() or current_locale().startswith("zh")
        english = not chinese and bool(self.name_en)
        shown, column = (self.name_en, User.name_en) if english else (self.name, User.name)
        twins = db.session.scalar(select(User.id).where(column == shown, User.username != self.username).limit(1))
        if twins is None:
            return shown
        return f"{shown}（{self.username}）" if chinese else f"{shown} ({self.username})"
