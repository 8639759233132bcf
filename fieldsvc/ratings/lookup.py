"""The placard's rating page finds the visit to rate: the customer gives the last 4 digits of their
phone, and only that installer's recent visits still waiting for a rating (completed by them, the
rating link open) whose customer's phone ends so are offered, each by its date and job type alone.
The customer picks one through a short-lived signed `pick` (no order number, no rating token
leaves the server), then rates it through `services.submit_rating`, the one way a rating is sent.

Four digits are 10,000 guesses, so the page is throttled tightly (the views); a wrong guess and
a right guess for a visit already rated get the same answer."""
from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..db import utcnow, zone
from ..errors import NotFound
from ..extensions import db
from ..rules.services import setting
from ..workforce.models import Customer, JobType
from ..workorders.models import OrderStatus, WorkOrder
from .models import Placard, SurveyInvitation

DIGITS = 4  # how many of the phone's last digits the customer gives
MAX_CHOICES = 10  # the most visits offered at once (the newest)
PICK_SECONDS = 30 * 60  # how long a visit picked from the list may be rated through its pick


@dataclass(frozen=True)
class VisitChoice:
    """One visit the customer may pick: what tells it apart to them, and its signed pick."""

    pick: str
    completed_at: datetime
    job_type: JobType


def phone_ends(digits: str) -> str:
    """The customer's entry as the digits it holds (full-width digits count, spaces and dashes do
    not): "１２３４" and "12-34" are "1234"."""
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", digits or ""))


def find_visits(placard: Placard, digits: str, now: datetime | None = None) -> list[VisitChoice]:
    """The visits of the placard's installer that a customer whose phone ends in `digits` may rate:
    completed by them within the rating link's validity, the link unused and unexpired, newest
    first. Empty for anything else, a wrong guess alike."""
    now = now or utcnow()
    digits = phone_ends(digits)
    if len(digits) != DIGITS:
        return []
    days = int(setting("survey_link_days", now.astimezone(zone()).date()))
    rows = db.session.execute(
        select(SurveyInvitation.id, WorkOrder.completed_at, JobType, Customer.phone)
        .join(WorkOrder, WorkOrder.id == SurveyInvitation.work_order_id)
        .join(JobType, JobType.id == WorkOrder.job_type_id)
        .join(Customer, Customer.id == WorkOrder.customer_id)
        .where(WorkOrder.completed_by_id == placard.installer_id, WorkOrder.status == OrderStatus.COMPLETED,
               WorkOrder.completed_at > now - timedelta(days=days), WorkOrder.completed_at <= now,
               SurveyInvitation.used_at.is_(None), SurveyInvitation.expires_at > now)
        .order_by(WorkOrder.completed_at.desc(), SurveyInvitation.id.desc()))
    # The phone's digits are compared here, not in SQL: a phone may be stored with spaces, dashes
    # or +86, and an installer has a few dozen visits in a link's validity at most.
    return [VisitChoice(_sign(placard, invitation_id, now), completed_at, job_type)
            for invitation_id, completed_at, job_type, phone in rows
            if phone_ends(phone)[-DIGITS:] == digits][:MAX_CHOICES]


def picked_invitation(placard: Placard, pick: str, now: datetime | None = None) -> SurveyInvitation:
    """The invitation behind a pick from `find_visits` on this placard, while the pick is fresh and
    the visit is still the installer's to be rated; NotFound otherwise (a forged, stale or foreign
    pick, a retired placard code, a visit rated meanwhile: the same answer)."""
    now = now or utcnow()
    invitation_id = _verified(placard, pick or "", now)
    invitation = None if invitation_id is None else db.session.scalar(
        select(SurveyInvitation).join(WorkOrder, WorkOrder.id == SurveyInvitation.work_order_id)
        .where(SurveyInvitation.id == invitation_id, WorkOrder.completed_by_id == placard.installer_id,
               SurveyInvitation.used_at.is_(None), SurveyInvitation.expires_at > now)
        .options(joinedload(SurveyInvitation.work_order).joinedload(WorkOrder.job_type),
                 joinedload(SurveyInvitation.work_order).joinedload(WorkOrder.completed_by)))
    if invitation is None:
        raise NotFound(_l("This choice is no longer valid. Enter the digits again."))
    return invitation


def _signature(placard: Placard, invitation_id: int, issued: int) -> str:
    # Keyed with the app's secret and bound to the placard's current code: a pick is good on the
    # page that offered it only, and no longer once the code is rotated.
    key = hashlib.sha256(b"fieldsvc.placard-pick:" + str(current_app.secret_key).encode()).digest()
    message = f"{placard.code}:{invitation_id}:{issued}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:32]


def _sign(placard: Placard, invitation_id: int, now: datetime) -> str:
    issued = int(now.timestamp())
    return f"{invitation_id}.{issued}.{_signature(placard, invitation_id, issued)}"


def _verified(placard: Placard, pick: str, now: datetime) -> int | None:
    """The invitation id a pick names when its signature holds and it is fresh, else None."""
    match = re.fullmatch(r"(\d{1,12})\.(\d{1,12})\.([0-9a-f]{32})", pick)
    if match is None:
        return None
    invitation_id, issued = int(match.group(1)), int(match.group(2))
    if not hmac.compare_digest(match.group(3), _signature(placard, invitation_id, issued)):
        return None
    if not -60 <= now.timestamp() - issued <= PICK_SECONDS:  # a minute's grace for another host's clock
        return None
    return invitation_id
