"""The installation-quality metrics of PRODUCT.md §4, each named once: what it counts over (the
orders completed in the period, or the ratings submitted in it), which per-row flag is its
numerator and which its denominator, how its value is formed, and how long it stays provisional.
The engine aggregates these flags; the drill-down lists the rows where they are set: one
definition serves both, so a figure and the orders behind it cannot disagree."""
from __future__ import annotations

import enum
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l


class Base(enum.Enum):
    ORDERS = "orders"    # the orders completed in the period (by completed_at)
    RATINGS = "ratings"  # the ratings submitted in the period (by submitted_at)
    FOLLOWUPS = "followups"  # the follow-ups opened in the period (by opened_at: the bad rating's time)
    VISITS = "visits"  # the visits under a service standard left in the period (by left_at)
    SUPPORT = "support"  # the support requests raised in the period (by raised_at)


class Kind(enum.Enum):
    RATE = "rate"    # numerator / denominator; NULL when the denominator is 0
    COUNT = "count"  # the denominator is the count; the value is the same number
    MEAN = "mean"    # a sum / the denominator; NULL when the denominator is 0


@dataclass(frozen=True)
class Metric:
    code: str
    label: object  # lazy translated name
    base: Base
    kind: Kind
    denominator: str  # the flag column summed as the denominator ("one": every row)
    numerator: str | None = None  # the flag (or value) column summed as the numerator
    # Days after the period's end until its figure is final (a rule key, or none: final at the end).
    final_after: str | None = None
    settle_days: int = 0  # without `final_after`: days after the period's end until final
    group: str = "quality"  # the dashboard's section (GROUPS)
    target: str | None = None  # the rule key of its target, when it has one
    lower_is_better: bool = False
    scale: float = 1.0  # the summed column is divided by this (seconds → hours)
    # Kept per job type too, as "<code>.<job type>" (timeliness_rate.install): PRODUCT.md §4.
    by_job_type: bool = False


METRICS: tuple[Metric, ...] = (
    Metric("completed_orders", _l("Completed orders"), Base.ORDERS, Kind.COUNT, "one"),
    Metric("onsite_resolution_rate", _l("On-site resolution"), Base.ORDERS, Kind.RATE,
           "visited", "first_visit_resolved", target="onsite_resolution_target"),
    Metric("onsite_resolution_rate_net", _l("On-site resolution (net)"), Base.ORDERS, Kind.RATE,
           "visited_net", "first_visit_resolved", target="onsite_resolution_target"),
    Metric("appointment_adherence_rate", _l("Appointment adherence"), Base.ORDERS, Kind.RATE,
           "booked", "arrived_in_window"),
    Metric("timeliness_rate", _l("Timeliness"), Base.ORDERS, Kind.RATE, "one", "by_due",
           by_job_type=True),
    Metric("repeat_repair_rate_30d", _l("Repeat repairs (30 days)"), Base.ORDERS, Kind.RATE,
           "is_repair", "repeat_repair", final_after="repeat_repair_window_days", lower_is_better=True),
    Metric("install_early_fault_rate_15d", _l("Early faults after install (15 days)"), Base.ORDERS, Kind.RATE,
           "is_install", "early_fault", final_after="install_early_fault_window_days", lower_is_better=True),
    Metric("rating_coverage", _l("Rating coverage"), Base.ORDERS, Kind.RATE, "one", "rated",
           final_after="survey_link_days"),
    Metric("mean_hours_to_complete", _l("Mean hours to complete"), Base.ORDERS, Kind.MEAN, "one", "seconds",
           lower_is_better=True, scale=3600.0, by_job_type=True),
    Metric("rx_power_pass_rate", _l("Optical readings in band"), Base.ORDERS, Kind.RATE,
           "rx_read", "rx_in_band"),
    # The service standard (规范制度, issue #15): the booking call within the rule's minutes of the
    # dispatch (预约及时率; an order completed without one counts as late), and the checklist.
    Metric("booking_in_time_rate", _l("Customer called to book in time"), Base.ORDERS, Kind.RATE,
           "one", "booked_in_time", group="standard"),
    Metric("checklist_compliance_rate", _l("Checklist compliance"), Base.VISITS, Kind.RATE,
           "one", "checklist_complete", group="standard"),
    # On-site support (现场支撑, issue #15): how often installers ask, how the desk answers, and
    # whether the help turns into an on-site resolution. Requests per 100 orders: the requests
    # raised on the orders completed in the period (a mean per order, × 100).
    Metric("support_requests_per_100_orders", _l("Support requests per 100 orders"), Base.ORDERS, Kind.MEAN,
           "one", "support_requests", lower_is_better=True, scale=0.01, group="support"),
    Metric("onsite_resolution_rate_with_support", _l("On-site resolution with a support request"),
           Base.ORDERS, Kind.RATE, "visited_supported", "first_visit_resolved_supported", group="support"),
    Metric("onsite_resolution_rate_without_support", _l("On-site resolution without a support request"),
           Base.ORDERS, Kind.RATE, "visited_unsupported", "first_visit_resolved_unsupported", group="support"),
    # Of the requests raised in the period (provisional for a day: a reply or a resolution may come
    # after midnight).
    Metric("support_requests", _l("Support requests"), Base.SUPPORT, Kind.COUNT, "one", group="support"),
    Metric("support_replied_in_time_rate", _l("Support replied within target"), Base.SUPPORT, Kind.RATE,
           "one", "replied_in_time", settle_days=1, group="support"),
    Metric("support_mean_minutes_to_reply", _l("Mean minutes to the desk's first reply"), Base.SUPPORT,
           Kind.MEAN, "replied", "reply_seconds", settle_days=1, lower_is_better=True, scale=60.0, group="support"),
    Metric("support_solved_on_site_rate", _l("Support solved while on site"), Base.SUPPORT, Kind.RATE,
           "one", "solved_on_site", settle_days=1, group="support"),
    Metric("satisfaction_rate", _l("Satisfaction"), Base.RATINGS, Kind.RATE, "one", "satisfied",
           target="satisfaction_target"),
    Metric("satisfaction_rate_strict", _l("Satisfaction (strict)"), Base.RATINGS, Kind.RATE, "one", "five_stars"),
    Metric("dissatisfied_count", _l("Dissatisfied ratings"), Base.RATINGS, Kind.COUNT, "dissatisfied",
           lower_is_better=True),
    Metric("avg_rating", _l("Average rating"), Base.RATINGS, Kind.MEAN, "one", "stars"),
    # The follow-ups (回访) of dissatisfied ratings, counted where the rating counts (its installer,
    # the order's team and district) in the period it was opened; provisional while contacts and
    # closings may still come. The ratings themselves are counted as the customer gave them.
    Metric("followups_opened", _l("Follow-ups opened"), Base.FOLLOWUPS, Kind.COUNT, "one"),
    Metric("followup_contacted_in_time_rate", _l("Follow-ups contacted in time"), Base.FOLLOWUPS, Kind.RATE,
           "one", "contacted_in_time", final_after="followup_window_days"),
    Metric("followups_closed", _l("Follow-ups closed"), Base.FOLLOWUPS, Kind.COUNT, "closed",
           final_after="followup_window_days"),
    *(Metric(f"followups_{code}", label, Base.FOLLOWUPS, Kind.COUNT, code, final_after="followup_window_days")
      for code, label in (("resolved", _l("Follow-ups: resolved")), ("explained", _l("Follow-ups: explained")),
                          ("revisit_booked", _l("Follow-ups: revisit booked")),
                          ("customer_unreachable", _l("Follow-ups: customer unreachable")),
                          ("not_installer_fault", _l("Follow-ups: not the installer's fault")))),
)

BY_CODE: dict[str, Metric] = {metric.code: metric for metric in METRICS}

# The dashboard's sections, in order: the installation-quality pillar, the service standard
# (规范制度) and on-site support (现场支撑).
GROUPS: dict[str, object] = {
    "quality": _l("Installation quality"),
    "standard": _l("Service standard"),
    "support": _l("On-site support"),
}


JOB_TYPE_MARK = "."


BY_JOB_TYPE: tuple[Metric, ...] = tuple(item for item in METRICS if item.by_job_type)


def split_code(code: str) -> tuple[Metric, str | None]:
    """A snapshot's metric code as (the metric, the job type or None): "timeliness_rate.install"
    is the timeliness of installs. KeyError for an unknown metric or one not kept per job type."""
    name, mark, job_type = code.partition(JOB_TYPE_MARK)
    item = BY_CODE[name]
    if mark and not (job_type and item.by_job_type):
        raise KeyError(code)
    return item, job_type or None


# Every code a snapshot may carry, as a regular expression (the API documents and checks it).
CODE_PATTERN = "^(?:{})$".format("|".join(
    [item.code for item in METRICS] + [rf"{item.code}\{JOB_TYPE_MARK}[a-z0-9_]{{1,24}}" for item in BY_JOB_TYPE]))


def is_code(code: str) -> bool:
    """Whether `code` names a stored figure (a metric, or one kept per job type)."""
    try:
        split_code(code)
    except KeyError:
        return False
    return True
