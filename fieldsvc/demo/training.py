"""Certificates and training: every installer's certificates, most granted through the courses
that grant them, with their history, a spread of expiry, a few lapsed, missing and revoked; the
training sessions and records behind them (DOMAIN.md §2.4–2.6)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from ..certifications.models import Certification, TrainingCourse, TrainingRecord, TrainingResult, TrainingSession
from ..certifications.services import add_months, certificate_dates
from ..db import UTC
from .organisation import DemoInstaller
from .reference import (
    COURSES,
    SESSION_CAPACITY,
    SESSION_PERIOD_DAYS,
    TRAINING_HISTORY_DAYS,
    TRAINING_PLACES,
    clip,
    person_name,
)

if TYPE_CHECKING:
    from .seed import Seeder


def certificates_and_training(s: Seeder) -> tuple[Training, list[dict[str, Any]]]:
    """Every installer's certificates (DOMAIN §2.4–2.5), most through the courses that grant
    them, with history rows, a spread of expiry, a few lapsed, missing and revoked; returns the
    training and the certificate rows, to be written once the people are."""
    training = Training(s)
    rng, today = s.rng, s.today
    active = [i for i in s.installers if i.is_active]
    new_hires = {i.id for i in rng.sample(active, len(active) // 100)} if len(active) >= 20 else set()
    certs = Certificates(s, training)
    height_holders: list[tuple[DemoInstaller, dict[str, Any]]] = []

    for installer in s.installers:
        skill = installer.skill
        if installer.id in new_hires:  # joined this month: no certificate yet, booked on the courses
            hired = s.today_n - rng.randint(5, 25)
            installer.hired_day, installer.last_day = hired, hired - 1  # no jobs
            s.user_rows[installer.id - 1]["created_at"] = s.local_datetime(hired, 9 * 3600)
            for course in ("SVC-01", "FTTH-01", "SAF-01"):
                training.enrol_upcoming(course, installer)
            continue

        # Service-standard certification: yearly, stars from skill; renewed through SVC-01.
        installer.star = star = int(clip(round(3 + skill * 0.9 + rng.gauss(0, 0.6)), 1, 5))
        roll = rng.random()
        if roll < 0.02:  # lapsed: last year's renewal was missed, a resit failed
            row = certs.granted(installer, "SVC-01", "service_star",
                                add_months(today - timedelta(days=rng.randint(5, 60)), -12), star, after=False)
            training.fail_recent("SVC-01", installer)
            training.enrol_upcoming("SVC-01", installer)
            _earlier_service_certificates(s, certs, installer, row["issued_on"], star, keep=False)
        else:
            # Expiring within a month: renewed at the last sitting at least 336 days ago (the
            # sittings are at most four weeks apart). Else within the last 325 days.
            expiring = roll < 0.07
            issued = today - timedelta(days=336 if expiring else rng.randint(3, 325))
            keep = rng.random() < 0.6  # last year's certificate is kept too (always, when jobs were done on it)
            _earlier_service_certificates(s, certs, installer, issued, star, keep=keep, margin=training.period)
            row = certs.granted(installer, "SVC-01", "service_star", issued, star, after=not expiring)
            if expiring:
                training.enrol_upcoming("SVC-01", installer)
        if row["expires_on"] < today:  # no jobs once the service certificate lapsed
            installer.last_day = min(installer.last_day, s.day_number(row["expires_on"]))

        # Skill level: 5 (entry) → 1 (top), three years; level 3 through NET-01.
        level = int(clip(3 - round(skill * 1.1 + rng.gauss(0, 0.5)), 1, 5))
        expired = rng.random() < 0.03
        issued = today - timedelta(days=rng.randint(1110, 1300) if expired else rng.randint(10, 1060))
        course = "NET-01" if level == 3 else None
        row = certs.granted(installer, course, "skill_level", issued, level, after=True)
        installer.has_skill3 = level <= 3 and row["expires_on"] >= today
        installer.skill3_from = s.day_number(row["issued_on"]) + 5  # orders are booked up to 4 days ahead

        # FTTH installation: most installers, through FTTH-01.
        installer.has_ftth = rng.random() < 0.88
        if installer.has_ftth:
            row = certs.granted(installer, "FTTH-01", "ftth", today - timedelta(days=rng.randint(10, 1060)), after=True)
            installer.ftth_from = s.day_number(row["issued_on"]) + 5
        else:
            training.enrol_upcoming("FTTH-01", installer)

        # Legal certificates: six years, reviewed every three; work at height through SAF-01.
        for code, share, course in (("work_at_height", 0.6, "SAF-01"), ("low_voltage_electrician", 0.3, None)):
            if rng.random() >= share:
                continue
            roll = rng.random()
            age = (rng.randint(2200, 2400) if roll < 0.01  # expired
                   else rng.randint(1100, 1200) if roll < 0.04  # review due
                   else rng.randint(10, 1050))
            issued = today - timedelta(days=age)
            if rng.random() < 0.3:  # the certificate before this one
                certs.granted(installer, None, code, add_months(issued, -72) - timedelta(days=rng.randint(1, 40)))
            row = certs.granted(installer, course, code, issued, after=True)
            usable = row["next_review_on"] is None or row["next_review_on"] > today
            if code == "work_at_height":
                installer.has_height = usable and row["expires_on"] >= today
                installer.height_from = s.day_number(row["issued_on"]) + 5
                if installer.has_height and installer.is_active:
                    height_holders.append((installer, row))
        training.other_courses(installer)

    # A couple of work-at-height certificates revoked after a safety violation.
    for installer, row in rng.sample(height_holders, min(len(height_holders), max(2, len(active) // 400))):
        row["revoked_at"] = s.local_datetime(s.today_n - rng.randint(3, 60), 15 * 3600)
        row["revoked_reason"] = "高处作业未系安全带，被安监部门查处"
        row["revoked_by_id"] = s.admin_id
        installer.has_height = False

    _hired_before_company_training(s, training, certs.rows)
    return training, certs.rows_in_order()


def _earlier_service_certificates(s: Seeder, certs: Certificates, installer: DemoInstaller, issued: date, star: int,
                                  *, keep: bool, margin: int = 0) -> None:
    """The service certificates before the one issued about `issued` (up to `margin` days
    later), each renewed before the one before it expired, back to the first day of the demo's
    orders (so every job was done on a valid one), or one when `keep`."""
    first = s.day_date(max(s.first_n, installer.hired_day))
    while keep or issued > first:
        keep = False
        target = add_months(issued, -12) + timedelta(days=margin + s.rng.randint(1, 20))
        margin = 0
        issued = certs.granted(installer, "SVC-01", "service_star", target, max(1, star - (s.rng.random() < 0.3)),
                               after=True)["issued_on"]


COMPANY_CERTIFICATES = ("service_star", "ftth")  # the company's own; the legal ones and skill levels may come from an earlier job


def _hired_before_company_training(s: Seeder, training: Training, rows: list[dict[str, Any]]) -> None:
    """Nobody is booked on a company course or holds a company certificate before they were hired:
    a hire date later than either moves two weeks before the first of them; this month's new
    hires, who only have bookings, were booked once they had joined."""
    company = {s.cert_types[code].id for code in COMPANY_CERTIFICATES}
    new_hires = {i.id: i for i in s.installers if i.last_day < i.hired_day}
    first: dict[int, date] = {}
    for row in rows:
        if row["certification_type_id"] in company:
            first[row["user_id"]] = min(first.get(row["user_id"], row["issued_on"]), row["issued_on"])
    starts = {session["id"]: session["starts_at"] for session in training.session_rows}
    for record in training.record_rows:
        hire = new_hires.get(record["user_id"])
        if hire is not None:
            joined = s.local_datetime(hire.hired_day, 9 * 3600)
            if record["enrolled_at"] < joined:
                record["enrolled_at"] = min(joined + timedelta(hours=2), s.now)
            continue
        day = min(starts[record["session_id"]], record["enrolled_at"]).astimezone(s.tz).date()
        first[record["user_id"]] = min(first.get(record["user_id"], day), day)
    for installer in s.installers:
        earliest = first.get(installer.id)
        if earliest is not None and s.day_number(earliest) <= installer.hired_day:
            installer.hired_day = s.day_number(earliest) - 14
            s.user_rows[installer.id - 1]["created_at"] = s.local_datetime(installer.hired_day, 9 * 3600)


def write_training(s: Seeder, training: Training, certificate_rows: list[dict[str, Any]]) -> None:
    """Write the sessions, records and certificates (after the people they belong to)."""
    s.insert(TrainingSession.__table__, training.session_rows)
    s.insert(TrainingRecord.__table__, training.record_rows)
    s.insert(Certification.__table__, certificate_rows)
    s.counts.update({"certifications": len(certificate_rows), "training_sessions": len(training.session_rows),
                     "training_records": len(training.record_rows)})


class Certificates:
    """Certificate rows, dated as their type says (fieldsvc.certifications.services)."""

    NUMBER_PREFIX = {"service_star": "FW", "skill_level": "JN", "ftth": "FTTH", "work_at_height": "T",
                     "low_voltage_electrician": "T"}

    def __init__(self, seeder: Seeder, training: Training) -> None:
        self.seeder = seeder
        self.training = training
        self.rows: list[dict[str, Any]] = []

    def granted(self, installer: DemoInstaller, course: str | None, code: str, target: date,
                level: int | None = None, *, after: bool = True) -> dict[str, Any]:
        """A certificate issued about `target`: through a passed sitting of `course` when that
        sitting falls within the training history (issued the day it ended), else on `target`."""
        seeder, rng = self.seeder, self.seeder.rng
        record, issued = (None, None)
        if course is not None:
            record, issued = self.training.passed(course, installer, target, after=after)
        issued = issued or target
        cert_type = seeder.cert_types[code]
        expires_on, next_review_on = certificate_dates(cert_type, issued)
        prefix = self.NUMBER_PREFIX.get(code, code[:2].upper())
        number = (f"T4201{rng.randrange(10**12):012d}" if prefix == "T"
                  else f"{prefix}{issued:%Y}{rng.randrange(10**6):06d}")
        row = {"id": 0, "user_id": installer.id, "certification_type_id": cert_type.id, "level": level,
               "number": number, "evidence": f"培训记录 {course} {issued:%Y-%m-%d}" if record else None,
               "issued_on": issued, "expires_on": expires_on, "next_review_on": next_review_on,
               "training_record_id": record,
               "created_at": datetime.combine(issued, time(17, 30), tzinfo=seeder.tz).astimezone(UTC),
               "revoked_at": None, "revoked_reason": None, "revoked_by_id": None}
        self.rows.append(row)
        return row

    def rows_in_order(self) -> list[dict[str, Any]]:
        """The rows by holder, type and date, numbered."""
        self.rows.sort(key=lambda r: (r["user_id"], r["certification_type_id"], r["issued_on"]))
        for row in self.rows:
            row["id"] = self.seeder.ids.next("certifications")
        return self.rows


class Training:
    """Courses, sessions (created when someone needs one) and records."""

    def __init__(self, seeder: Seeder) -> None:
        self.seeder = seeder
        self.rng = seeder.rng
        self.today = seeder.today
        types = seeder.cert_types
        self.courses: dict[str, int] = {}
        rows = []
        for code, zh, en, hours, grants, level in COURSES:
            course_id = seeder.ids.next("training_courses")
            self.courses[code] = course_id
            rows.append({"id": course_id, "code": code, "name_zh": zh, "name_en": en, "hours": hours,
                         "pass_mark": 60,  # nosec B105
                         "grants_certification_type_id": types[grants].id if grants else None,
                         "grants_level": level, "is_active": True})
        seeder.insert(TrainingCourse.__table__, rows)
        seeder.counts["training_courses"] = len(rows)
        self.hours = {code: hours for code, _zh, _en, hours, _g, _l in COURSES}
        self.period = SESSION_PERIOD_DAYS[0] if len(seeder.installers) >= 500 else SESSION_PERIOD_DAYS[1]
        self.offsets = {code: i * 3 % self.period for i, (code, *_rest) in enumerate(COURSES)}
        self.sessions: dict[tuple[str, date, int], dict[str, Any]] = {}
        self.members: dict[int, set[int]] = {}
        self.session_rows: list[dict[str, Any]] = []
        self.record_rows: list[dict[str, Any]] = []

    def _session_day(self, course: str, near: date, upcoming: bool) -> date:
        """The course's session day on or before `near` (past), or on or after it (upcoming)."""
        shift = (near.toordinal() - self.offsets[course]) % self.period
        if upcoming:
            day = near + timedelta(days=(self.period - shift) % self.period)
        else:
            day = near - timedelta(days=shift)
        while day.weekday() == 6:  # no training on Sundays
            day += timedelta(days=1) if upcoming else -timedelta(days=1)
        return day

    def _session(self, course: str, day: date, user_id: int) -> dict[str, Any]:
        slot = 0
        while True:
            key = (course, day, slot)
            session = self.sessions.get(key)
            if session is None:
                session = self._new_session(course, day, slot)
                self.sessions[key] = session
            members = self.members[session["id"]]
            if user_id not in members and len(members) < SESSION_CAPACITY:
                members.add(user_id)
                return session
            slot += 1

    def _new_session(self, course: str, day: date, slot: int) -> dict[str, Any]:
        tz = self.seeder.tz
        hours = self.hours[course]
        starts = datetime.combine(day, time(9 if hours > 2 else 14), tzinfo=tz)
        if hours <= 4:
            ends = starts + timedelta(hours=hours)
        else:  # eight-hour days with an hour for lunch
            full_days, rest = divmod(hours, 8)
            ends = starts + timedelta(days=full_days - (rest == 0), hours=(rest or 8) + 1)
        name, _en = person_name(self.rng, female=self.rng.random() < 0.3)
        session = {"id": self.seeder.ids.next("training_sessions"), "course_id": self.courses[course],
                   "starts_at": starts.astimezone(UTC), "ends_at": ends.astimezone(UTC),
                   "place": TRAINING_PLACES[(slot + self.offsets[course]) % len(TRAINING_PLACES)],
                   "trainer": f"{name}(内训师)", "capacity": SESSION_CAPACITY}
        self.members[session["id"]] = set()
        self.session_rows.append(session)
        return session

    def _record(self, session: dict[str, Any], installer: DemoInstaller, result: TrainingResult,
                score: int | None, attended: bool | None) -> int:
        record_id = self.seeder.ids.next("training_records")
        enrolled = session["starts_at"] - timedelta(days=self.rng.randint(7, 30), hours=self.rng.randint(0, 8))
        if enrolled > self.seeder.now:  # a sitting weeks ahead: booked in the last few days
            enrolled = self.seeder.now - timedelta(days=self.rng.randint(0, 6), hours=self.rng.randint(1, 8))
        self.record_rows.append({"id": record_id, "session_id": session["id"], "user_id": installer.id,
                                 "enrolled_at": enrolled, "attended": attended, "score": score,
                                 "result": result.value})
        return record_id

    def passed(self, course: str, installer: DemoInstaller, target: date, *,
               after: bool = True) -> tuple[int | None, date | None]:
        """A passed record in the course's sitting nearest `target` (the first on or after it, or
        the last on or before it), if that sitting is past and within the training history;
        returns (record id, the local date the sitting ended)."""
        day = self._session_day(course, target, upcoming=after)
        if day >= self.today - timedelta(days=2):
            day = self._session_day(course, self.today - timedelta(days=3), upcoming=False)
        if (self.today - day).days > TRAINING_HISTORY_DAYS:
            return None, None
        session = self._session(course, day, installer.id)
        score = int(clip(round(self.rng.gauss(82 + 4 * installer.skill, 7)), 60, 100))
        record = self._record(session, installer, TrainingResult.PASSED, score, True)
        return record, session["ends_at"].astimezone(self.seeder.tz).date()

    def fail_recent(self, course: str, installer: DemoInstaller) -> None:
        day = self._session_day(course, self.today - timedelta(days=self.rng.randint(10, 60)), upcoming=False)
        session = self._session(course, day, installer.id)
        self._record(session, installer, TrainingResult.FAILED, self.rng.randint(35, 59), True)

    def enrol_upcoming(self, course: str, installer: DemoInstaller) -> None:
        near = self.today + timedelta(days=self.rng.randint(3, 55))
        session = self._session(course, self._session_day(course, near, upcoming=True), installer.id)
        self._record(session, installer, TrainingResult.ENROLLED, None, None)

    def other_courses(self, installer: DemoInstaller) -> None:
        """A few courses that grant nothing: most passed, some failed or missed, some upcoming."""
        rng = self.rng
        optional = [c for c, *_rest, grants, _level in COURSES if grants is None]
        for course in rng.sample(optional, rng.randint(1, 3)):
            if rng.random() < 0.15:
                self.enrol_upcoming(course, installer)
                continue
            day = self._session_day(course, self.today - timedelta(days=rng.randint(7, 360)), upcoming=False)
            session = self._session(course, day, installer.id)
            roll = rng.random()
            if roll < 0.03:
                self._record(session, installer, TrainingResult.ABSENT, None, False)
            else:
                score = int(clip(round(rng.gauss(80 + 5 * installer.skill, 10)), 20, 100))
                result = TrainingResult.PASSED if score >= 60 else TrainingResult.FAILED
                self._record(session, installer, result, score, True)
