"""Load and faults: installers and supervisors working the same orders at once, through gunicorn,
on a fresh database; then a check that nothing acknowledged was lost and that no one saw a server
error.

    python bench/load_faults.py                           # PostgreSQL: 100 installers, 5 supervisors, 60 s + faults
    python bench/load_faults.py --backend sqlite --installers 20

Each run creates a throwaway database (PostgreSQL on 127.0.0.1, or an SQLite file), migrates it,
seeds the demo organisation (teams, installers with their certificates; one day of orders), adds
fresh unassigned orders for every team, and starts gunicorn (4 workers) on 127.0.0.1. Then, for
--seconds:

- every installer (an API token each) lists their open orders, as the phone's *Today* does, and
  takes the next step of one of them: accept, depart, arrive, complete with its evidence (one in
  ten is left unresolved and rebooked instead);
- every supervisor assigns their team's new orders to installers of the team, and now and then
  takes an accepted order from one installer and gives it to another, racing that installer.

Every write carries an `Idempotency-Key`; a request whose answer was lost (connection reset) is
sent again with the same key. On PostgreSQL a second phase (--fault-seconds) adds faults: one
gunicorn worker is SIGKILLed, and later every database connection of the app is terminated
(`pg_terminate_backend`).

Afterwards, for every order: its status, assignee and visits equal the replay of its event trail
(`fieldsvc.workorders.replay.replay_events`), its version equals the last version a client was told, and it has
exactly one event per acknowledged change (none lost, none applied twice). Printed: requests and
answers by status, 5xx (which must be 0 outside the fault phase), "database is locked" seen by a
client, and the checks. Exit status 1 when a check fails. Needs `pip install aiohttp`.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as clock
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench.lifecycle_load import free_port, start_gunicorn, wait_until_up  # noqa: E402

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
OPEN = ("assigned", "accepted", "en_route", "on_site")
EVIDENCE = {"onu_serial": "ZTEG1A2B3C4D", "rx_power_dbm": -19.5, "fault_cause": "drop_fibre", "speed_mbps": 480}


@dataclass
class Tally:
    """What the clients saw, by phase."""

    answers: Counter = field(default_factory=Counter)  # (phase, status) → count
    resent: Counter = field(default_factory=Counter)  # phase → requests sent again after a lost answer
    locked: int = 0  # answers mentioning "database is locked"
    refusals: Counter = field(default_factory=Counter)  # (status, title) of 4xx answers
    acks: dict[str, list[int]] = field(default_factory=dict)  # order number → versions acknowledged
    latencies: list[float] = field(default_factory=list)


@dataclass
class Actor:
    username: str
    token: str
    role: str
    team: str
    team_installers: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- the database and its data


def make_database(backend: str) -> tuple[str, str]:
    """(URL, name) of a new, empty database."""
    from sqlalchemy import create_engine, text

    if backend == "sqlite":
        path = Path(tempfile.mkdtemp(prefix="fieldsvc-load-")) / "load.sqlite3"
        return f"sqlite:///{path}", str(path)
    name = f"fieldsvc_load_{int(time.time())}_{os.getpid()}"
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}", name


def drop_database(backend: str, name: str) -> None:
    from sqlalchemy import create_engine, text

    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(name + suffix).unlink(missing_ok=True)
        return
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def prepare(url: str, installers: int, supervisors: int, orders_per_installer: int) -> list[Actor]:
    """Migrate, seed the demo organisation, pick `supervisors` supervisors and `installers`
    installers of their teams (moving other demo installers in where their crews are short), add
    new orders for each team, and give every one of them an API token."""
    env = {**os.environ, "FIELDSVC_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}
    seeded = str(installers + max(installers // 2, 20))
    for args in (["db", "upgrade"], ["seed-demo", "--installers", seeded, "--days", "1"]):
        subprocess.run([sys.executable, "-c", "from fieldsvc.cli import main; main()", *args], env=env, check=True,
                       capture_output=True)
    os.environ["FIELDSVC_DATABASE_URL"] = url
    from sqlalchemy import select

    from fieldsvc import create_app
    from fieldsvc.auth.models import Role, User
    from fieldsvc.auth.scope import managed_installers, managed_teams
    from fieldsvc.auth.services import create_token, place_in_team
    from fieldsvc.db import utcnow, zone
    from fieldsvc.extensions import db
    from fieldsvc.workorders.services import NewOrder, create_work_order

    app = create_app()
    rng = random.Random(7)
    with app.app_context():
        bosses = [boss for boss in db.session.scalars(
            select(User).where(User.role == Role.SUPERVISOR, User.is_active.is_(True)).order_by(User.id))
            if managed_teams(boss)][:supervisors]
        crews = {boss.id: list(db.session.scalars(managed_installers(boss))) for boss in bosses}
        picked = {u.id for crew in crews.values() for u in crew}
        spare = iter(db.session.scalars(select(User).where(User.role == Role.INSTALLER, User.is_active.is_(True),
                                                           User.id.not_in(picked)).order_by(User.id)))
        while sum(map(len, crews.values())) < installers:  # short: move demo installers in, round robin
            for boss in bosses:
                if sum(map(len, crews.values())) < installers:
                    newcomer = next(spare)
                    place_in_team(newcomer, managed_teams(boss)[0])
                    crews[boss.id].append(newcomer)
        while sum(map(len, crews.values())) > installers:  # long: leave some out, from the largest crew
            max(crews.values(), key=len).pop()
        actors: list[Actor] = []
        for boss in bosses:
            crew = crews[boss.id]
            district = managed_teams(boss)[0].districts[0].code
            actors.append(Actor(boss.username, create_token(boss, "load"), "supervisor",
                                managed_teams(boss)[0].code, [u.username for u in crew]))
            actors += [Actor(u.username, create_token(u, "load"), "installer", "") for u in crew]
            for i in range(orders_per_installer * len(crew)):
                start = datetime.combine(utcnow().astimezone(zone()).date() + timedelta(days=1 + i % 3),
                                         clock(9 + 2 * (i % 4)), tzinfo=zone())
                create_work_order(boss, NewOrder(
                    job_type=rng.choice(["repair", "iptv", "install"]), account_no=f"LD{boss.id:03d}{i:05d}",
                    customer_name=f"负载测试用户{i}", phone=f"139{rng.randrange(10**8):08d}",
                    address=f"测试路{i}号", district=district, appointment_start=start,
                    appointment_end=start + timedelta(hours=2)), tz=zone())
        db.session.commit()
    print(f"prepared {len(bosses)} supervisors and {sum(a.role == 'installer' for a in actors)} installers",
          file=sys.stderr)
    return actors


# ---------------------------------------------------------------- the clients


async def call(session, tally: Tally, phase: str, method: str, url: str, token: str, body: dict | None = None):
    """One request (a write with an Idempotency-Key, sent again with the same key when its answer is
    lost); (status, JSON body or None). Status 0: no answer even after resending."""
    import aiohttp

    headers = {"Authorization": f"Bearer {token}", "Accept-Language": "en"}
    if method == "POST":
        headers["Idempotency-Key"] = uuid.uuid4().hex
    for attempt in range(4):
        started = time.perf_counter()
        try:
            async with session.request(method, url, json=body, headers=headers,
                                       timeout=aiohttp.ClientTimeout(total=30)) as answer:
                text = await answer.text()
                tally.latencies.append(time.perf_counter() - started)
                tally.answers[(phase, answer.status)] += 1
                if "database is locked" in text:
                    tally.locked += 1
                try:
                    parsed = json.loads(text)
                except ValueError:
                    parsed = None
                if 400 <= answer.status < 500:
                    tally.refusals[(answer.status, str((parsed or {}).get("detail"))[:90] if isinstance(parsed, dict) else None)] += 1
                return answer.status, parsed
        except (TimeoutError, aiohttp.ClientError):
            if method != "POST":
                return 0, None
            tally.resent[phase] += 1
            await asyncio.sleep(0.2 * (attempt + 1))
    tally.answers[(phase, 0)] += 1
    return 0, None


def acknowledged(tally: Tally, status: int, body: dict | None) -> None:
    if status == 200 and body and "number" in body:
        tally.acks.setdefault(body["number"], []).append(body["version"])


def window(rng: random.Random) -> dict[str, str]:
    from zoneinfo import ZoneInfo

    start = datetime.combine(datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=rng.randint(1, 5)),
                             clock(rng.choice((9, 11, 14, 16))), tzinfo=ZoneInfo("Asia/Shanghai"))
    return {"appointment_start": start.isoformat(), "appointment_end": (start + timedelta(hours=2)).isoformat()}


async def pick(session, tally: Tally, phase: str, url: str, actor: Actor, rng: random.Random) -> dict | None:
    """One order of the list at `url`, as the phone or the board shows it; None (after a pause)
    when there is none."""
    status, page = await call(session, tally, phase, "GET", url, actor.token)
    orders = (page or {}).get("items", []) if status == 200 else []
    if not orders:
        await asyncio.sleep(0.5)
        return None
    return rng.choice(orders)


async def installer(actor: Actor, base: str, stop_at: float, phase: str, session, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    query = "&".join(f"status={s}" for s in OPEN)
    while time.monotonic() < stop_at:
        order = await pick(session, tally, phase, f"{base}/api/v1/work-orders?{query}&limit=50", actor, rng)
        if order is None:
            continue
        step = {"assigned": "accept", "accepted": "depart", "en_route": "arrive", "on_site": "complete"}[order["status"]]
        body: dict = {"action": step, "version": order["version"]}
        if step == "depart" and not order.get("appointment_start"):
            body = {"action": "book", "version": order["version"], **window(rng)}
        elif step == "complete":
            if rng.random() < 0.1:
                body = {"action": "leave_unresolved", "version": order["version"], "reason": "customer_absent"}
            else:
                body["evidence"] = EVIDENCE
        status, answer = await call(session, tally, phase, "POST",
                                    f"{base}/api/v1/work-orders/{order['number']}/transitions", actor.token, body)
        acknowledged(tally, status, answer)
        await asyncio.sleep(rng.uniform(0.05, 0.3))  # the installer reads the screen


async def supervisor(actor: Actor, base: str, stop_at: float, phase: str, session, tally: Tally, seed: int) -> None:
    rng = random.Random(seed)
    while time.monotonic() < stop_at:
        wanted = "accepted" if rng.random() < 0.3 else "new"  # reassign, or dispatch
        order = await pick(session, tally, phase, f"{base}/api/v1/work-orders?status={wanted}&limit=50", actor, rng)
        if order is None:
            continue
        others = [u for u in actor.team_installers if u != order.get("assignee")]
        status, answer = await call(session, tally, phase, "POST",
                                    f"{base}/api/v1/work-orders/{order['number']}/assignment", actor.token,
                                    {"installer": rng.choice(others), "version": order["version"]})
        acknowledged(tally, status, answer)
        await asyncio.sleep(rng.uniform(0.1, 0.4))


async def drive(actors: list[Actor], base: str, seconds: float, phase: str, tally: Tally,
                faults: list[tuple[float, str]] = ()) -> None:
    import aiohttp

    stop_at = time.monotonic() + seconds
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector) as session:
        tasks = [(installer if a.role == "installer" else supervisor)(a, base, stop_at, phase, session, tally, i)
                 for i, a in enumerate(actors)]
        await asyncio.gather(*tasks, *(fault(after, what) for after, what in faults))


FAULT_ACTIONS: dict[str, object] = {}


async def fault(after: float, what: str) -> None:
    await asyncio.sleep(after)
    print(f"  fault: {what}", file=sys.stderr)
    FAULT_ACTIONS[what]()


# ---------------------------------------------------------------- the checks


def check(url: str, tally: Tally, load_usernames: set[str]) -> dict[str, int]:
    """Compare every order the clients touched with the replay of its events and with what the
    clients were told."""
    os.environ["FIELDSVC_DATABASE_URL"] = url
    from sqlalchemy import func, select
    from sqlalchemy.orm import joinedload

    from fieldsvc import create_app
    from fieldsvc.auth.models import ApiToken, User
    from fieldsvc.extensions import db
    from fieldsvc.workorders.models import Visit, WorkOrder, WorkOrderEvent
    from fieldsvc.workorders.replay import replay_events

    problems: Counter = Counter()
    app = create_app()
    with app.app_context():
        load_ids = set(db.session.scalars(select(User.id).where(User.username.in_(load_usernames))))
        since = db.session.scalar(select(func.min(ApiToken.created_at)).where(ApiToken.name == "load"))
        orders = db.session.scalars(select(WorkOrder).where(WorkOrder.number.in_(list(tally.acks)))
                                    .options(joinedload(WorkOrder.assignee))).all()
        events: dict[int, list[WorkOrderEvent]] = {}
        for event in db.session.scalars(select(WorkOrderEvent).where(
                WorkOrderEvent.work_order_id.in_([o.id for o in orders])).order_by(WorkOrderEvent.id)):
            events.setdefault(event.work_order_id, []).append(event)
        visits = Counter(db.session.scalars(select(Visit.work_order_id).where(
            Visit.work_order_id.in_([o.id for o in orders]))))
        for order in orders:
            trail = events.get(order.id, [])
            try:
                state = replay_events(trail)
            except ValueError:
                problems["a trail that does not hold together"] += 1
                continue
            if state["status"] != order.status.value:
                problems["status differs from the replay"] += 1
            if state["assignee"] != (order.assignee.username if order.assignee else None):
                problems["assignee differs from the replay"] += 1
            if not (len(state["visits"]) == order.visit_count == visits[order.id]):
                problems["visits differ from the replay"] += 1
            if state["events"] != order.version:
                problems["version differs from the number of events"] += 1
            acked = tally.acks[order.number]
            if max(acked) != order.version:
                problems["version is not the last one acknowledged"] += 1
            if len(set(acked)) != len(acked):
                problems["a version acknowledged twice"] += 1
            during = [e for e in trail if e.actor_id in load_ids and e.created_at >= since and e.action != "create"]
            if len(during) != len(acked):
                problems["events differ from the changes acknowledged"] += 1
    return {"orders": len(orders), "acks": sum(map(len, tally.acks.values())), **problems}


# ---------------------------------------------------------------- the run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backend", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--installers", type=int, default=None, help="100 on PostgreSQL, 20 on SQLite")
    parser.add_argument("--supervisors", type=int, default=5)
    parser.add_argument("--orders-per-installer", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--fault-seconds", type=float, default=None, help="20 on PostgreSQL, 0 on SQLite")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args()
    sqlite = args.backend == "sqlite"
    installers = args.installers or (20 if sqlite else 100)
    fault_seconds = args.fault_seconds if args.fault_seconds is not None else (0 if sqlite else 20)

    url, name = make_database(args.backend)
    server = None
    try:
        actors = prepare(url, installers, args.supervisors, args.orders_per_installer)
        port = free_port()
        server = start_gunicorn("fieldsvc.wsgi:app", port, args.workers, url)
        wait_until_up(port, "/healthz")
        base = f"http://127.0.0.1:{port}"
        tally = Tally()
        started = time.monotonic()
        asyncio.run(drive(actors, base, args.seconds, "load", tally))
        load_elapsed = time.monotonic() - started
        if fault_seconds:
            from sqlalchemy import create_engine, text

            def kill_a_worker() -> None:
                """SIGKILL a worker that is busy serving (state R), else the first."""
                workers = [int(p) for p in Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()]
                busy = [w for w in workers if Path(f"/proc/{w}/stat").read_text().rsplit(")", 1)[1].split()[0] == "R"]
                os.kill((busy or workers)[0], signal.SIGKILL)

            def cut_the_database() -> None:
                engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
                with engine.connect() as connection:
                    cut = connection.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                                  "WHERE datname = :name AND pid <> pg_backend_pid()"),
                                             {"name": name}).scalar()
                engine.dispose()
                print(f"  fault: {cut} database connections terminated", file=sys.stderr)

            FAULT_ACTIONS.update({"SIGKILL one gunicorn worker": kill_a_worker,
                                  "terminate every database connection": cut_the_database})
            asyncio.run(drive(actors, base, fault_seconds, "faults", tally,
                              faults=[(fault_seconds * 0.2, "SIGKILL one gunicorn worker"),
                                      (fault_seconds * 0.4, "SIGKILL one gunicorn worker"),
                                      (fault_seconds * 0.6, "terminate every database connection")]))
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        server = None
        result = check(url, tally, {a.username for a in actors})
    finally:
        if server is not None:
            server.kill()
        if not args.keep:
            drop_database(args.backend, name)

    by_status = {phase: dict(sorted(Counter({s: n for (p, s), n in tally.answers.items() if p == phase}).items()))
                 for phase in ("load", "faults")}
    served = {phase: sum(by_status[phase].values()) for phase in by_status}
    server_errors = {phase: sum(n for s, n in by_status[phase].items() if s >= 500) for phase in by_status}
    lost = {k: v for k, v in result.items() if k not in ("orders", "acks")}
    latencies = sorted(tally.latencies)
    print(f"{args.backend}, {sum(a.role == 'installer' for a in actors)} installers and "
          f"{sum(a.role == 'supervisor' for a in actors)} supervisors, {args.workers} workers:")
    print(f"  load phase {load_elapsed:.0f} s: {served['load']} answers ({served['load'] / load_elapsed:.0f}/s) "
          f"by status {by_status['load']}, resent {tally.resent['load']}")
    if fault_seconds:
        print(f"  fault phase {fault_seconds:.0f} s: {served['faults']} answers by status {by_status['faults']}, "
              f"resent after a lost answer {tally.resent['faults']}")
    print("  refusals (status, detail): " + ", ".join(f"{k}: {n}" for k, n in tally.refusals.most_common(8)))
    print(f"  p50 {latencies[len(latencies) // 2] * 1000:.0f} ms, p95 {latencies[int(len(latencies) * .95)] * 1000:.0f} ms")
    print(f"  {result['acks']} changes acknowledged on {result['orders']} orders; "
          f"'database is locked' seen by a client: {tally.locked}")
    print(f"  5xx: load {server_errors['load']}, faults {server_errors['faults']}; lost or doubled updates: "
          f"{lost or 'none'} (every order equals the replay of its events)")
    failed = server_errors["load"] or lost or tally.locked or by_status["faults"].get(500, 0) or \
        by_status["load"].get(0, 0) or by_status["faults"].get(0, 0)
    print("FAILED" if failed else "passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
