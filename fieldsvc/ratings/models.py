"""Survey invitations (one unguessable, single-use token per completed order) and responses."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, enum_column, utcnow

if TYPE_CHECKING:
    from ..auth.models import User
    from ..workorders.models import WorkOrder

# An invitation still waiting for its rating: neither used nor marked expired (the reminder and
# expiry jobs read only these, through partial indexes that stay small however many orders pile up).
_PENDING = "used_at IS NULL AND expired_at IS NULL"


class SurveyInvitation(Base):
    """The rating link of a completed work order; only the token's SHA-256 digest is stored."""

    __tablename__ = "survey_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    # The one reminder (ratings.reminders): set in the statement that claims it, so never twice.
    reminded_at: Mapped[datetime | None]
    # Set by the expiry job (to `expires_at`) once the link has run out unused.
    expired_at: Mapped[datetime | None]

    work_order: Mapped[WorkOrder] = relationship()
    response: Mapped[SurveyResponse | None] = relationship(back_populates="invitation")

    __table_args__ = (
        Index("ix_survey_invitations_pending_created", "created_at",
              postgresql_where=text(f"{_PENDING} AND reminded_at IS NULL"),
              sqlite_where=text(f"{_PENDING} AND reminded_at IS NULL")),
        Index("ix_survey_invitations_pending_expires", "expires_at",
              postgresql_where=text(_PENDING), sqlite_where=text(_PENDING)),
    )


# The city's dual-review scale (PRODUCT.md §4): 5 satisfied, 4–3 fairly satisfied, 2–1 dissatisfied.
# "Satisfied" in the broad touchpoint figure means this many stars or more.
SATISFIED_MIN_SCORE = 3


def _score_check(column: str) -> CheckConstraint:
    return CheckConstraint(f"{column} IS NULL OR ({column} >= 1 AND {column} <= 5)", name=f"{column}_range")


class SurveyResponse(Base):
    """A customer's rating of a visit: 1–5 stars overall, optional dimensions, a comment."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("survey_invitations.id", ondelete="CASCADE"), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), unique=True)
    # The installer who completed the order, copied so rating metrics need no join.
    installer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    score: Mapped[int]
    punctuality: Mapped[int | None]
    professionalism: Mapped[int | None]
    result: Mapped[int | None]
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)

    invitation: Mapped[SurveyInvitation] = relationship(back_populates="response")

    __table_args__ = (
        CheckConstraint("score >= 1 AND score <= 5", name="score_range"),
        _score_check("punctuality"),
        _score_check("professionalism"),
        _score_check("result"),
        Index("ix_survey_responses_submitted_at", "submitted_at"),
        Index("ix_survey_responses_installer_submitted", "installer_id", "submitted_at"),
    )


# --- follow-ups (回访) of dissatisfied ratings -------------------------------------------------

class FollowUpStatus(enum.Enum):
    OPEN = "open"            # opened by a 1–2 star rating, nobody has reached the customer yet
    CONTACTED = "contacted"  # a supervisor spoke to the customer
    CLOSED = "closed"        # settled, with an outcome


class FollowUpOutcome(enum.Enum):
    """How a follow-up ended (the code the metrics count by)."""

    RESOLVED = "resolved"                        # the customer's problem was solved
    EXPLAINED = "explained"                      # explained to the customer's satisfaction
    REVISIT_BOOKED = "revisit_booked"            # a new visit was booked: the revisit order, linked
    CUSTOMER_UNREACHABLE = "customer_unreachable"
    NOT_INSTALLER_FAULT = "not_installer_fault"  # the cause lay elsewhere (network, billing, product…)


class FollowUpCause(enum.Enum):
    """What the dissatisfaction was about, as the follow-up found it (PRODUCT.md's dual-review
    reasons, DOMAIN.md §1.7). `followups.CAUSES` says which of them count against the installer."""

    INSTALLER_CONDUCT = "installer_conduct"  # 服务态度 / service standards
    PUNCTUALITY = "punctuality"              # late or missed appointment
    WORKMANSHIP = "workmanship"              # the job itself: cabling, not resolved, mess left
    NETWORK_QUALITY = "network_quality"      # speed, outages, coverage
    PRICE_BILLING = "price_billing"          # tariff, bill, charges
    PRODUCT = "product"                      # the ONU, router, IPTV box, the package sold
    OTHER = "other"


class FollowUp(Base):
    """The follow-up (回访) a dissatisfied rating opens for the supervisors of the order's team:
    open → contacted → closed, each step with who, when and a note. Exactly one per rating."""

    __tablename__ = "follow_ups"

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), index=True)
    # The installer who completed the rated order (the rating's), copied so the figures need no join.
    installer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    status: Mapped[FollowUpStatus] = mapped_column(enum_column(FollowUpStatus, "follow_up_status"),
                                                   default=FollowUpStatus.OPEN)
    opened_at: Mapped[datetime]
    # Fixed when opened from the rule then in force (`followup_contact_hours`), so a later change of
    # the rule does not make old follow-ups overdue or on time after the fact.
    contact_due_at: Mapped[datetime]
    contacted_at: Mapped[datetime | None]
    contacted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_note: Mapped[str | None] = mapped_column(Text)
    closed_at: Mapped[datetime | None]
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    close_note: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[FollowUpOutcome | None] = mapped_column(enum_column(FollowUpOutcome, "follow_up_outcome"))
    # The rating's cause as the follow-up found it, and whether it counts against the installer.
    # The rating itself stays as the customer gave it (the metrics count it as it was).
    cause: Mapped[FollowUpCause | None] = mapped_column(enum_column(FollowUpCause, "follow_up_cause"))
    counts_against_installer: Mapped[bool | None]
    revisit_order_id: Mapped[int | None] = mapped_column(ForeignKey("work_orders.id"), unique=True)
    version: Mapped[int] = mapped_column(default=1)

    response: Mapped[SurveyResponse] = relationship()
    work_order: Mapped[WorkOrder] = relationship(foreign_keys=[work_order_id])
    installer: Mapped[User | None] = relationship(foreign_keys=[installer_id])
    contacted_by: Mapped[User | None] = relationship(foreign_keys=[contacted_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    revisit_order: Mapped[WorkOrder | None] = relationship(foreign_keys=[revisit_order_id])

    # Optimistic concurrency, as for work orders: a stale form is refused with a conflict.
    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        CheckConstraint("status <> 'contacted' OR (contacted_at IS NOT NULL AND contacted_by_id IS NOT NULL)",
                        name="contacted_has_contact"),
        CheckConstraint("(status = 'closed') = (closed_at IS NOT NULL AND outcome IS NOT NULL)",
                        name="closed_iff_outcome"),
        CheckConstraint("revisit_order_id IS NULL OR outcome = 'revisit_booked'", name="revisit_only_when_booked"),
        # The board's queue and the overdue check: open ones by their contact deadline.
        Index("ix_follow_ups_status_contact_due_at", "status", "contact_due_at"),
        Index("ix_follow_ups_opened_at", "opened_at"),
    )


class ReminderOptOut(Base):
    """A customer (account) who asked for no rating reminders: set by the customer on the rating
    page (`set_by_id` empty) or by a supervisor or admin on the job page; deleting the row turns
    reminders back on."""

    __tablename__ = "reminder_opt_outs"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class PraiseChannel(enum.Enum):
    """How a compliment reached the branch."""

    LETTER = "letter"  # a thank-you letter (感谢信)
    BANNER = "banner"  # a silk banner (锦旗)
    CALL = "call"  # a phone call (电话表扬)
    OTHER = "other"


class Praise(Base):
    """A compliment for an installer that arrived outside the rating link, recorded by a supervisor
    or admin: when it came, how, what it said, an optional photo (of the letter, the banner)."""

    __tablename__ = "praise_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    installer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    # The installer's team when it was recorded: a team's count keeps its praise when people move.
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    received_on: Mapped[date]
    channel: Mapped[PraiseChannel] = mapped_column(enum_column(PraiseChannel, "praise_channel"))
    note: Mapped[str] = mapped_column(Text)
    # The photo, stored like the orders' photos (workorders.photos): random name, resized, no EXIF.
    photo_filename: Mapped[str | None] = mapped_column(String(64))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    installer: Mapped[User] = relationship(foreign_keys=[installer_id])
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])

    __table_args__ = (
        Index("ix_praise_records_installer_received", "installer_id", "received_on"),
        Index("ix_praise_records_team_received", "team_id", "received_on"),
    )
# The longest comment a customer may leave (the form says so; the service refuses longer).
COMMENT_MAX_LENGTH = 500


class Placard(Base):
    """An installer's 双评议 placard: the public code in the address of their stable rating page
    (`/p/<code>`), printed as a QR code on the card they hang. Random and stored rather than derived
    from the user id (an HMAC with the app secret): the page cannot be found from an id, one card
    can be retired (a lost card, a code passed around) by issuing its installer a new code, and
    printed cards outlive a rotated FIELDSVC_SECRET_KEY or a second host with another secret."""

    __tablename__ = "placards"

    id: Mapped[int] = mapped_column(primary_key=True)
    installer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    installer: Mapped[User] = relationship(foreign_keys=[installer_id])
