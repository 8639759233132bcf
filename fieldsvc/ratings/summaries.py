"""Where ratings show: counts on the city's three bands (5 satisfied, 4–3 fairly satisfied, 2–1
dissatisfied) with the praise on record beside them, and the latest ratings, for one installer,
one team and the job page. Each list is one query, whatever its length (no N+1).

A rating belongs to the installer who completed the rated order and to the team on the order, as
in the metrics; praise to the installer and the team they were in when it was recorded."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import contains_eager, joinedload

from ..extensions import db
from ..workorders.models import WorkOrder
from .models import Praise, ReminderOptOut, SurveyInvitation, SurveyResponse

LATEST = 20  # ratings listed on a page
WINDOWS = (30, 90, 365)  # days a page may count over


@dataclass
class Counts:
    """Ratings by band, and the praise on record, over one window."""

    satisfied: int = 0  # 5 stars
    fair: int = 0  # 4–3
    dissatisfied: int = 0  # 2–1
    praise: int = 0

    @property
    def ratings(self) -> int:
        return self.satisfied + self.fair + self.dissatisfied

    def __iadd__(self, other: Counts) -> Counts:
        self.satisfied += other.satisfied
        self.fair += other.fair
        self.dissatisfied += other.dissatisfied
        self.praise += other.praise
        return self


def _banded(where: ColumnElement[bool], group: Any, join_orders: bool) -> dict[Any, Counts]:
    """Ratings counted by band per `group`, in one GROUP BY."""
    score = SurveyResponse.score
    query = select(group, func.sum(case((score == 5, 1), else_=0)),
                   func.sum(case((score.between(3, 4), 1), else_=0)),
                   func.sum(case((score <= 2, 1), else_=0))).where(where).group_by(group)
    if join_orders:
        query = query.join(WorkOrder, WorkOrder.id == SurveyResponse.work_order_id)
    return {key: Counts(int(a or 0), int(b or 0), int(c or 0)) for key, a, b, c in db.session.execute(query)}


def _praised(where: ColumnElement[bool], group: Any) -> dict[Any, int]:
    return dict(db.session.execute(select(group, func.count()).where(where).group_by(group)).all())


def installer_counts(installer_id: int, since: datetime, since_day: date) -> Counts:
    """One installer's ratings submitted from `since` and praise received from `since_day`."""
    counts = _banded((SurveyResponse.installer_id == installer_id) & (SurveyResponse.submitted_at >= since),
                     SurveyResponse.installer_id, False).get(installer_id, Counts())
    counts.praise = _praised((Praise.installer_id == installer_id) & (Praise.received_on >= since_day),
                             Praise.installer_id).get(installer_id, 0)
    return counts


def team_counts(team_id: int, since: datetime, since_day: date) -> dict[int, Counts]:
    """A team's ratings and praise per installer (whoever completed its orders or was praised in it)."""
    counts = _banded((WorkOrder.team_id == team_id) & (SurveyResponse.submitted_at >= since),
                     SurveyResponse.installer_id, True)
    for installer_id, n in _praised((Praise.team_id == team_id) & (Praise.received_on >= since_day),
                                    Praise.installer_id).items():
        counts.setdefault(installer_id, Counts()).praise = n
    counts.pop(None, None)  # a rating of an order nobody completed (imported data) counts for no one
    return counts


def latest_ratings(where: ColumnElement[bool], limit: int = LATEST) -> list[SurveyResponse]:
    """The newest ratings matching `where` (on responses and their orders), each with its order,
    job type and installer loaded: one query."""
    return list(db.session.scalars(
        select(SurveyResponse)
        .join(SurveyResponse.invitation).join(SurveyInvitation.work_order)
        .options(contains_eager(SurveyResponse.invitation).contains_eager(SurveyInvitation.work_order)
                 .joinedload(WorkOrder.job_type),
                 contains_eager(SurveyResponse.invitation).contains_eager(SurveyInvitation.work_order)
                 .joinedload(WorkOrder.completed_by))
        .where(where)
        .order_by(SurveyResponse.submitted_at.desc(), SurveyResponse.id.desc())
        .limit(limit)
    ).unique())


@dataclass(frozen=True)
class RatingStory:
    """What the job page shows of an order's rating: the link's state, the rating, the reminder."""

    invitation: SurveyInvitation | None
    response: SurveyResponse | None
    reminders_refused: bool


def rating_stamp(head: Any, user: Any, now: datetime) -> list[Any]:
    """What the job page's rating section (`rating_story`, templates/ratings/_job_rating.html)
    shows, as SQL for its validator: the link and its state at `now`, the rating, the customer's
    refusal of reminders. Nothing before the order is completed: the section is not shown."""
    if head.completed_at is None:
        return []
    invitation = SurveyInvitation.work_order_id == head.id
    return [select(func.max(column)).where(invitation).scalar_subquery()
            for column in (SurveyInvitation.id, SurveyInvitation.expires_at, SurveyInvitation.used_at,
                           SurveyInvitation.reminded_at, SurveyInvitation.expired_at)] + [
        select(func.count()).where(invitation, SurveyInvitation.expires_at <= now).scalar_subquery(),
        select(func.max(SurveyResponse.id)).join(SurveyInvitation, SurveyInvitation.id == SurveyResponse.invitation_id)
        .where(invitation).scalar_subquery(),
        select(func.max(ReminderOptOut.id)).where(ReminderOptOut.customer_id == head.customer_id).scalar_subquery(),
    ]


def rating_story(order: WorkOrder) -> RatingStory:
    """The order's invitation with its rating (one query) and whether its customer refused
    reminders (one more)."""
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.work_order_id == order.id)
                                   .options(joinedload(SurveyInvitation.response)))
    refused = db.session.scalar(select(ReminderOptOut.id).where(ReminderOptOut.customer_id == order.customer_id))
    return RatingStory(invitation, invitation.response if invitation else None, refused is not None)
