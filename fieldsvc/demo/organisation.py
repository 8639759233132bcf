"""The organisation: teams across Wuhan's districts, their supervisors, and installers with a
latent skill that drives how well they work (DOMAIN.md §3.2, §3.4)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from ..auth.models import EmployerType, Role, User
from ..extensions import db
from ..workforce.models import Team, team_districts, team_supervisors
from .reference import CN_NUMERALS, DISTRICT_INFO, TELECOM_PREFIXES, person_name, phone_number

if TYPE_CHECKING:
    from .seed import Seeder

DEMO_PASSWORD = "demo-pass-2026"  # nosec B105


@dataclass
class DemoTeam:
    index: int
    id: int
    code: str
    home: str
    districts: list[tuple[str, float]]  # (district code, share of the team's work)
    supervisor_id: int = 0
    installers: list[DemoInstaller] = field(default_factory=list)


@dataclass
class DemoInstaller:
    """An installer as the generator sees them: identity, latent skill and derived rates."""

    id: int
    username: str
    team: DemoTeam
    skill: float
    is_active: bool
    hired_day: int  # local day numbers (days since 1970-01-01)
    last_day: int  # no visits after this day (left the company, or the service certificate lapsed)
    rest_offset: int
    has_ftth: bool = True
    has_skill3: bool = False
    has_height: bool = False
    star: int = 0
    # local day numbers from which the certificates behind installs, smart-home jobs and work at
    # height are held (the jobs before them were of other kinds)
    ftth_from: int = 0
    skill3_from: int = 0
    height_from: int = 0
    # derived rates, set by Orders
    reason_cum: list[float] = field(default_factory=list)
    district_cum: list[float] = field(default_factory=list)
    # (departure, leaving) of the visits booked so far, in time order, none overlapping: where
    # the installer is already committed (pruned as the days go by).
    busy: list[tuple[int, int]] = field(default_factory=list)
    last_new_day: int = 0  # no new orders after this day: the last ones' revisits fit before last_day


TEAM_SIZE, TEAM_MIN, TEAM_MAX = 12, 8, 15  # installers per team (DOMAIN.md §3.2)


def allocate(seats: int, weights: list[float], minimum: int, maximum: int | None = None) -> list[int]:
    """Seats per weight by Sainte-Laguë, each entry holding `minimum` to `maximum` seats
    (deterministic; ties go to the earlier entry). The caller makes the bounds attainable."""
    counts = [minimum] * len(weights)
    open_ = [i for i in range(len(weights)) if maximum is None or counts[i] < maximum]
    for _ in range(seats - minimum * len(weights)):
        best = max(open_, key=lambda i: (weights[i] / (2 * counts[i] + 1), -i))
        counts[best] += 1
        if maximum is not None and counts[best] >= maximum:
            open_.remove(best)
    return counts


def team_count(installers: int, districts: int) -> int:
    """How many teams `installers` make: about 12 each, never fewer than 8 or more than 15 in a
    team (one team when there are fewer than 8 installers), one per district at least once every
    district can have a team of 8."""
    low, high = max(1, -(-installers // TEAM_MAX)), max(1, installers // TEAM_MIN)
    teams = round(installers / TEAM_SIZE)
    if installers >= TEAM_MIN * districts:
        teams = max(teams, districts)
    return min(max(teams, low), high)


def build_organisation(s: Seeder) -> None:
    """Teams across the districts in proportion to their work, a supervisor each, and the installers
    (skill, hire date, rest day); teams are written now, people once their certificates are known."""
    rng, codes = s.rng, s.district_codes
    shares = [float(DISTRICT_INFO[c].installers) for c in codes]
    n_teams = team_count(s.n_installers, len(codes))
    per_district = allocate(n_teams, shares, 1 if n_teams >= len(codes) else 0)
    # Districts without a team of their own are served by the nearest district's teams.
    covered = {c for c, n in zip(codes, per_district, strict=True) if n}
    adopted: dict[str, list[str]] = {c: [] for c in codes}
    for code in codes:
        if code not in covered:
            adopted[_nearest_covered(s, code, covered)].append(code)

    # A team's districts are weighted by the work they bring it: its share of the home
    # district, the whole of a district it adopted, a little of a neighbour's.
    team_rows, link_rows = [], []
    for code, count in zip(codes, per_district, strict=True):
        info = DISTRICT_INFO[code]
        home_load = info.installers / count if count else 0.0
        extras = adopted[code]
        for i in range(count):
            area_zh, area_en = info.areas[i % len(info.areas)]
            crew = i // len(info.areas)
            districts = [(code, home_load)]
            districts += [(e, float(DISTRICT_INFO[e].installers)) for k, e in enumerate(extras) if k % count == i]
            neighbour = info.neighbours[0]
            if rng.random() < 0.2 and all(d != neighbour for d, _ in districts):
                districts.append((neighbour, 0.1 * home_load))
            team = DemoTeam(index=len(s.teams), id=s.ids.next("teams"), code=f"{info.abbr}{i + 1:02d}",
                         home=code, districts=districts)
            s.teams.append(team)
            team_rows.append({"id": team.id, "code": team.code, "home_district_id": s.district_ids[code],
                              "name_zh": f"{info.short_zh}{area_zh}装维{CN_NUMERALS[crew % 10]}班",
                              "name_en": f"{s.district_names[code][1]} {area_en} Crew {crew + 1}",
                              "is_active": True})
            link_rows += [{"team_id": team.id, "district_id": s.district_ids[d]} for d, _ in districts]

    # Installers per team in proportion to that work, within the sizes teams have (8–15).
    weights = [sum(w for _d, w in team.districts) for team in s.teams]
    if s.n_installers >= TEAM_MIN:
        sizes = allocate(s.n_installers, weights, TEAM_MIN, TEAM_MAX)
    else:  # fewer than a team's worth: one small team
        sizes = [s.n_installers]

    user_rows: list[dict[str, Any]] = [{
        "id": s.ids.next("users"), "username": "admin", "name": "系统管理员", "name_en": "Administrator",
        "phone": None, "role": Role.ADMIN.value, "employer_type": EmployerType.STAFF.value, "team_id": None,
        "is_active": True, "password_hash": s.password_hash,
        "created_at": s.local_datetime(s.first_n - 400, 9 * 3600)}]
    supervisor_rows = []
    for team in s.teams:
        name, name_en = person_name(rng, female=rng.random() < 0.2)
        team.supervisor_id = s.ids.next("users")
        user_rows.append({
            "id": team.supervisor_id, "username": f"s{team.index + 1:04d}", "name": name, "name_en": name_en,
            "phone": phone_number(rng, TELECOM_PREFIXES), "role": Role.SUPERVISOR.value,
            "employer_type": EmployerType.STAFF.value, "team_id": None, "is_active": True,
            "password_hash": s.password_hash,
            "created_at": s.local_datetime(s.first_n - rng.randint(200, 3000), 9 * 3600)})
        supervisor_rows.append({"team_id": team.id, "user_id": team.supervisor_id})

    number = 10000
    team_effects = [rng.gauss(0, 1) for _ in s.teams]
    for team, size in zip(s.teams, sizes, strict=True):
        for _ in range(size):
            number += 1
            user_id = s.ids.next("users")
            skill = 0.5 * team_effects[team.index] + 0.866 * rng.gauss(0, 1)
            is_active = rng.random() >= 0.02
            hired = s.first_n - rng.randint(30, 2500)
            last_day = s.today_n + 30  # beyond the revisits booked from the last days seeded
            if not is_active:
                last_day = s.today_n - rng.randint(8, 120)
            installer = DemoInstaller(id=user_id, username=f"w{number}", team=team, skill=skill,
                                   is_active=is_active, hired_day=hired, last_day=last_day,
                                   rest_offset=int(rng.random() * 7))
            team.installers.append(installer)
            s.installers.append(installer)
            name, name_en = person_name(rng, female=rng.random() < 0.05)
            user_rows.append({
                "id": user_id, "username": installer.username, "name": name, "name_en": name_en,
                "phone": phone_number(rng, TELECOM_PREFIXES), "role": Role.INSTALLER.value,
                "employer_type": (EmployerType.CONTRACTOR if rng.random() < 0.35 else EmployerType.STAFF).value,
                "team_id": team.id, "is_active": is_active, "password_hash": s.password_hash,
                "created_at": s.local_datetime(hired, 9 * 3600)})
    s.user_rows = user_rows  # hire dates may move (new hires) before they are written
    s.insert(Team.__table__, team_rows)
    s.team_district_rows = link_rows
    s.supervisor_rows = supervisor_rows


def write_people(s: Seeder) -> None:
    """Write the users and the teams' districts and supervisors (once hire dates are final)."""
    s.insert(User.__table__, s.user_rows)
    db.session.execute(insert(team_districts), s.team_district_rows)
    db.session.execute(insert(team_supervisors), s.supervisor_rows)
    s.counts.update({"teams": len(s.teams), "users": len(s.user_rows)})


def _nearest_covered(s: Seeder, code: str, covered: set[str]) -> str:
    """The nearest district (by neighbours) that has teams of its own."""
    frontier, seen = [code], {code}
    while frontier:
        following = []
        for current in frontier:
            for neighbour in DISTRICT_INFO[current].neighbours:
                if neighbour in covered:
                    return neighbour
                if neighbour not in seen:
                    seen.add(neighbour)
                    following.append(neighbour)
        frontier = following
    return next(c for c in s.district_codes if c in covered)

# -- certificates and training


def demo_password_hash() -> str:
    """One Argon2 hash shared by every demo user: hashing 1,000 passwords would take minutes, and
    they all have the same demo password anyway. (The salt makes this the one column that differs
    between two seeds with the same parameters.)"""
    from ..auth.services import hash_password

    return hash_password(DEMO_PASSWORD)
