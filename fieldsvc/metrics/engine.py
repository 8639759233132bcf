"""The metrics engine: a period's figures for every metric and all four scopes, set-based.

For a period (a local day, ISO week or month, turned into one UTC range) the engine builds one
row of flags per order completed in it (from `order_facts`, where each lookup an order's flags
read runs once), one per rating submitted in it, and likewise for the follow-ups opened, the
visits left and the support requests raised (`FLAGS`); sums them per installer, team, district
and the company (one GROUP BY each, joined by UNION ALL); turns each sum into the snapshot rows of the metrics in `definitions`; and
upserts those that are new or changed with one INSERT … SELECT, inside the database, deleting
the rows of scopes that have nothing left in the period. The statements are built once, with the
period, the instant and the rules bound as parameters; per period the engine runs the rules in
force, the write (one statement on PostgreSQL, a DELETE and the upsert on SQLite) and the count,
whatever the period's size; nothing is loaded as objects. The caller owns the transaction: one per
period, so a failure leaves the previous snapshots as they were.

The drill-down (`orders_behind`) filters the same flag rows, so the orders listed behind a
figure are the rows the figure counted."""
from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    cast,
    delete,
    except_,
    exists,
    func,
    literal,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import aliased
from sqlalchemy.sql import Select
from sqlalchemy.sql.expression import CTE

from ..auth.models import User
from ..db import UTCDateTime, among, hold_transaction, without_jit, without_statement_timeout
from ..extensions import db
from ..ratings.models import SATISFIED_MIN_SCORE, FollowUp, FollowUpOutcome, FollowUpStatus, SurveyResponse
from ..rules.services import settings_on
from ..snapshots.models import COMPANY_ID, MetricSnapshot, PeriodType, ScopeType
from ..snapshots.periods import utc_range
from ..support.models import SupportRequest, SupportResolution, SupportStatus
from ..workforce.models import District, JobType, Team
from ..workorders.models import OrderStatus, Visit, VisitOutcome, WorkOrder
from ..workorders.standards import BOOKED_CALL, OrderStandard, Phase, StandardStep, StepTick
from .definitions import JOB_TYPE_MARK, METRICS, Base, Kind, Metric, split_code
from .sql import flag, seconds_between, within_days_after

DISSATISFIED_MAX_SCORE = 2  # 2 and 1 stars: 不满意 (PRODUCT.md §4)


@dataclass(frozen=True)
class Period:
    """A local calendar period and its UTC range."""

    type: PeriodType
    start: date
    begins: datetime  # UTC, inclusive
    ends: datetime    # UTC, exclusive

    @classmethod
    def of(cls, period_type: PeriodType, start: date, tz: ZoneInfo) -> Period:
        return cls(period_type, start, *utc_range(period_type, start, tz))


# --- the rows each figure counts ---------------------------------------------------------------

def completed_orders(period: Period) -> Select[Any]:
    """One row per order completed in the period, with its scopes and job type."""
    return (
        select(
            WorkOrder.id.label("order_id"),
            WorkOrder.completed_by_id.label("installer_id"),
            WorkOrder.team_id.label("team_id"),
            WorkOrder.district_id.label("district_id"),
            JobType.code.label("job_type"),
        )
        .join(JobType, JobType.id == WorkOrder.job_type_id)
        .where(WorkOrder.status == OrderStatus.COMPLETED,
               WorkOrder.completed_at >= period.begins, WorkOrder.completed_at < period.ends)
    )


def lookahead_days(rules: dict[str, Any]) -> int:
    """How far after an order `order_facts` looks for the customer's next repair: the longer of the
    repeat-repair and early-fault windows."""
    return max(int(rules["repeat_repair_window_days"]), int(rules["install_early_fault_window_days"]))


def order_facts(period: Period, rules: dict[str, Any]) -> Select[Any]:
    """`completed_orders` with what the flags read, each looked up once per order: its first visit,
    the first repair its customer opened after it (within the longer of the two look-ahead
    windows), whether it was rated, whether the booking call was made in time, its support
    requests and its optical reading. (Written once, materialized: a flag that tested a lookup
    of its own ran it once per flag, and a lookup tested by several flags became a scan of all the
    support requests ever raised, per flag.)"""
    first = aliased(Visit, name="first_visit")
    later = aliased(WorkOrder, name="later_order")
    later_type = aliased(JobType, name="later_type")
    # (Bound once for the engine's statements; the rules in force when read for a drill-down.)
    longest = rules["lookahead_days"] if "lookahead_days" in rules else lookahead_days(rules)
    next_repair = (
        select(func.min(later.created_at))
        .join(later_type, later_type.id == later.job_type_id)
        .where(later.customer_id == WorkOrder.customer_id, later.id != WorkOrder.id, later_type.is_repair.is_(True),
               within_days_after(later.created_at, WorkOrder.completed_at, longest))
        .correlate(WorkOrder).scalar_subquery()
    )
    booked_in_time = exists().where(StepTick.work_order_id == WorkOrder.id, StepTick.code == BOOKED_CALL,
                                    StepTick.dispatch_lag_seconds <= rules["booking_within_minutes"] * 60)
    requests = (select(func.count()).where(SupportRequest.work_order_id == WorkOrder.id)
                .correlate(WorkOrder).scalar_subquery())
    return (
        completed_orders(period).add_columns(
            WorkOrder.completed_at, WorkOrder.created_at, WorkOrder.due_by, WorkOrder.visit_count,
            JobType.is_repair, JobType.is_install,
            first.outcome.label("first_outcome"), first.reason_code.label("first_reason"),
            first.appointment_start, first.appointment_end, first.arrived_at,
            next_repair.label("next_repair_at"),
            flag(exists().where(SurveyResponse.work_order_id == WorkOrder.id)).label("rated"),
            flag(booked_in_time).label("booked_in_time"),
            requests.label("support_requests"),
            WorkOrder.evidence["rx_power_dbm"].as_float().label("rx"),
        )
        .outerjoin(first, and_(first.work_order_id == WorkOrder.id, first.seq == 1))
    )


def order_flags(period: Period, rules: dict[str, Any]) -> Select[Any]:
    """`completed_orders` with a 0/1 column per flag the metrics read (plus `seconds`, from
    creation to completion), over `order_facts`."""
    facts = order_facts(period, rules).cte("order_facts").prefix_with("MATERIALIZED")
    c = facts.c
    excused = rules["not_installer_fault_reasons"]
    low, high = rules["rx_power_band_dbm"]
    visited = c.visit_count >= 1
    booked = and_(visited, c.appointment_start.is_not(None), c.appointment_end.is_not(None))
    first_failed_excused = and_(c.first_outcome == VisitOutcome.NOT_RESOLVED, c.first_reason.in_(excused))
    supported = c.support_requests > 0
    first_resolved = and_(visited, c.first_outcome == VisitOutcome.RESOLVED)
    is_repair, is_install = c.is_repair.is_(True), c.is_install.is_(True)
    return select(
        c.order_id, c.installer_id, c.team_id, c.district_id, c.job_type,
        literal(1).label("one"),
        flag(visited).label("visited"),
        flag(first_resolved).label("first_visit_resolved"),
        flag(and_(visited, ~func.coalesce(first_failed_excused, False))).label("visited_net"),
        flag(booked).label("booked"),
        flag(and_(booked, c.arrived_at >= c.appointment_start, c.arrived_at <= c.appointment_end)).label("arrived_in_window"),
        flag(c.completed_at <= c.due_by).label("by_due"),
        flag(is_repair).label("is_repair"),
        flag(and_(is_repair, within_days_after(c.next_repair_at, c.completed_at,
                                               rules["repeat_repair_window_days"]))).label("repeat_repair"),
        flag(is_install).label("is_install"),
        flag(and_(is_install, within_days_after(c.next_repair_at, c.completed_at,
                                                rules["install_early_fault_window_days"]))).label("early_fault"),
        c.rated,
        seconds_between(c.created_at, c.completed_at).label("seconds"),
        flag(and_(is_install, c.rx.is_not(None))).label("rx_read"),
        flag(and_(is_install, c.rx >= low, c.rx <= high)).label("rx_in_band"),
        c.booked_in_time,
        c.support_requests,
        flag(and_(visited, supported)).label("visited_supported"),
        flag(and_(first_resolved, supported)).label("first_visit_resolved_supported"),
        flag(and_(visited, ~supported)).label("visited_unsupported"),
        flag(and_(first_resolved, ~supported)).label("first_visit_resolved_unsupported"),
    )


def submitted_ratings(period: Period) -> Select[Any]:
    """One row per rating submitted in the period, attributed to the installer who completed the
    order (copied onto the rating), the order's team and district."""
    return (
        select(
            SurveyResponse.work_order_id.label("order_id"),
            SurveyResponse.installer_id.label("installer_id"),
            WorkOrder.team_id.label("team_id"),
            WorkOrder.district_id.label("district_id"),
        )
        .join(WorkOrder, WorkOrder.id == SurveyResponse.work_order_id)
        .where(SurveyResponse.submitted_at >= period.begins, SurveyResponse.submitted_at < period.ends)
    )


def rating_flags(period: Period, rules: dict[str, Any]) -> Select[Any]:
    """`submitted_ratings` with a 0/1 column per flag the metrics read (plus `stars`)."""
    score = SurveyResponse.score
    return submitted_ratings(period).add_columns(
        literal(1).label("one"),
        flag(score >= SATISFIED_MIN_SCORE).label("satisfied"),
        flag(score == 5).label("five_stars"),
        flag(score <= DISSATISFIED_MAX_SCORE).label("dissatisfied"),
        score.label("stars"),
    )


def opened_followups(period: Period) -> Select[Any]:
    """One row per follow-up opened in the period, attributed as its rating is: to the installer who
    completed the order (copied onto the follow-up), the order's team and district."""
    return (
        select(
            FollowUp.work_order_id.label("order_id"),
            FollowUp.installer_id.label("installer_id"),
            WorkOrder.team_id.label("team_id"),
            WorkOrder.district_id.label("district_id"),
        )
        .join(WorkOrder, WorkOrder.id == FollowUp.work_order_id)
        .where(FollowUp.opened_at >= period.begins, FollowUp.opened_at < period.ends)
    )


def followup_flags(period: Period, rules: dict[str, Any]) -> Select[Any]:
    """`opened_followups` with a 0/1 column per flag the metrics read: contacted by its deadline
    (fixed when it opened), closed, and one per outcome (named by the outcome's code)."""
    return opened_followups(period).add_columns(
        literal(1).label("one"),
        flag(and_(FollowUp.contacted_at.is_not(None),
                  FollowUp.contacted_at <= FollowUp.contact_due_at)).label("contacted_in_time"),
        flag(FollowUp.status == FollowUpStatus.CLOSED).label("closed"),
        *(flag(FollowUp.outcome == outcome).label(outcome.value) for outcome in FollowUpOutcome),
    )


def closed_visits(period: Period) -> Select[Any]:
    """One row per visit left in the period on an order under a service standard, attributed to
    the visit's installer and the order's team and district."""
    return (
        select(
            Visit.work_order_id.label("order_id"),
            Visit.installer_id.label("installer_id"),
            WorkOrder.team_id.label("team_id"),
            WorkOrder.district_id.label("district_id"),
        )
        .join(WorkOrder, WorkOrder.id == Visit.work_order_id)
        .join(OrderStandard, OrderStandard.work_order_id == Visit.work_order_id)
        .where(Visit.left_at >= period.begins, Visit.left_at < period.ends)
    )


def visit_flags(period: Period, rules: dict[str, Any]) -> Select[Any]:
    """`closed_visits` with the checklist's flag: every required step of the order's standard
    ticked by the time the installer left (the at-completion steps count for a resolved visit
    only: a visit that could not finish had nothing to complete). Counted, not searched: the
    visit's ticks of required steps against the number its version requires. (A NOT EXISTS of a
    missing step per visit scanned the version's steps once per visit: 44 against 38 ms a day.)"""
    rows = (closed_visits(period)
            .add_columns(Visit.id.label("visit_id"), Visit.left_at, Visit.outcome, OrderStandard.version_id)
            .cte("standard_visits"))
    resolved = rows.c.outcome == VisitOutcome.RESOLVED
    # Each visit's ticks made by the time it was left: one index range of the order's ticks
    # (materialized, so that the steps are matched to the ticks fetched, not each step probed).
    ticks = (select(rows.c.visit_id, rows.c.version_id, resolved.label("resolved"), StepTick.code)
             .join(StepTick, and_(StepTick.work_order_id == rows.c.order_id, StepTick.ticked_at <= rows.c.left_at))
             .cte("visit_ticks").prefix_with("MATERIALIZED"))
    ticked = (
        select(ticks.c.visit_id, func.count().label("ticked"))
        .join(StandardStep, and_(StandardStep.version_id == ticks.c.version_id, StandardStep.code == ticks.c.code,
                                 StandardStep.is_required.is_(True),
                                 or_(StandardStep.phase != Phase.AT_COMPLETION, ticks.c.resolved)))
        .group_by(ticks.c.visit_id)
        .subquery("ticked_steps")
    )
    required = (
        select(StandardStep.version_id, func.count().label("every_step"),
               func.sum(flag(StandardStep.phase != Phase.AT_COMPLETION)).label("before_completion"))
        .where(StandardStep.is_required.is_(True))
        .group_by(StandardStep.version_id)
        .subquery("required_steps")
    )
    needed = func.coalesce(case((resolved, required.c.every_step), else_=required.c.before_completion), 0)
    return (
        select(rows.c.order_id, rows.c.installer_id, rows.c.team_id, rows.c.district_id, literal(1).label("one"),
               flag(func.coalesce(ticked.c.ticked, 0) >= needed).label("checklist_complete"))
        .select_from(rows.outerjoin(ticked, ticked.c.visit_id == rows.c.visit_id)
                     .outerjoin(required, required.c.version_id == rows.c.version_id))
    )


def raised_requests(period: Period) -> Select[Any]:
    """One row per support request raised in the period, attributed to the installer who asked,
    the team fixed on the request when raised, and the order's district."""
    return (
        select(
            SupportRequest.work_order_id.label("order_id"),
            SupportRequest.installer_id.label("installer_id"),
            SupportRequest.team_id.label("team_id"),
            WorkOrder.district_id.label("district_id"),
        )
        .join(WorkOrder, WorkOrder.id == SupportRequest.work_order_id)
        .where(SupportRequest.raised_at >= period.begins, SupportRequest.raised_at < period.ends)
    )


def support_flags(period: Period, rules: dict[str, Any]) -> Select[Any]:
    """`raised_requests` with their flags: replied (the desk's first reply), replied by the target
    fixed on the request when raised (`reply_due_at`: to one raised at 14:45 a reply at 14:59 is on
    time against 15 minutes, at 15:00:00 too, at 15:00:01 not; never replied is late), the seconds
    to that reply, and solved while on site (closed as solved remotely, by the desk or by the
    installer's "solved, thanks", while a visit of the order was open)."""
    replied = SupportRequest.first_reply_at.is_not(None)
    on_site = exists().where(Visit.work_order_id == SupportRequest.work_order_id,
                             Visit.arrived_at <= SupportRequest.resolved_at,
                             or_(Visit.left_at.is_(None), Visit.left_at >= SupportRequest.resolved_at))
    return raised_requests(period).add_columns(
        literal(1).label("one"),
        flag(replied).label("replied"),
        flag(and_(replied, SupportRequest.first_reply_at <= SupportRequest.reply_due_at)).label("replied_in_time"),
        func.coalesce(seconds_between(SupportRequest.raised_at, SupportRequest.first_reply_at), 0).label("reply_seconds"),
        flag(and_(among(SupportRequest.status, (SupportStatus.RESOLVED, SupportStatus.THANKED)),
                  SupportRequest.resolution == SupportResolution.SOLVED_REMOTELY, on_site)).label("solved_on_site"),
    )


FLAGS = {Base.ORDERS: order_flags, Base.RATINGS: rating_flags, Base.FOLLOWUPS: followup_flags,
         Base.VISITS: visit_flags, Base.SUPPORT: support_flags}
ROWS = {Base.ORDERS: completed_orders, Base.RATINGS: submitted_ratings, Base.FOLLOWUPS: opened_followups,
        Base.VISITS: closed_visits, Base.SUPPORT: raised_requests}  # the same rows, without flags

# Each scope: the flag row's column naming it, and the table that turns the id into its code.
SCOPE_CODES = {
    ScopeType.INSTALLER: ("installer_id", User.__table__.c.id, User.__table__.c.username),
    ScopeType.TEAM: ("team_id", Team.__table__.c.id, Team.__table__.c.code),
    ScopeType.DISTRICT: ("district_id", District.__table__.c.id, District.__table__.c.code),
}


def _columns(metrics: Sequence[Metric]) -> list[str]:
    """The flag columns the metrics sum."""
    names: list[str] = []
    for item in metrics:
        names += [name for name in (item.denominator, item.numerator) if name and name not in names]
    return names


def _sums(flags: Any, metrics: Sequence[Metric], by_job_type: bool) -> CTE:
    """The flag sums per scope (and per job type, when asked): four GROUP BYs over the flag
    rows, joined by UNION ALL."""
    columns = _columns(metrics)
    split = [flags.c.job_type] if by_job_type else []

    def summed() -> list[Any]:
        return [*split, func.count().label("rows"),
                *(func.coalesce(func.sum(flags.c[name]), 0).label(name) for name in columns)]

    parts = []
    for scope, (column, id_column, code_column) in SCOPE_CODES.items():
        parts.append(
            select(literal(scope.value, String).label("scope_type"), code_column.label("scope_id"), *summed())
            .select_from(flags.join(id_column.table, id_column == flags.c[column]))
            .group_by(code_column, *split)
        )
    # The company: one row even for an empty period (its counts are 0, its rates NULL).
    parts.append(select(literal(ScopeType.COMPANY.value, String).label("scope_type"),
                        literal(COMPANY_ID, String).label("scope_id"), *summed())
                 .select_from(flags).group_by(*split))
    name = f"{flags.name}_by_job_type" if by_job_type else f"{flags.name}_by_scope"
    return union_all(*parts).cte(name).prefix_with("MATERIALIZED")


def _value(item: Metric, numerator: Any, denominator: Any) -> Any:
    if item.kind is Kind.COUNT:
        return cast(denominator, Float)
    return case((denominator > 0, cast(numerator, Float) / denominator))


def is_final(item: Metric, period: Period, rules: dict[str, Any], now: datetime) -> bool:
    """Whether the metric's figure for the period can no longer change: the period is over and,
    for a metric that looks ahead (repeat repairs, early faults, ratings still to come), its
    window after the period has passed too."""
    days = rules[item.final_after] if item.final_after else item.settle_days
    return now >= period.ends + timedelta(days=days)


def _final_key(item: Metric) -> str:
    """The bound parameter saying whether the metric's figures of the period are final."""
    return f"final_{item.final_after or f'after_{item.settle_days}_days'}"


def _snapshot_rows(sums: CTE, metrics: Sequence[Metric], by_job_type: bool) -> list[Select[Any]]:
    """A SELECT per metric of its snapshot rows, one per scope (and job type) summed (the
    period and the instant, the same for all, are added once, by `_insert`). (One pass over the
    sums picking each metric's figures by a CASE on its code measured no faster.)"""
    parts = []
    for item in metrics:
        code = _code(item, sums, by_job_type)
        denominator = sums.c[item.denominator]
        numerator = sums.c[item.numerator] / item.scale if item.numerator else None
        parts.append(select(
            code.label("metric"),
            sums.c.scope_type,
            sums.c.scope_id,
            (cast(numerator, Float) if numerator is not None else literal(None, Float)).label("numerator"),
            cast(denominator, Integer).label("denominator"),
            _value(item, numerator, denominator).label("value"),
            bindparam(_final_key(item), type_=Boolean).label("is_final"),
        ))
    return parts


def _code(item: Metric, sums: CTE, by_job_type: bool) -> Any:
    """The snapshot's metric code: the metric's, or "<metric>.<job type>" per job type."""
    if by_job_type:
        return literal(f"{item.code}{JOB_TYPE_MARK}", String) + sums.c.job_type
    return literal(item.code, String)


def _keys(period: Period) -> Any:
    """The (metric, scope type, scope id) of every snapshot the period should have: the scopes
    holding any of its rows (read without the flags, which cost the most), times their metrics."""
    parts = []
    for base, rows_of in ROWS.items():
        rows = rows_of(period).cte(f"{base.value}_rows")
        metrics = [item for item in METRICS if item.base is base]
        for split in (False, True):
            chosen = [item for item in metrics if item.by_job_type or not split]
            if chosen:
                sums = _sums(rows, [], split)
                parts += [select(_code(item, sums, split).label("metric"), sums.c.scope_type, sums.c.scope_id)
                          for item in chosen]
    return union_all(*parts)


SNAPSHOT_KEY = ("metric", "scope_type", "scope_id", "period_type", "period_start")
SNAPSHOT_VALUES = ("numerator", "denominator", "value", "computed_at", "is_final")
FIGURE_VALUES = ("numerator", "denominator", "value", "is_final")

# The statements are built once, with the period, the instant and the rules as bound parameters:
# building and compiling one of some 30 UNION ALL branches cost more than a day's figures, and the
# same text lets the driver prepare it (psycopg does from the fifth run on a connection).
_BOUND = Period(PeriodType.DAY, bindparam("period_start", type_=Date),  # type: ignore[arg-type]
                bindparam("begins", type_=UTCDateTime()), bindparam("ends", type_=UTCDateTime()))  # type: ignore[arg-type]
_BOUND_RULES: dict[str, Any] = {
    "not_installer_fault_reasons": bindparam("excused", expanding=True, type_=String),
    "rx_power_band_dbm": (bindparam("rx_low", type_=Float), bindparam("rx_high", type_=Float)),
    "repeat_repair_window_days": bindparam("repeat_repair_window_days", type_=Integer),
    "install_early_fault_window_days": bindparam("install_early_fault_window_days", type_=Integer),
    "booking_within_minutes": bindparam("booking_within_minutes", type_=Integer),
    "lookahead_days": bindparam("lookahead_days", type_=Integer),
}


def _params(period: Period, rules: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The values of the bound statements' parameters for a period."""
    low, high = rules["rx_power_band_dbm"]
    params = {
        "period_type": period.type.value, "period_start": period.start, "begins": period.begins,
        "ends": period.ends, "now": now, "excused": list(rules["not_installer_fault_reasons"]),
        "rx_low": float(low), "rx_high": float(high),
        "repeat_repair_window_days": int(rules["repeat_repair_window_days"]),
        "install_early_fault_window_days": int(rules["install_early_fault_window_days"]),
        "booking_within_minutes": int(rules["booking_within_minutes"]),
        "lookahead_days": lookahead_days(rules),
    }
    params.update({_final_key(item): is_final(item, period, rules, now) for item in METRICS})
    return params


def _rows() -> CTE:
    """Every snapshot row of the bound period: its metric, scope and figures."""
    parts: list[Select[Any]] = []
    for base, flags_of in FLAGS.items():
        flags = flags_of(_BOUND, _BOUND_RULES).cte(f"{base.value}_flags")
        metrics = [item for item in METRICS if item.base is base]
        parts += _snapshot_rows(_sums(flags, metrics, False), metrics, False)
        split = [item for item in metrics if item.by_job_type]
        if split:  # the same flags summed per job type too
            parts += _snapshot_rows(_sums(flags, split, True), split, True)
    return union_all(*parts).cte("snapshot_rows")


def _of_period() -> tuple[Any, Any]:
    table = MetricSnapshot.__table__
    return (table.c.period_type == bindparam("period_type", type_=String),
            table.c.period_start == bindparam("period_start", type_=Date))


def _stale(keys: Any) -> Any:
    """The DELETE of the period's stored rows whose (metric, scope) is not among `keys`: a scope with
    nothing left in the period (its order moved to another day, say) loses its rows. (Stored keys
    EXCEPT the period's keys, then IN: a hashed set operation and a semi-join on both databases,
    where NOT IN or NOT EXISTS against the keys can degrade into a loop.)"""
    table = MetricSnapshot.__table__
    key = tuple_(table.c.metric, table.c.scope_type, table.c.scope_id)
    stored = select(table.c.metric, table.c.scope_type, table.c.scope_id).where(*_of_period())
    gone = except_(stored, select(keys.c.metric, keys.c.scope_type, keys.c.scope_id))
    return delete(table).where(*_of_period(), key.in_(gone))


def _insert(dialect: str, values: Select[Any]) -> Any:
    """INSERT … SELECT … ON CONFLICT of snapshot rows (metric, scope type, scope id, figures),
    for the bound period and instant: another process computing the same period at once may have
    stored a row in between, which is then updated if its figures differ."""
    table = MetricSnapshot.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    rows = values.subquery("written")
    statement = insert(table).from_select([*SNAPSHOT_KEY, *SNAPSHOT_VALUES], select(
        rows.c.metric, rows.c.scope_type, rows.c.scope_id,
        bindparam("period_type", type_=String).label("period_type"),
        bindparam("period_start", type_=Date).label("period_start"),
        rows.c.numerator, rows.c.denominator, rows.c.value,
        bindparam("now", type_=table.c.computed_at.type).label("computed_at"), rows.c.is_final,
    ).where(literal(True)))  # (SQLite reads "INSERT … SELECT … ON CONFLICT" only after a WHERE)
    changed = or_(*(table.c[name].is_distinct_from(statement.excluded[name]) for name in FIGURE_VALUES))
    return statement.on_conflict_do_update(
        index_elements=list(SNAPSHOT_KEY),
        set_={name: statement.excluded[name] for name in SNAPSHOT_VALUES},
        where=changed,
    )


def _figures(rows: Any) -> list[Any]:
    return [rows.c.metric, rows.c.scope_type, rows.c.scope_id, *(rows.c[name] for name in FIGURE_VALUES)]


def _write_sqlite(rows: CTE) -> list[Any]:
    """SQLite: the DELETE of the stale rows (`_stale`, the period's keys read from the rows without
    their flags), then the upsert of the rows that are new or differ from the stored ones (an
    anti-join: a figure that has not changed is left as it is, and its computed_at says when it
    last changed)."""
    table = MetricSnapshot.__table__
    same = exists().where(
        *_of_period(), table.c.metric == rows.c.metric, table.c.scope_type == rows.c.scope_type,
        table.c.scope_id == rows.c.scope_id,
        *(table.c[name].is_not_distinct_from(rows.c[name]) for name in FIGURE_VALUES),
    )
    return [_stale(_keys(_BOUND).subquery("period_keys")), _insert("sqlite", select(*_figures(rows)).where(~same))]


def _write_postgresql(rows: CTE) -> list[Any]:
    """PostgreSQL: one statement. The computed rows meet the stored ones in a full join, once:
    those only stored are deleted (a data-modifying WITH), those new or different are upserted,
    the rest left as they are."""
    table = MetricSnapshot.__table__
    stored = select(table.c.id, *_figures(table)).where(*_of_period()).cte("stored")
    key = and_(*(stored.c[name] == rows.c[name] for name in ("metric", "scope_type", "scope_id")))
    differs = or_(stored.c.id.is_(None), *(stored.c[name].is_distinct_from(rows.c[name]) for name in FIGURE_VALUES))
    compared = (
        select(*_figures(rows), stored.c.id.label("stored_id"), differs.label("differs"))
        .select_from(rows.join(stored, key, full=True))
        .cte("compared").prefix_with("MATERIALIZED")
    )
    stale = delete(table).where(table.c.id.in_(select(compared.c.stored_id).where(compared.c.metric.is_(None))))
    upsert = _insert("postgresql", select(*_figures(compared)).where(compared.c.metric.is_not(None), compared.c.differs))
    return [upsert.add_cte(stale.cte("stale"))]


@functools.cache
def _statements(dialect: str) -> tuple[Any, ...]:
    """The statements writing a period, bound (`_params`), then the count of its rows."""
    table = MetricSnapshot.__table__
    count = select(func.count()).select_from(table).where(*_of_period())
    writes = _write_postgresql(_rows()) if dialect == "postgresql" else _write_sqlite(_rows())
    return *writes, count


def compute_period(period_type: PeriodType, start: date, now: datetime, tz: ZoneInfo) -> int:
    """Write every metric's snapshots of the period starting on `start`, for all four scopes;
    the rows written. Flushes nothing else and does not commit: run it in its own transaction."""
    period = Period.of(period_type, start, tz)
    params = _params(period, settings_on(start), now)
    connection = db.session.connection()
    hold_transaction(connection)  # every statement below is undone together on failure
    without_statement_timeout(connection)  # maintenance work: a month may take longer than a request
    without_jit(connection)
    *writes, count = _statements(connection.dialect.name)
    for statement in writes:
        connection.execute(statement, params)
    # (The rowcount of an upsert is not the rows written on every driver: count them.)
    return connection.scalar(count, params) or 0


# --- the orders behind a figure ------------------------------------------------------------------

def orders_behind(code: str, scope_type: ScopeType, scope_id: str, period_type: PeriodType, start: date,
                  tz: ZoneInfo, part: str = "denominator") -> Select[tuple[str]]:
    """The numbers of the orders behind one snapshot's numerator or denominator: the flag rows the
    engine summed for that scope, where the metric's flag is set."""
    item, job_type = split_code(code)
    period = Period.of(period_type, start, tz)
    flags = FLAGS[item.base](period, settings_on(start)).subquery("flags")
    column = item.denominator if part == "denominator" or item.numerator is None else item.numerator
    query = select(WorkOrder.number).join(flags, flags.c.order_id == WorkOrder.id)
    if job_type is not None:
        query = query.where(flags.c.job_type == job_type)
    if column != "one":
        query = query.where(flags.c[column] != 0)
    return _in_scope(query, flags, scope_type, scope_id).order_by(WorkOrder.number)


def _in_scope(query: Select[Any], flags: Any, scope_type: ScopeType, scope_id: str) -> Select[Any]:
    """`query` over flag rows, kept to those of one scope (named by its code)."""
    if scope_type is ScopeType.COMPANY:
        return query
    key, id_column, code_column = SCOPE_CODES[scope_type]
    return query.where(flags.c[key] == select(id_column).where(code_column == scope_id).scalar_subquery())


# --- the desk's reply times ------------------------------------------------------------------------

def percentile(values: Sequence[float], p: float) -> float | None:
    """The nearest-rank `p`th percentile (None of nothing)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)), 1) - 1]


def reply_minutes(scope_type: ScopeType, scope_id: str, period_type: PeriodType, start: date,
                  tz: ZoneInfo) -> tuple[float | None, float | None]:
    """The median and the 90th percentile of the minutes to the desk's first reply, over the support
    requests of one scope and period that got one: the rows `support_mean_minutes_to_reply` counts.
    (Percentiles do not add up across scopes, so they are read when shown, not stored: one query
    over the period's requests, which are few; SQLite has no percentile function.)"""
    period = Period.of(period_type, start, tz)
    flags = support_flags(period, settings_on(start)).subquery("flags")
    query = _in_scope(select(flags.c.reply_seconds).where(flags.c.replied == 1), flags, scope_type, scope_id)
    minutes = [seconds / 60 for seconds in db.session.scalars(query)]
    return percentile(minutes, 50), percentile(minutes, 90)
