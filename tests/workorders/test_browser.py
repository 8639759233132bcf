"""A real phone-sized browser (headless Chromium, 390×844) takes a job from assigned to completed.
Runs where Debian's chromium and the playwright package are installed (.ci/run installs both);
skipped elsewhere."""
from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from fieldsvc.auth.models import Role
from fieldsvc.extensions import db
from fieldsvc.workorders.models import OrderStatus, WorkOrder
from tests import factories as f
from tests.metrics.conftest import complete, compute_now

CHROMIUM = shutil.which("chromium")
playwright = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium"),
              pytest.mark.real_clock]  # the browser judges cookie expiry by the machine's own clock


@pytest.fixture
def phone(server: str) -> Iterator[object]:
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US", has_touch=True)
        page = context.new_page()
        page.set_default_timeout(15_000)
        yield page
        browser.close()


def no_horizontal_scroll(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, page.url


def tap(page, selector: str) -> None:
    with page.expect_navigation():
        page.click(selector)
    no_horizontal_scroll(page)


def sign_in_as(page, server: str, username: str) -> None:
    page.goto(f"{server}/login")
    page.fill("#username", username)
    page.fill("#password", f.PASSWORD)
    tap(page, "main form button[type=submit]")


def draw_signature(page, selector: str = "details[open] canvas") -> None:
    """Sign on the signature pad with the mouse (a short stroke)."""
    canvas = page.locator(selector)
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + 200, box["y"] + 90, steps=8)
    page.mouse.up()


def desktop_signed_in(phone_page, server: str, username: str):
    """A second browser, a desktop one (1280 px) in the phone's browser, signed in as `username`:
    (its context, its page). The supervisor's or desk's side of a phone scenario."""
    context = phone_page.context.browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    screen = context.new_page()
    screen.set_default_timeout(15_000)
    screen.goto(f"{server}/login")  # (sign_in_as checks a phone's width)
    screen.fill("#username", username)
    screen.fill("#password", f.PASSWORD)
    with screen.expect_navigation():
        screen.click("main form button[type=submit]")
    return context, screen


def test_installer_completes_a_job_on_a_phone(app: Flask, server: str, phone) -> None:
    with app.app_context():
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=f.make_team()))
        order = f.make_work_order(OrderStatus.ASSIGNED, assignee=installer, job_type="install",
                                  customer=f.make_customer(name="王芳", address="洪山区珞喻路1037号华中科技大学东校区某栋某单元1201室"))
        db.session.commit()
        number = order.number
    page = phone
    page.goto(f"{server}/login")
    no_horizontal_scroll(page)
    page.fill("#username", "w1")
    page.fill("#password", f.PASSWORD)
    tap(page, "main form button[type=submit]")
    assert page.url.endswith("/today")
    tap(page, f"a[href='/orders/{number}']")
    tap(page, "button:has-text('Accept the job')")
    page.click("summary:has-text('Book the appointment')")
    page.fill("input[name='book-day']", (date.today() + timedelta(days=1)).isoformat())
    page.select_option("select[name='book-slot']", "14-16")
    tap(page, "details[open] button[type=submit]")
    tap(page, "button:has-text('On my way')")
    tap(page, "button:has-text('I have arrived')")
    page.click("summary:has-text('Complete the job')")
    page.fill("input[name='complete-onu_serial']", "ZTEG1234ABCD")
    page.fill("input[name='complete-rx_power_dbm']", "-19.5")
    draw_signature(page, "canvas")
    tap(page, "details[open] button[type=submit]")
    assert "/rating-code" in page.url and page.locator(".qr svg").count() == 1
    first_code = page.url
    tap(page, "a:has-text('Back to the job')")
    history = page.inner_text("ol.history")
    for step in ("Accept the job", "Book the appointment", "On my way", "I have arrived", "Complete the job"):
        assert step in history
    tap(page, "button:has-text('Show the rating code again')")
    assert "/rating-code" in page.url and page.url != first_code and page.locator(".qr svg").count() == 1
    with app.app_context():
        stored = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert stored.status is OrderStatus.COMPLETED
        assert stored.evidence["signature"] is True and stored.evidence["rx_power_dbm"] == -19.5


def test_board_filters_without_a_full_reload(app: Flask, server: str, phone) -> None:
    """With JavaScript, a queue tab swaps the results in place (htmx); the page is not reloaded,
    the URL follows, and the strict Content-Security-Policy raises no complaint."""
    with app.app_context():
        team = f.make_team()
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=team))
        from fieldsvc.db import utcnow

        f.make_work_order(number="WO-LATE", assignee=installer, status=OrderStatus.ASSIGNED,
                          due_by=utcnow() - timedelta(hours=2))
        f.make_work_order(number="WO-FINE", due_by=utcnow() + timedelta(hours=20))
        db.session.commit()
    page = phone
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    # A style the Content-Security-Policy refuses is a violation event (Chromium's console may not say).
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP refused ' + e.violatedDirective + ' ' + e.sourceFile))")
    sign_in_as(page, server, "s1")
    assert "WO-FINE" in page.inner_text("#board") and "WO-LATE" in page.inner_text("#board")
    page.evaluate("window.notReloaded = true")
    page.click("nav.queues a[href*='queue=overdue']")
    page.wait_for_url("**queue=overdue**")
    page.wait_for_function("!document.querySelector('#board').innerText.includes('WO-FINE')")
    assert "WO-LATE" in page.inner_text("#board")
    assert page.evaluate("window.notReloaded === true")
    assert not problems, problems


def test_the_phone_checks_the_photos_before_sending_them(app: Flask, server: str, phone) -> None:
    """A refused completion keeps no photo, so the page checks the count (and sizes) first: too few
    or too many photos do not leave the phone; the right number completes the job."""
    import io

    from PIL import Image

    from fieldsvc.workorders.models import Visit

    with app.app_context():
        installer = f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=f.make_team()))
        order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="repair")
        order.job_type.photos_required = 2
        db.session.add(Visit(work_order=order, seq=1, installer_id=installer.id, arrived_at=order.created_at))
        db.session.commit()
        number = order.number

    def pictures(n: int) -> list[dict]:
        files = []
        for i in range(n):
            out = io.BytesIO()
            Image.new("RGB", (32, 24 + i), "red").save(out, "JPEG")
            files.append({"name": f"{i}.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()})
        return files

    page = phone
    sign_in_as(page, server, "w1")
    page.goto(f"{server}/orders/{number}")
    page.click("summary:has-text('Complete the job')")
    page.select_option("select[name='complete-fault_cause']", "config")
    photos = page.locator("input[name='complete-photos']")
    for count, says in ((1, "This job needs at least 2 photos."), (11, "Send at most 10 photos.")):
        photos.set_input_files(pictures(count))
        page.click("details[open] button[type=submit]")
        assert photos.evaluate("input => input.validationMessage") == says
        assert page.url.endswith(f"/orders/{number}")
    photos.set_input_files(pictures(2))
    tap(page, "details[open] button[type=submit]")
    assert "/rating-code" in page.url
    with app.app_context():
        stored = db.session.scalar(select(WorkOrder).where(WorkOrder.number == number))
        assert stored.status is OrderStatus.COMPLETED and stored.evidence["photos"] == 2


def test_a_supervisor_bulk_assigns_with_javascript_on_and_off(app: Flask, server: str, phone) -> None:
    """Choosing the installer for the ticked orders does not reload the board (only the filters'
    own selects do), so the ticks and the choice survive and the assignment goes through; without
    JavaScript the same forms work as plain posts."""
    with app.app_context():
        team = f.make_team()
        f.make_user(Role.SUPERVISOR, username="s1", team=team)
        f.certify_fully(f.make_user(Role.INSTALLER, username="w1", team=team, name="张伟", name_en="Zhang Wei"))
        for number in ("WO-A", "WO-B", "WO-C"):
            f.make_work_order(number=number)
        db.session.commit()
    page = phone
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    sign_in_as(page, server, "s1")
    page.goto(f"{server}/board?queue=unassigned")
    page.check("input[name=orders][value^='WO-A:']")
    # A tick box is a 44 px target: a tap near the corner of its cell ticks it.
    cell = page.locator("label.tick:has(input[value^='WO-B:'])")
    cell.scroll_into_view_if_needed()
    tick = cell.bounding_box()
    assert tick["width"] >= 44 and tick["height"] >= 44, tick
    page.mouse.click(tick["x"] + 3, tick["y"] + 3)
    page.select_option("select[name=installer]", "w1")
    page.wait_for_load_state("networkidle")
    assert page.is_checked("input[name=orders][value^='WO-A:']")
    assert page.input_value("select[name=installer]") == "w1"
    tap(page, "button:has-text('Assign the ticked orders')")
    assert page.locator("tr.ok").count() == 2, page.inner_text("main")
    with app.app_context():
        assigned = set(db.session.scalars(select(WorkOrder.number).where(WorkOrder.assignee_id.is_not(None))))
    assert assigned == {"WO-A", "WO-B"}
    # The filters' own selects still filter in place.
    page.goto(f"{server}/board")
    page.evaluate("window.notReloaded = true")
    page.select_option("select[name=status]", "assigned")
    page.wait_for_url("**status=assigned**")
    page.wait_for_function("!document.querySelector('#board').innerText.includes('WO-C')")
    assert page.evaluate("window.notReloaded === true")
    assert not problems, problems
    # And with JavaScript off, in a second context of the same browser: plain forms do it all.
    plain = page.context.browser.new_context(viewport={"width": 390, "height": 844}, java_script_enabled=False)
    page = plain.new_page()
    sign_in_as(page, server, "s1")
    page.goto(f"{server}/board?queue=unassigned")
    page.check("input[name=orders][value^='WO-C:']")
    page.select_option("select[name=installer]", "w1")
    tap(page, "button:has-text('Assign the ticked orders')")
    assert page.locator("tr.ok").count() == 1 and "Zhang Wei" in page.inner_text("tr.ok")
    plain.close()


OVERFLOWING = """() => {
  const width = document.documentElement.clientWidth;
  return [...document.querySelectorAll('body *')]
    .filter(e => e.getBoundingClientRect().right > width + 1 && !e.closest('.table-wrap'))
    .slice(0, 5).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right));
}"""


def test_no_page_a_supervisor_opens_scrolls_sideways_on_a_phone(app: Flask, server: str, phone) -> None:
    """At 360 and 390 px, in English and Chinese, every page of the supervisor's menu (and the pages
    they reach from it) fits the screen: wide tables scroll inside their own labelled box; and no
    page shows a raw code (a snake_case word)."""
    from fieldsvc.certifications.models import TrainingCourse, TrainingSession
    from fieldsvc.db import utcnow

    with app.app_context():
        team = f.make_team("HS01", districts=("hongshan", "wuchang"))
        f.make_user(Role.SUPERVISOR, username="s1", team=team, name="赵主管", name_en="Zhao Supervisor")
        w1 = f.certify_fully(f.make_user(Role.INSTALLER, username="w10015", team=team, name="欧阳明华",
                                         name_en="Ouyang Minghua"))
        w2 = f.make_user(Role.INSTALLER, username="w10016", team=team, name="李强", name_en="Li Qiang")
        soon = f.today() - timedelta(days=365 * 6 - 20)  # a six-year certificate expiring in 20 days
        f.make_certification(w2, "work_at_height", issued_on=soon)
        f.make_certification(w2, "low_voltage_electrician", issued_on=soon)
        order = f.make_work_order(number="WO-NEW1", customer=f.make_customer(
            name="王芳", address="洪山区珞喻路1037号华中科技大学东校区某栋某单元1201室"))
        f.make_work_order(number="WO-ASSIGNED1", assignee=w1, status=OrderStatus.ASSIGNED)
        course = TrainingCourse(code="SAF-01", name_zh="登高作业安全复训", name_en="Work at height refresher",
                                hours=8, pass_mark=60,
                                grants_certification_type=f.make_certification(w1, "ftth").certification_type)
        start = utcnow() + timedelta(days=3)
        session = TrainingSession(course=course, starts_at=start, ends_at=start + timedelta(hours=8),
                                  place="洪山培训中心三楼报告厅", trainer="李老师", capacity=40)
        db.session.add_all([course, session])
        # Figures for the quality dashboard: two jobs done and rated today, counted by the engine.
        done = [complete(w1, score=5), complete(w2, resolved=False, score=2)]
        db.session.commit()
        compute_now()
        month = f.today().replace(day=1).isoformat()
        paths = ["/board", "/board?queue=unassigned", "/board?queue=today", "/board/workload", "/orders/new",
                 f"/orders/{order.number}", f"/orders/{order.number}/edit", "/orders/WO-ASSIGNED1",
                 "/certifications", "/training", f"/training/sessions/{session.id}",
                 "/certifications/installers/w10016", "/notifications",
                 "/quality", "/quality?scope=company&period=week&days=365", "/quality?scope=installer&id=w10015&days=90",
                 f"/quality/orders?metric=onsite_resolution_rate&scope=team&id=HS01&period=month&start={month}"
                 "&part=denominator"]
        assert done
        session_id = session.id
    page = phone
    sign_in_as(page, server, "s1")
    wide: list[str] = []
    # Pico's layout changes at 576 px, so 360 and 390 share one layout: each phone width is checked
    # in one language (English words are the longer unbreakable runs, Chinese the other script);
    # the desktop in both.
    for language, width in (("en", 360), ("en", 1366), ("zh", 390), ("zh", 1366)):
        if language == "zh" and width == 390:
            page.set_viewport_size({"width": 390, "height": 800})
            switch_language(page, "zh_CN")
        page.set_viewport_size({"width": width, "height": 800})
        for path in paths:
            page.goto(f"{server}{path}")
            if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
                wide.append(f"{language} {width} {path}: {page.evaluate(OVERFLOWING)}")
            raw = set(re.findall(r"\b[a-z]+_[a-z_]+\b", page.inner_text("body")))
            if raw:
                wide.append(f"{language} {path}: raw codes on screen {sorted(raw)}")
            small = page.evaluate(SMALL_TARGETS)
            if small:
                wide.append(f"{language} {width} {path}: tap targets under 44 px {small}")
            if path == "/certifications":  # the expiring table is there, and scrolls in its labelled box
                box = page.locator(".table-wrap[role=region][aria-labelledby=due-heading]")
                assert box.evaluate("e => getComputedStyle(e).overflowX === 'auto' && e.tabIndex === 0"), language
    assert not wide, "\n".join(wide)
    # The enrol picker's search box narrows the grouped list.
    page.goto(f"{server}/training/sessions/{session_id}")
    page.fill("#enrol-filter", "w10016")
    visible = page.evaluate("[...document.querySelectorAll('#username option')].filter(o => !o.hidden).map(o => o.value)")
    assert visible == ["w10016"] and page.input_value("#username") == "w10016"


# The text a person reads, without what is marked up as a code on purpose (an admin's code column).
READ_TEXT = """() => { const body = document.body.cloneNode(true);
  body.querySelectorAll('code, script, style').forEach(e => e.remove()); return body.innerText; }"""


# Links and summaries that stand alone (a back link, "Edit or reschedule", "Clear filters", a
# details summary such as "Not eligible (3)"): each needs a 44 px tall box to be tapped.
SMALL_TARGETS = """() => [...document.querySelectorAll(
    'main .crumbs a, main p > a:only-child, main .filters > a, main details > summary, main button, main [role=button]')]
  .filter(e => e.offsetParent !== null && !e.closest('table'))
  .map(e => [e.innerText.trim().slice(0, 30), Math.round(e.getBoundingClientRect().height)])
  .filter(([, height]) => height < 44)"""


def switch_language(page, lang: str) -> None:
    """Through the top bar's menu, as a person does."""
    if page.locator("header .more > summary").count():
        page.click("header .more > summary")
    tap(page, f"header button[name=lang][value={lang}]")


def walk(page, server: str, paths: list[str]) -> list[str]:
    """Open each path at a phone's and a desktop's width, in English and in Chinese: what scrolls
    sideways, shows a snake_case code, or logs a console error (a refused style or script too)."""
    problems: list[str] = []
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation', e => "
                         "console.error('CSP refused ' + e.violatedDirective))")
    for language in ("en", "zh"):
        if language == "zh":
            page.set_viewport_size({"width": 390, "height": 800})
            switch_language(page, "zh_CN")
        for width in (390, 1366):
            page.set_viewport_size({"width": width, "height": 800})
            for path in paths:
                errors.clear()
                response = page.goto(f"{server}{path}")
                where = f"{language} {width} {path}"
                if response is None or response.status != 200:
                    problems.append(f"{where}: answered {response and response.status}")
                if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
                    problems.append(f"{where}: scrolls sideways {page.evaluate(OVERFLOWING)}")
                raw = set(re.findall(r"\b[a-z]+_[a-z_]+\b", page.evaluate(READ_TEXT)))
                if raw:
                    problems.append(f"{where}: raw codes on screen {sorted(raw)}")
                if errors:
                    problems.append(f"{where}: console {errors}")
                small = page.evaluate(SMALL_TARGETS)
                if small:
                    problems.append(f"{where}: tap targets under 44 px {small}")
    return problems



def test_an_installer_walks_their_pages_on_a_phone_and_a_desktop(app: Flask, server: str, phone) -> None:
    with app.app_context():
        team = f.make_team("HS01")
        w1 = f.certify_fully(f.make_user(Role.INSTALLER, username="w10015", team=team, name="欧阳明华",
                                         name_en="Ouyang Minghua"))
        f.make_certification(w1, "work_at_height", issued_on=f.today() - timedelta(days=365 * 6 - 20))
        waiting = f.make_work_order(number="WO-ASSIGNED1", assignee=w1, status=OrderStatus.ASSIGNED,
                                    customer=f.make_customer(address="洪山区珞喻路1037号华中科技大学东校区某栋某单元1201室"))
        on_site = f.make_work_order(number="WO-ONSITE1", assignee=w1, status=OrderStatus.ON_SITE)
        complete(w1, score=5)  # a job done and rated today: their figures on Today
        db.session.commit()
        compute_now()
        paths = ["/today", "/upcoming", "/done", f"/orders/{waiting.number}", f"/orders/{on_site.number}",
                 "/me/certifications", "/training", "/notifications"]
    sign_in_as(phone, server, "w10015")
    problems = walk(phone, server, paths)
    assert not problems, "\n".join(problems)


def test_an_admin_walks_the_back_office_on_a_phone_and_a_desktop(app: Flask, server: str, phone) -> None:
    with app.app_context():
        team = f.make_team("HS01")
        f.make_user(Role.ADMIN, username="admin", name="管理员", name_en="Admin")
        f.certify_fully(f.make_user(Role.INSTALLER, username="w10015", team=team))
        f.make_work_order(number="WO-NEW1")
        db.session.commit()
    paths = ["/admin/", "/admin/job-types", "/admin/job-types/install", "/admin/certification-types",
             "/admin/certification-types/work_at_height", "/admin/certification-types/new", "/board",
             "/certifications", "/training"]
    sign_in_as(phone, server, "admin")
    problems = walk(phone, server, paths)
    assert not problems, "\n".join(problems)
