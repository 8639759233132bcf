"""The customer's rating: the single-use link issued when an order is completed, finding an
invitation by its token, recording the single response. Services flush; the edge commits."""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ..auth.models import Role, User
from ..db import utcnow
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from ..rules.services import setting
from ..security import token_digest
from ..workorders.lifecycle import Outcome, order_completed
from ..workorders.models import WorkOrder
from .followups import open_followup
from .models import COMMENT_MAX_LENGTH, SurveyInvitation, SurveyResponse


def invite(order: WorkOrder, now: datetime) -> str:
    """Issue the customer's single-use rating link for a completed order, valid for the
    `survey_link_days` rule; returns the token, of which only the digest is stored."""
    token = secrets.token_urlsafe(24)
    days = int(setting("survey_link_days", now.date()))
    db.session.add(SurveyInvitation(work_order=order, token_hash=token_digest(token), created_at=now,
                                    expires_at=now + timedelta(days=days)))
    return token


def open_invitation(order: WorkOrder, now: datetime | None = None) -> SurveyInvitation | None:
    """The order's rating invitation while it can still be answered (unused, unexpired), else None."""
    return db.session.scalar(select(SurveyInvitation).where(
        SurveyInvitation.work_order_id == order.id, SurveyInvitation.used_at.is_(None),
        SurveyInvitation.expires_at > (now or utcnow())))


def renew_link(order: WorkOrder, actor: User, now: datetime | None = None) -> str:
    """A fresh rating link for the installer who completed `order`, to show the QR code again: the
    old token stops working, the expiry stays. Refused once the visit is rated or the link expired."""
    now = now or utcnow()
    if actor.role is not Role.INSTALLER or order.completed_by_id != actor.id:
        raise Forbidden(_l("Only the installer who completed the job shows its rating code."))
    invitation = db.session.scalar(select(SurveyInvitation).where(SurveyInvitation.work_order_id == order.id))
    if invitation is None:
        raise NotFound(_l("This job has no rating link."))
    token = secrets.token_urlsafe(24)
    # One statement, so a rating sent at the same moment either lands first (and this is refused)
    # or finds its old token retired.
    renewed = db.session.execute(
        update(SurveyInvitation)
        .where(SurveyInvitation.id == invitation.id, SurveyInvitation.used_at.is_(None),
               SurveyInvitation.expires_at > now)
        .values(token_hash=token_digest(token))
        .execution_options(synchronize_session=False)
    ).rowcount
    if renewed != 1:
        db.session.refresh(invitation)
        if invitation.used_at is not None:
            raise Conflict(_l("This visit has already been rated"))
        raise Conflict(_l("This rating link has expired"))
    return token


@order_completed.connect
def _invite_on_completion(outcome: Outcome, **kwargs: Any) -> None:
    """Every completed order gets its rating link, handed back on the lifecycle's outcome."""
    outcome.survey_token = invite(outcome.order, kwargs["now"])


def invitation_for(token: str) -> SurveyInvitation:
    """The invitation behind a rating link (NotFound for an unknown token)."""
    invitation = db.session.scalar(
        select(SurveyInvitation)
        .where(SurveyInvitation.token_hash == token_digest(token))
        .options(joinedload(SurveyInvitation.work_order).joinedload(WorkOrder.job_type),
                 joinedload(SurveyInvitation.work_order).joinedload(WorkOrder.completed_by))
    )
    if invitation is None:
        raise NotFound(_l("This rating link is not valid"))
    return invitation


def is_expired(invitation: SurveyInvitation, now: datetime | None = None) -> bool:
    return (now or utcnow()) >= invitation.expires_at


def submit_rating(invitation: SurveyInvitation, score: int, *, punctuality: int | None = None,
                  professionalism: int | None = None, result: int | None = None,
                  comment: str | None = None, now: datetime | None = None) -> SurveyResponse:
    """Record the customer's rating once: a used or expired link is refused (Conflict), a comment
    longer than COMMENT_MAX_LENGTH too (InvalidInput), and nothing is recorded."""
    now = now or utcnow()
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > COMMENT_MAX_LENGTH:
        message = _l("A comment has at most %(n)d characters.", n=COMMENT_MAX_LENGTH)
        raise InvalidInput(message, errors={"comment": [message]})
    if is_expired(invitation, now):
        raise Conflict(_l("This rating link has expired"))
    # Claim the link atomically, so two submissions at once cannot both count.
    claimed = db.session.execute(
        update(SurveyInvitation)
        .where(SurveyInvitation.id == invitation.id, SurveyInvitation.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        raise Conflict(_l("This visit has already been rated"))
    order = invitation.work_order
    response = SurveyResponse(
        invitation_id=invitation.id, work_order_id=order.id, installer_id=order.completed_by_id,
        score=score, punctuality=punctuality, professionalism=professionalism, result=result,
        comment=comment, submitted_at=now,
    )
    db.session.add(response)
    db.session.flush()
    open_followup(response, order, now)  # a dissatisfied rating: its follow-up, in this transaction
    return response
