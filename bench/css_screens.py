"""Screenshots of every page with two builds of Pico CSS, compared pixel for pixel: proof that a
rebuilt static/vendor/pico/pico.min.css (static/vendor/pico/build.sh) changes nothing on screen.

    python bench/css_screens.py                       # the published Pico (git bc7534f) vs the built file
    python bench/css_screens.py --old OLD.css --new NEW.css --keep /tmp/screens

A child process seeds a throwaway SQLite database the way the browser tests do (tests/factories.py
and the real lifecycle: orders in every state, a completion with photos and a signature, rating
links, certificates in every state, training sessions, notices) and serves the app on 127.0.0.1
with its clock stopped, so "due in 2 h 10 min" reads the same on every load. Headless Chromium
signs in as an installer, a supervisor and an admin (and visits the public pages signed out),
opens every page each can reach at 390 and 1366 px, in the light and the dark colour scheme,
once as loaded and once with every <details> opened; each screen is taken with the old and then
the new stylesheet (served in place of /static/vendor/pico/pico.min.css by Playwright's router),
and the two are compared with Pillow (ImageChops.difference: no bounding box means identical).
Prints one row a screen and exits 1 when any differs. Needs Debian's chromium and the playwright
package (both as for tests/workorders/test_browser.py).
"""
from __future__ import annotations

import argparse
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PICO = "static/vendor/pico/pico.min.css"
OLD_DEFAULT = "bc7534f"  # the last commit that shipped Pico's published pico.min.css unchanged
PASSWORD = "correct-horse-9"  # tests/factories.py
RETRIES = 2
# Chromium's flags for repeatable pixels (the rest as in tests/workorders/test_browser.py).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--hide-scrollbars", "--force-color-profile=srgb",
                 "--disable-lcd-text", "--disable-partial-raster", "--disable-threaded-animation",
                 "--num-raster-threads=1", "--run-all-compositor-stages-before-draw"]


# The server (child process) ------------------------------------------------------------------

def serve(folder: Path) -> None:
    """Seed, stop the clock, serve; print the port and what was seeded as one JSON line."""
    import threading

    import time_machine

    # A stopped clock at the real minute (the browser judges the 2 h session cookie by its own).
    frozen = datetime.now().astimezone().replace(second=0, microsecond=0)
    traveller = time_machine.travel(frozen, tick=False)
    traveller.start()
    sys.path.insert(0, str(ROOT))
    from werkzeug.serving import make_server

    import fieldsvc.models  # noqa: F401  (every table on Base.metadata)
    from fieldsvc import create_app
    from fieldsvc.db import Base
    from fieldsvc.extensions import db

    app = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'screens.sqlite3'}",
        "SECRET_KEY": "css-screens", "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
        "UPLOAD_FOLDER": str(folder / "uploads"), "RATELIMIT_ENABLED": False,
    })
    app.instance_path = str(folder / "instance")
    with app.app_context():
        Base.metadata.create_all(db.engine)
        seeded = seed()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    print(json.dumps({"port": httpd.server_port, **seeded}), flush=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    sys.stdin.read()  # until the parent closes our stdin
    httpd.shutdown()


def seed() -> dict:
    """A small branch with something on every page; returns the numbers, ids and tokens to visit."""
    from PIL import Image
    from sqlalchemy import select

    from fieldsvc.auth.models import Role
    from fieldsvc.certifications.models import TrainingCourse, TrainingRecord, TrainingResult, TrainingSession
    from fieldsvc.db import utcnow, zone
    from fieldsvc.extensions import db
    from fieldsvc.ratings.services import invitation_for, submit_rating
    from fieldsvc.workorders import lifecycle, photos
    from fieldsvc.workorders.models import OrderStatus, Priority, UnresolvedReason
    from tests import factories as f

    tz = zone()
    now = utcnow()
    hs = f.make_team("HS01", districts=("hongshan", "wuchang"))
    ja = f.make_team("JA01", districts=("jiangan",))
    w1 = f.certify_fully(f.make_user(Role.INSTALLER, username="w10015", team=hs, name="欧阳明华",
                                     name_en="Ouyang Minghua"))
    w2 = f.make_user(Role.INSTALLER, username="w10016", team=hs, name="李强", name_en="Li Qiang")
    soon = f.today() - timedelta(days=365 * 6 - 20)  # six-year certificates expiring in 20 days
    f.make_certification(w2, "work_at_height", issued_on=soon)
    f.make_certification(w2, "low_voltage_electrician", issued_on=soon)
    f.make_certification(w2, "ftth", issued_on=f.today() - timedelta(days=365 * 7))  # expired
    f.make_user(Role.INSTALLER, username="w10017", team=hs, name="张伟", name_en="Zhang Wei")  # no certificates
    f.certify_fully(f.make_user(Role.INSTALLER, username="w20001", team=ja, name="王磊", name_en="Wang Lei"))
    s1 = f.make_user(Role.SUPERVISOR, username="s1", team=hs, name="赵主管", name_en="Zhao Supervisor")
    f.make_user(Role.ADMIN, username="admin", name="管理员", name_en="Admin")

    def order(number: str, status: OrderStatus = OrderStatus.NEW, assignee=None, **extra):
        return f.make_work_order(status, number=number, assignee=assignee, **extra)

    def step(o, action: str, actor=w1, **extra):
        return lifecycle.transition(o, actor, action, o.version, tz=tz, **extra)

    wide = f.make_customer(name="王芳", phone="13900001111",
                           address="洪山区珞喻路1037号华中科技大学东校区某栋某单元1201室")
    order("WO-NEW1", customer=wide, priority=Priority.URGENT, is_work_at_height=True, job_type="install",
          notes="Customer works nights: call after 10:00.")
    order("WO-LATE1", due_by=now - timedelta(hours=3))
    order("WO-RISK1", OrderStatus.ASSIGNED, w1, due_by=now + timedelta(minutes=80), priority=Priority.HIGH)
    order("WO-ASSIGNED1", OrderStatus.ASSIGNED, w1, job_type="install")
    accepted = order("WO-ACCEPTED1", OrderStatus.ASSIGNED, w1)
    step(accepted, "accept")
    booked = order("WO-BOOKED1", OrderStatus.ASSIGNED, w1, job_type="install")
    step(booked, "accept")
    start = (now + timedelta(hours=2)).replace(minute=0)
    step(booked, "book", appointment_start=start, appointment_end=start + timedelta(hours=2))
    en_route = order("WO-ENROUTE1", OrderStatus.ASSIGNED, w1)
    step(en_route, "accept")
    step(en_route, "depart")
    on_site = order("WO-ONSITE1", OrderStatus.ASSIGNED, w1, job_type="install")
    step(on_site, "accept")
    step(on_site, "arrive")

    def picture(color: str, size=(640, 480), kind="JPEG") -> bytes:
        out = io.BytesIO()
        Image.new("RGB", size, color).save(out, kind)
        return out.getvalue()

    done = order("WO-DONE1", OrderStatus.ASSIGNED, w1, job_type="install")
    step(done, "accept")
    step(done, "arrive")
    uploads = photos.prepare([("a.jpg", io.BytesIO(picture("tomato"))), ("b.jpg", io.BytesIO(picture("teal")))],
                             signature=picture("white", (320, 140), "PNG"))
    token = step(done, "complete", evidence={"onu_serial": "ZTEG1234ABCD", "rx_power_dbm": -19.5},
                 photos=uploads, note="Fibre rerouted along the stairwell.").survey_token
    rated = order("WO-RATED1", OrderStatus.ASSIGNED, w1)
    step(rated, "accept")
    step(rated, "arrive")
    rated_token = step(rated, "complete", evidence={"fault_cause": "onu"}).survey_token
    unresolved = order("WO-UNRESOLVED1", OrderStatus.ASSIGNED, w1)
    step(unresolved, "accept")
    step(unresolved, "arrive")
    reason = db.session.scalar(select(UnresolvedReason.code).where(UnresolvedReason.is_active.is_(True)))
    step(unresolved, "leave_unresolved", reason=reason, note="Customer not at home.")
    cancelled = order("WO-CANCELLED1", OrderStatus.ASSIGNED, w1)
    step(cancelled, "cancel", actor=s1, reason="Customer moved away.")
    for n in range(55):  # a second page of the board's "all open" queue
        order(f"WO-FILL{n:03d}", due_by=now + timedelta(hours=20 + n))
    db.session.flush()
    submit_rating(invitation_for(rated_token), 5, punctuality=5, professionalism=4, result=5, comment="Quick.")

    course = TrainingCourse(code="SAF-01", name_zh="登高作业安全复训", name_en="Work at height refresher", hours=8,
                            pass_mark=60, grants_certification_type=f.make_certification(w1, "ftth").certification_type)
    coming = now + timedelta(days=3)
    future = TrainingSession(course=course, starts_at=coming, ends_at=coming + timedelta(hours=8),
                             place="洪山培训中心三楼报告厅", trainer="李老师", capacity=40)
    gone = now - timedelta(days=2)
    past = TrainingSession(course=course, starts_at=gone, ends_at=gone + timedelta(hours=8), place="武昌培训中心",
                           trainer="王老师", capacity=20)
    db.session.add_all([course, future, past])
    db.session.flush()
    db.session.add_all([TrainingRecord(session=future, user=w2), TrainingRecord(session=past, user=w2),
                        TrainingRecord(session=past, user=w1, attended=True, score=88, result=TrainingResult.PASSED)])
    f.make_notification(w1, message="WO-ASSIGNED1 was assigned to you.", link="/orders/WO-ASSIGNED1")
    f.make_notification(w1, message="Your work at height certificate is valid again.", read_at=now)
    f.make_notification(s1, message="WO-LATE1 is overdue.", link="/orders/WO-LATE1")
    db.session.commit()
    from fieldsvc.metrics.engine import compute_period
    from fieldsvc.snapshots.models import PeriodType
    from fieldsvc.snapshots.periods import period_start

    for kind in PeriodType:  # the quality figures of today, this week and this month
        compute_period(kind, period_start(kind, f.today()), now, tz)
    db.session.commit()
    return {"token": token, "rated_token": rated_token, "future": future.id, "past": past.id,
            "today": f.today().isoformat()}


# The browser (parent process) ----------------------------------------------------------------

def pages(seeded: dict) -> dict[str, list]:
    """Each role's pages: a path, or (name, path, action) where action(page) fills and sends a form."""
    def bad_sign_in(page) -> None:
        page.fill("#username", "nobody")
        page.fill("#password", "wrong-password-1")
        with page.expect_navigation():
            page.click("main form button[type=submit]")

    def empty_order(page) -> None:
        with page.expect_navigation():
            page.click("main form.narrow-form button[type=submit]")

    future, past = seeded["future"], seeded["past"]
    return {
        "anonymous": ["/login", ("sign-in refused", "/login", bad_sign_in), f"/r/{seeded['token']}",
                      f"/r/{seeded['rated_token']}", "/r/not-a-token", "/no-such-page"],
        "w10015": ["/today", "/upcoming", "/done", "/orders/WO-ASSIGNED1", "/orders/WO-RISK1", "/orders/WO-ACCEPTED1",
                   "/orders/WO-BOOKED1", "/orders/WO-ENROUTE1", "/orders/WO-ONSITE1", "/orders/WO-UNRESOLVED1",
                   "/orders/WO-DONE1", "/orders/WO-RATED1", "/orders/WO-CANCELLED1",
                   f"/orders/WO-DONE1/rating-code?token={seeded['token']}", "/me/certifications", "/training",
                   f"/training/sessions/{future}", "/notifications", "/board", "/orders/WO-NO-SUCH"],
        "s1": ["/board", "/board?queue=unassigned", "/board?queue=at_risk", "/board?queue=overdue",
               "/board?queue=today", "/board?queue=open&page=2", "/board?q=no-such-order", "/board/workload",
               "/orders/new", "/orders/new?find=13900001111", ("new order refused", "/orders/new", empty_order),
               "/orders/WO-NEW1", "/orders/WO-NEW1/edit", "/orders/WO-LATE1", "/orders/WO-ASSIGNED1",
               "/orders/WO-ONSITE1", "/orders/WO-DONE1", "/orders/WO-CANCELLED1", "/certifications",
               "/certifications/installers/w10016", "/training", f"/training/sessions/{future}", "/notifications",
               "/admin/", "/quality", "/quality?period=month&days=90", "/quality?view=company:all&days=365",
               f"/quality/orders?metric=completed_orders&scope=team&id=HS01&period=day&start={seeded['today']}&part=denominator"],
        "admin": ["/admin/", "/admin/job-types", "/admin/job-types/install", "/admin/certification-types",
                  "/admin/certification-types/work_at_height", "/admin/certification-types/new", "/board",
                  "/certifications", "/certifications/installers/w10016", "/training", f"/training/sessions/{future}",
                  f"/training/sessions/{past}", "/notifications", "/quality", "/admin/scheduler"],
    }


SETTLE = """async () => {
  document.querySelectorAll('img[loading=lazy]').forEach(img => { img.loading = 'eager'; });
  await Promise.all([...document.images].map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done); })));
  await document.fonts.ready;
  // Let every finite transition end (a summary's colour as its <details> opens, a hover's fade).
  await Promise.all(document.getAnimations()
    .filter(a => a.effect && a.effect.getComputedTiming().endTime !== Infinity)
    .map(a => a.finished.catch(() => null)));
  await new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
}"""
# Opening a <details> fades its summary's colour (Pico: 0.2 s), which an icon's <use> copy follows
# outside document.getAnimations(): wait well past it.
OPEN_ALL = """async () => { const all = [...document.querySelectorAll('details')];
  all.forEach(d => { d.open = true; });
  if (all.length) { await new Promise(done => setTimeout(done, 600)); }
  return all.length; }"""


def stylesheet(css: dict):
    """A route handler that answers with whichever stylesheet css["body"] holds at the time."""
    def fulfil(route) -> None:
        route.fulfill(status=200, body=css["body"], content_type="text/css; charset=utf-8")
    return fulfil


def shoot(page, server: str, spec, css: dict, which: str, sheets: dict[str, bytes]) -> list[bytes]:
    """The screen as loaded and, when it has any <details>, with every one opened."""
    css["body"] = sheets[which]
    path, action = (spec[1], spec[2]) if isinstance(spec, tuple) else (spec, None)
    page.goto(f"{server}{path}", wait_until="networkidle")
    if action is not None:
        action(page)
        page.wait_for_load_state("networkidle")
    page.mouse.move(0, 0)  # no hover left over from a click
    page.evaluate(SETTLE)
    shots = [page.screenshot(full_page=True, animations="disabled")]
    if page.evaluate(OPEN_ALL):
        page.evaluate(SETTLE)
        shots.append(page.screenshot(full_page=True, animations="disabled"))
    return shots


def compare(a: bytes, b: bytes) -> str | None:
    """None when identical, else what differs."""
    from PIL import Image, ImageChops

    first, second = Image.open(io.BytesIO(a)).convert("RGB"), Image.open(io.BytesIO(b)).convert("RGB")
    if first.size != second.size:
        return f"size {first.size[0]}×{first.size[1]} → {second.size[0]}×{second.size[1]}"
    box = ImageChops.difference(first, second).getbbox()
    return None if box is None else f"{box[2] - box[0]}×{box[3] - box[1]} px at ({box[0]}, {box[1]})"


def read_sheet(where: str) -> bytes:
    """A stylesheet from a file, or from a git revision of the repository."""
    if Path(where).is_file():
        return Path(where).read_bytes()
    return subprocess.run(["git", "-C", str(ROOT), "show", f"{where}:{PICO}"], check=True,
                          capture_output=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--old", default=OLD_DEFAULT, help=f"a CSS file or a git revision (default {OLD_DEFAULT})")
    parser.add_argument("--new", default=str(ROOT / PICO), help="a CSS file or a git revision (default the work tree's)")
    parser.add_argument("--widths", default="390,1366")
    parser.add_argument("--schemes", default="light,dark")
    parser.add_argument("--roles", default="anonymous,w10015,s1,admin")
    parser.add_argument("--keep", help="a folder for the screenshots of the screens that differ")
    parser.add_argument("--serve", help=argparse.SUPPRESS)  # the child: seed and serve from this folder
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve))
        return 0

    chromium = shutil.which("chromium")
    if chromium is None:
        sys.exit("needs Debian's chromium")
    sheets = {"old": read_sheet(args.old), "new": read_sheet(args.new)}
    widths = [int(w) for w in args.widths.split(",")]
    schemes = args.schemes.split(",")
    keep = Path(args.keep) if args.keep else None
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="css-screens-") as folder:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen([sys.executable, __file__, "--serve", folder], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)
        try:
            seeded = json.loads(child.stdout.readline())
            server = f"http://127.0.0.1:{seeded['port']}"
            roles = {role: specs for role, specs in pages(seeded).items() if role in args.roles.split(",")}
            rows = run(chromium, server, roles, sheets, widths, schemes, keep)
        finally:
            child.stdin.close()
            child.wait(timeout=30)
    report(rows, sheets, time.monotonic() - started)
    return 1 if any(row[5] for row in rows) else 0


def run(chromium: str, server: str, roles: dict[str, list], sheets: dict[str, bytes], widths: list[int],
        schemes: list[str], keep: Path | None) -> list[tuple[str, str, int, str, str, str | None, int]]:
    from playwright.sync_api import sync_playwright

    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        for role, specs in roles.items():
            context = browser.new_context(viewport={"width": widths[0], "height": 844}, locale="en-US",
                                          has_touch=True)
            css = {"body": sheets["old"]}
            context.route("**/static/vendor/pico/pico.min.css*", stylesheet(css))
            page = context.new_page()
            page.set_default_timeout(15_000)
            if role != "anonymous":
                page.goto(f"{server}/login")
                page.fill("#username", role)
                page.fill("#password", PASSWORD)
                with page.expect_navigation():
                    page.click("main form button[type=submit]")
                page.mouse.move(0, 0)
            for spec in specs:
                name = spec[0] if isinstance(spec, tuple) else spec
                for width in widths:
                    page.set_viewport_size({"width": width, "height": 844})
                    for scheme in schemes:
                        page.emulate_media(color_scheme=scheme)
                        # Chromium's raster is not quite deterministic even with CHROMIUM_ARGS
                        # (the same stylesheet twice: now and then one colour level on a button):
                        # a pair that differs is taken again, up to RETRIES times. A stylesheet
                        # that renders differently differs every time.
                        attempt = 0
                        while True:
                            old = shoot(page, server, spec, css, "old", sheets)
                            new = shoot(page, server, spec, css, "new", sheets)
                            if len(old) != len(new):
                                differences = ["the number of <details> differs"] * len(old)
                            else:
                                differences = [compare(a, b) for a, b in zip(old, new, strict=True)]
                            if not any(differences) or attempt == RETRIES:
                                break
                            attempt += 1
                        states = ("as loaded", "details open")  # the second only where there are <details>
                        for state, a, b, difference in zip(states, old, new, differences, strict=False):
                            rows.append((role, name, width, scheme, state, difference, attempt))
                            if difference and keep is not None:
                                keep.mkdir(parents=True, exist_ok=True)
                                stem = f"{role}{name}-{width}-{scheme}-{state}".replace("/", "_").replace(" ", "-")
                                (keep / f"{stem}.old.png").write_bytes(a)
                                (keep / f"{stem}.new.png").write_bytes(b)
            context.close()
        browser.close()
    return rows


def report(rows: list, sheets: dict[str, bytes], seconds: float) -> None:
    import gzip

    import brotli

    print(f"{'role':10} {'page':44} {'width':>5} {'scheme':6} {'state':13} result")
    for role, name, width, scheme, state, difference, retries in rows:
        result = difference or "identical" + (f" (taken again {retries}×)" if retries else "")
        print(f"{role:10} {name[:44]:44} {width:>5} {scheme:6} {state:13} {result}")
    differing = sum(1 for row in rows if row[5])
    again = sum(1 for row in rows if row[6] and not row[5])
    print(f"\n{len(rows)} screenshots compared (each with both stylesheets), {len(rows) - differing} identical "
          f"({again} of them after taking the pair again), {differing} differing ({seconds:.0f} s)")
    for which, data in sheets.items():
        print(f"{which}: {len(data):,} bytes raw, {len(gzip.compress(data, 9)):,} gzip -9, "
              f"{len(brotli.compress(data, quality=11)):,} brotli 11")


if __name__ == "__main__":
    sys.exit(main())
