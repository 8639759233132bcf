"""Rating reminders and expired links. A completed order whose rating link is still unused a day
later (the rule `rating_reminder_after_hours`) gets one text message with a fresh link to the same
invitation, sent between the local hours of `rating_reminder_hours`, unless its customer refused
reminders; the scheduler runs it every 15 minutes (and `fieldsvc ratings remind`). Links that ran
out unused are marked expired by `mark_expired` (the scheduler, `fieldsvc ratings expire`).

Never twice: the reminder is claimed by one conditional UPDATE that sets `reminded_at` (and the
new token's digest) only while `reminded_at` is empty and the link is unused, unexpired and
unmarked, so two schedulers running at once cannot both send it, and a rating, an expiry or an
opt-out that lands first stops it. The text goes out once the claim has committed
(`notifications.sms.send_on_commit`): at most once, never from a rolled-back transaction.

Only the token's digest is stored, so the old link cannot be sent again: the reminder issues a
fresh token for the invitation (as `services.renew_link` does; the expiry stays) and the code the
installer showed stops working. Services flush; the edge (the scheduler's claim, the CLI, a view)
commits."""
from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app, has_request_context, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import delete, exists, select, update
from sqlalchemy.dialects import postgresql, sqlite

from ..auth.models import User
from ..db import hold_transaction
from ..extensions import db
from ..notifications.sms import SmsMessage, SmsSender, send_on_commit, sms_sender
from ..rules.services import settings_on
from ..security import token_digest
from ..workforce.models import Customer, JobType
from ..workorders.models import WorkOrder
from .models import ReminderOptOut, SurveyInvitation

log = logging.getLogger(__name__)

# Reminders claimed by one run at most: a backlog (after downtime) drains over a few runs rather
# than one long transaction; 500 every 15 minutes is ten times a city branch's busiest hour.
REMINDER_BATCH = 500


def reaches_outside() -> bool:
    """Whether `public_url` can say where someone outside reaches the app."""
    config = current_app.config
    return bool(config.get("PUBLIC_URL") or has_request_context() or config.get("SERVER_NAME"))


def public_url(endpoint: str, **values: str) -> str | None:
    """An absolute link for someone outside (a customer's phone): from PUBLIC_URL when set, else
    from the request or SERVER_NAME; None when neither says where the app is reached."""
    base = current_app.config.get("PUBLIC_URL")
    if base:
        parts = urlsplit(base)
        adapter = current_app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme or "https")
        return adapter.build(endpoint, values, force_external=True)
    return url_for(endpoint, _external=True, **values) if reaches_outside() else None


def reminder_text(job_type: str, number: str, link: str, until: str) -> str:
    """The reminder's words in the current language."""
    return _("Your %(job)s visit (order %(number)s) is done. Please rate it: %(link)s (until %(until)s). "
             "You can turn these reminders off on that page.", job=job_type, number=number, link=link, until=until)


def _mobile(phone: str) -> str:
    """The number as a gateway takes it: without spaces, dashes or a +86 prefix."""
    digits = re.sub(r"[\s-]", "", phone)
    return digits[3:] if digits.startswith("+86") else digits


def send_reminders(now: datetime, tz: ZoneInfo, *, sender: SmsSender | None = None,
                   limit: int = REMINDER_BATCH) -> int:
    """Claim and queue the reminder of every invitation due at `now` (at most `limit`, oldest
    first): one query finds them, one conditional UPDATE each claims it. Returns how many were
    claimed; their texts go out when the caller commits."""
    local = now.astimezone(tz)
    rules = settings_on(local.date())
    opens, closes = rules["rating_reminder_hours"]
    if not opens <= local.hour < closes:
        return 0
    if not reaches_outside():
        log.warning("rating reminders wait: set FIELDSVC_PUBLIC_URL, the address customers reach the app at")
        return 0
    # SQLite: take the write lock before reading, so a second scheduler or `fieldsvc ratings remind`
    # waits for this one instead of failing on a snapshot it can no longer write from (a no-op
    # inside the scheduler's claim, which began so already; PostgreSQL's row locks suffice).
    hold_transaction(db.session.connection(), immediate=True)
    refused = exists().where(ReminderOptOut.customer_id == Customer.id)
    due = db.session.execute(
        select(SurveyInvitation.id, SurveyInvitation.expires_at, WorkOrder.number, JobType.name_zh, JobType.name_en,
               Customer.id.label("customer_id"), Customer.phone)
        .join(WorkOrder, WorkOrder.id == SurveyInvitation.work_order_id)
        .join(Customer, Customer.id == WorkOrder.customer_id)
        .join(JobType, JobType.id == WorkOrder.job_type_id)
        .where(SurveyInvitation.used_at.is_(None), SurveyInvitation.expired_at.is_(None),
               SurveyInvitation.reminded_at.is_(None), SurveyInvitation.expires_at > now,
               SurveyInvitation.created_at <= now - timedelta(hours=float(rules["rating_reminder_after_hours"])),
               ~refused)
        .order_by(SurveyInvitation.created_at, SurveyInvitation.id)
        .limit(limit)
    ).all()
    if not due:
        return 0
    sender = sender or sms_sender()
    claimed = 0
    locale = current_app.config["BABEL_DEFAULT_LOCALE"]  # customers have no account, so no language of their own
    with force_locale(locale):
        for row in due:
            token = secrets.token_urlsafe(24)
            won = db.session.execute(
                update(SurveyInvitation)
                .where(SurveyInvitation.id == row.id, SurveyInvitation.reminded_at.is_(None),
                       SurveyInvitation.used_at.is_(None), SurveyInvitation.expired_at.is_(None),
                       SurveyInvitation.expires_at > now,
                       ~exists().where(ReminderOptOut.customer_id == row.customer_id))
                .values(reminded_at=now, token_hash=token_digest(token))
                .execution_options(synchronize_session=False)
            ).rowcount
            if won != 1:
                continue  # rated, refused or claimed by another scheduler meanwhile
            claimed += 1
            link = public_url("ratings.survey", token=token) or ""
            until = row.expires_at.astimezone(tz).strftime("%Y-%m-%d %H:%M")
            send_on_commit(db.session(), sender, SmsMessage(
                phone=_mobile(row.phone), text=reminder_text(row.name_zh if locale.startswith("zh") else row.name_en, row.number, link, until),
                reference=f"rating-reminder:{row.id}"))
    return claimed


def mark_expired(now: datetime) -> int:
    """Mark every unused link that ran out by `now` expired (one statement); how many."""
    return db.session.execute(
        update(SurveyInvitation)
        .where(SurveyInvitation.used_at.is_(None), SurveyInvitation.expired_at.is_(None),
               SurveyInvitation.expires_at <= now)
        .values(expired_at=SurveyInvitation.expires_at)
        .execution_options(synchronize_session=False)
    ).rowcount


# --- the opt-out -------------------------------------------------------------------------------

def reminders_refused(customer_id: int) -> bool:
    """Whether the customer asked for no rating reminders."""
    return db.session.scalar(select(ReminderOptOut.id).where(ReminderOptOut.customer_id == customer_id)) is not None


def set_reminders(customer_id: int, wanted: bool, actor: User | None, now: datetime) -> bool:
    """Turn the customer's rating reminders on or off (`actor` None: the customer on the rating
    page); whether anything changed. Safe when two people do it at once."""
    if wanted:
        return db.session.execute(delete(ReminderOptOut).where(ReminderOptOut.customer_id == customer_id)
                                  .execution_options(synchronize_session=False)).rowcount > 0
    insert = postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = ReminderOptOut.__table__
    return db.session.scalar(
        insert(table).values(customer_id=customer_id, created_at=now, set_by_id=actor.id if actor else None)
        .on_conflict_do_nothing(index_elements=["customer_id"]).returning(table.c.id)
    ) is not None
