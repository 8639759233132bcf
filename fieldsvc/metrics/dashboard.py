"""The quality dashboard of one scope (the branch, a district, a team, an installer): its figures
for one period against their targets, trends, rankings, a team's installers, and the same rows as
an export. Built from stored snapshots in a constant number of queries."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from ..auth.models import Role, User
from ..auth.scope import managed_teams
from ..db import zone
from ..errors import NotFound
from ..extensions import db
from ..rules.services import settings_on
from ..snapshots.models import COMPANY_ID, MetricSnapshot, PeriodType, ScopeType
from ..snapshots.periods import period_end, period_start
from ..workforce.models import District, JobType, Team
from .access import drillable, may_drill, may_read
from .definitions import BY_CODE, BY_JOB_TYPE, GROUPS, JOB_TYPE_MARK, METRICS, Kind, Metric, split_code
from .engine import reply_minutes
from .services import Ranking, Series, figures, ranking, series

# The tiles, the two with targets and the count the city ranks by first.
HEADLINE = ("satisfaction_rate", "onsite_resolution_rate", "dissatisfied_count", "completed_orders")
TILE_ORDER = HEADLINE + tuple(m.code for m in METRICS if m.code not in HEADLINE)
TRENDS = ("satisfaction_rate", "onsite_resolution_rate", "dissatisfied_count")
RANKED = ("onsite_resolution_rate", "satisfaction_rate")
MEMBER_COLUMNS = ("completed_orders", "onsite_resolution_rate", "satisfaction_rate", "dissatisfied_count")


def target_of(item: Metric, rules: dict[str, Any]) -> float | None:
    """The metric's target under the rules given (None: it has none)."""
    return float(rules[item.target]) if item.target else None


def meets(item: Metric, value: float | None, target: float | None) -> bool | None:
    """Whether a value meets its target (None: no value or no target)."""
    if value is None or target is None:
        return None
    return value <= target if item.lower_is_better else value >= target


@dataclass
class Tile:
    metric: Metric
    snapshot: MetricSnapshot | None
    target: float | None

    @property
    def met(self) -> bool | None:
        return meets(self.metric, self.snapshot.value if self.snapshot else None, self.target)


@dataclass
class Section:
    """A group of tiles under its heading (definitions.GROUPS)."""

    code: str
    label: object
    tiles: list[Tile]


@dataclass
class Member:
    installer: User
    cells: dict[str, MetricSnapshot | None]


@dataclass
class JobTypeRow:
    """The figures kept per job type (timeliness, hours to complete) for one job type."""

    job_type: JobType
    cells: dict[str, MetricSnapshot | None]

    @property
    def provisional(self) -> bool:
        return any(cell is not None and not cell.is_final for cell in self.cells.values())


@dataclass
class Dashboard:
    scope_type: ScopeType
    scope_id: str
    period_type: PeriodType
    period_start: date
    days: int
    drill: bool  # the orders behind this scope's figures may be listed
    tiles: list[Tile]
    trends: dict[str, Series]
    targets: dict[str, float | None]
    rankings: list[Ranking] = field(default_factory=list)
    members: list[Member] = field(default_factory=list)
    job_types: list[JobTypeRow] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)  # the picker
    districts: list[District] = field(default_factory=list)
    title: str = ""
    period_last: date | None = None
    # The desk's minutes to a first reply in the period: median and 90th percentile (not stored).
    reply_minutes: tuple[float | None, float | None] = (None, None)
    today: date | None = None  # the local day it is read on (the current period holds it)

    @property
    def is_current(self) -> bool:
        return self.today is None or self.period_last is None or self.period_last >= self.today

    @property
    def previous_on(self) -> date:
        """A day of the period before this one (the `on` of the page's "previous" link)."""
        return self.period_start - timedelta(days=1)

    @property
    def next_on(self) -> date | None:
        """A day of the next period, unless this one is the current one."""
        return None if self.is_current or self.period_last is None else self.period_last + timedelta(days=1)

    @property
    def sections(self) -> list[Section]:
        """The tiles by section, in GROUPS order (a section of no stored figure is left out)."""
        found = [Section(code, label, [t for t in self.tiles if t.metric.group == code]) for code, label in GROUPS.items()]
        return [section for section in found if any(t.snapshot for t in section.tiles)]


def default_scope(user: User) -> tuple[ScopeType, str]:
    """Where the dashboard opens: an admin on the branch, a supervisor on their first team."""
    if user.role is Role.SUPERVISOR:
        teams = managed_teams(user)
        if teams:
            return ScopeType.TEAM, teams[0].code
    return ScopeType.COMPANY, COMPANY_ID


def build(user: User, scope_type: ScopeType, scope_id: str, period_type: PeriodType, days: int,
          today: date, locale: str) -> Dashboard:
    """The dashboard of one scope as `user` may see it; NotFound when they may not read it."""
    if scope_type is ScopeType.COMPANY:
        scope_id = COMPANY_ID
    if not may_read(user, scope_type, scope_id):
        raise NotFound(_("No figures of that scope that you may see."))
    start = period_start(period_type, today)
    rules = settings_on(today)
    found = figures(user, scope_type, scope_id, [(period_type, start)])
    tiles = [Tile(BY_CODE[code], found.get((code, period_type)), target_of(BY_CODE[code], rules)) for code in TILE_ORDER]
    data = Dashboard(
        scope_type, scope_id, period_type, start, days, may_drill(user, scope_type, scope_id), tiles,
        series(user, scope_type, scope_id, list(TRENDS), days, today),
        {code: target_of(BY_CODE[code], rules) for code in TRENDS},
        teams=managed_teams(user), districts=list(db.session.scalars(select(District).order_by(District.id))),
    )
    data.job_types = _job_types(found, period_type)
    team_code = scope_id if scope_type is ScopeType.TEAM else None
    for code in RANKED:
        data.rankings.append(ranking(user, code, ScopeType.INSTALLER, period_type, start, rules, team_code=team_code))
        if scope_type is not ScopeType.TEAM:
            data.rankings.append(ranking(user, code, ScopeType.TEAM, period_type, start, rules))
    if scope_type is ScopeType.TEAM:
        data.members = _members(user, scope_id, period_type, start)
    data.period_last = period_end(period_type, start)
    data.reply_minutes = reply_minutes(scope_type, scope_id, period_type, start, zone())
    data.title = _title(scope_type, scope_id, data, locale)
    return data


def _job_types(found: dict[tuple[str, PeriodType], MetricSnapshot], period_type: PeriodType) -> list[JobTypeRow]:
    """A row per job type the period has figures for (one query, for the job types' names)."""
    rows = []
    for job_type in db.session.scalars(select(JobType).order_by(JobType.id)):
        cells = {item.code: found.get((f"{item.code}{JOB_TYPE_MARK}{job_type.code}", period_type)) for item in BY_JOB_TYPE}
        if any(cells.values()):
            rows.append(JobTypeRow(job_type, cells))
    return rows


def figure_label(code: str, locale: str, job_types: dict[str, JobType]) -> str:
    """A snapshot's metric in words: its name, and its job type's for a figure kept per job type."""
    item, job_type = split_code(code)
    if job_type is None:
        return str(item.label)
    kind = job_types.get(job_type)
    return f"{item.label} · {kind.name(locale) if kind else job_type}"


def _members(user: User, team_code: str, period_type: PeriodType, start: date) -> list[Member]:
    """The team's installers and their figures for the period (two queries)."""
    installers = list(db.session.scalars(
        select(User).join(Team, Team.id == User.team_id)
        .where(Team.code == team_code, User.role == Role.INSTALLER, User.is_active.is_(True)).order_by(User.username)))
    rows = db.session.scalars(select(MetricSnapshot).where(
        drillable(user), MetricSnapshot.scope_type == ScopeType.INSTALLER,
        MetricSnapshot.scope_id.in_([i.username for i in installers]), MetricSnapshot.metric.in_(MEMBER_COLUMNS),
        MetricSnapshot.period_type == period_type, MetricSnapshot.period_start == start))
    found = {(row.scope_id, row.metric): row for row in rows}
    return [Member(i, {code: found.get((i.username, code)) for code in MEMBER_COLUMNS}) for i in installers]


def _title(scope_type: ScopeType, scope_id: str, data: Dashboard, locale: str) -> str:
    if scope_type is ScopeType.TEAM:
        team = db.session.scalar(select(Team).where(Team.code == scope_id))
        return f"{scope_id} {team.name(locale)}" if team else scope_id
    if scope_type is ScopeType.DISTRICT:
        district = next((d for d in data.districts if d.code == scope_id), None)
        return district.name(locale) if district else scope_id
    if scope_type is ScopeType.INSTALLER:
        person = db.session.scalar(select(User).where(User.username == scope_id))
        return f"{person.display_name(locale)} {scope_id}" if person else scope_id
    return ""


EXPORT_HEADER = ("metric", "scope", "scope_id", "period", "period_start", "numerator", "denominator", "value", "final")


def snapshot_row(row: MetricSnapshot) -> dict[str, Any]:
    """A snapshot as the API and the exports give it."""
    return {"metric": row.metric, "scope": row.scope_type.value, "scope_id": row.scope_id,
            "period": row.period_type.value, "period_start": row.period_start.isoformat(),
            "numerator": row.numerator, "denominator": row.denominator, "value": row.value, "final": row.is_final}


def export_rows(data: Dashboard, locale: str) -> list[list[Any]]:
    """The view's figures as rows of EXPORT_HEADER (plus the metric's name): the period's tiles,
    the figures per job type, then each trend's points."""
    rows = []
    stored = [tile.snapshot for tile in data.tiles if tile.snapshot is not None]
    stored += [cell for row in data.job_types for cell in row.cells.values() if cell is not None]
    names = {row.job_type.code: row.job_type for row in data.job_types}
    for trend in data.trends.values():
        stored += [point for point in trend.points if point is not None]
    for snapshot in stored:
        values = snapshot_row(snapshot)
        rows.append([figure_label(snapshot.metric, locale, names), *(values[name] for name in EXPORT_HEADER)])
    return rows


def is_rate(item: Metric) -> bool:
    return item.kind is Kind.RATE
