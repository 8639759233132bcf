"""What the installer's phone downloads: *Today* and a job page, cold and warm, in bytes on the
wire, from a real HTTP server over a socket.

    python bench/page_weight.py                      # a fresh SQLite demo branch (30 installers, 14 days)
    python bench/page_weight.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/fieldsvc_bench

The app is served by Werkzeug's HTTP server on 127.0.0.1 (the app's own compression, headers and
cookies, exactly as a browser gets them); the client speaks HTTP/1.1 over a plain socket, one
connection a request, and counts every byte of each response (status line, headers, body as sent,
compressed or not) and of each request. It sends what Chromium sends over HTTPS (its Accept and
Accept-Encoding "gzip, deflate, br, zstd", a User-Agent, the cookies) and caches like it:

- cold: the page, then every stylesheet, script, image, icon and manifest it names (the icon
  sprite of `<use href>` once), each fetched once; where the page carries the offline outbox, the
  service worker's script, and the worker's keeping of the page (asked again through the cache);
- warm: the page asked again with what the cache holds (If-None-Match with its ETag, else
  If-Modified-Since, else a plain GET); a file kept as fresh (`max-age`, `immutable`) is not
  asked at all, any other is revalidated the same way;
- poll: what static/js/today.js sends every 30 s (If-None-Match, Accept text/html).

Signing in is not counted. The demo installer is the one `demo_sign_ins` names (jobs on Today in
several states, at any hour); the job page is the first order of their Today. Without an argument
the script seeds its own throwaway SQLite database (`seed_demo`, then the day's, week's and month's
figures so that Today shows them) and deletes it afterwards.
"""
from __future__ import annotations

import argparse
import io
import os
import re
import socket
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from http.client import HTTPResponse
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

USER_AGENT = ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/131.0.0.0 Mobile Safari/537.36")
ACCEPT_PAGE = ("text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,"
               "application/signed-exchange;v=b3;q=0.7")
ACCEPT = {"style": "text/css,*/*;q=0.1", "script": "*/*", "manifest": "*/*", "image": "image/avif,image/webp,image/apng,image/svg+xml,"
          "image/*,*/*;q=0.8"}
ASSET_RE = re.compile(r'<link rel="stylesheet" href="([^"]+)"|<script src="([^"]+)"|<img[^>]+src="(/static/[^"]+)"'
                      r'|<use href="([^"#]+)#|<link rel="(?:icon|apple-touch-icon)" href="([^"]+)"'
                      r'|<link rel="manifest" href="([^"]+)"')
OUTBOX_RE = re.compile(r'<script src="(/static/js/outbox\.js[^"]*)"')


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    received: int  # bytes on the wire, response
    sent: int  # bytes on the wire, request


@dataclass
class Browser:
    """A cookie jar and an HTTP cache, as much of them as these pages need."""

    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)
    cache: dict[str, Answer] = field(default_factory=dict)

    def request(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> Answer:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}", "Connection: close",
                 f"User-Agent: {USER_AGENT}", "Accept-Language: zh-CN,zh;q=0.9"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if self.cookies:
            lines.append("Cookie: " + "; ".join(f"{k}={v}" for k, v in self.cookies.items()))
        if body:
            lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(body)}"]
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode() + body
        with socket.create_connection((self.host, self.port)) as connection:
            connection.sendall(raw)
            chunks = []
            while chunk := connection.recv(65536):
                chunks.append(chunk)
        wire = b"".join(chunks)
        response = HTTPResponse(_Replay(wire), method=method)
        response.begin()
        content = response.read()
        found = {k.lower(): v for k, v in response.getheaders()}
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            cookie_value = rest.split(";", 1)[0]
            if "expires=thu, 01 jan 1970" in value.lower() or not cookie_value:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = cookie_value
        return Answer(response.status, found, content, len(wire), len(raw))

    def get(self, path: str, kind: str = "page", warm: bool = False) -> Answer | None:
        """GET `path` as the browser would (None: served from its cache without asking)."""
        headers = {"Accept": ACCEPT_PAGE if kind == "page" else ACCEPT[kind],
                   "Accept-Encoding": "gzip, deflate, br, zstd"}
        kept = self.cache.get(path) if warm else None
        if kept is not None:
            control = kept.headers.get("cache-control", "")
            if kind != "page" and ("immutable" in control or re.search(r"max-age=[1-9]", control)):
                return None
            if "no-store" not in control:
                if "etag" in kept.headers:
                    headers["If-None-Match"] = kept.headers["etag"]
                elif "last-modified" in kept.headers:
                    headers["If-Modified-Since"] = kept.headers["last-modified"]
        answer = self.request("GET", path, headers)
        if answer.status == 200 and "no-store" not in answer.headers.get("cache-control", ""):
            self.cache[path] = answer
        return answer


class _Replay(io.BytesIO):
    def makefile(self, *_args: object, **_kwargs: object) -> io.BytesIO:
        return self


def assets(page: str) -> list[tuple[str, str]]:
    """The stylesheets, scripts and images (the icon sprite once) a page names, in order."""
    found: list[tuple[str, str]] = []
    for style, script, image, sprite, icon, manifest in ASSET_RE.findall(page):
        item = ((style, "style") if style else (script, "script") if script else
                (manifest, "manifest") if manifest else (image or sprite or icon, "image"))
        if item not in found:
            found.append(item)
    return found


def measure(browser: Browser, path: str) -> dict[str, tuple[int, int, int]]:
    """(requests, bytes received, bytes sent) for the page cold, warm and as polled."""
    page = browser.get(path)
    assert page is not None and page.status == 200, (path, page and page.status)
    html = page.body.decode()
    cold = [page] + [browser.get(url, kind) for url, kind in assets(html)]
    outbox = OUTBOX_RE.search(html)
    if outbox:
        # The page registers the service worker (its script; it imports outbox.js, cached), which
        # then keeps this page: it asks for it again through the browser's cache.
        cold.append(browser.get("/sw.js?" + urlencode({"core": outbox.group(1)}), "script"))
        cold.append(browser.get(path, warm=True))
    warm_page = browser.get(path, warm=True)
    warm = [warm_page] + [browser.get(url, kind, warm=True) for url, kind in assets(html)]
    headers = {"Accept": "text/html", "Accept-Encoding": "gzip, deflate, br, zstd"}
    if "etag" in page.headers:
        headers["If-None-Match"] = page.headers["etag"]
    poll = [browser.request("GET", path, headers)]

    def total(answers: list[Answer | None]) -> tuple[int, int, int]:
        done = [a for a in answers if a is not None]
        return len(done), sum(a.received for a in done), sum(a.sent for a in done)

    return {"cold": total(cold), "warm": total(warm), "poll": total(poll),
            "page": (1, page.received, page.sent),
            "status": (warm_page.status if warm_page else 0, poll[0].status, 0)}


def server_cost(app: object, installer: str, paths: list[str], rounds: int) -> dict[str, dict[str, float]]:
    """Per request, in-process (Flask's test client, the same database): the median milliseconds
    and the SQL statements of the page rendered (200) and of its revalidation (304), alternating."""
    import statistics
    import time

    from sqlalchemy import event

    from bench.common import signed_in
    from fieldsvc.extensions import db

    client = signed_in(app, installer)
    with app.app_context():  # type: ignore[attr-defined]
        engine = db.engine
    statements: list[str] = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    costs: dict[str, dict[str, float]] = {}
    for path in paths:
        etag = client.get(path).headers.get("ETag")  # none before conditional GET: 200s only
        kinds = [("200", {})] + ([("304", {"If-None-Match": etag})] if etag else [])
        times: dict[str, list[float]] = {kind: [] for kind, _headers in kinds}
        counts: dict[str, int] = {}
        for _ in range(rounds):
            for status, headers in kinds:
                statements.clear()
                event.listen(engine, "before_cursor_execute", listener)
                start = time.perf_counter()
                response = client.get(path, headers=headers)
                times[status].append((time.perf_counter() - start) * 1000)
                event.remove(engine, "before_cursor_execute", listener)
                assert str(response.status_code) == status, (path, response.status_code)
                counts[status] = len(statements)
        costs[path] = {f"{k} ms": statistics.median(v) for k, v in times.items()} | {
            f"{k} SQL": v for k, v in counts.items()}
    return costs


def prepare(database_url: str | None, workdir: Path) -> tuple[object, str]:
    """The app on the database (seeded here when none is given) and the demo installer."""
    os.environ["FIELDSVC_DATABASE_URL"] = database_url or f"sqlite:///{workdir / 'weight.sqlite3'}"
    os.environ.setdefault("FIELDSVC_SECRET_KEY", "bench-page-weight")
    from flask_migrate import upgrade

    from fieldsvc import create_app
    from fieldsvc.config import resource_dir
    from fieldsvc.db import local_today, zone
    from fieldsvc.demo import demo_sign_ins, seed_demo

    app = create_app({"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False})
    app.instance_path = str(workdir / "instance")
    with app.app_context():
        if database_url is None:
            upgrade(directory=str(resource_dir("migrations")))
            seed_demo(installers=30, days=14, echo=lambda _line: None)
            today = local_today(zone()).isoformat()
            runner = app.test_cli_runner()
            for period in ("day", "week", "month"):
                result = runner.invoke(args=["metrics", "compute", "--from", today, "--to", today, "--period", period])
                assert result.exit_code == 0, result.output
        installer = next(username for role, username, _name in demo_sign_ins() if role == "installer")
    return app, installer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="a database with demo data (default: seed a throwaway SQLite one)")
    parser.add_argument("--rounds", type=int, default=200, help="requests of each kind for the server's cost")
    args = parser.parse_args()
    from werkzeug.serving import make_server

    from bench.common import DEMO_PASSWORD, csrf_token

    with tempfile.TemporaryDirectory() as folder:
        app, installer = prepare(args.database_url, Path(folder))
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            browser = Browser("127.0.0.1", server.server_port)
            login = browser.request("GET", "/login", {"Accept": ACCEPT_PAGE})
            form = urlencode({"username": installer, "password": DEMO_PASSWORD,
                              "csrf_token": csrf_token(login.body.decode())}).encode()
            signed = browser.request("POST", "/login", {"Accept": ACCEPT_PAGE}, form)
            assert signed.status == 302 and signed.headers["location"].endswith("/today"), signed.status
            today = browser.get("/today")
            assert today is not None
            numbers = re.findall(r'href="/orders/([^"?#]+)"', today.body.decode())
            assert numbers, "the demo installer has no job today"
            browser.cache.clear()
            results = {"Today": measure(browser, "/today")}
            browser.cache.clear()  # the job page cold: nothing cached (its own scripts, the shared CSS)
            results[f"job page {numbers[0]}"] = measure(browser, f"/orders/{numbers[0]}")
            costs = server_cost(app, installer, ["/today", f"/orders/{numbers[0]}"], args.rounds)
        finally:
            server.shutdown()
            thread.join()
    print(f"installer {installer}; bytes on the wire (response / request), Accept-Encoding: gzip, deflate, br, zstd")
    print("| page | cold: requests, bytes | warm: requests, bytes (status) | poll: bytes (status) | page alone |")
    print("|---|---|---|---|---|")
    for name, figures in results.items():
        (cr, cb, cs), (wr, wb, ws), (_pr, pb, ps) = figures["cold"], figures["warm"], figures["poll"]
        warm_status, poll_status, _ = figures["status"]
        print(f"| {name} | {cr}, **{cb:,}** B ({cs:,} sent) | {wr}, **{wb:,}** B ({ws:,} sent; {warm_status}) "
              f"| **{pb:,}** B ({ps:,} sent; {poll_status}) | {figures['page'][1]:,} B |")
    print()
    print("| page | rendered (200): median ms, SQL | revalidated (304): median ms, SQL |")
    print("|---|---|---|")
    for path, cost in costs.items():
        revalidated = f"**{cost['304 ms']:.2f} ms**, {cost['304 SQL']:.0f}" if "304 ms" in cost else "—"
        print(f"| {path} | {cost['200 ms']:.2f} ms, {cost['200 SQL']:.0f} | {revalidated} |")


if __name__ == "__main__":
    main()
