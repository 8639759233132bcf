"""Accessibility of the main pages in a real browser (headless Chromium, the server and phone of
tests/workorders/test_browser.py): sign-in, the customer's rating page, the installer's Today and
job pages, the board and the certification and quality dashboards (at 390 px, the last three also
at 1280 px), each as loaded, with its <details> open and with the top bar's menu open.
axe-core (vendored in tests/browser_assets/axe-core, injected by the browser, never served by the
app) finds no serious or critical violation of WCAG 2 A/AA, nor text under 7:1 (read outdoors);
the Tab key reaches every visible control, never an unseen one, and each shows a focus ring.
README "Accessibility"."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from flask import Flask

from fieldsvc.auth.models import Role
from fieldsvc.db import utcnow
from fieldsvc.extensions import db
from fieldsvc.ratings.services import invite
from fieldsvc.workorders.models import OrderStatus, Priority, Visit
from tests import factories as f
from tests.metrics.conftest import complete, compute_now
from tests.workorders.test_browser import CHROMIUM, phone, sign_in_as  # noqa: F401  (phone: the fixture)

pytestmark = [pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium"), pytest.mark.real_clock]

AXE = Path(__file__).parent / "browser_assets" / "axe-core" / "axe.min.js"
PHONE, DESKTOP = 390, 1280

# axe's WCAG 2.0, 2.1 and 2.2 rules of levels A and AA, and for the outdoors the 7:1 text
# contrast of AAA (color-contrast-enhanced): what axe rates serious or critical fails. Where axe
# leaves the contrast to a person because the text is short (a figure "2", a badge), it has still
# measured it: below the ratio it expects, that fails too.
RUN_AXE = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
    rules: {'color-contrast-enhanced': {enabled: true}, 'target-size': {enabled: true}},
    resultTypes: ['violations', 'incomplete']});
  const described = n => n.target.join(' ') + ' — ' + (n.failureSummary || '').replace(/\\s+/g, ' ');
  const failed = result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id} (${v.help}): ` + v.nodes.slice(0, 4).map(described).join(' | '));
  for (const v of result.incomplete.filter(v => v.id.startsWith('color-contrast'))) {
    const low = v.nodes.map(n => [n, (n.any[0] || {}).data || {}])
      .filter(([, d]) => d.messageKey === 'shortTextContent' && d.contrastRatio > 0
                         && d.contrastRatio < parseFloat(d.expectedContrastRatio));
    if (low.length) failed.push(`${v.id} on short text: ` + low.slice(0, 4).map(([n, d]) =>
      `${n.target.join(' ')} ${d.fgColor} on ${d.bgColor} ${d.contrastRatio}:1`).join(' | '));
  }
  return failed;
}"""

# The states a page is checked in: as loaded; with every <details> of the page open (the job
# page's forms, the filters); with the top bar's menu open (it lies over the page, so apart).
STATES = [
    ("", None),
    (" (details open)", "main details"),
    (" (menu open)", "header details"),
]
OPEN = "selector => document.querySelectorAll(selector).forEach(d => { d.open = true; })"
CLOSE = "() => document.querySelectorAll('details[open]').forEach(d => { d.open = false; })"

# A control's name in the messages: tag, id, name, link, value, text, and its place among its kind.
DESCRIBE = """function describe(e) {
  if (e.type === 'radio') return 'radio:' + e.name;
  return e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + (e.name ? '[name=' + e.name + ']' : '')
    + (e.getAttribute('href') ? '[href=' + e.getAttribute('href') + ']' : '')
    + (e.value && e.tagName === 'BUTTON' ? '[value=' + e.value + ']' : '')
    + ' "' + (e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 30) + '"'
    + ' @' + [...document.querySelectorAll(e.tagName)].indexOf(e);
}
function onScreen(e) {
  const rect = e.getBoundingClientRect();
  return e.checkVisibility({visibilityProperty: true}) && rect.width > 1 && rect.height > 1;
}
"""

# The controls a person can see and use: each must be reached by the Tab key. Radio buttons are
# one stop a group (the arrows move within it), so a group counts once, by its name.
CONTROLS = """() => {
  const seen = new Set();
  return [...document.querySelectorAll(
      'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]:not([tabindex="-1"])')]
    .filter(e => !e.disabled && onScreen(e)).map(describe)
    .filter(key => !seen.has(key) && seen.add(key));
  """ + DESCRIBE + """
}"""

# Where the focus is after a Tab, whether that is on screen, and whether it shows: an outline of
# at least 2 px, not transparent (Pico's own focus shadow is a half-transparent tint, faint in
# sunlight).
FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) return null;
  const style = getComputedStyle(e);
  const ring = style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
    && !/rgba\\(.*, 0\\)|transparent/.test(style.outlineColor);
  return {key: describe(e), ring, shown: onScreen(e),
          visible: e.matches(':focus-visible') || e.matches(':focus-within')};
  """ + DESCRIBE + """
}"""


REORDERED = "() => [...document.querySelectorAll('[tabindex]')].filter(e => e.tabIndex > 0).map(e => e.outerHTML.slice(0, 60))"

# Tab from the very top, as after loading the page (an autofocused field would start it further down):
# a focus point before everything else, out of the Tab order itself.
START_AT_THE_TOP = """() => {
  const start = document.createElement('span');
  start.tabIndex = -1;
  document.body.prepend(start);
  start.focus();
  window.scrollTo(0, 0);
}"""


def states(page):  # type: ignore[no-untyped-def]
    """Put the page in each state in turn (the ones it has), yielding the state's name."""
    for name, selector in STATES:
        if selector is None:
            yield name
        elif page.locator(selector).count():
            page.evaluate(CLOSE)
            page.evaluate(OPEN, selector)
            yield name


def axe_problems(page, where: str) -> list[str]:
    """axe's serious and critical violations (and short text below the ratio) in each state."""
    return [f"{where}{state}: {violation}" for state in states(page) for violation in page.evaluate(RUN_AXE)]


def keyboard_problems(page, where: str) -> list[str]:
    """Tab from the top of the page through to the end, in each state: each visible control must
    be reached, the focus never lands on something unseen nor follows a positive tabindex, and
    each control shows a ring while it has the focus."""
    problems: list[str] = []
    for state in states(page):
        label = f"{where}{state}"
        wanted = page.evaluate(CONTROLS)
        page.evaluate(START_AT_THE_TOP)
        reached: list[str] = []
        for _ in range(4 * len(wanted) + 10):  # a date field is four stops (day, month, year, calendar)
            page.keyboard.press("Tab")
            focused = page.evaluate(FOCUSED)
            if focused is None or (reached and focused["key"] == reached[0]):
                break  # out of the page, or round to the first again
            if focused["key"] not in reached:
                reached.append(focused["key"])
            if not focused["shown"]:
                problems.append(f"{label}: the focus lands on something unseen: {focused['key']}")
            elif not (focused["visible"] and focused["ring"]):
                problems.append(f"{label}: no visible focus ring on {focused['key']}")
        reordered = page.evaluate(REORDERED)
        if reordered:
            problems.append(f"{label}: a positive tabindex reorders the page: {reordered}")
        missed = [key for key in wanted if key not in reached]
        if missed:
            problems.append(f"{label}: never reached by Tab: {missed}")
    return problems


def seed(app: Flask) -> dict[str, str]:
    """An installer with jobs (one waiting, one on site, two done and rated today), a colleague
    whose certificates expire soon, their supervisor, an admin, unassigned and late orders, the
    engine's figures for the quality dashboard, and an unanswered rating link."""
    with app.app_context():
        team = f.make_team("HS01", districts=("hongshan", "wuchang"))
        f.make_user(Role.SUPERVISOR, username="s1", team=team, name="赵主管", name_en="Zhao Supervisor")
        f.make_user(Role.ADMIN, username="admin", name="管理员", name_en="Admin")
        w1 = f.certify_fully(f.make_user(Role.INSTALLER, username="w10015", team=team, name="欧阳明华",
                                         name_en="Ouyang Minghua"))
        w2 = f.make_user(Role.INSTALLER, username="w10016", team=team, name="李强", name_en="Li Qiang")
        soon = f.today() - timedelta(days=365 * 6 - 20)  # six-year certificates expiring in 20 days
        f.make_certification(w2, "work_at_height", issued_on=soon)
        f.make_certification(w2, "low_voltage_electrician", issued_on=soon)
        address = "洪山区珞喻路1037号华中科技大学东校区某栋某单元1201室"
        f.make_work_order(number="WO-ASSIGNED1", assignee=w1, status=OrderStatus.ASSIGNED,
                          customer=f.make_customer(name="王芳", address=address))
        on_site = f.make_work_order(number="WO-ONSITE1", assignee=w1, status=OrderStatus.ON_SITE, job_type="install")
        db.session.add(Visit(work_order=on_site, seq=1, installer_id=w1.id, arrived_at=utcnow() - timedelta(minutes=30)))
        f.make_work_order(number="WO-LATE1", assignee=w1, status=OrderStatus.ASSIGNED,
                          created_at=utcnow() - timedelta(hours=30), due_by=utcnow() - timedelta(hours=2))
        f.make_work_order(number="WO-NEW1", customer=f.make_customer(name="张三", address=address))
        f.make_work_order(number="WO-NEW2", priority=Priority.URGENT)
        rated = complete(w1, score=5).number
        complete(w2, resolved=False, score=2)
        rated_later = f.make_work_order(OrderStatus.COMPLETED, assignee=w1, completed_by_id=w1.id,
                                        created_at=utcnow() - timedelta(hours=2), completed_at=utcnow() - timedelta(minutes=5))
        token = invite(rated_later, utcnow())
        db.session.commit()
        compute_now()
    return {"token": token, "rated": rated}


# (who signs in, path, widths)
PAGES = [
    (None, "/login", (PHONE,)),
    (None, "/r/{token}", (PHONE,)),
    ("w10015", "/today", (PHONE,)),
    ("w10015", "/orders/WO-ONSITE1", (PHONE,)),
    ("w10015", "/orders/WO-ASSIGNED1", (PHONE,)),
    ("w10015", "/orders/{rated}", (PHONE,)),
    ("s1", "/board", (PHONE, DESKTOP)),
    ("s1", "/certifications", (PHONE, DESKTOP)),
    ("s1", "/quality", (PHONE, DESKTOP)),
]


def visit_all(app: Flask, server: str, page, check) -> list[str]:  # type: ignore[no-untyped-def]
    values = seed(app)
    page.add_init_script(path=str(AXE))  # injected by the browser, beside the page's strict CSP
    problems: list[str] = []
    who: str | None = None
    for username, path, widths in PAGES:
        if username != who:
            page.context.clear_cookies()
            if username:
                page.set_viewport_size({"width": PHONE, "height": 844})
                sign_in_as(page, server, username)
            who = username
        for width in widths:
            page.set_viewport_size({"width": width, "height": 844})
            url = path.format(**values)
            response = page.goto(f"{server}{url}")
            assert response is not None and response.status == 200, (url, response and response.status)
            problems += check(page, f"{width} {path}")
    return problems


def test_axe_finds_no_serious_violation_on_the_main_pages(app: Flask, server: str, phone) -> None:  # noqa: F811
    problems = visit_all(app, server, phone, axe_problems)
    assert not problems, "\n".join(problems)


def test_every_control_is_reached_by_keyboard_and_shows_its_focus(app: Flask, server: str, phone) -> None:  # noqa: F811
    problems = visit_all(app, server, phone, keyboard_problems)
    assert not problems, "\n".join(problems)


FLAWED = """<!doctype html><html lang="en"><head><title>Flawed</title>
<link rel="stylesheet" href="/static/vendor/pico/pico.min.css"><link rel="stylesheet" href="/static/css/app.css">
<style>.pale { color: #0172ad; } .ringless:focus-visible { outline: none; }
.tiny { min-height: 0; height: 12px; width: 12px; padding: 0; margin: 0; }</style></head>
<body><main><h1>Flawed</h1>
<p class="pale">Pico's own link blue, 5.2:1: fine for AA, not for the outdoors.</p>
<input id="nameless" type="text">
<a href="/elsewhere" tabindex="-1">Out of the Tab order</a>
<a href="/unseen" class="visually-hidden">Unseen</a>
<span tabindex="2">First, out of turn</span>
<button class="ringless">No ring</button>
<p><button class="tiny" aria-label="one"></button><button class="tiny" aria-label="two"></button></p>
<details><summary>More</summary><select></select></details>
</main></body></html>"""


def test_the_checks_find_what_they_look_for(server: str, phone) -> None:  # noqa: F811
    """A page with each flaw: the checks name every one (with <details> closed and open)."""
    page = phone
    page.add_init_script(path=str(AXE))
    page.route(f"{server}/flawed", lambda route: route.fulfill(content_type="text/html", body=FLAWED))
    page.goto(f"{server}/flawed")
    found = "\n".join(axe_problems(page, "flawed"))
    assert "critical label" in found and "#nameless" in found, found
    assert "color-contrast-enhanced" in found and "foreground color: #0172ad" in found, found
    assert "(details open): critical select-name" in found, found
    assert "serious target-size" in found and '[aria-label="one"]' in found, found
    page.goto(f"{server}/flawed")
    found = "\n".join(keyboard_problems(page, "flawed"))
    assert "never reached by Tab: ['a[href=/elsewhere]" in found, found
    assert 'no visible focus ring on button "No ring"' in found, found
    assert "the focus lands on something unseen: a[href=/unseen]" in found, found
    assert "a positive tabindex reorders the page: ['<span tabindex=\"2\">First, out of turn</span>']" in found, found
    assert "(details open): no visible focus ring on button" in found and "select" not in found, found  # reached
