"""Standard-procedure notes (#15 item 5): Markdown rendered safely, notes found by job type and
support category, admin pages (preview saves nothing, edits audited, stale edits refused), and the
notes of the order's job type folded on its job page."""
from __future__ import annotations

import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from fieldsvc.audit.models import AuditEntry
from fieldsvc.auth.models import Role
from fieldsvc.errors import Conflict, InvalidInput
from fieldsvc.extensions import db
from fieldsvc.support.knowledge import (
    NoteData,
    ProcedureNote,
    create_note,
    edit_note,
    notes_for,
    render,
    render_markdown,
    sanitise,
)
from fieldsvc.workorders.models import OrderStatus
from tests import factories as f
from tests.conftest import CSRF_RE, sign_in

TAG_WITH_HANDLER = re.compile(r"<[^>]*\son\w+\s*=", re.IGNORECASE)


def note(**fields: object) -> ProcedureNote:
    """A note for the admin of the test, by keyword (Chinese title and text by default)."""
    data = {"title_zh": "光功率偏低排查", "body_zh": "先清洁**连接器**。", **fields}
    return create_note(None, NoteData(**data))  # type: ignore[arg-type]


def token(page: str) -> str:
    match = CSRF_RE.search(page)
    assert match
    return match.group(1) or match.group(2)


# --- rendering -----------------------------------------------------------------------------------

@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "前<script src=//evil.example/x.js></script>后",
    '<img src=x onerror="alert(1)">',
    '<a href="https://ok.example" onclick="alert(1)">点</a>',
    "[点我](javascript:alert(1))",
    "[点我](JaVaScRiPt:alert(1))",
    "[点我](  javascript:alert(1) )",
    "[点我](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "<iframe src=https://evil.example></iframe>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "![追踪](https://evil.example/pixel.png)",
    "![追踪](//evil.example/pixel.png)",
    '![追踪](/\\evil.example/pixel.png)',
    "<svg onload=alert(1)>",
])
def test_hostile_markdown_renders_inert(source: str) -> None:
    html = str(render_markdown(source))
    tags = re.findall(r"<[^>]+>", html)  # the real tags: anything typed as HTML is &lt;text&gt;
    allowed = {"p", "/p", "a", "/a", "img"}
    assert {t.strip("<>").split()[0] for t in tags} <= allowed, tags
    assert not any(TAG_WITH_HANDLER.search(t) or "style=" in t for t in tags), tags
    assert not any(re.search(r'href="\s*(javascript|data):', t, re.IGNORECASE) for t in tags), tags
    assert not any("evil.example" in t for t in tags), tags
    assert all('rel="noopener noreferrer"' in t for t in tags if t.startswith("<a ")), tags


def test_raw_html_is_shown_as_text_and_user_text_is_escaped() -> None:
    html = str(render_markdown('<b>粗</b> 5 < 6 & "引号"'))
    assert "<b>" not in html and "&lt;b&gt;粗&lt;/b&gt;" in html
    assert "5 &lt; 6 &amp; " in html


def test_links_get_noopener_and_same_site_images_stay() -> None:
    html = str(render_markdown("[资源系统](https://res.example/port) ![示意](/static/img/odb.png) [电话](tel:10000)"))
    assert '<a href="https://res.example/port" rel="noopener noreferrer">资源系统</a>' in html
    assert '<img src="/static/img/odb.png" alt="示意">' in html
    assert 'href="tel:10000"' in html
    # An image from another host is left as its alt text.
    assert str(render_markdown("![外链图](https://cdn.example/a.png)")) == "<p>外链图</p>\n"


def test_the_sanitiser_alone_strips_what_markdown_never_makes() -> None:
    html = sanitise('<p onclick="x" style="color:red">a<script>b()</script><a href="javascript:alert(1)">c</a>'
                    '<img src="https://e.example/a.png" onerror="x"><a href="https://ok.example">d</a></p>')
    assert html == '<p>a<a rel="noopener noreferrer">c</a><a href="https://ok.example" rel="noopener noreferrer">d</a></p>'


def test_headings_sit_below_the_page_and_tables_and_lists_render() -> None:
    html = str(render_markdown("# 步骤\n\n1. 测光\n2. 清洁\n\n| 光功率 | 处理 |\n|---|---|\n| < -27 dBm | 查熔接 |"))
    assert "<h3>步骤</h3>" in html and "<h1>" not in html
    assert "<ol>" in html and "<table>" in html and "&lt; -27 dBm" in html


def test_rendering_follows_the_reader_language_and_each_edit(app_ctx: Flask) -> None:
    f.reference()
    n = note(title_en="Weak optical signal", body_en="Clean the *connector* first.")
    assert "连接器" in str(render(n, "zh_Hans_CN")) and "<em>connector</em>" in str(render(n, "en"))
    assert render(n, "en") is render(n, "en")  # cached: the same text renders once
    edit_note(None, n, NoteData(title_zh=n.title_zh, body_zh="改为先测光。", title_en=n.title_en, body_en=""),
              version=1)
    assert n.version == 2
    assert "改为先测光" in str(render(n, "en"))  # no English text any more: the Chinese one


# --- services ------------------------------------------------------------------------------------

def test_notes_for_a_job_type_a_category_or_either(app_ctx: Flask) -> None:
    f.reference()
    optical = note(title_zh="A 光功率", job_types=["install", "repair"], categories=["optical_signal"])
    port = note(title_zh="B 无空闲端口", job_types=["install"], categories=["resource_port"])
    note(title_zh="C 停用", job_types=["install"], categories=["optical_signal"], is_active=False)
    note(title_zh="D 拆机", job_types=["removal"])
    assert notes_for(job_type_code="install") == [optical, port]
    assert notes_for(job_type_code="repair") == [optical]
    assert notes_for(category="resource_port") == [port]
    assert notes_for(job_type_code="repair", category="resource_port") == [optical, port]
    assert notes_for() == [] and notes_for(job_type_code="iptv") == []


def test_create_and_edit_are_audited_and_a_stale_edit_is_refused(app_ctx: Flask) -> None:
    f.reference()
    admin = f.make_user(Role.ADMIN)
    n = create_note(admin, NoteData(title_zh="新装标准流程", body_zh="1. 预约", job_types=["install"]))
    (created,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "note.create"))
    assert created.object_key == str(n.id) and created.after["job_types"] == ["install"]
    assert n.updated_by_id == admin.id
    edit_note(admin, n, NoteData(title_zh="新装标准流程", body_zh="1. 预约", categories=["technical"]), version=1)
    (edited,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "note.edit"))
    assert edited.before == {"job_types": ["install"], "categories": []}
    assert edited.after == {"job_types": [], "categories": ["technical"]}
    with pytest.raises(Conflict):
        edit_note(admin, n, NoteData(title_zh="旧页面", body_zh="x"), version=1)
    # Saving what is there already records nothing and keeps the version.
    edit_note(admin, n, NoteData(title_zh="新装标准流程", body_zh="1. 预约", categories=["technical"]), version=2)
    assert n.version == 2
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == 2


def test_bad_links_and_blank_text_are_refused(app_ctx: Flask) -> None:
    f.reference()
    with pytest.raises(InvalidInput) as refused:
        note(title_zh=" ", body_zh="", job_types=["nope"], categories=["weather"])
    assert set(refused.value.details["errors"]) == {"title_zh", "body_zh", "job_types", "categories"}


# --- pages ---------------------------------------------------------------------------------------

@pytest.fixture
def people(app: Flask) -> None:
    with app.app_context():
        f.reference()
        team = f.make_team("HS01")
        f.make_user(Role.ADMIN, username="admin")
        installer = f.make_user(Role.INSTALLER, username="w1", team=team)
        f.make_work_order(OrderStatus.ON_SITE, job_type="install", assignee=installer, number="WO-INSTALL")
        db.session.commit()


def form(page: str, **fields: object) -> dict[str, object]:
    data: dict[str, object] = {"csrf_token": token(page), "title_zh": "光功率偏低<排查>", "title_en": "",
                               "body_zh": "先**清洁**连接器 <script>x()</script>", "body_en": "",
                               "job_types": ["install"], "categories": ["optical_signal"], "is_active": "y"}
    version = re.search(r'name="version" type="hidden" value="([^"]*)"', page)
    if version:
        data["version"] = version.group(1)
    data.update(fields)
    return data


def test_admin_previews_then_saves_and_the_installer_sees_it_on_the_job(client: FlaskClient, people: None,
                                                                        app: Flask) -> None:
    sign_in(client, "admin")
    page = client.get("/admin/notes/new").get_data(as_text=True)
    preview = client.post("/admin/notes/new", data=form(page, preview="1"))
    assert preview.status_code == 200
    shown = preview.get_data(as_text=True)
    assert "<strong>清洁</strong>" in shown and "&lt;script&gt;x()&lt;/script&gt;" in shown
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcedureNote)) == 0  # a preview saves nothing
    saved = client.post("/admin/notes/new", data=form(page))
    assert saved.status_code == 302 and saved.location.endswith("/admin/notes")
    listing = client.get("/admin/notes").get_data(as_text=True)
    assert "光功率偏低&lt;排查&gt;" in listing
    client.post("/logout", data={"csrf_token": token(listing)})

    sign_in(client, "w1")
    job = client.get("/orders/WO-INSTALL").get_data(as_text=True)
    assert "<summary>光功率偏低&lt;排查&gt;</summary>" in job
    assert "<strong>清洁</strong>" in job and "<script>x()" not in job
    with app.app_context():
        note_id = db.session.scalar(select(ProcedureNote.id))
    assert "<strong>清洁</strong>" in client.get(f"/notes/{note_id}").get_data(as_text=True)


def test_a_job_of_another_type_shows_no_notes_and_inactive_notes_are_hidden(client: FlaskClient, people: None,
                                                                            app: Flask) -> None:
    with app.app_context():
        hidden = note(title_zh="停用的说明", job_types=["install"], is_active=False)
        note(title_zh="修障说明", job_types=["repair"])
        db.session.commit()
        hidden_id = hidden.id
    sign_in(client, "w1")
    job = client.get("/orders/WO-INSTALL").get_data(as_text=True)
    assert "修障说明" not in job and "停用的说明" not in job and "procedure-notes" not in job
    assert client.get(f"/notes/{hidden_id}").status_code == 404


def test_an_edit_from_a_stale_page_is_refused_with_409(client: FlaskClient, people: None, app: Flask) -> None:
    with app.app_context():
        note_id = note(job_types=["install"]).id
        db.session.commit()
    sign_in(client, "admin")
    stale = client.get(f"/admin/notes/{note_id}").get_data(as_text=True)
    assert client.post(f"/admin/notes/{note_id}", data=form(stale, title_zh="第一次")).status_code == 302
    again = client.post(f"/admin/notes/{note_id}", data=form(stale, title_zh="第二次"))
    assert again.status_code == 409 and "Someone changed this note meanwhile" in again.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ProcedureNote, note_id).title_zh == "第一次"
    assert client.post("/admin/notes/new", data=form(stale, title_zh="")).status_code == 400


def test_the_demo_notes_cover_the_optical_signal_the_port_and_the_install(app_ctx: Flask) -> None:
    from types import SimpleNamespace

    from fieldsvc.db import utcnow
    from fieldsvc.demo.notes import write_notes

    f.reference()
    seeder = SimpleNamespace(now=utcnow(), admin_id=None, counts={})
    write_notes(seeder)  # type: ignore[arg-type]
    assert seeder.counts["procedure_notes"] == 3
    assert [n.title_en for n in notes_for(job_type_code="install")] == [
        "Weak optical signal: what to check", "No free port in the splitter box", "New install: the standard visit"]
    (optical,) = notes_for(category="optical_signal")
    assert "<strong>-8 至 -27 dBm</strong>" in str(render(optical, "zh_Hans_CN"))
    assert "<strong>-8 and -27 dBm</strong>" in str(render(optical, "en"))
    assert notes_for(category="resource_port")[0].title_zh == "分纤箱无空闲端口"
