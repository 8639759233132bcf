"""Training: enrolment (capacity enforced, no double booking) and results; passing a course that
grants a certification issues or renews it, with the training record as its evidence. Services
flush; the edge commits."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, func, select

from ..auth.models import Role, User
from ..auth.scope import may_see
from ..auth.services import PersonName
from ..errors import Conflict, Forbidden, InvalidInput, NotFound
from ..extensions import db
from .models import (
    Certification,
    TrainingCourse,
    TrainingRecord,
    TrainingResult,
    TrainingSession,
)
from .services import record_certification

SCORE_RANGE = (0, 100)  # a training result's score, lowest and highest


def enrol(session_id: int, installer: User, actor: User, now: datetime) -> TrainingRecord:
    """Book `installer` into a future session: refused when it is full, already booked, or
    overlaps another session they are booked on."""
    if installer.role is not Role.INSTALLER or not installer.is_active:
        raise InvalidInput(_l("Only active installers take training."), errors={"installer": [_l("Not an active installer.")]})
    if not may_see(actor, installer):  # admins anyone, supervisors their teams', installers themselves
        raise Forbidden(_l("You may not enrol this installer."))
    # Lock the session row (PostgreSQL), so two enrolments at once cannot both take the last seat.
    session = db.session.scalar(select(TrainingSession).where(TrainingSession.id == session_id).with_for_update())
    if session is None:
        raise NotFound(_l("No such training session."))
    if session.starts_at <= now:
        raise Conflict(_l("This session has already started."))
    taken = db.session.scalar(select(func.count()).select_from(TrainingRecord)
                              .where(TrainingRecord.session_id == session.id))
    booked = db.session.scalar(select(TrainingRecord).where(TrainingRecord.session_id == session.id,
                                                            TrainingRecord.user_id == installer.id))
    if booked is not None:
        raise Conflict(_l("%(name)s is already booked on this session.", name=PersonName(installer)))
    if taken >= session.capacity:
        raise Conflict(_l("This session is full (%(n)d seats).", n=session.capacity))
    clash = db.session.scalar(
        select(TrainingSession.id).join(TrainingRecord, TrainingRecord.session_id == TrainingSession.id)
        .where(TrainingRecord.user_id == installer.id, TrainingRecord.result == TrainingResult.ENROLLED,
               and_(TrainingSession.starts_at < session.ends_at, TrainingSession.ends_at > session.starts_at))
    )
    if clash is not None:
        raise Conflict(_l("%(name)s is booked on another session at that time.", name=PersonName(installer)))
    record = TrainingRecord(session_id=session.id, user_id=installer.id, enrolled_at=now)
    db.session.add(record)
    db.session.flush()
    return record


@dataclass
class Outcome:
    record: TrainingRecord
    certification: Certification | None


def record_result(record: TrainingRecord, actor: User, attended: bool, score: int | None, today: date,
                  tz: ZoneInfo) -> Outcome:
    """Record attendance and score (admin). At or above the pass mark: passed, and the course's
    certification is issued or renewed from the session's (local) day; otherwise failed (or absent)."""
    if actor.role is not Role.ADMIN:
        raise Forbidden(_l("Only admins record training results."))
    if record.result is not TrainingResult.ENROLLED:
        raise Conflict(_l("The result of this enrolment is already recorded."))
    session, course = record.session, record.session.course
    session_day = session.starts_at.astimezone(tz).date()
    if session_day > today:
        raise Conflict(_l("This session has not taken place yet."))
    low, high = SCORE_RANGE
    if score is not None and not low <= score <= high:
        message = _l("A score is from %(low)d to %(high)d.", low=low, high=high)
        raise InvalidInput(message, errors={"score": [message]})
    if attended and score is None:
        raise InvalidInput(_l("Give the score of an installer who attended."), errors={"score": [_l("Required.")]})
    record.attended, record.score = attended, score if attended else None
    if not attended:
        record.result = TrainingResult.ABSENT
    elif score is not None and score >= course.pass_mark:
        record.result = TrainingResult.PASSED
    else:
        record.result = TrainingResult.FAILED
    db.session.flush()
    certification = None
    if record.result is TrainingResult.PASSED and course.grants_certification_type is not None:
        certification = record_certification(
            record.user, course.grants_certification_type.code, session_day,
            level=_granted_level(course, record.user_id), evidence=_evidence(course, session),
            training_record_id=record.id, today=today,
        )
    return Outcome(record, certification)


def _granted_level(course: TrainingCourse, user_id: int) -> int | None:
    """The course's level; a renewal course without one keeps the installer's current level."""
    certification_type = course.grants_certification_type
    if course.grants_level is not None or certification_type is None or certification_type.min_level is None:
        return course.grants_level
    current = db.session.scalar(
        select(Certification.level).where(Certification.user_id == user_id,
                                          Certification.certification_type_id == certification_type.id)
        .order_by(Certification.issued_on.desc()).limit(1))
    return current if current is not None else certification_type.min_level


def _evidence(course: TrainingCourse, session: TrainingSession) -> str:
    return f"training {course.code} {session.starts_at:%Y-%m-%d} ({session.place})"


def upcoming_sessions_renewing(type_ids: list[int], now: datetime) -> dict[int, list[TrainingSession]]:
    """Future sessions with free seats of courses granting each certification type."""
    seats = (select(TrainingRecord.session_id, func.count().label("taken"))
             .group_by(TrainingRecord.session_id).subquery())
    rows = db.session.execute(
        select(TrainingSession, TrainingCourse.grants_certification_type_id)
        .join(TrainingCourse, TrainingCourse.id == TrainingSession.course_id)
        .outerjoin(seats, seats.c.session_id == TrainingSession.id)
        .where(TrainingCourse.grants_certification_type_id.in_(type_ids), TrainingSession.starts_at > now,
               TrainingCourse.is_active.is_(True),
               func.coalesce(seats.c.taken, 0) < TrainingSession.capacity)
        .order_by(TrainingSession.starts_at)
    ).all()
    found: dict[int, list[TrainingSession]] = {}
    for session, type_id in rows:
        found.setdefault(type_id, []).append(session)
    return found
