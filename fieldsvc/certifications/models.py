"""Certification types, certifications (history kept), training courses/sessions/records."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..db import Base, BilingualName, enum_column, utcnow

if TYPE_CHECKING:
    from ..auth.models import User
    from ..workforce.models import JobType


class CertificationCategory(enum.Enum):
    LEGAL = "legal"
    SKILL = "skill"
    SERVICE = "service"


class CertificationStatus(enum.Enum):
    """Derived from dates in the operator's time zone (see certifications.services)."""

    VALID = "valid"
    EXPIRING = "expiring"
    REVIEW_DUE = "review_due"
    EXPIRED = "expired"
    REVOKED = "revoked"


class CertificationType(BilingualName, Base):
    """A kind of certificate: legal, skill or service; its levels, validity and review cycle."""

    name_length = 128
    __tablename__ = "certification_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[CertificationCategory] = mapped_column(enum_column(CertificationCategory, "cert_category"))
    validity_months: Mapped[int]
    review_months: Mapped[int | None]
    renewal_window_days: Mapped[int] = mapped_column(default=90)
    # Levels, when the type has them; skill levels run 5 (entry) → 1 (top), so "better" can be lower.
    min_level: Mapped[int | None]
    max_level: Mapped[int | None]
    is_level_descending: Mapped[bool] = mapped_column(default=False)
    is_work_at_height: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        CheckConstraint("validity_months > 0", name="validity_positive"),
        CheckConstraint("review_months IS NULL OR review_months > 0", name="review_positive"),
        CheckConstraint("renewal_window_days >= 0", name="renewal_window_nonnegative"),
    )


class JobTypeRequirement(Base):
    """A certification type (at a minimum level, if any) that a job type requires."""

    __tablename__ = "job_type_requirements"

    job_type_id: Mapped[int] = mapped_column(ForeignKey("job_types.id", ondelete="CASCADE"), primary_key=True)
    certification_type_id: Mapped[int] = mapped_column(
        ForeignKey("certification_types.id", ondelete="CASCADE"), primary_key=True
    )
    min_level: Mapped[int | None]

    job_type: Mapped[JobType] = relationship(back_populates="requirements")
    certification_type: Mapped[CertificationType] = relationship()


class Certification(Base):
    """One certificate held by one installer. A renewal is a new row; the old one stays."""

    __tablename__ = "certifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    certification_type_id: Mapped[int] = mapped_column(ForeignKey("certification_types.id"))
    level: Mapped[int | None]
    number: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[str | None] = mapped_column(Text)
    issued_on: Mapped[date]
    expires_on: Mapped[date]
    next_review_on: Mapped[date | None]
    training_record_id: Mapped[int | None] = mapped_column(ForeignKey("training_records.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(255))
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    certification_type: Mapped[CertificationType] = relationship()

    __table_args__ = (
        CheckConstraint("expires_on >= issued_on", name="expires_after_issue"),
        Index("ix_certifications_user_type_expires", "user_id", "certification_type_id", "expires_on"),
        Index("ix_certifications_type_expires", "certification_type_id", "expires_on"),
    )


class TrainingCourse(BilingualName, Base):
    """A course: hours, pass mark, and the certification (level) that passing it grants or renews."""

    name_length = 128
    __tablename__ = "training_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    hours: Mapped[int]
    pass_mark: Mapped[int] = mapped_column(default=60)
    grants_certification_type_id: Mapped[int | None] = mapped_column(ForeignKey("certification_types.id"))
    grants_level: Mapped[int | None]
    is_active: Mapped[bool] = mapped_column(default=True)

    grants_certification_type: Mapped[CertificationType | None] = relationship()

    __table_args__ = (
        CheckConstraint("hours > 0", name="hours_positive"),
        CheckConstraint("pass_mark >= 0 AND pass_mark <= 100", name="pass_mark_range"),
    )


class TrainingSession(Base):
    """A scheduled sitting of a course: when, where, who teaches, how many seats."""

    __tablename__ = "training_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("training_courses.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(index=True)
    ends_at: Mapped[datetime]
    place: Mapped[str] = mapped_column(String(255))
    trainer: Mapped[str] = mapped_column(String(64))
    capacity: Mapped[int]

    course: Mapped[TrainingCourse] = relationship()
    records: Mapped[list[TrainingRecord]] = relationship(back_populates="session")

    __table_args__ = (
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )


class TrainingResult(enum.Enum):
    ENROLLED = "enrolled"
    PASSED = "passed"
    FAILED = "failed"
    ABSENT = "absent"


class TrainingRecord(Base):
    """One installer's enrolment in a session: attendance, score, result."""

    __tablename__ = "training_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("training_sessions.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    enrolled_at: Mapped[datetime] = mapped_column(default=utcnow)
    attended: Mapped[bool | None]
    score: Mapped[int | None]
    result: Mapped[TrainingResult] = mapped_column(
        enum_column(TrainingResult, "training_result"), default=TrainingResult.ENROLLED
    )

    session: Mapped[TrainingSession] = relationship(back_populates="records")
    user: Mapped[User] = relationship()

    __table_args__ = (
        UniqueConstraint("session_id", "user_id"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 100)", name="score_range"),
    )
