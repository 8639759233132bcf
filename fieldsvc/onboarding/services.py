"""The preview and the import of an onboarding file. `preview` judges every row against the
database with a fixed number of queries (users, teams, certification types, certificates: one
each, whatever the file's size) and writes nothing; `apply` writes a preview without errors, with
one audit entry per installer and certificate created or changed. Services flush; the caller
commits, so the whole file goes in one transaction or not at all.

New installers sign in with the file's optional initial password (it must pass the password
policy); without one their account gets a password that matches nothing, and the admin sends
them a set-password link from the People page."""
from __future__ import annotations

import enum
import hashlib
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select

from ..audit import services as audit
from ..auth.models import EmployerType, Role, User
from ..auth.services import MAX_USERNAME, check_password, hash_password
from ..certifications.models import Certification, CertificationType
from ..certifications.services import _check_level, certificate_dates
from ..db import column_length, local_today, zone
from ..errors import DomainError, InvalidInput
from ..extensions import db
from ..workforce.models import Team

# Rows that carry an initial password: each is hashed (Argon2id, a tenth of a second or more) when
# the file is previewed, so only the hash is kept between preview and confirm. A file of a
# thousand of them would take minutes: the column is for a few people; the rest get links.
MAX_INITIAL_PASSWORDS = 50
# What a password hash of an account without a password starts with: Argon2 refuses it as a hash,
# so no password matches it (auth.services.verify_password answers False).
UNUSABLE_PREFIX = "!"
# A new installer's initial password that passed the policy, not hashed yet (the preview is cheap).
CHECKED = ""
USER_FIELDS = ("username", "name", "phone", "team_id", "employer_type", "role")
CERT_FIELDS = ("user_id", "certification_type_id", "level", "number", "issued_on", "expires_on", "next_review_on")
MAX_NAME = column_length(User.name)
MAX_PHONE = column_length(User.phone)
MAX_NUMBER = column_length(Certification.number)
_PHONE = re.compile(r"\+?[0-9][0-9 -]*")
_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
EMPLOYER_VALUES = {
    "staff": EmployerType.STAFF, "自有": EmployerType.STAFF, "自有员工": EmployerType.STAFF,
    "正式": EmployerType.STAFF, "正式员工": EmployerType.STAFF, "合同制": EmployerType.STAFF,
    "contractor": EmployerType.CONTRACTOR, "外包": EmployerType.CONTRACTOR, "外包人员": EmployerType.CONTRACTOR,
    "劳务派遣": EmployerType.CONTRACTOR, "合作方": EmployerType.CONTRACTOR,
}
CERT_COLUMNS = ("cert_type", "cert_number", "cert_issued_on", "cert_level")


class RowStatus(enum.Enum):
    """What importing a row would do: add an installer, change one, nothing, or it cannot be imported."""

    NEW = "new"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    ERROR = "error"


@dataclass
class RowPreview:
    """One row's verdict: its status, the reason per column in error, and per changed column the
    value before and after (text as shown); with what `apply` needs to write it."""

    line: int
    username: str
    status: RowStatus = RowStatus.UNCHANGED
    errors: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    user: User | None = None  # the stored installer (None: a new one, or an error)
    new_user: dict[str, Any] | None = None  # the fields of an installer to add (first row of a new username)
    user_update: dict[str, Any] = field(default_factory=dict)
    password_hash: str | None = None
    cert_type: CertificationType | None = None
    cert_new: dict[str, Any] | None = None
    cert: Certification | None = None  # the stored certificate this row changes
    cert_update: dict[str, Any] = field(default_factory=dict)


@dataclass
class Preview:
    """The verdict on a whole file, its rows in file order (`ordered` puts the errors first)."""

    rows: list[RowPreview]

    def count(self, status: RowStatus) -> int:
        return sum(1 for row in self.rows if row.status is status)

    @property
    def has_errors(self) -> bool:
        return any(row.status is RowStatus.ERROR for row in self.rows)

    @property
    def digest(self) -> str:
        """A fingerprint of what the preview shows (statuses, columns in error, every change), so a
        confirm can tell that the database moved since (the messages' language does not count)."""
        plain = [(r.line, r.username, r.status.value, sorted(r.errors), sorted(r.changes.items()),
                  r.password_hash is not None) for r in sorted(self.rows, key=lambda r: r.line)]
        return hashlib.sha256(json.dumps(plain, ensure_ascii=False).encode()).hexdigest()

    def ordered(self) -> list[RowPreview]:
        """Errors first, then new and changed rows, then unchanged ones, each in file order."""
        rank = {RowStatus.ERROR: 0, RowStatus.NEW: 1, RowStatus.CHANGED: 1, RowStatus.UNCHANGED: 2}
        return sorted(self.rows, key=lambda r: (rank[r.status], r.line))


def parse_date(text: str) -> date | None:
    """A date as spreadsheets write it: 2024-05-01, 2024/5/1, 2024.5.1, 2024年5月1日 (else None)."""
    match = _DATE.fullmatch(text.strip())
    if match is None:
        return None
    try:
        return date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return None


def _type_lookup(types: Iterable[CertificationType]) -> dict[str, CertificationType]:
    """Active certification types by code and by either name, case-folded (files name them either way)."""
    found: dict[str, CertificationType] = {}
    for t in types:
        if t.is_active:
            for key in (t.name_en, t.name_zh, t.code):
                found[key.strip().casefold()] = t
    return found


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def preview(rows: list[dict[str, str]], lines: list[int] | None = None, *, today: date | None = None) -> Preview:
    """Judge every row (see the module docstring); writes nothing. `rows` as `parse.parse` gives
    them (a row may carry `initial_password_hash` instead of `initial_password`: already checked
    and hashed by `seal_passwords`)."""
    today = today or local_today(zone())
    lines = lines or list(range(2, len(rows) + 2))
    usernames = {row.get("username", "").strip() for row in rows} - {""}
    users = {u.username: u for u in db.session.scalars(select(User).where(User.username.in_(usernames)))} \
        if usernames else {}
    team_codes = {row.get("team", "").strip() for row in rows} - {""}
    held_team_ids = {u.team_id for u in users.values() if u.team_id is not None}
    # The file's teams and the stored installers' own (to show a move as from → to), in one query.
    known = list(db.session.scalars(select(Team).where(or_(Team.code.in_(team_codes), Team.id.in_(held_team_ids)))))
    teams = {t.code: t for t in known}
    team_codes_by_id = {t.id: t.code for t in known}
    types = _type_lookup(db.session.scalars(select(CertificationType)))
    held: dict[tuple[int, int, date], Certification] = {}
    installer_ids = [u.id for u in users.values() if u.role is Role.INSTALLER]
    if installer_ids and any(row.get("cert_type") for row in rows):
        for cert in db.session.scalars(select(Certification).where(
                Certification.user_id.in_(installer_ids), Certification.revoked_at.is_(None))
                .order_by(Certification.id)):
            held.setdefault((cert.user_id, cert.certification_type_id, cert.issued_on), cert)
    first_line: dict[str, int] = {}  # username → the line of its first row
    first_values: dict[str, tuple[str, ...]] = {}
    seen_certs: dict[tuple[str, int, date], int] = {}
    passwords = 0
    result = []
    for row, line in zip(rows, lines, strict=True):
        username = row.get("username", "").strip()
        out = RowPreview(line, username)
        result.append(out)
        _judge_user(out, row, users, teams, team_codes_by_id, first_line, first_values)
        _judge_certificate(out, row, types, held, seen_certs, today)
        if out.new_user is not None:
            clear, sealed = row.get("initial_password", ""), row.get("initial_password_hash", "")
            if sealed:
                out.password_hash = sealed
            elif clear:
                passwords += 1
                try:
                    if passwords > MAX_INITIAL_PASSWORDS:
                        raise InvalidInput(_l("At most %(n)d initial passwords per file: leave the rest empty and "
                                              "send those installers a set-password link.", n=MAX_INITIAL_PASSWORDS))
                    check_password(clear, username)
                except DomainError as error:
                    out.errors["initial_password"] = error.message
                else:
                    out.password_hash = CHECKED  # hashed by `seal_passwords` or `apply`
        elif row.get("initial_password") and out.user is not None and not out.errors:
            out.notes["initial_password"] = _l("Ignored: the installer exists and keeps their password.")
        if out.errors:
            out.status = RowStatus.ERROR
        elif username not in users:  # a new installer's row (their first, or another certificate of theirs)
            out.status = RowStatus.NEW if out.new_user is not None or out.cert_new is not None else RowStatus.UNCHANGED
        elif out.user_update or out.cert_new is not None or out.cert_update:
            out.status = RowStatus.CHANGED
    return Preview(result)


def _judge_user(out: RowPreview, row: dict[str, str], users: dict[str, User], teams: dict[str, Team],
                team_codes_by_id: dict[int, str], first_line: dict[str, int],
                first_values: dict[str, tuple[str, ...]]) -> None:
    username = out.username
    name, phone = row.get("name", "").strip(), row.get("phone", "").strip()
    team_code, employer_text = row.get("team", "").strip(), row.get("employer_type", "").strip()
    if not username or len(username) > MAX_USERNAME or any(c.isspace() for c in username):
        out.errors["username"] = _l("An employee number has 1 to %(n)d characters and no spaces.", n=MAX_USERNAME)
        return
    values = (name, phone, team_code, employer_text)
    if username in first_line:
        # A further row of the same installer (another certificate): their details must agree.
        if first_values[username] != values:
            out.errors["username"] = _l("Appears on line %(line)d with other details.", line=first_line[username])
        out.user = users.get(username)
        return
    first_line[username], first_values[username] = out.line, values
    user = users.get(username)
    if user is not None and user.role is not Role.INSTALLER:
        out.errors["username"] = _l("This employee number belongs to a supervisor or an admin.")
        return
    if not name:
        out.errors["name"] = _l("Required.")
    elif len(name) > MAX_NAME:
        out.errors["name"] = _l("At most %(n)d characters.", n=MAX_NAME)
    if phone and (len(phone) > MAX_PHONE or not _PHONE.fullmatch(phone)):
        out.errors["phone"] = _l("Not a phone number.")
    team = teams.get(team_code)
    if not team_code:
        out.errors["team"] = _l("Required.")
    elif team is None or not team.is_active:
        out.errors["team"] = _l("No active team has the code %(code)s.", code=team_code)
    employer = None
    if employer_text:
        employer = EMPLOYER_VALUES.get(employer_text.casefold())
        if employer is None:
            out.errors["employer_type"] = _l("Staff or contractor (自有 or 外包).")
    if out.errors:
        return
    if team is None:  # an unknown team code is an error of the row, recorded above
        return
    if user is None:
        out.new_user = {"username": username, "name": name, "phone": phone or None, "team": team,
                        "employer_type": employer or EmployerType.STAFF}
        for column, value in (("name", name), ("phone", phone), ("team", team.code),
                              ("employer_type", _text(employer or EmployerType.STAFF))):
            if value:
                out.changes[column] = ("", value)
        return
    out.user = user
    # An empty optional cell leaves what is stored: a file without phones does not wipe them.
    wanted: dict[str, tuple[Any, str, str]] = {"name": (name, user.name, name)}
    if phone:
        wanted["phone"] = (phone, user.phone or "", phone)
    if employer is not None:
        wanted["employer_type"] = (employer, _text(user.employer_type), _text(employer))
    for column, (value, before, after) in wanted.items():
        if before != after:
            out.user_update[column] = value
            out.changes[column] = (before, after)
    if user.team_id != team.id:
        out.user_update["team"] = team
        out.changes["team"] = (team_codes_by_id.get(user.team_id or 0, ""), team.code)


def _judge_certificate(out: RowPreview, row: dict[str, str], types: dict[str, CertificationType],
                       held: dict[tuple[int, int, date], Certification], seen: dict[tuple[str, int, date], int],
                       today: date) -> None:
    if not any(row.get(column, "").strip() for column in CERT_COLUMNS):
        return
    type_text, number = row.get("cert_type", "").strip(), row.get("cert_number", "").strip()
    issued_text, level_text = row.get("cert_issued_on", "").strip(), row.get("cert_level", "").strip()
    cert_type = types.get(type_text.casefold()) if type_text else None
    if not type_text:
        out.errors["cert_type"] = _l("Required with a certificate.")
    elif cert_type is None:
        out.errors["cert_type"] = _l("Unknown certification type.")
    issued_on = parse_date(issued_text) if issued_text else None
    if not issued_text:
        out.errors["cert_issued_on"] = _l("Required with a certificate.")
    elif issued_on is None:
        out.errors["cert_issued_on"] = _l("Not a date (write 2024-05-01).")
    elif issued_on > today:
        out.errors["cert_issued_on"] = _l("A certificate cannot be issued in the future.")
    level: int | None = None
    if level_text:
        if not level_text.isdigit():
            out.errors["cert_level"] = _l("Not a whole number.")
        else:
            level = int(level_text)
    if cert_type is not None and "cert_level" not in out.errors:
        try:
            _check_level(cert_type, level)  # the rule certificates are recorded by, one by one
        except InvalidInput as error:
            out.errors["cert_level"] = error.message
    if len(number) > MAX_NUMBER:
        out.errors["cert_number"] = _l("At most %(n)d characters.", n=MAX_NUMBER)
    if cert_type is None or issued_on is None or any(c in out.errors for c in CERT_COLUMNS):
        return
    key = (out.username, cert_type.id, issued_on)
    if key in seen:
        out.errors["cert_type"] = _l("The same certificate is on line %(line)d.", line=seen[key])
        return
    seen[key] = out.line
    out.cert_type = cert_type
    stored = held.get((out.user.id, cert_type.id, issued_on)) if out.user is not None else None
    label = f"{cert_type.code} {issued_on.isoformat()}"
    if stored is None:
        out.cert_new = {"certification_type": cert_type, "issued_on": issued_on, "level": level,
                        "number": number or None}
        out.changes["cert_type"] = ("", label)
        for column, value in (("cert_level", _text(level)), ("cert_number", number)):
            if value:
                out.changes[column] = ("", value)
        return
    out.cert = stored
    if stored.level != level:
        out.cert_update["level"] = level
        out.changes["cert_level"] = (_text(stored.level), _text(level))
    if number and (stored.number or "") != number:
        out.cert_update["number"] = number
        out.changes["cert_number"] = (stored.number or "", number)


def seal_passwords(rows: list[dict[str, str]], result: Preview) -> list[dict[str, str]]:
    """`rows` as they may be kept until the confirm: each checked initial password of a new
    installer replaced by its hash, every other one dropped (a row in error is sent again
    corrected, so its password is not worth hashing); no clear password is stored."""
    sealed = []
    for row, verdict in zip(rows, result.rows, strict=True):
        kept = {k: v for k, v in row.items() if k != "initial_password"}
        if verdict.password_hash == CHECKED and row.get("initial_password") and verdict.status is not RowStatus.ERROR:
            verdict.password_hash = kept["initial_password_hash"] = hash_password(row["initial_password"])
        sealed.append(kept)
    return sealed


def apply(result: Preview, rows: list[dict[str, str]], actor: User | None) -> dict[RowStatus, int]:
    """Write what `result` (the preview of `rows`) shows: add and change installers and certificates,
    each with an audit entry ("user.import", "certificate.import"). Refuses (InvalidInput) a
    preview with errors, writing nothing. Returns how many rows were new, changed, unchanged."""
    if result.has_errors:
        raise InvalidInput(_l("Correct the rows in error first: nothing was imported."))
    clear = {out.line: row.get("initial_password", "") for out, row in zip(result.rows, rows, strict=True)}
    created: dict[str, User] = {}
    user_audit: list[tuple[User, dict[str, Any] | None]] = []
    cert_audit: list[tuple[Certification, dict[str, Any] | None]] = []
    for out in result.rows:
        if out.new_user is not None:
            password_hash = out.password_hash or (hash_password(clear[out.line]) if clear.get(out.line) else None)
            fields = dict(out.new_user)
            team = fields.pop("team")
            user = User(role=Role.INSTALLER, password_hash=password_hash or UNUSABLE_PREFIX + secrets.token_hex(16),
                        team=team, **fields)
            db.session.add(user)
            created[user.username] = user
            user_audit.append((user, None))
        user = out.user or created.get(out.username)
        if out.user_update and out.user is not None:
            user_audit.append((out.user, audit.fields(out.user, USER_FIELDS)))
            for name, value in out.user_update.items():
                setattr(out.user, name, value)
        if out.cert_new is not None and user is not None:
            expires_on, next_review_on = certificate_dates(out.cert_new["certification_type"], out.cert_new["issued_on"])
            certification = Certification(user=user, expires_on=expires_on, next_review_on=next_review_on, **out.cert_new)
            db.session.add(certification)
            cert_audit.append((certification, None))
        if out.cert is not None and out.cert_update:
            cert_audit.append((out.cert, audit.fields(out.cert, CERT_FIELDS)))
            for name, value in out.cert_update.items():
                setattr(out.cert, name, value)
    db.session.flush()  # ids for the audit entries
    for user, before in user_audit:
        audit.record(actor, "user.import", "user", user.username, before, audit.fields(user, USER_FIELDS))
    for certification, before in cert_audit:
        audit.record(actor, "certificate.import", "certification", str(certification.id), before,
                     audit.fields(certification, CERT_FIELDS))
    db.session.flush()
    return {status: result.count(status) for status in (RowStatus.NEW, RowStatus.CHANGED, RowStatus.UNCHANGED)}
