"""Teams and districts as admins keep them: creating and editing a team (its names, home district,
the districts it serves, whether it is active) and renaming a district. Codes are stable: a team's
is fixed when it is created, a district's never changes (the demo data, the API and the metrics'
scope ids name them). Every change is audited in the caller's transaction; services flush, the
caller commits.

Neither teams nor districts carry a version column, so an edit carries `state_tag` of what the
editor saw: a change made meanwhile by someone else makes the tag stale and the edit is refused
(409) instead of silently undoing theirs."""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..audit.services import record
from ..db import column_length
from ..errors import Conflict, InvalidInput, RuleViolation
from ..extensions import db
from .models import District, Team

# Codes go into URLs (/admin/teams/<code>) and CSV exports: letters, digits, "_" and "-".
TEAM_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
MAX_TEAM_CODE = column_length(Team.code)
# /admin/teams/new is the creation page, so no team may be called that.
RESERVED_TEAM_CODES = frozenset({"new"})


@dataclass(frozen=True)
class TeamData:
    """What an admin sets on a team (the code apart, which only creation sets)."""

    name_zh: str
    name_en: str
    home_district: str | None  # a district code, one of `districts`
    districts: Sequence[str]  # district codes served
    is_active: bool = True


@dataclass(frozen=True)
class TeamInUse:
    """What keeps a team from being deactivated: its active members and its open orders."""

    active_members: list[str] = field(default_factory=list)  # usernames
    open_orders: list[str] = field(default_factory=list)  # work-order numbers (the first few)
    open_order_count: int = 0

    def __bool__(self) -> bool:
        return bool(self.active_members or self.open_order_count)


def team_state(team: Team) -> dict[str, Any]:
    """The team's editable fields as the audit log and `state_tag` see them (districts by code)."""
    home = db.session.get(District, team.home_district_id) if team.home_district_id is not None else None
    return {"name_zh": team.name_zh, "name_en": team.name_en, "home_district": home.code if home else None,
            "districts": sorted(d.code for d in team.districts), "is_active": team.is_active}


def district_state(district: District) -> dict[str, Any]:
    """The district's editable fields (its names)."""
    return {"name_zh": district.name_zh, "name_en": district.name_en}


def state_tag(state: dict[str, Any]) -> str:
    """A short digest of an object's editable state, carried by its edit form to detect a change
    made meanwhile (the form's `seen` field)."""
    return hashlib.sha256(json.dumps(state, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def _names(data: TeamData | tuple[str, str], model: type[Team] | type[District]) -> tuple[str, str, dict[str, list[Any]]]:
    """Both names, stripped, and the errors of a blank or too long one."""
    name_zh, name_en = (data.name_zh, data.name_en) if isinstance(data, TeamData) else data
    name_zh, name_en = (name_zh or "").strip(), (name_en or "").strip()
    errors: dict[str, list[Any]] = {}
    for key, value, column in (("name_zh", name_zh, model.name_zh), ("name_en", name_en, model.name_en)):
        if not value:
            errors[key] = [_l("This field is required.")]
        elif len(value) > column_length(column):
            errors[key] = [_l("At most %(max)d characters.", max=column_length(column))]
    return name_zh, name_en, errors


def _served(data: TeamData, errors: dict[str, list[Any]]) -> tuple[list[District], District | None]:
    """The districts `data` names (at least one, all known) and its home district among them."""
    codes = list(dict.fromkeys(data.districts))
    found = {d.code: d for d in db.session.scalars(select(District).where(District.code.in_(codes)))} if codes else {}
    unknown = [c for c in codes if c not in found]
    if unknown:
        errors["districts"] = [_l("Unknown district codes: %(codes)s.", codes=", ".join(unknown))]
    elif not codes:
        errors["districts"] = [_l("A team serves at least one district.")]
    home = found.get(data.home_district) if data.home_district else None
    # The home district is where the crew is based, so it is one the crew serves: dispatch checks
    # only the served districts, and a base outside them would be a district it cannot take jobs in.
    if not data.home_district:
        errors["home_district"] = [_l("This field is required.")]
    elif data.home_district not in codes or (home is None and "districts" not in errors):
        errors["home_district"] = [_l("The home district must be one of the districts served.")]
    return [found[c] for c in codes if c in found], home


def create_team(actor: Any, code: str, data: TeamData) -> Team:
    """Add a team (audited "team.create"); refuses a malformed, reserved or taken code (compared
    without letter case: TA01 and ta01 would be told apart by nobody), blank names, unknown districts
    or a home district not served."""
    code = (code or "").strip()
    name_zh, name_en, errors = _names(data, Team)
    if not code or len(code) > MAX_TEAM_CODE or not TEAM_CODE.fullmatch(code):
        errors["code"] = [_l("1 to %(max)d letters, digits, \"_\" or \"-\", starting with a letter or digit.",
                             max=MAX_TEAM_CODE)]
    elif code.lower() in RESERVED_TEAM_CODES:
        errors["code"] = [_l("This code is reserved.")]
    elif db.session.scalar(select(Team.id).where(func.lower(Team.code) == code.lower())) is not None:
        errors["code"] = [_l("The code %(code)s is taken.", code=code)]
    districts, home = _served(data, errors)
    if errors:
        raise InvalidInput(str(_l("The team was not saved: see the marked fields.")), errors=errors)
    team = Team(code=code, name_zh=name_zh, name_en=name_en, districts=districts,
                home_district_id=home.id if home else None, is_active=data.is_active)
    db.session.add(team)
    db.session.flush()
    record(actor, "team.create", "team", team.code, None, team_state(team))
    return team


def edit_team(actor: Any, team: Team, data: TeamData, *, seen: str | None,
              in_use: Callable[[Team], TeamInUse]) -> Team:
    """Change a team's names, home district, districts served and active flag (audited "team.edit";
    the code stays). Refused (409) when `seen` is not the tag of the team as it is now; deactivating
    is refused (422) while `in_use(team)` finds active members or open orders, listing them.

    `in_use` is passed in because members (auth) and orders (workorders) live in layers above this
    one: the caller gives `workorders.teams.team_in_use`."""
    before = team_state(team)
    if seen != state_tag(before):
        raise Conflict(str(_l("Someone changed this team meanwhile: reload the page and make your change again.")))
    name_zh, name_en, errors = _names(data, Team)
    districts, home = _served(data, errors)
    if errors:
        raise InvalidInput(str(_l("The team was not saved: see the marked fields.")), errors=errors)
    if team.is_active and not data.is_active:
        blockers = in_use(team)
        if blockers:
            # Refused rather than cascaded: moving people and orders is a supervisor's decision,
            # and an inactive team with live work would drop out of dispatch and the dashboards.
            raise RuleViolation(str(_l("The team still has active members or open orders: move them first.")),
                                active_members=blockers.active_members, open_orders=blockers.open_orders,
                                open_order_count=blockers.open_order_count)
    team.name_zh, team.name_en, team.is_active = name_zh, name_en, data.is_active
    team.districts = districts
    team.home_district_id = home.id if home else None
    db.session.flush()
    record(actor, "team.edit", "team", team.code, before, team_state(team))
    return team


def edit_district(actor: Any, district: District, name_zh: str, name_en: str, *, seen: str | None) -> District:
    """Rename a district in both languages (audited "district.edit"); its code never changes.
    Refused (409) when `seen` is stale, like `edit_team`."""
    before = district_state(district)
    if seen != state_tag(before):
        raise Conflict(str(_l("Someone changed this district meanwhile: reload the page and make your change again.")))
    name_zh, name_en, errors = _names((name_zh, name_en), District)
    if errors:
        raise InvalidInput(str(_l("The district was not saved: see the marked fields.")), errors=errors)
    district.name_zh, district.name_en = name_zh, name_en
    db.session.flush()
    record(actor, "district.edit", "district", district.code, before, district_state(district))
    return district
