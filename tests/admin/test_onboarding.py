"""Bulk onboarding: a file is previewed row by row (nothing written), then imported whole or not at
all; the same file twice changes nothing; GBK, BOM and .xlsx files read alike; admins only."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event, func, select

from fieldsvc.audit.models import AuditEntry
from fieldsvc.auth.models import EmployerType, Role, User
from fieldsvc.certifications.models import Certification
from fieldsvc.extensions import db
from fieldsvc.onboarding.parse import HEADERS, parse
from fieldsvc.onboarding.services import RowStatus, apply, preview
from tests import factories as f
from tests.conftest import csrf_token, sign_in

HEADER = HEADERS["en"]


def row(username: str, name: str = "", team: str = "HS01", *, phone: str = "", employer: str = "", cert: str = "",
        number: str = "", issued: str = "", level: str = "", password: str = "") -> list[str]:
    return [username, name or f"装维{username}", phone, team, employer, cert, number, issued, level, password]


def csv_bytes(rows: list[list[str]], header: tuple[str, ...] = HEADER, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


GOOD = [row("w50001", "张伟", phone="13900000001", cert="ftth", number="FT-1", issued="2025-06-01"),
        row("w50002", "李娜", employer="外包", cert="service_star", issued="2025/9/1", level="3"),
        row("w50002", "李娜", employer="外包", cert="work_at_height", issued="2024年3月5日")]


@pytest.fixture
def world(app: Flask) -> None:
    """Two teams, an admin and a supervisor."""
    with app.app_context():
        f.reference()
        f.make_team("HS01")
        f.make_team("HS02")
        f.make_user(Role.ADMIN, username="admin")
        f.make_user(Role.SUPERVISOR, username="s1")
        db.session.commit()


def upload(client: FlaskClient, data: bytes, filename: str = "installers.csv"):
    token = csrf_token(client, "/admin/onboarding/")
    return client.post("/admin/onboarding/", data={"csrf_token": token, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def confirm(client: FlaskClient, preview_path: str):
    page = client.get(preview_path).get_data(as_text=True)
    digest = re.search(r'name="digest" type="hidden" value="([0-9a-f]{64})"', page).group(1)
    return client.post(f"{preview_path}/confirm", data={"csrf_token": csrf_token(client, preview_path), "digest": digest})


def counts() -> tuple[int, int, int]:
    return (db.session.scalar(select(func.count()).select_from(User)),
            db.session.scalar(select(func.count()).select_from(Certification)),
            db.session.scalar(select(func.count()).select_from(AuditEntry)))


def test_a_file_is_previewed_then_imported_with_audit_entries(client: FlaskClient, world: None, app: Flask) -> None:
    sign_in(client, "admin")
    sent = upload(client, csv_bytes(GOOD))
    assert sent.status_code == 303
    path = sent.headers["Location"]
    page = client.get(path).get_data(as_text=True)
    assert "In error: 0" in page and "New: 3" in page and "张伟" in page and "ftth 2025-06-01" in page
    with app.app_context():
        assert counts()[0] == 2  # previewing wrote nothing
    done = confirm(client, path)
    assert done.status_code == 303
    assert "Imported: 3 new, 0 changed, 0 unchanged." in client.get(done.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        li = db.session.scalar(select(User).where(User.username == "w50002"))
        assert li.role is Role.INSTALLER and li.team.code == "HS01" and li.employer_type is EmployerType.CONTRACTOR
        certificates = {c.certification_type.code: c for c in db.session.scalars(select(Certification))}
        assert certificates["service_star"].level == 3 and certificates["ftth"].number == "FT-1"
        assert certificates["work_at_height"].issued_on == date(2024, 3, 5)
        assert certificates["work_at_height"].next_review_on == date(2027, 3, 5)
        actions = sorted(db.session.scalars(select(AuditEntry.action)))
        assert actions == ["certificate.import"] * 3 + ["user.import"] * 2
        # Without an initial password, no password opens the account (the admin sends a link).
        assert li.password_hash.startswith("!")
    assert client.get(path).status_code == 404  # an imported upload is gone


def test_a_bad_row_writes_nothing_and_names_row_and_column(client: FlaskClient, world: None, app: Flask) -> None:
    sign_in(client, "admin")
    bad = [*GOOD, row("w50003", team="NOPE"), row("w50004", cert="ftth", issued="2025-13-40")]
    path = upload(client, csv_bytes(bad)).headers["Location"]
    page = client.get(path).get_data(as_text=True)
    assert "In error: 2" in page and "Import 5 rows" not in page
    assert re.search(r"Line 5</strong> · w50003.*?Team code: No active team has the code NOPE", page, re.S)
    assert re.search(r"Line 6</strong> · w50004.*?Issued on: Not a date", page, re.S)
    assert page.index("Line 5") < page.index("Line 2")  # errors first
    with app.app_context():
        before = counts()
    refused = confirm_anyway(client, path)
    assert refused.status_code == 400 and "nothing was imported" in refused.get_data(as_text=True)
    with app.app_context():
        assert counts() == before
        parsed = parse(csv_bytes(bad))
        result = preview(parsed.rows, parsed.lines)
        with pytest.raises(Exception, match="nothing was imported"):
            apply(result, parsed.rows, None)
        assert counts() == before


def confirm_anyway(client: FlaskClient, path: str):
    """A confirm posted with the preview's fingerprint although the page offers no button."""
    with client.application.app_context():
        from fieldsvc.onboarding import storage

        stored = storage.load(path.rsplit("/", 1)[1], db.session.scalar(select(User.id).where(User.username == "admin")))
        digest = preview(stored.rows, stored.lines).digest
        db.session.rollback()
    return client.post(f"{path}/confirm", data={"csrf_token": csrf_token(client, path), "digest": digest})


def test_the_same_file_twice_changes_nothing(client: FlaskClient, world: None, app: Flask) -> None:
    sign_in(client, "admin")
    data = csv_bytes([*GOOD, row("w50005", password="Tr0ub4dor-and-3")])
    confirm(client, upload(client, data).headers["Location"])
    with app.app_context():
        before = counts()
        hashed = db.session.scalar(select(User.password_hash).where(User.username == "w50005"))
    path = upload(client, data).headers["Location"]
    page = client.get(path).get_data(as_text=True)
    assert "Unchanged: 4" in page and "New: 0" in page and "Changed: 0" in page
    assert confirm(client, path).status_code == 303
    with app.app_context():
        assert counts() == before  # no user, certificate or audit entry more
        assert db.session.scalar(select(User.password_hash).where(User.username == "w50005")) == hashed


def test_changes_show_before_and_after_and_a_moved_database_is_a_conflict(client: FlaskClient, world: None,
                                                                         app: Flask) -> None:
    with app.app_context():
        team = db.session.scalar(select(f.Team).where(f.Team.code == "HS01"))
        f.make_user(Role.INSTALLER, "w50001", team, name="张伟", phone="13900000009")
        db.session.commit()
    sign_in(client, "admin")
    path = upload(client, csv_bytes([row("w50001", "张伟", team="HS02", phone="13900000001")])).headers["Location"]
    page = client.get(path).get_data(as_text=True)
    assert "Changed: 1" in page and "13900000009 → <strong>13900000001</strong>" in page
    assert "HS01 → <strong>HS02</strong>" in page
    digest = re.search(r'name="digest" type="hidden" value="([0-9a-f]{64})"', page).group(1)
    with app.app_context():  # meanwhile, someone else moves the installer
        user = db.session.scalar(select(User).where(User.username == "w50001"))
        user.phone = "13900000008"
        db.session.commit()
    late = client.post(f"{path}/confirm", data={"csrf_token": csrf_token(client, path), "digest": digest})
    assert late.status_code == 409 and "13900000008 → <strong>13900000001</strong>" in late.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(User.phone).where(User.username == "w50001")) == "13900000008"
    assert confirm(client, path).status_code == 303
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "w50001"))
        assert user.phone == "13900000001" and user.team.code == "HS02"
        entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.import"))
        old_team = db.session.scalar(select(f.Team.id).where(f.Team.code == "HS01"))
        assert entry.before == {"phone": "13900000008", "team_id": old_team}
        assert entry.after == {"phone": "13900000001", "team_id": user.team_id}


CHINESE = [("工号", "姓名", "手机", "班组编码", "用工类型", "证书类型", "证书编号", "发证日期", "证书等级", "初始密码"),
           ("w60001", "欧阳娜娜", "13900000002", "HS01", "自有", "服务规范认证(星级)", "", "2025-01-02", "4", "")]


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_gbk_and_bom_files_read_correctly(app_ctx: Flask, world: None, encoding: str) -> None:
    data = csv_bytes([list(CHINESE[1])], header=CHINESE[0], encoding=encoding)
    assert data.startswith(b"\xef\xbb\xbf") == (encoding == "utf-8-sig")
    parsed = parse(data)
    assert parsed.rows[0]["name"] == "欧阳娜娜" and parsed.rows[0]["username"] == "w60001"
    (judged,) = preview(parsed.rows, parsed.lines).rows
    assert judged.status is RowStatus.NEW, judged.errors
    assert judged.cert_new["level"] == 4 and judged.cert_new["certification_type"].code == "service_star"


def test_gbk_upload_through_the_page(client: FlaskClient, world: None) -> None:
    sign_in(client, "admin")
    path = upload(client, csv_bytes([list(CHINESE[1])], header=CHINESE[0], encoding="gbk")).headers["Location"]
    assert "欧阳娜娜" in client.get(path).get_data(as_text=True)


def test_xlsx_with_typed_cells(app_ctx: Flask, world: None) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(list(HEADER))
    sheet.append(["w70001", "王强", 13900000003, "HS01", "contractor", "ftth", "FT-9", datetime(2025, 4, 1), None, None])
    sheet.append([70002, "赵敏", None, "HS01", None, "skill_level", None, date(2024, 1, 1), 3.0, None])
    out = io.BytesIO()
    workbook.save(out)
    parsed = parse(out.getvalue())
    assert parsed.rows[0]["phone"] == "13900000003" and parsed.rows[0]["cert_issued_on"] == "2025-04-01"
    assert parsed.rows[1]["username"] == "70002" and parsed.rows[1]["cert_level"] == "3"
    result = preview(parsed.rows, parsed.lines)
    assert [r.status for r in result.rows] == [RowStatus.NEW, RowStatus.NEW], [r.errors for r in result.rows]


def test_refused_files_and_cells(app_ctx: Flask, world: None) -> None:
    with pytest.raises(Exception, match="neither UTF-8 nor GBK"):
        parse(b"username,name,team\n\xff\xfe\xfa,x,y\n")
    with pytest.raises(Exception, match="lacks the columns: team code"):
        parse(b"username,name\nw1,x\n")
    with pytest.raises(Exception, match=".xls"):
        parse(b"\xd0\xcf\x11\xe0rest")
    supervisor_row = row("s1")
    rows = [row("w1", cert="ftth", issued="2999-01-01"), row("w2", cert="service_star", issued="2025-01-01"),
            row("w3", password="password123"), supervisor_row, row("w4", employer="boss", phone="call me")]
    parsed = parse(csv_bytes(rows))
    errors = [r.errors for r in preview(parsed.rows, parsed.lines).rows]
    assert "future" in str(errors[0]["cert_issued_on"])
    assert "level must be from 1 to 5" in str(errors[1]["cert_level"])
    assert "common" in str(errors[2]["initial_password"])
    assert "supervisor" in str(errors[3]["username"])
    assert set(errors[4]) == {"employer_type", "phone"}


def test_preview_queries_do_not_grow_with_the_rows(app_ctx: Flask, world: None) -> None:
    def statements(n: int) -> int:
        rows = [row(f"w8{i:04d}", cert="ftth", issued="2025-01-01") for i in range(n)]
        parsed = parse(csv_bytes(rows))
        seen: list[str] = []
        listener = lambda *a: seen.append(a[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            preview(parsed.rows, parsed.lines)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    f.make_user(Role.INSTALLER, "w80000", f.make_team("HS09"))
    f.make_user(Role.INSTALLER, "w80001", f.make_team("HS08"))
    assert statements(3) == statements(60) <= 5


def test_an_initial_password_signs_in_and_is_never_kept_in_clear(client: FlaskClient, world: None, app: Flask) -> None:
    sign_in(client, "admin")
    path = upload(client, csv_bytes([row("w90001", password="Tr0ub4dor-and-3")])).headers["Location"]
    kept = b"".join(p.read_bytes() for p in (Path(app.instance_path) / "onboarding").glob("*.json"))
    assert b"Tr0ub4dor" not in kept and b"argon2" in kept
    assert "Initial password: set" in client.get(path).get_data(as_text=True)
    confirm(client, path)
    other = app.test_client()
    assert sign_in(other, "w90001", "Tr0ub4dor-and-3").headers["Location"].endswith("/today")


def test_templates_download_and_read_back(client: FlaskClient, world: None) -> None:
    sign_in(client, "admin")
    for fmt in ("csv", "xlsx"):
        response = client.get(f"/admin/onboarding/template.{fmt}")
        assert response.status_code == 200 and "attachment" in response.headers["Content-Disposition"]
        with pytest.raises(Exception, match="no rows under its header"):
            parse(response.data)
    assert client.get("/admin/onboarding/template.pdf").status_code == 404


def test_an_unreadable_file_is_a_form_error(client: FlaskClient, world: None) -> None:
    sign_in(client, "admin")
    refused = upload(client, b"username,name\nw1,x\n")
    assert refused.status_code == 400 and "The header lacks the columns: team code." in refused.get_data(as_text=True)


def test_only_admins(client: FlaskClient, world: None) -> None:
    sign_in(client, "s1")
    assert client.get("/admin/onboarding/").status_code == 403
    assert client.get("/admin/onboarding/template.csv").status_code == 403


def test_the_command_line_previews_then_applies(app: Flask, world: None, tmp_path: Path) -> None:
    file = tmp_path / "installers.csv"
    file.write_bytes(csv_bytes(GOOD))
    runner = app.test_cli_runner()
    shown = runner.invoke(args=["import-installers", str(file)])
    assert shown.exit_code == 0 and "line 2 w50001 new" in shown.output and "preview only" in shown.output
    with app.app_context():
        assert counts()[0] == 2
    done = runner.invoke(args=["import-installers", str(file), "--apply"])
    assert done.exit_code == 0 and "imported" in done.output
    with app.app_context():
        assert counts()[:2] == (4, 3)
    file.write_bytes(csv_bytes([row("w1", team="NOPE")]))
    refused = runner.invoke(args=["import-installers", str(file), "--apply"])
    assert refused.exit_code == 1 and "line 2 w1 error: team" in refused.output
