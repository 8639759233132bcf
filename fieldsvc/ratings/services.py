"""The customer's rating: find an invitation by its token, record the single response."""
from __future__ import annotations

import hashlib
from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm import joinedload

from ..db import utcnow
from ..errors import Conflict, NotFound
from ..extensions import db
from ..workorders.models import WorkOrder
from .models import SurveyInvitation, SurveyResponse


def invitation_for(token: str) -> SurveyInvitation:
    """The invitation behind a rating link (NotFound for an unknown token)."""
    invitation = db.session.scalar(
        select(SurveyInvitation)
        .where(SurveyInvitation.token_hash == hashlib.sha256(token.encode()).hexdigest())
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
    """Record the customer's rating once: a used or expired link is refused (Conflict)."""
    now = now or utcnow()
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
        comment=(comment or "").strip() or None, submitted_at=now,
    )
    db.session.add(response)
    db.session.flush()
    return response
