"""Survey invitations (one unguessable, single-use token per completed order) and responses."""
from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, utcnow

if TYPE_CHECKING:
    from ..auth.models import User
    from ..workorders.models import WorkOrder


class SurveyInvitation(Base):
    """The rating link of a completed work order; only the token's SHA-256 digest is stored."""

    __tablename__ = "survey_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    work_order_id: Mapped[int] = mapped_column(ForeignKey("work_orders.id", ondelete="CASCADE"), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]

    work_order: Mapped[WorkOrder] = relationship()
    response: Mapped[SurveyResponse | None] = relationship(back_populates="invitation")


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
