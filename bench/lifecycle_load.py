"""Load benchmark of the installer's side: the *Today* page and work-order transitions under N
concurrent clients, side by side in one run with a bare Flask endpoint doing one versioned UPDATE
and one commit and the hand-written floors (bench/baseline_app.py), all served by gunicorn on the
same database with the same number of workers (`--workers`, default one per core and one more).

    python bench/lifecycle_load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/fieldsvc_bench

The database must hold demo data (`fieldsvc db upgrade` then `fieldsvc seed-demo --installers 1000
--days 730`; bench/seed_demo.py does both). Traffic goes to 127.0.0.1 only; every scenario stops
after --seconds or --max-requests, whichever comes first. Needs `pip install aiohttp`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.common import DEMO_PASSWORD, csrf_token, signed_in  # noqa: E402  (after the path is set)


@dataclass
class Client:
    username: str
    token: str
    number: str
    version: int
    row_version: int = 1
    latencies: list[float] = field(default_factory=list)


def prepare(database_url: str, clients: int) -> tuple[list[Client], dict[str, int]]:
    """Pick `clients` installers with an accepted order (accepting one where needed), give each an
    API token, and count the SQL statements of one Today page and one transition in-process."""
    os.environ["FIELDSVC_DATABASE_URL"] = database_url
    os.environ.setdefault("FIELDSVC_SECRET_KEY", "bench")
    from sqlalchemy import event, select

    from fieldsvc import create_app
    from fieldsvc.auth.models import User
    from fieldsvc.auth.services import create_token
    from fieldsvc.db import zone
    from fieldsvc.extensions import db
    from fieldsvc.workorders import lifecycle
    from fieldsvc.workorders.models import OrderStatus, WorkOrder

    app = create_app({"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False})
    picked: list[Client] = []
    with app.app_context():
        rows = db.session.execute(
            select(WorkOrder, User).join(User, WorkOrder.assignee_id == User.id)
            .where(WorkOrder.status.in_([OrderStatus.ACCEPTED, OrderStatus.ASSIGNED]), User.is_active.is_(True))
            .order_by(WorkOrder.status.desc(), WorkOrder.id.desc()).limit(clients * 20)
        ).all()
        seen: set[int] = set()
        for order, user in rows:
            if user.id in seen:
                continue
            seen.add(user.id)
            if order.status is OrderStatus.ASSIGNED:
                lifecycle.transition(order, user, "accept", order.version, tz=zone())
            picked.append(Client(user.username, create_token(user, "bench"), order.number, order.version))
            if len(picked) == clients:
                break
        db.session.commit()
        if len(picked) < clients:
            sys.exit(f"only {len(picked)} installers with open orders; seed more demo data")
        engine = db.engine

    # Counted outside any app context, so each request loads its user as in production.
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    client = signed_in(app, picked[0].username)
    statements.clear()
    assert client.get("/today").status_code == 200
    today_count = len(statements)
    statements.clear()
    first = picked[0]
    response = client.post(f"/api/v1/work-orders/{first.number}/transitions",
                           json={"action": "book", "version": first.version, **window(0)},
                           headers={"Authorization": f"Bearer {first.token}"})
    assert response.status_code == 200, response.get_json()
    first.version = response.get_json()["version"]
    transition_count = len(statements)
    engine.dispose()
    return picked, {"today": today_count, "transition": transition_count}


# In this order: Today before the transitions, which rebook the same orders thousands of times a
# second and leave dead index entries that the installer's Today query would wade through.
SCENARIOS = ("healthz", "floor-today", "today", "floor-transition", "transition")


def vacuum(database_url: str) -> None:
    """Start from a vacuumed work_orders table: earlier runs rebooked the same orders thousands of
    times, and their dead rows would slow this run's Today queries (autovacuum runs when it likes)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text("VACUUM (ANALYZE) work_orders"))
    engine.dispose()


def window(i: int) -> dict[str, str]:
    """Tomorrow's 09–11 or 14–16 slot, alternating, in the operator's zone (+08:00)."""
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Asia/Shanghai")
    day = date.today() + timedelta(days=1)
    start = datetime.combine(day, clock(9 if i % 2 == 0 else 14), tzinfo=tz)
    return {"appointment_start": start.isoformat(), "appointment_end": (start + timedelta(hours=2)).isoformat()}


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far; 0 once it has gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_by_part(server_pid: int) -> dict[str, float]:
    """CPU seconds so far of the server (gunicorn master and workers), of every PostgreSQL process
    on this host, and of this load generator: where each request's CPU goes."""
    server = postgres = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if int(entry.name) == server_pid or ppid == server_pid:
            server += process_cpu(int(entry.name))
        elif name.startswith("postgres"):
            postgres += process_cpu(int(entry.name))
    usage = os.times()
    return {"server": server, "postgres": postgres, "loadgen": usage.user + usage.system}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(target: str, port: int, workers: int, database_url: str) -> subprocess.Popen:
    # 50 clients sign in from one address: the sign-in throttle would refuse most of them.
    env = {**os.environ, "FIELDSVC_DATABASE_URL": database_url, "FIELDSVC_SECURE_COOKIES": "0",
           "FIELDSVC_RATELIMIT_ENABLED": "0",
           "FIELDSVC_SECRET_KEY": os.environ.get("FIELDSVC_SECRET_KEY", "bench"), "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", "--backlog", "2048",
         "--log-level", "warning", target],
        env=env, cwd=ROOT,
    )


def wait_until_up(port: int, path: str) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2)
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server on {port} did not start")


async def run_scenario(name: str, clients: list[Client], port: int, seconds: float, max_requests: int,
                       server_pid: int, app_port: int) -> dict:
    """Drive scenario `name` against the server on `port` (whose master process is `server_pid`);
    browser sessions sign in to fieldsvc on `app_port` (the floor reads the same session cookie)."""
    import aiohttp

    base = f"http://127.0.0.1:{port}"
    app_base = f"http://127.0.0.1:{app_port}"
    path = "/floor" if name.startswith("floor") else ""
    connector = aiohttp.TCPConnector(limit=0)
    errors = 0
    done = 0
    for client in clients:
        client.latencies = []
    async with aiohttp.ClientSession(connector=connector) as shared:
        sessions: list[aiohttp.ClientSession] = []
        if name.endswith("today"):  # each client signs in through the form and keeps its own cookies
            for client in clients:
                session = aiohttp.ClientSession(connector=connector, connector_owner=False,
                                                cookie_jar=aiohttp.CookieJar(unsafe=True))
                page = await (await session.get(f"{app_base}/login")).text()
                token = csrf_token(page)
                await session.post(f"{app_base}/login", data={"username": client.username, "password": DEMO_PASSWORD,
                                                              "csrf_token": token}, allow_redirects=False)
                sessions.append(session)
        stop_at = time.monotonic() + seconds
        windows = [window(0), window(1)]  # computed once: the load generator's CPU is shared with the server

        async def worker(index: int, client: Client) -> None:
            nonlocal errors, done
            i = 0
            while time.monotonic() < stop_at and done < max_requests:
                i += 1
                started = time.perf_counter()
                if name == "baseline":
                    async with shared.post(f"{base}/bump/{index + 1}", json={"version": client.row_version}) as r:
                        body = await r.json() if r.status == 200 else None
                        ok = r.status == 200
                        if ok:
                            client.row_version = body["version"]
                elif name.endswith("transition"):
                    async with shared.post(f"{base}{path or '/api/v1'}/work-orders/{client.number}/transitions",
                                           json={"action": "book", "version": client.version, **windows[i % 2]},
                                           headers={"Authorization": f"Bearer {client.token}"}) as r:
                        body = await r.json()
                        ok = r.status == 200
                        if ok:
                            client.version = body["version"]
                elif name == "healthz":  # the floor: Flask plus one trivial query, no sign-in, no template
                    async with shared.get(f"{base}/healthz") as r:
                        await r.read()
                        ok = r.status == 200
                else:
                    async with sessions[index].get(f"{base}{path}/today", allow_redirects=False) as r:
                        await r.read()
                        ok = r.status == 200
                client.latencies.append(time.perf_counter() - started)
                done += 1
                if not ok:
                    errors += 1

        cpu_before = cpu_by_part(server_pid)
        started = time.monotonic()
        await asyncio.gather(*(worker(i, c) for i, c in enumerate(clients)))
        elapsed = time.monotonic() - started
        cpu_after = cpu_by_part(server_pid)
        for session in sessions:
            await session.close()
    latencies = sorted(x for c in clients for x in c.latencies)
    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "scenario": name, "requests": len(latencies), "errors": errors,
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(quantiles[49] * 1000, 1), "p95_ms": round(quantiles[94] * 1000, 1),
        "p99_ms": round(quantiles[98] * 1000, 1),
        # CPU milliseconds per request, by part (the machine's cores are shared by all three)
        "cpu_ms": {part: round((cpu_after[part] - cpu_before[part]) * 1000 / max(len(latencies), 1), 2)
                   for part in cpu_after},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/fieldsvc_bench")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--scenarios", default=",".join(SCENARIOS),
                        help="comma-separated, from: " + ", ".join(SCENARIOS) + " (the baseline always runs first and last)")
    # One sync worker per core and one more, as README's production section says: the requests
    # spend most of their time on the CPU, and on two cores three workers served more of both
    # the product's requests than five (gunicorn's usual 2 × cores + 1), with a lower p95.
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    args = parser.parse_args()

    clients, statement_counts = prepare(args.database_url, args.clients)
    from bench.baseline_app import setup  # noqa: E402  (needs the database URL in the environment)

    setup(args.clients)
    vacuum(args.database_url)
    app_port, base_port = free_port(), free_port()
    servers = [start_gunicorn("fieldsvc.wsgi:app", app_port, args.workers, args.database_url),
               start_gunicorn("bench.baseline_app:app", base_port, args.workers, args.database_url)]
    try:
        wait_until_up(app_port, "/healthz")
        wait_until_up(base_port, "/bump/0")
        pids = {app_port: servers[0].pid, base_port: servers[1].pid}
        chosen = [name for name in SCENARIOS if name in args.scenarios.split(",")]

        def run(name: str) -> dict:
            port = base_port if name == "baseline" or name.startswith("floor") else app_port
            asyncio.run(run_scenario(name, clients, port, args.warmup, args.max_requests, pids[port], app_port))
            result = asyncio.run(run_scenario(name, clients, port, args.seconds, args.max_requests, pids[port],
                                              app_port))
            print(f"  {name:<17}{result['rps']:>8} req/s  p95 {result['p95_ms']:>6} ms", file=sys.stderr)
            return result

        # Baseline, scenario, baseline, scenario, …: each scenario is compared with the mean of the
        # baseline runs just before and after it, so the machine's drift (other tenants on a
        # virtual machine) cancels out; the rounds repeat it all and the medians are reported.
        results: list[dict] = []
        for round_number in range(args.rounds):
            before = run("baseline")
            before.update(round=round_number + 1, rps_ratio=1.0, p95_ratio=1.0)
            results.append(before)
            for name in chosen:
                result = run(name)
                after = run("baseline")
                base_rps, base_p95 = (before["rps"] + after["rps"]) / 2, (before["p95_ms"] + after["p95_ms"]) / 2
                result.update(round=round_number + 1, rps_ratio=round(result["rps"] / base_rps, 3),
                              p95_ratio=round(result["p95_ms"] / base_p95, 3))
                results.append(result)
                before = after
                after.update(round=round_number + 1, rps_ratio=1.0, p95_ratio=1.0)
                results.append(after)
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(timeout=30)
    print(f"median of {args.rounds} round(s), {args.clients} clients, {args.workers} workers, {args.seconds:g} s each:")
    print(f"{'scenario':<17}{'errors':>7}{'req/s':>8}{'p50 ms':>8}{'p95 ms':>8}{'p99 ms':>8}"
          f"{'rps/base':>10}{'p95/base':>10}   CPU ms per request: server / postgres / loadgen")
    for name in ["baseline", *chosen]:
        runs = [r for r in results if r["scenario"] == name]

        def median(key: str, runs: list[dict] = runs) -> float:
            return round(statistics.median(r[key] for r in runs), 2)

        cpu = {part: round(statistics.median(r["cpu_ms"][part] for r in runs), 2) for part in runs[0]["cpu_ms"]}
        print(f"{name:<17}{sum(r['errors'] for r in runs):>7}{median('rps'):>8}{median('p50_ms'):>8}{median('p95_ms'):>8}{median('p99_ms'):>8}"
              f"{median('rps_ratio'):>10.2f}{median('p95_ratio'):>10.2f}"
              f"   {cpu['server']} / {cpu['postgres']} / {cpu['loadgen']}")
    print(f"SQL statements per request: Today page {statement_counts['today']}, "
          f"transition {statement_counts['transition']}")
    print(json.dumps({"clients": args.clients, "workers": args.workers, "seconds": args.seconds,
                      "rounds": args.rounds, "results": results, "statements": statement_counts}))


if __name__ == "__main__":
    main()
