"""Work orders: `days` days of them, a day at a time, each simulated from creation through
dispatch, visits and revisits to its end, then cut at the demo's `now`; with their event trail,
rating links and ratings, written in bulk (bulk.py)."""
from __future__ import annotations

import hashlib
import math
import secrets
import time as wallclock
from array import array
from bisect import bisect, insort
from datetime import datetime
from random import Random
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..db import UTC, without_statement_timeout
from ..extensions import db
from ..rules.services import setting
from ..workforce.models import JobType
from ..workorders.services import compute_due_by, order_number
from .bulk import (
    BulkWriter,
    pg_drop_bulk_constraints,
    pg_reset_sequences,
    sqlite_drop_bulk_indexes,
    sqlite_restore_indexes,
)
from .organisation import DemoInstaller
from .reference import (
    CANCEL_REASONS,
    COMMENTS_BAD,
    COMMENTS_GOOD,
    COMMENTS_MIDDLE,
    DISTRICT_INFO,
    DURATION_SIGMA,
    ESTATES,
    FAULT_CAUSES,
    FOLLOWUP_CLOSE_NOTES,
    FOLLOWUP_CONTACT_NOTES,
    HOURLY,
    INSTALLER_FAULT_REASONS,
    JOB_MIX,
    JOBS_PER_DAY,
    MOBILE_PREFIXES,
    ONU_VENDORS,
    ORDER_NOTES,
    REASON_NOTES,
    REASONS,
    WEEKEND_INSTALL_BOOST,
    WINDOW_WEIGHTS,
    WINDOWS,
    clip,
    cum,
    person_name,
    phone_number,
    pick,
    poisson_cum,
)
from .service import ServiceHistory

if TYPE_CHECKING:
    from .seed import Seeder

# Where a work order's row keeps its last change and its version (BulkWriter.COLUMNS).
UPDATED_AT = BulkWriter.COLUMNS["work_orders"].index("updated_at")
VERSION = BulkWriter.COLUMNS["work_orders"].index("version")

DAY_ENDS = 22 * 3600 + 1800  # local time by which every visit has ended (so nobody works at night)
COMMIT_EVERY_DAYS = 7  # SQLite: commit this often while writing orders
REVISIT_DAYS = 12  # a revisit is booked within this many days: new orders stop as long before an installer's last day
CUSTOMER_BATCH = 20_000


class Orders:
    """`days` days of work orders, a day at a time, with visits, events, invitations and ratings."""

    def __init__(self, seeder: Seeder) -> None:
        self.s = seeder
        self.rng = seeder.rng
        self.bulk = BulkWriter(seeder.day_date(seeder.first_n - 10), seeder.day_date(seeder.today_n + 10))
        # The rules the lifecycle applies when an installer completes a job (PRODUCT.md §4).
        self.link_seconds = int(setting("survey_link_days", seeder.today)) * 86400
        self.contact_seconds = int(setting("followup_contact_hours", seeder.today)) * 3600
        self.remind_seconds = int(float(setting("rating_reminder_after_hours", seeder.today)) * 3600)
        low, high = setting("rx_power_band_dbm", seeder.today)
        self.rx_band = (float(low), float(high))
        # Loaded again (the last commit expired them): while orders are made on PostgreSQL, the
        # connection belongs to the COPY writer, and reading an expired attribute would query it.
        self.job_types = {jt.code: jt for jt in db.session.scalars(select(JobType))}
        self.job_codes = [c for c in JOB_MIX if c in self.job_types]
        codes = seeder.district_codes
        self.district_index = {c: i for i, c in enumerate(codes)}
        self.district_id = [seeder.district_ids[c] for c in codes]
        self.outer = [not seeder.district_central[c] for c in codes]
        self.centre = [DISTRICT_INFO[c].centre for c in codes]
        self.jobs_cum = {wd: poisson_cum(mean) for wd, mean in JOBS_PER_DAY.items()}
        self.window_cum = cum(WINDOW_WEIGHTS)
        self.creation = [self._creation_table(start) for start in WINDOWS]
        self.daytime_cum = cum([w if 8 <= h <= 21 else 0 for h, w in enumerate(HOURLY)])
        self.reasons = list(REASONS)
        self.fault_cum = cum(w for _c, w in FAULT_CAUSES)
        self.pending: dict[int, list[tuple[int, int]]] = {}  # day → [(customer id, district index)]
        self._iso: dict[int, str] = {}  # booking windows' bounds (on the half hour) in ISO 8601
        self.prepare_installers()

    # -- set-up

    @staticmethod
    def _creation_table(start_hour: int) -> tuple[list[int], list[float]]:
        """When orders for a window starting at `start_hour` were created: hours relative to the
        appointment day's midnight (yesterday's count less before the 16:00 cut-off: those were
        mostly served yesterday), at least two hours before the window."""
        hours = list(range(-24, start_hour - 2))
        weights = [HOURLY[h + 24] * (1.0 if h + 24 >= 16 else 0.12) if h < 0 else HOURLY[h] for h in hours]
        return hours, cum(weights)

    def prepare_installers(self) -> None:
        mix = [JOB_MIX[c][0] for c in self.job_codes]
        weekend = [w * (WEEKEND_INSTALL_BOOST if c == "install" else 1.0) for c, w in zip(self.job_codes, mix, strict=True)]
        reason_weights = [REASONS[r][0] for r in self.reasons]
        # The job mix by the certificates held (FTTH for installs and relocations, skill level 3
        # for smart-home jobs): weekdays, weekends.
        self.type_cums: dict[tuple[bool, bool], tuple[list[float], list[float]]] = {}
        for ftth in (False, True):
            for skill3 in (False, True):
                allowed = [not ((c in ("install", "relocation") and not ftth) or (c == "smart_home" and not skill3))
                           for c in self.job_codes]
                self.type_cums[ftth, skill3] = (cum(w * a for w, a in zip(mix, allowed, strict=True)),
                                                cum(w * a for w, a in zip(weekend, allowed, strict=True)))
        for installer in self.s.installers:
            fault = clip(1 - 0.35 * installer.skill, 0.3, 2.0)
            installer.reason_cum = cum(w * (fault if r in INSTALLER_FAULT_REASONS else 1.0)
                                        for r, w in zip(self.reasons, reason_weights, strict=True))
            installer.district_cum = cum(w for _d, w in installer.team.districts)
            installer.last_new_day = installer.last_day - REVISIT_DAYS
        # Who can take a repeat repair in each district.
        self.by_district: list[list[DemoInstaller]] = [[] for _ in self.district_id]
        for installer in self.s.installers:
            for code, _w in installer.team.districts:
                self.by_district[self.district_index[code]].append(installer)

    def customers(self) -> None:
        """Enough accounts per district that an account sees at most about one order a month by
        chance, so repeat repairs are the ones generated on purpose."""
        s, rng = self.s, self.rng
        daily = [0.0] * len(self.district_id)
        for team in s.teams:
            total = sum(w for _d, w in team.districts)
            for code, w in team.districts:
                daily[self.district_index[code]] += len(team.installers) * 4.8 * w / total
        self.pool_start: list[int] = []
        self.pool_size: list[int] = []
        self.addresses: list[str] = [""]  # by customer id
        bulk = self.bulk
        rows = bulk.rows["customers"]
        next_id = 1
        for index, code in enumerate(s.district_codes):
            size = int(daily[index] * 60) + 50
            self.pool_start.append(next_id)
            self.pool_size.append(size)
            info = DISTRICT_INFO[code]
            district_name = s.district_names[code][0]
            for _ in range(size):
                female = rng.random() < 0.5
                name, _en = person_name(rng, female)
                road = info.roads[int(rng.random() * len(info.roads))]
                estate = ESTATES[int(rng.random() * len(ESTATES))]
                address = (f"武汉市{district_name}{road}{rng.randint(1, 888)}号{estate}"
                           f"{rng.randint(1, 36)}栋{rng.randint(1, 4)}单元{rng.randint(1, 33)}{rng.randint(1, 6):02d}室")
                self.addresses.append(address)
                created = (s.first_n - rng.randint(1, 3000)) * 86400 - s.offset + rng.randint(8 * 3600, 20 * 3600)
                rows.append((next_id, f"027{index + 1:02d}{next_id:08d}", name, phone_number(rng, MOBILE_PREFIXES), address,
                             self.district_id[index], bulk.ts(created)))
                next_id += 1
                if len(rows) >= CUSTOMER_BATCH:
                    bulk.flush()
                    rows = bulk.rows["customers"]
        self.last_used = array("i", [-(10**6)]) * next_id
        bulk.flush()

    # -- the loop

    def run(self) -> None:
        s, bulk = self.s, self.bulk
        connection = bulk.connection
        restore: list[str] = []
        if bulk.postgres:
            without_statement_timeout(connection)  # one transaction of COPYs, then index rebuilds
            connection.exec_driver_sql("SET LOCAL synchronous_commit = off")
            connection.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
            restore = pg_drop_bulk_constraints(connection)
        else:
            restore = sqlite_drop_bulk_indexes(connection)
        started = wallclock.monotonic()
        last_report = started
        self.ids = {name: 0 for name in BulkWriter.ORDER}
        self.service = ServiceHistory(s, bulk, self.ids)  # (reads the standards before COPY has the connection)
        last = s.today_n + 4  # a few days ahead: appointments already booked by now
        bulk.start()
        try:
            self.customers()
            for day in range(s.first_n, last + 1):
                self.day(day)
                bulk.flush()
                if not bulk.postgres and (day - s.first_n) % COMMIT_EVERY_DAYS == COMMIT_EVERY_DAYS - 1:
                    db.session.commit()
                    bulk.connection = db.session.connection()
                if wallclock.monotonic() - last_report > 30:
                    last_report = wallclock.monotonic()
                    s.echo(f"  … {s.day_date(day)}: {bulk.counts['work_orders']:,} work orders "
                           f"({last_report - started:.0f} s)")
            bulk.finish()
        except BaseException:
            bulk.abort()  # the connection is the caller's again before the error goes up
            if not bulk.postgres:  # the weeks committed already keep their indexes
                db.session.rollback()
                sqlite_restore_indexes(db.session.connection(), restore)
                db.session.commit()
            raise
        if not bulk.postgres:
            sqlite_restore_indexes(db.session.connection(), restore)
        if bulk.postgres:
            s.echo(f"  rows written ({wallclock.monotonic() - started:.0f} s); rebuilding indexes and keys")
            for statement in restore:
                connection.exec_driver_sql(statement)
            pg_reset_sequences(connection, [
                "teams", "users", "training_courses", "training_sessions", "training_records", "certifications",
                *(name for name in BulkWriter.ORDER if name != "order_standards")])  # (keyed by its order)
        db.session.commit()
        # Planner statistics for the new rows, on SQLite too: without them SQLite reads a day's
        # completed orders through the status index (all of them) rather than completed_at (the
        # metrics engine's day took 1.3 s instead of 0.2 s on 2 M orders).
        connection = db.session.connection()
        without_statement_timeout(connection)
        connection.exec_driver_sql("ANALYZE")
        db.session.commit()
        s.counts.update({name: bulk.counts[name] for name in BulkWriter.ORDER})

    def day(self, day: int) -> None:
        """Every installer's jobs with appointments on local day number `day`."""
        s, rng = self.s, self.rng
        R = rng.random
        weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
        weekend = weekday >= 5
        jobs_cum = self.jobs_cum[weekday]
        midnight = day * 86400 - s.offset
        week = (day + 3) // 7
        forced: dict[int, list[tuple[int, int]]] = {}
        for customer, district in self.pending.pop(day, []):
            choices = self.by_district[district]
            for _ in range(4):
                installer = choices[int(R() * len(choices))]
                if self._works(installer, day, week):
                    forced.setdefault(installer.id, []).append((customer, district))
                    break
        for installer in s.installers:
            busy = installer.busy
            if busy and busy[0][1] <= midnight:  # yesterday's visits are over
                del busy[:bisect(busy, (midnight, midnight))]
            if not self._works(installer, day, week):
                continue
            # Sick leave, training, a day in lieu (not on a day with revisits booked already).
            if R() < 0.015 and not (busy and busy[0][0] < midnight + 86400):
                continue
            repeats = forced.get(installer.id, ())
            count = max(bisect(jobs_cum, R() * jobs_cum[-1]), len(repeats))
            windows = self._windows(count)
            type_cum = self.type_cums[installer.has_ftth and day >= installer.ftth_from,
                                      installer.has_skill3 and day >= installer.skill3_from][weekend]
            for k, window in enumerate(windows):
                if k < len(repeats):
                    customer, district = repeats[k]
                    code = "repair"
                else:
                    code = self.job_codes[bisect(type_cum, R() * type_cum[-1])]
                    district = self.district_index[installer.team.districts[
                        bisect(installer.district_cum, R() * installer.district_cum[-1])][0]]
                    customer = self._customer(district, day)
                self.last_used[customer] = day
                self.order(installer, day, midnight, window, code, customer, district, k < len(repeats))

    def _works(self, installer: DemoInstaller, day: int, week: int) -> bool:
        """Whether the installer takes new orders on `day`: six-day weeks with a rest day that
        moves by one each week, from their hiring to a fortnight before their last day."""
        if day > installer.last_new_day or day < installer.hired_day:
            return False
        return (day + 3) % 7 != (installer.rest_offset + week) % 7

    @staticmethod
    def _on_duty(installer: DemoInstaller, day: int) -> bool:
        """Whether the installer can make a (re)visit on `day`: not a rest day, hired, not gone."""
        if day > installer.last_day or day < installer.hired_day:
            return False
        return (day + 3) % 7 != (installer.rest_offset + (day + 3) // 7) % 7

    @staticmethod
    def _free_from(busy: list[tuple[int, int]], start: int, length: int) -> int:
        """The earliest instant from `start` at which `length` seconds overlap none of the
        installer's booked visits (`busy`: in time order, none overlapping)."""
        t = start
        i, n = max(bisect(busy, (start, start)) - 1, 0), len(busy)
        while i < n:
            b0, b1 = busy[i]
            if b0 >= t + length:
                break
            if b1 > t:
                t = b1
            i += 1
        return t

    def _windows(self, count: int) -> list[int]:
        """Booking windows for the day's jobs, in time order: one per window (a job and the way to
        it take most of two hours), two in some on days of more jobs than windows."""
        taken = [0] * len(WINDOWS)
        chosen = []
        R = self.rng.random
        cum = self.window_cum
        most = 1 if count <= len(WINDOWS) else 2
        for _ in range(count):
            w = bisect(cum, R() * cum[-1])
            while taken[w] >= most:
                w = (w + 1) % len(WINDOWS)
            taken[w] += 1
            chosen.append(w)
        chosen.sort()
        return chosen

    def _customer(self, district: int, day: int) -> int:
        """An account of the district not served in the last five weeks (a few tries)."""
        R = self.rng.random
        start, size = self.pool_start[district], self.pool_size[district]
        last_used = self.last_used
        customer = start + int(R() * size)
        for _ in range(6):
            if day - last_used[customer] > 35:
                break
            customer = start + int(R() * size)
        return customer

    # -- one order

    def order(self, inst: DemoInstaller, day: int, midnight: int, window: int, code: str, customer: int,
              district: int, is_repeat: bool) -> None:
        """Simulate one order to its end around the installer's other visits (booking its visits
        in `inst.busy`), cut it at the demo's `now`, emit its rows; nothing when the installer's
        day has no room for it."""
        s, rng = self.s, self.rng
        R = rng.random
        offset = s.offset
        jt = self.job_types[code]
        _share, median, fv_adjust, ahead = JOB_MIX[code]
        skill = inst.skill
        outer = self.outer[district]
        # How far and how long; the window, the first one drawn in which the installer can be
        # there (the customer books the next slot the installer has: one job at a time).
        travel = 1800 + int(R() * 1800) if outer else 900 + int(R() * 900)
        duration = int(median * 60 * math.exp(DURATION_SIGMA * rng.gauss(0, 1)))
        busy = inst.busy
        while True:
            ws = midnight + WINDOWS[window] * 3600
            we = ws + 7200
            if window == len(WINDOWS) - 1 or self._free_from(busy, ws - travel, travel + duration) <= we - 300 - travel:
                break
            window += 1

        # Created: days ahead (booked at once), or from the hourly pattern before the window.
        booked_at_creation = False
        if not is_repeat and R() < ahead:
            created = midnight - 86400 * rng.randint(1, 4) + pick(R, self.daytime_cum) * 3600 + int(R() * 3600)
            booked_at_creation = True
        else:
            hours, cum = self.creation[window]
            created = midnight + hours[bisect(cum, R() * cum[-1])] * 3600 + int(R() * 3600)
        local = created + offset
        c_mid = local - local % 86400 - offset  # midnight (UTC epoch) of the creation's local day
        c_sec = local % 86400
        # The deadline the services fix at creation (compute_due_by; in the local zone, so the
        # rule converts nothing). A window within it leaves it where it is; a later one moves it
        # to the window's end, and must have been the customer's choice, booked at creation.
        created_at = datetime.fromtimestamp(created, s.tz)
        due = int(compute_due_by(jt, created_at, None, s.tz).timestamp())
        if we > due:
            booked_at_creation = True
            due = int(compute_due_by(jt, created_at, datetime.fromtimestamp(we, s.tz), s.tz).timestamp())
        elif not booked_at_creation:
            booked_at_creation = R() < 0.6

        # Dispatch: assigned within the hour in office hours, else next morning; accepted soon after.
        c_hour = c_sec // 3600
        if c_hour < 8:
            t_assign = c_mid + 8 * 3600 + int(R() * 2400)
        elif c_hour >= 21:
            t_assign = c_mid + 86400 + 8 * 3600 + int(R() * 2400)
        else:  # most within minutes; some wait for a busy dispatcher, until the next morning at worst
            roll = R()
            t_assign = created + (180 + int(R() * 1020) if roll < 0.55 else 1200 + int(R() * 4200) if roll < 0.85
                                  else 5400 + int(R() * 9000))
            g_sec = (t_assign + offset) % 86400
            if g_sec >= 22 * 3600 or g_sec < 8 * 3600:
                t_assign += (86400 if g_sec >= 22 * 3600 else 0) - g_sec + 8 * 3600 + int(R() * 2400)
        # Accepted and booked: the times come from the service standard's generator (service.py:
        # the booking call within the rule's minutes, mostly). The main stream still makes the draws
        # it made for them before the standard came, so everything after them is drawn as before.
        roll = R()
        t_before = t_assign + (60 + int(R() * 840) if roll < 0.5 else 900 + int(R() * 4500) if roll < 0.85
                               else 5400 + int(R() * 12600))
        a_sec = (t_before + offset) % 86400
        if a_sec >= 21 * 3600 or a_sec < 7 * 3600:
            R()
        R()
        t_accept, t_book = self.service.answer(t_assign, skill)

        # First visit: usually inside the window, finishing by the deadline; sometimes late.
        late = clip(0.022 - 0.008 * skill, 0.003, 0.1) + (0.015 if outer else 0.0)
        if R() < late:
            arrive = we + 300 + int(R() * 3000)
        else:
            # Early in the window, as the day's route allows (the installer's other visits,
            # below, may make it later).
            latest = min(we - 300, due - duration - 300)
            arrive = ws + int(R() * min(2400, latest - ws)) if latest > ws else ws
        if arrive + duration > due - 300 and due - 600 - arrive > 1200 and R() < 0.9:
            duration = due - 600 - arrive - int(R() * 600)  # a long job finished against the deadline
        if arrive + duration > midnight + DAY_ENDS:
            duration = max(midnight + DAY_ENDS - arrive - int(R() * 900), 600)
        depart = arrive - travel
        last_step = t_book  # every order is booked by a call, even one booked at its creation
        if last_step > depart - 120:  # squeeze dispatch into the time there was (from 07:00 on that day)
            begin = max(created, midnight + 7 * 3600)
            span = max(depart - begin, 240)
            t_assign = begin + span // 5
            t_accept = t_assign + min(span // 5, 240)
            t_book = t_accept + min(span // 5, 480)
            if depart < begin + span * 4 // 5:
                depart = begin + span * 4 // 5
                arrive = max(arrive, depart + 300)
        # The installer's other visits come first: leave once free (one job at a time). When that
        # would be past the window by the hour, the day is full and a colleague took the order.
        start = self._free_from(busy, depart, arrive + duration - depart)
        if start != depart:
            if start + (arrive - depart) > we + 3000:
                return
            depart, arrive = start, start + (arrive - depart)
            if arrive + duration > midnight + DAY_ENDS:
                duration = max(midnight + DAY_ENDS - arrive - int(R() * 900), 600)

        sup = inst.team.supervisor_id
        by_crm = R() < 0.65
        actor_create = None if by_crm else sup
        ref = None
        ev: list[list[Any]] = []  # [t, actor, action, from, to, note, lat, lon, data]
        windows: list[tuple[int, int | None, int | None]] = []  # (t, start, end): the order's window over time
        note = ORDER_NOTES[int(R() * len(ORDER_NOTES))] if R() < 0.12 else None
        ev.append([created, actor_create, "create", None, "new", note, None, None, None])
        if booked_at_creation:
            windows.append((created, ws, we))
        else:
            windows.append((created, None, None))
        username = inst.username
        ev.append([t_assign, sup, "assign", "new", "assigned", None, None, None,
                   f'{{"assignee": "{username}", "previous": null}}'])

        visits: list[list[Any]] = []
        status_final = "completed"
        evidence = None
        cancel_reason = None
        lat0, lon0 = self.centre[district]
        lat = round(lat0 + (R() - 0.5) * 0.06, 6)
        lon = round(lon0 + (R() - 0.5) * 0.06, 6)

        if R() < 0.011:  # cancelled before anyone went
            t_cancel = created + int((depart - created) * (0.1 + 0.8 * R()))
            ev = [e for e in ev if e[0] < t_cancel]
            if t_accept < t_cancel:
                ev.append([t_accept, inst.id, "accept", "assigned", "accepted", None, None, None, None])
                if t_book < t_cancel:
                    ev.append([t_book, inst.id, "book", "accepted", "accepted", None, None, None,
                               self._book_data(ws, we, booked_at_creation)])
                    if not booked_at_creation:
                        windows.append((t_book, ws, we))
            before = ev[-1][4]
            cancel_reason = CANCEL_REASONS[int(R() * len(CANCEL_REASONS))]
            ev.append([t_cancel, sup if R() < 0.6 else None, "cancel", before, "cancelled", None, None, None,
                       f'{{"reason": "{cancel_reason}"}}'])
            status_final = "cancelled"
        else:
            ev.append([t_accept, inst.id, "accept", "assigned", "accepted", None, None, None, None])
            # The booking call; on an order booked at its creation it confirms the window.
            ev.append([t_book, inst.id, "book", "accepted", "accepted", None, None, None,
                       self._book_data(ws, we, booked_at_creation)])
            if not booked_at_creation:
                windows.append((t_book, ws, we))
            p_first = clip(0.885 + 0.035 * skill, 0.80, 0.97) + fv_adjust
            resolved = R() < p_first
            seq = 1
            aps, ape = ws, we
            while True:
                if arrive - depart > 0:
                    ev.append([depart, inst.id, "depart", "accepted", "en_route", None, None, None, None])
                    ev.append([arrive, inst.id, "arrive", "en_route", "on_site", None, lat, lon, None])
                else:
                    ev.append([arrive, inst.id, "arrive", "accepted", "on_site", None, lat, lon, None])
                if resolved:
                    left = arrive + duration
                    insort(inst.busy, (depart, left))
                    visits.append([seq, arrive, left, "resolved", None, aps, ape, depart])
                    evidence = self._evidence(code, skill)
                    ev.append([left, inst.id, "complete", "on_site", "completed", None, lat, lon,
                               '{"evidence": ' + evidence + "}"])
                    break
                reason = self.reasons[bisect(inst.reason_cum, R() * inst.reason_cum[-1])]
                if seq > 1 and reason == "customer_cancel":
                    reason = "needs_second_visit"
                left = arrive + (int(duration * (0.2 + 0.3 * R())) if reason == "customer_absent"
                                 else int(duration * (0.4 + 0.5 * R())))
                insort(inst.busy, (depart, left))
                visits.append([seq, arrive, left, "not_resolved", reason, aps, ape, depart])
                notes = REASON_NOTES[reason]
                ev.append([left, inst.id, "leave_unresolved", "on_site", "accepted",
                           notes[int(R() * len(notes))] if R() < 0.7 else None, lat, lon,
                           f'{{"reason": "{reason}"}}'])
                windows.append((left, None, None))
                revisit = None
                if not (reason == "customer_cancel" or (reason == "no_coverage" and R() < 0.5)):
                    revisit = self._revisit(inst, reason, seq, outer, left, travel, median, due)
                if revisit is None:  # withdrawn by the customer, no fibre to be had, or nobody free to return
                    t_cancel = left + 600 + int(R() * 6600)
                    cancel_reason = "无光纤资源，退单" if reason == "no_coverage" else "用户撤单"
                    ev.append([t_cancel, sup, "cancel", "accepted", "cancelled", None, None, None,
                               f'{{"reason": "{cancel_reason}"}}'])
                    status_final = "cancelled"
                    break
                aps, t_book2, depart, arrive, duration = revisit
                ape = aps + 7200
                ev.append([t_book2, inst.id, "book", "accepted", "accepted", None, None, None,
                           self._book_data(aps, ape)])
                windows.append((t_book2, aps, ape))
                seq += 1
                resolved = seq >= 3 or R() < clip(0.85 + 0.05 * skill, 0.7, 0.97)

        # Cut at the demo's `now`: what would happen later has not happened yet.
        vnow = s.vnow
        planned = visits  # as simulated: the checklist and support rows are cut at `now` themselves
        if ev[-1][0] > vnow:
            if created > vnow:
                return
            ev = [e for e in ev if e[0] <= vnow]
            planned = [v[:] for v in visits]
            visits = [v for v in visits if v[1] <= vnow]
            if visits and visits[-1][2] > vnow:
                visits[-1][2:5] = [None, None, None]
            windows = [w for w in windows if w[0] <= vnow]
            status = ev[-1][4]
        else:
            status = status_final
        assigned = any(e[2] == "assign" for e in ev)
        app_start, app_end = windows[-1][1], windows[-1][2]

        bulk = self.bulk
        ts = bulk.ts
        ids = self.ids
        ids["work_orders"] += 1
        order_id = ids["work_orders"]
        number = order_number(order_id, created_at, s.tz)
        if by_crm:
            ref = f"CRM{created_at.year}{created_at.month:02d}{created_at.day:02d}{order_id:08d}"  # local date
            ev[0][8] = f'{{"external_ref": "{ref}"}}'
        completed_at = ev[-1][0] if status == "completed" else None
        cancelled_at = ev[-1][0] if status == "cancelled" else None
        is_height = code in ("install", "relocation", "repair") and inst.has_height and day >= inst.height_from and R() < 0.04
        priority = self._priority(code)
        bulk.rows["work_orders"].append((
            order_id, number, ref, jt.id, priority, customer, self.district_id[district], self.addresses[customer],
            inst.team.id if assigned else None, inst.id if assigned else None, status, is_height, ev[0][5],
            ts(app_start) if app_start else None, ts(app_end) if app_end else None, ts(created), ts(ev[-1][0]),
            ts(due), ts(completed_at) if completed_at else None, inst.id if completed_at else None,
            ts(cancelled_at) if cancelled_at else None, cancel_reason if cancelled_at else None,
            evidence if completed_at else None, len(ev), len(visits)))
        visit_rows = bulk.rows["visits"]
        first_visit_id = ids["visits"] + 1
        for seq, arrived, left, outcome, reason, v_start, v_end, _departed in visits:
            ids["visits"] += 1
            visit_rows.append((ids["visits"], order_id, seq, inst.id, ts(arrived), ts(left) if left else None,
                               outcome, reason, ts(v_start) if v_start else None, ts(v_end) if v_end else None,
                               lat, lon))
        service = self.service
        first_book = next((e[0] for e in ev if e[2] == "book"), None)
        service.order(order_id, jt.id, created, inst, t_assign, first_book, planned, first_visit_id)
        support = service.support(order_id, inst, planned) if planned else None
        if support:  # its steps among the order's (they do not move its version)
            ev = sorted(ev + support, key=_time)
        event_rows = bulk.rows["work_order_events"]
        event_id = ids["work_order_events"]
        for t, actor, action, before, after, text, e_lat, e_lon, data in ev:
            event_id += 1
            event_rows.append((event_id, order_id, actor, ts(t), action, before, after, text, e_lat, e_lon, data))
        ids["work_order_events"] = event_id

        if completed_at is not None:
            self._rating(order_id, inst, completed_at, len(visits) > 1 or completed_at > due,
                         visits[0][1] <= visits[0][6])
            if code == "repair" or code == "install":
                base = 0.07 if code == "repair" else 0.02
                if R() < base * math.exp(-0.35 * skill) / 1.063 * (0.85 if inst.star >= 3 else 1.1):
                    window_days = 29 if code == "repair" else 14
                    completed_day = (completed_at + offset) // 86400
                    self.pending.setdefault(completed_day + rng.randint(2, window_days), []).append(
                        (customer, district))

    def _revisit(self, inst: DemoInstaller, reason: str, seq: int, outer: bool, left: int, travel: int,
                 median: float, due: int) -> tuple[int, int, int, int, int] | None:
        """The visit after a failed one: agreed on the phone for later today (any two hours on the
        half hour, ending by 21:30) when the reason allows, else a booking window on a later day
        the installer works, the first such window where they are free; (window start, booked
        at, departure, arrival, duration on site), or None when they have no such day left."""
        rng, offset = self.rng, self.s.offset
        R = rng.random
        _share, same_day, later_days = REASONS[reason]
        if outer:
            same_day *= 0.75
        left_local = (left + offset) % 86400
        duration = int(median * 60 * math.exp(DURATION_SIGMA * rng.gauss(0, 1)))
        if seq == 1 and R() < same_day:
            start_local = -(-(left_local + 2700 + int(R() * 5400)) // 1800) * 1800
            if start_local + 7200 <= 21 * 3600 + 1800:
                slot = self._revisit_slot(inst, left - left_local + start_local, left, travel, duration, due)
                if slot is not None:
                    return slot
        day = (left + offset) // 86400 + (1 + int(R() * later_days) if later_days > 1 else 1)
        w2 = bisect(self.window_cum, R() * self.window_cum[-1])
        for _ in range(3 * len(WINDOWS)):  # that window, else the next free one
            while day <= inst.last_day and not self._on_duty(inst, day):
                day += 1
            if day > inst.last_day:
                return None
            slot = self._revisit_slot(inst, day * 86400 - offset + WINDOWS[w2] * 3600, left, travel, duration, due)
            if slot is not None:
                return slot
            w2 += 1
            if w2 == len(WINDOWS):
                w2, day = 0, day + 1
        return None

    def _revisit_slot(self, inst: DemoInstaller, aps: int, left: int, travel: int, duration: int,
                      due: int) -> tuple[int, int, int, int, int] | None:
        """The revisit in the window from `aps`, once the installer is free, arriving before its
        end; None when their other visits leave no room."""
        R = self.rng.random
        t_book = left + 120 + int(R() * min(3600, max(300, aps - left - 1800)))
        arrive = aps + int(R() * 4500)
        depart = max(arrive - travel, t_book + 60)
        if arrive + duration > due - 300 and due - 900 - arrive > 1200:  # finish in time if at all possible
            duration = min(duration, due - 900 - arrive)
        day_ends = aps - (aps + self.s.offset) % 86400 + DAY_ENDS
        if arrive + duration > day_ends:
            duration = max(day_ends - arrive - int(R() * 900), 600)
        start = self._free_from(inst.busy, depart, arrive + duration - depart)
        if start != depart:
            depart, arrive = start, start + arrive - depart
            if arrive > aps + 7200 - 300 or arrive + duration > day_ends:
                return None
        return aps, t_book, depart, arrive, duration

    def _book_data(self, start: int, end: int, confirms: bool = False) -> str:
        """The `book` event's data; `confirms`: the window was booked already (at the order's creation)."""
        iso = self._iso
        iso_start = iso.get(start) or iso.setdefault(start, datetime.fromtimestamp(start, UTC).isoformat())
        iso_end = iso.get(end) or iso.setdefault(end, datetime.fromtimestamp(end, UTC).isoformat())
        previous = f', "previous_start": "{iso_start}"' if confirms else ""
        return f'{{"appointment_start": "{iso_start}", "appointment_end": "{iso_end}"{previous}}}'

    def _priority(self, code: str) -> str:
        roll = self.rng.random()
        if code == "repair":
            return "urgent" if roll < 0.03 else "high" if roll < 0.15 else "normal"
        if code == "removal":
            return "low" if roll < 0.6 else "normal"
        return "high" if roll < 0.06 else "normal"

    def _evidence(self, code: str, skill: float) -> str:
        """The completion evidence as the lifecycle stores it (no photos in the demo)."""
        R = self.rng.random
        if code in ("install", "relocation", "upgrade"):
            vendor = ONU_VENDORS[int(R() * len(ONU_VENDORS))]
            serial = f"{vendor}{self.rng.getrandbits(32):08X}"
            if R() < clip(0.02 - 0.008 * skill, 0.004, 0.08):
                rx = -27.2 - R() * 3 if R() < 0.8 else -7.8 + R() * 2.5
            else:
                rx = -16.0 - 7.0 * (R() + R()) / 2
            in_band = "true" if self.rx_band[0] <= rx <= self.rx_band[1] else "false"
            return (f'{{"onu_serial": "{serial}", "rx_power_dbm": {rx:.2f}, "rx_power_in_band": {in_band}, '
                    f'"photos": 0, "signature": false}}')
        if code == "repair":
            cause = FAULT_CAUSES[bisect(self.fault_cum, R() * self.fault_cum[-1])][0]
            return f'{{"fault_cause": "{cause}", "photos": 0, "signature": false}}'
        if code == "smart_home":
            plan = (300, 500, 1000)[int(R() * 3)]
            return f'{{"speed_mbps": {plan * (0.86 + 0.12 * R()):.1f}, "photos": 0, "signature": false}}'
        return '{"photos": 0, "signature": false}'

    def _rating(self, order_id: int, inst: DemoInstaller, completed: int, troubled: bool, on_time: bool) -> None:
        """The order's rating link and, for about a quarter, the customer's stars (DOMAIN §3.4)."""
        rng, bulk, ids = self.rng, self.bulk, self.ids
        R = rng.random
        ts = bulk.ts
        ids["survey_invitations"] += 1
        invitation_id = ids["survey_invitations"]
        # Random from the system, not the seed: the demo's rating links must not be guessable.
        token_hash = hashlib.sha256(secrets.token_bytes(24)).hexdigest()
        expires = completed + self.link_seconds
        submitted = None
        if R() < 0.25:
            submitted = completed + (60 + int(R() * 1140) if R() < 0.6 else 1800 + int(R() * 170000))
            if submitted > self.s.vnow:
                submitted = None
        # The history's reminders went out a day after completion to links still unused then, and
        # the links that ran out are marked, as the scheduler would have done (so starting the demo
        # does not text the whole history).
        reminded = completed + self.remind_seconds
        if (submitted is not None and submitted <= reminded) or reminded >= expires or reminded > self.s.vnow:
            reminded = None
        expired = expires if submitted is None and expires <= self.s.vnow else None
        bulk.rows["survey_invitations"].append((invitation_id, order_id, token_hash, ts(completed), ts(expires),
                                                ts(submitted) if submitted else None,
                                                ts(reminded) if reminded else None, ts(expired) if expired else None))
        if submitted is None:
            return
        # Dissatisfied (1–2 stars) 0.8% across the branch, from about 0.1% in the best team to
        # 2.5% in the weakest, at most 4% for anyone (10% of their troubled jobs); 3–4 stars
        # about 4% (strict 95%, best team 98%, weakest 89%: DOMAIN.md §3.4). A ★3+ service
        # certificate helps, a late or repeated visit hurts.
        skill = inst.skill
        bonus = 0.8 if inst.star >= 3 else 1.0
        p_bad = min(0.0057 * math.exp(-0.8 * skill) * bonus, 0.04) * (2.5 if troubled else 1.0)
        p_mid = 0.035 * math.exp(-0.5 * skill) * bonus * (1.8 if troubled else 1.0)
        roll = R()
        score = (1 if R() < 0.4 else 2) if roll < p_bad else (3 if R() < 0.3 else 4) if roll < p_bad + p_mid else 5
        punctuality = professionalism = result = None
        if R() < 0.6:
            punctuality = 5 if on_time else 2 + int(R() * 3)
            professionalism = max(1, min(5, score + (int(R() * 3) - 1 if score < 5 else 0)))
            result = max(1, score - 1) if troubled and score < 5 else score
        comment = None
        if R() < (0.6 if score <= 2 else 0.15):
            pool = COMMENTS_GOOD if score == 5 else COMMENTS_MIDDLE if score >= 3 else COMMENTS_BAD
            comment = pool[int(R() * len(pool))]
        ids["survey_responses"] += 1
        bulk.rows["survey_responses"].append((ids["survey_responses"], invitation_id, order_id, inst.id, score,
                                              punctuality, professionalism, result, comment, ts(submitted)))
        if score <= 2:
            self._followup(ids["survey_responses"], order_id, inst, submitted)

    def _followup(self, response_id: int, order_id: int, inst: DemoInstaller, opened: int) -> None:
        """The follow-up (回访) a dissatisfied rating opens, as far as its team's supervisor has got
        with it by now: most contacted within the day (some late), then closed within a few days;
        its steps on the order's trail. Its own random stream (by the rating), so the rest of the
        demo is drawn as before. No revisit is booked in the demo (that would be another order)."""
        rng = Random(f"followup:{response_id}")  # nosec B311  (demo data, not a secret)
        ts, rows = self.bulk.ts, self.bulk.rows
        due = opened + self.contact_seconds
        supervisor = inst.team.supervisor_id
        outcome = ("resolved", "explained", "customer_unreachable", "not_installer_fault")[
            bisect((0.4, 0.75, 0.85), rng.random())]
        contacted = closed = None
        if outcome == "customer_unreachable":  # tried for a day or two, then closed without a contact
            closed = opened + int(86400 * (1 + rng.random()))
        else:
            late = rng.random() < 0.1
            contacted = opened + int(3600 * (24 + 24 * rng.random() if late else 0.5 + 20 * rng.random()))
            closed = contacted + int(3600 * (1 + 71 * rng.random()))
        if contacted is not None and contacted > self.s.vnow:
            contacted = closed = None
        if closed is not None and closed > self.s.vnow:
            closed = None
        cause, counts = None, None
        if closed is not None:
            causes = (("network_quality", "price_billing", "product") if outcome == "not_installer_fault"
                      else ("installer_conduct", "punctuality", "workmanship", None))
            cause = causes[int(rng.random() * len(causes))]
            counts = outcome != "not_installer_fault" and cause not in ("network_quality", "price_billing", "product")
        status = "closed" if closed is not None else "contacted" if contacted is not None else "open"
        contact_note = FOLLOWUP_CONTACT_NOTES[int(rng.random() * len(FOLLOWUP_CONTACT_NOTES))] if contacted else None
        close_note = FOLLOWUP_CLOSE_NOTES[outcome] if closed is not None else None
        ids = self.ids
        ids["follow_ups"] += 1
        followup_id = ids["follow_ups"]
        rows["follow_ups"].append((
            followup_id, response_id, order_id, inst.id, status, ts(opened), ts(due),
            ts(contacted) if contacted else None, supervisor if contacted else None, contact_note,
            ts(closed) if closed is not None else None, supervisor if closed is not None else None, close_note,
            outcome if closed is not None else None, cause, counts, None,
            1 + (contacted is not None) + (closed is not None)))
        steps = [(opened, None, "followup_open", None, f'{{"followup": {followup_id}}}')]
        if contacted:
            steps.append((contacted, supervisor, "followup_contact", contact_note,
                          f'{{"followup": {followup_id}, "late": {"true" if contacted > due else "false"}}}'))
        if closed is not None:
            steps.append((closed, supervisor, "followup_close", close_note,
                          f'{{"followup": {followup_id}, "outcome": "{outcome}", '
                          f'"counts_against_installer": {"true" if counts else "false"}}}'))
        for at, actor, action, note, data in steps:
            ids["work_order_events"] += 1
            rows["work_order_events"].append((ids["work_order_events"], order_id, actor, ts(at), action, "completed",
                                              "completed", note, None, None, data))
        # Each step is a change of the order (as the service makes it): its version and updated_at move.
        order_row = list(rows["work_orders"][-1])
        if order_row[0] != order_id:  # the order is written just before its rating
            raise RuntimeError(f"order {order_id}'s row is not the last written")
        order_row[UPDATED_AT] = ts(steps[-1][0])
        order_row[VERSION] += len(steps)
        rows["work_orders"][-1] = tuple(order_row)


def _time(event: list[Any]) -> int:
    return int(event[0])
