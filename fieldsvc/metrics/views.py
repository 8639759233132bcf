"""The quality dashboard (supervisors: their teams; admins: all), its exports, the orders behind a
figure, and the installer's own figures on Today. Every figure is read from stored snapshots."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from flask import Blueprint, abort, render_template, request
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import select

from ..auth.models import Role, User
from ..auth.permissions import DISPATCHERS, role_required
from ..caching import Fragments
from ..db import local_today, zone
from ..exports import csv_response, xlsx_response
from ..extensions import current_locale, db
from ..snapshots.models import COMPANY_ID, PeriodType, ScopeType
from ..snapshots.periods import is_period_start, period_end
from ..workforce.models import JobType
from ..workorders.views import register_today_panel
from .cells import HELPERS
from .charts import chart
from .dashboard import EXPORT_HEADER, MEMBER_COLUMNS, build, default_scope, export_rows, figure_label
from .definitions import BY_CODE, BY_JOB_TYPE, is_code, split_code
from .services import PARTS, TREND_WINDOWS, current_periods, orders_for, own_figures, own_figures_stamp

bp = Blueprint("metrics", __name__)

# The installer's own figures on Today: the pillar's, then the service standard's two (issue #15).
TODAY_METRICS = ("completed_orders", "onsite_resolution_rate", "satisfaction_rate", "dissatisfied_count",
                 "booking_in_time_rate", "checklist_compliance_rate")
DRILL_LIMIT = 500  # orders listed on one page (the count says how many there are; the next page follows)


for _helper in HELPERS:
    bp.add_app_template_global(_helper, "metric_" + _helper.__name__)


def _choice(name: str, allowed: dict[str, Any], default: Any) -> Any:
    return allowed.get(request.args.get(name, ""), default)


SCOPES = {s.value: s for s in ScopeType}
PERIODS = {p.value: p for p in PeriodType}


def _view() -> Any:
    scope_type = _choice("scope", SCOPES, None)
    scope_id = request.args.get("id", "")
    if "view" in request.args:  # the picker's one field: "team:TA01"
        kind, _sep, scope_id = request.args["view"].partition(":")
        scope_type = SCOPES.get(kind)
    if scope_type is None:
        scope_type, scope_id = default_scope(current_user)
    period_type = _choice("period", PERIODS, PeriodType.MONTH)
    days = _choice("days", {str(d): d for d in TREND_WINDOWS}, 30)
    today = local_today(zone())
    data = build(current_user, scope_type, scope_id or COMPANY_ID, period_type, days, _on(today), current_locale())
    data.today = today
    return data


def _on(today: date) -> date:
    """The day whose period is shown (`on`, ISO; an earlier period than the current one): today
    when absent, malformed or in the future."""
    try:
        on = date.fromisoformat(request.args.get("on", ""))
    except ValueError:
        return today
    return min(on, today)


@bp.route("/quality")
@role_required(*DISPATCHERS)
def dashboard() -> Any:
    """KPI tiles against targets, trends, rankings and a team's installers, for one scope and period."""
    data = _view()
    charts = {code: chart(trend.metric, trend.starts, [p.value if p else None for p in trend.points],
                          data.targets[code]) for code, trend in data.trends.items()}
    return render_template("metrics/dashboard.html", data=data, charts=charts, member_columns=MEMBER_COLUMNS,
                           metrics=BY_CODE, by_job_type=BY_JOB_TYPE, windows=list(TREND_WINDOWS), args=_args(data))


def _args(data: Any) -> dict[str, str]:
    """The query that shows this view again (for links and exports)."""
    args = {"scope": data.scope_type.value, "id": data.scope_id, "period": data.period_type.value,
            "days": str(data.days)}
    if not data.is_current:
        args["on"] = data.period_start.isoformat()
    return args


@bp.route("/quality/export.<fmt>")
@role_required(*DISPATCHERS)
def export(fmt: str) -> Any:
    """The view's figures (its tiles and trend points) as CSV (UTF-8 with a BOM) or Excel."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    data = _view()
    header = [_("Metric"), *EXPORT_HEADER]
    filename = f"quality-{data.scope_type.value}-{data.scope_id}-{data.period_start.isoformat()}.{fmt}"
    if fmt == "csv":
        return csv_response(filename, header, export_rows(data, current_locale()))
    return xlsx_response(filename, _("Quality"), header, export_rows(data, current_locale()))


@bp.route("/quality/orders")
@role_required(Role.INSTALLER, Role.SUPERVISOR, Role.ADMIN)
def orders() -> Any:
    """The orders behind one figure's numerator or denominator: the rows the figure counted."""
    code = request.args.get("metric", "")
    scope_type = SCOPES.get(request.args.get("scope", ""))
    period_type = PERIODS.get(request.args.get("period", ""))
    part = request.args.get("part", "denominator")
    try:
        start = date.fromisoformat(request.args.get("start", ""))
    except ValueError:
        abort(404)
    if not is_code(code) or scope_type is None or period_type is None or part not in PARTS \
            or not is_period_start(period_type, start):
        abort(404)
    scope_id = request.args.get("id", "") or COMPANY_ID
    after = request.args.get("after") or None  # the last order number of the page before
    behind = orders_for(current_user, code, scope_type, scope_id, period_type, start, part, zone(),
                        limit=DRILL_LIMIT, after=after)
    item, job_type = split_code(code)
    kinds = {} if job_type is None else {k.code: k for k in db.session.scalars(select(JobType).where(JobType.code == job_type))}
    return render_template("metrics/orders.html", metric=item, item_label=figure_label(code, current_locale(), kinds), behind=behind, scope_type=scope_type,
                           scope_id=scope_id, period_type=period_type, start=start,
                           end=period_end(period_type, start), limit=DRILL_LIMIT, after=after,
                           pager_args={key: value for key, value in request.args.items() if key != "after"})


# The rendered panels of the installers who opened Today lately (about 6 kB each): the figures
# change when the scheduler computes them, every 15 minutes, while the page is opened and polled
# far more often; kept by the panel's validator values, which move with every snapshot written.
TODAY_FRAGMENTS, TODAY_KEPT = "today_figures", 2000


def today_panel(installer: User, seen: Sequence[Any] | None = None) -> Markup:
    """The installer's own figures for today, this week and this month beside their team's
    (rendered again only when `seen`, what `today_panel_validator` read, has changed)."""
    if seen is None:
        return _today_panel(installer)
    key = (installer.id, installer.team_id, str(current_locale()), repr(seen))
    return Fragments.of(TODAY_FRAGMENTS, TODAY_KEPT).get(key, lambda: _today_panel(installer))


def _today_panel(installer: User) -> Markup:
    periods = current_periods(local_today(zone()))
    found = own_figures(installer, periods, TODAY_METRICS)  # one query: theirs and their team's
    mine = {(code, kind): row for (scope, code, kind), row in found.items() if scope == ScopeType.INSTALLER.value}
    team = {(code, kind): row for (scope, code, kind), row in found.items() if scope == ScopeType.TEAM.value}
    # An autoescaped template's output, already safe: marked so that Today's page does not escape it twice.
    html = render_template("metrics/_today.html", periods=periods, mine=mine, team=team,
                           has_team=installer.team_id is not None, codes=TODAY_METRICS, metrics=BY_CODE)
    return Markup(html)  # nosec B704


def today_panel_validator(installer: User, now: Any) -> list[Any]:
    """What `today_panel` shows: the current periods, whether there is a team, and its snapshots."""
    periods = current_periods(local_today(zone()))
    return [periods, installer.team_id is not None, *own_figures_stamp(installer, periods, TODAY_METRICS)]


bp.record_once(lambda state: register_today_panel(state.app, today_panel, today_panel_validator))
