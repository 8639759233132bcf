"""The service standard and on-site support in the demo's history (issue #15): the standard's
versions put in force in the past, and for each order as it is written, its checklist version
(`order_standards`), the steps ticked (`step_ticks`, the `book` action's `booked_call` with its
lag after the dispatch among them) and the support requests its installer raised during a visit
(`support_requests`, `support_replies` and their steps on the order's trail), as the services
would have written them (fieldsvc.workorders.standards, fieldsvc.support.services):

- `booked_call` is ticked by the first booking of every order (with or without a standard), with
  the seconds since the assignment; the other steps only on orders whose version has them: the
  on-site ones during a visit (not when nobody opened the door; now and then one is forgotten on
  a visit that ends unresolved), the at-completion ones just before the completion, which the
  lifecycle refuses while a required step is unticked, so a resolved visit always has them all;
- a request is raised on the way or on site by the order's installer, fixed to the order's team
  and the `support_reply_minutes` rule; the team's supervisor (the desk) may take it, replies
  (median about 8 minutes, with a tail), and closes it before the installer leaves, or the
  installer's "solved, thanks" does; its steps are on the trail with the order's status then and
  do not move the order's version. One request at a time per order, one per visit at most.

Drawn from a generator of their own (seeded from the demo's seed), so the orders, visits and
ratings are drawn as without them; everything after the demo's `now` is cut."""
from __future__ import annotations

import math
from bisect import bisect
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from ..extensions import db
from ..reference import STANDARD_STEPS
from ..rules.services import setting
from ..workforce.models import JobType
from ..workorders.standards import BOOKED_CALL, Phase, StandardStep, StandardVersion, StepInput, put_version
from .reference import (
    STANDARD_DAYS,
    STANDARD_V2,
    STANDARD_V2_DAYS,
    SUPPORT_CATEGORY_BY_REASON,
    SUPPORT_CATEGORY_WEIGHTS,
    SUPPORT_CLOSE_NOTES,
    SUPPORT_NOTES,
    SUPPORT_REPLIES,
    clip,
    cum,
)

if TYPE_CHECKING:
    from .bulk import BulkWriter
    from .organisation import DemoInstaller
    from .seed import Seeder

# A visit as orders.py keeps it: seq, arrived, left, outcome, reason, window start, end, departed.
ARRIVED, LEFT, OUTCOME, REASON, WINDOW_START, WINDOW_END, DEPARTED = 1, 2, 3, 4, 5, 6, 7


def put_standards(seeder: Seeder) -> None:
    """The default standard of every job type in force from STANDARD_DAYS before `now` (from the
    history's first orders when it is shorter: they may be booked four days ahead), and the
    second version for repairs from STANDARD_V2_DAYS before `now` when that is later still."""
    s = seeder
    start_day = max(s.today_n - STANDARD_DAYS, s.first_n - 5)
    since = s.local_datetime(start_day, 0)
    job_types = {jt.code: jt for jt in db.session.scalars(select(JobType).where(JobType.code.in_(STANDARD_STEPS)))}
    for code in sorted(job_types):
        put_version(job_types[code], [StepInput(c, zh, en, Phase(phase), required)
                                      for c, phase, required, zh, en in STANDARD_STEPS[code]],
                    None, seen=0, note="default", now=since)
    code, step, note = STANDARD_V2
    v2_day = s.today_n - STANDARD_V2_DAYS
    if code in job_types and v2_day > start_day + 7:
        c, phase, required, zh, en = step
        steps = [StepInput(c2, zh2, en2, Phase(p2), r2) for c2, p2, r2, zh2, en2 in STANDARD_STEPS[code]]
        at = next(i for i, item in enumerate(steps) if item.phase is Phase.AT_COMPLETION)
        steps.insert(at, StepInput(c, zh, en, Phase(phase), required))
        put_version(job_types[code], steps, None, seen=1, note=note, now=s.local_datetime(v2_day, 0))
    db.session.flush()


class ServiceHistory:
    """Makes the standard's and the support desk's rows of each order, into the bulk writer."""

    def __init__(self, seeder: Seeder, bulk: BulkWriter, ids: dict[str, int]) -> None:
        self.s = seeder
        self.bulk = bulk
        self.ids = ids
        self.rng = seeder.service_rng
        self.reply_seconds = int(setting("support_reply_minutes", seeder.today)) * 60
        # By job type: [(valid from, version id, steps before arrival, on site, at completion)],
        # oldest first; a phase's steps as (code, required).
        self.versions: dict[int, list[tuple[int, int, list[tuple[str, bool]], list[tuple[str, bool]],
                                            list[tuple[str, bool]]]]] = {}
        steps: dict[int, list[Any]] = {}
        for version_id, code, phase, required in db.session.execute(
                select(StandardStep.version_id, StandardStep.code, StandardStep.phase, StandardStep.is_required)
                .order_by(StandardStep.version_id, StandardStep.sort_order)):
            steps.setdefault(version_id, []).append((code, phase, required))
        for version_id, job_type_id, valid_from in db.session.execute(
                select(StandardVersion.id, StandardVersion.job_type_id, StandardVersion.valid_from)
                .order_by(StandardVersion.job_type_id, StandardVersion.valid_from, StandardVersion.id)):
            mine = steps.get(version_id, [])

            def phase_of(wanted: Phase, mine: list[Any] = mine) -> list[tuple[str, bool]]:
                return [(c, r) for c, p, r in mine if p is wanted and c != BOOKED_CALL]

            self.versions.setdefault(job_type_id, []).append(
                (int(valid_from.timestamp()), version_id, phase_of(Phase.BEFORE_ARRIVAL), phase_of(Phase.ON_SITE),
                 phase_of(Phase.AT_COMPLETION)))
        self.category_codes = list(SUPPORT_CATEGORY_WEIGHTS)
        self.category_cum = cum(SUPPORT_CATEGORY_WEIGHTS.values())

    def version(self, job_type_id: int, created: int) -> tuple[Any, ...] | None:
        """The checklist version in force when an order was created (None: no standard yet)."""
        found = None
        for item in self.versions.get(job_type_id, ()):
            if item[0] > created:
                break
            found = item
        return found

    # -- the dispatch answered

    def answer(self, t_assign: int, skill: float) -> tuple[int, int]:
        """When the installer accepts an order assigned at `t_assign` and calls the customer to book:
        the app rings, most accept within minutes and call straight away (within the rule's 30
        minutes of the dispatch about nine in ten, the careful more often); what is accepted
        after 21:00 waits for the morning, and its call is late."""
        R = self.rng.random
        offset = self.s.offset
        roll = R()
        t_accept = t_assign + (30 + int(R() * 450) if roll < 0.88 else 480 + int(R() * 720) if roll < 0.97
                               else 1200 + int(R() * 6000))
        a_sec = (t_accept + offset) % 86400
        if a_sec >= 21 * 3600 or a_sec < 7 * 3600:  # accepted first thing in the morning
            t_accept = t_accept + (86400 if a_sec >= 21 * 3600 else 0) - a_sec + 7 * 3600 + 1800 + int(R() * 1800)
        roll = R()
        prompt = clip(0.965 + 0.02 * skill, 0.88, 0.995)
        t_book = t_accept + (60 + int(roll / prompt * 540) if roll < prompt
                             else 1800 + int((roll - prompt) / (1 - prompt) * 7200))
        return t_accept, t_book

    # -- the checklist

    def order(self, order_id: int, job_type_id: int, created: int, inst: DemoInstaller, t_assign: int,
              t_book: int | None, visits: list[list[Any]], first_visit_id: int) -> None:
        """The order's checklist version and ticks, up to `now`. `visits` as simulated (not cut:
        what lies after `now` is cut here); the first has the id `first_visit_id`."""
        vnow = self.s.vnow
        rows = self.bulk.rows
        ts = self.bulk.ts
        ids = self.ids
        ticks = rows["step_ticks"]
        tick_id = ids["step_ticks"]
        installer = inst.id
        if t_book is not None and t_book <= vnow:
            tick_id += 1
            ticks.append((tick_id, order_id, BOOKED_CALL, None, ts(t_book), installer, max(0, t_book - t_assign)))
        standard = self.version(job_type_id, created)
        if standard is None:
            ids["step_ticks"] = tick_id
            return
        _from, version_id, before, on_site, at_completion = standard
        rows["order_standards"].append((order_id, version_id))
        R = self.rng.random
        if before and t_book is not None:  # a version with more to do before setting off: done after the call
            t = t_book
            for code, _required in before:
                t += 10 + int(R() * 50)
                if t <= vnow:
                    tick_id += 1
                    ticks.append((tick_id, order_id, code, None, ts(t), installer, None))
        pending = list(on_site)
        careful = clip(0.86 + 0.08 * inst.skill, 0.5, 0.98)  # ticks everything on a visit that fails
        for index, visit in enumerate(visits):
            arrived, left, outcome = visit[ARRIVED], visit[LEFT], visit[OUTCOME]
            if arrived > vnow:
                break
            visit_id = first_visit_id + index
            t = arrived
            if pending and not (outcome != "resolved" and visit[REASON] == "customer_absent"):  # nobody opened
                in_window = visit[WINDOW_START] is not None and visit[WINDOW_START] <= arrived <= visit[WINDOW_END]
                doing = [(c, r) for c, r in pending if r or in_window]  # an optional step: when it is so
                if outcome != "resolved" and R() >= careful:
                    required = [i for i, (_c, r) in enumerate(doing) if r]
                    if required:
                        del doing[required[int(R() * len(required))]]  # one forgotten
                for code, required in doing:
                    t += 15 + int(R() * 105)
                    if t > vnow or (left is not None and t >= left):
                        break
                    tick_id += 1
                    ticks.append((tick_id, order_id, code, visit_id, ts(t), installer, None))
                    pending.remove((code, required))
                pending = [(c, r) for c, r in pending if r]  # an optional step not done at the first chance: never
            if outcome == "resolved" and left is not None and left <= vnow:
                # Everything still open just before pressing complete (the lifecycle insists).
                todo = [c for c, r in pending if r] + [c for c, r in at_completion]
                start = max(t, left - 120 - int(R() * 480), arrived)
                step = (left - start) / (len(todo) + 1)
                for k, code in enumerate(todo, start=1):
                    tick_id += 1
                    ticks.append((tick_id, order_id, code, visit_id, ts(int(start + k * step)), installer, None))
                break
        ids["step_ticks"] = tick_id

    # -- on-site support

    def support(self, order_id: int, inst: DemoInstaller, visits: list[list[Any]]) -> list[list[Any]]:
        """The order's support requests (one per visit at most), up to `now`; returns their steps
        for the order's trail: [t, actor, action, from, to, note, lat, lon, data]."""
        rng = self.rng
        R = rng.random
        vnow = self.s.vnow
        events: list[list[Any]] = []
        asks = math.exp(-0.25 * inst.skill)  # weaker installers ask more often
        for visit in visits:
            arrived, left, outcome, reason = visit[ARRIVED], visit[LEFT], visit[OUTCOME], visit[REASON]
            if arrived > vnow:
                break
            if outcome != "resolved" and reason in ("customer_absent", "customer_reschedule", "customer_cancel"):
                continue  # nothing to ask about
            if R() >= (0.048 if outcome == "resolved" else 0.11) * asks:
                continue
            # The desk's first reply: median 8 minutes, a tail of busy moments.
            lag = (900 + int(R() * 2700)) if R() < 0.06 else max(45, int(440 * math.exp(0.55 * rng.gauss(0, 1))))
            close = 60 + int(R() * 420)  # from the reply to the request's end
            departed = visit[DEPARTED]
            lo, hi = arrived + 60, left - lag - close - 30
            if departed < arrived - 300 and R() < 0.12:  # asked on the way
                lo, hi = departed + 60, min(arrived - 30, hi)
            if hi < lo:
                continue  # the visit was over before any answer could come: nobody asks then
            raised = lo + int(R() * (hi - lo))
            if raised <= vnow:
                events += self._request(order_id, inst, visit, raised, lag, close)
        return events

    def _request(self, order_id: int, inst: DemoInstaller, visit: list[Any], raised: int, lag: int,
                 close: int) -> list[list[Any]]:
        """One request and its replies, as far as they have got by `now`; its trail steps."""
        rng, bulk, ids, vnow = self.rng, self.bulk, self.ids, self.s.vnow
        R = rng.random
        ts = bulk.ts
        resolved_visit = visit[OUTCOME] == "resolved"
        reason = visit[REASON]
        category = None if resolved_visit else SUPPORT_CATEGORY_BY_REASON.get(reason)
        if category is None:
            category = self.category_codes[bisect(self.category_cum, R() * self.category_cum[-1])]
        notes = SUPPORT_NOTES[category]
        note = notes[int(R() * len(notes))]
        reading = round(-24.5 - 4.5 * R(), 2) if category == "optical_signal" else None
        if resolved_visit:
            resolution = "solved_remotely" if R() < 0.96 else "escalated_noc"
        elif reason in ("no_port", "no_coverage"):
            resolution = ("escalated_noc", "cannot_solve", "solved_remotely")[bisect((0.45, 0.85), R())]
        else:
            resolution = ("expert_sent", "escalated_noc", "cannot_solve", "solved_remotely")[
                bisect((0.35, 0.6, 0.8), R())]
        desk = inst.team.supervisor_id
        replied = raised + lag
        taken = raised + int(lag * (0.2 + 0.6 * R())) if R() < 0.5 else None
        second = replied + int((close - 30) * (0.3 + 0.4 * R())) if R() < 0.2 else None
        ended = replied + close
        # Solved: the installer's "solved, thanks" closes it, or the desk does (and they may thank
        # it after); otherwise the desk closes it with what happens next.
        by_thanks = resolution == "solved_remotely" and R() < 0.55
        close_note = SUPPORT_CLOSE_NOTES[resolution] if not by_thanks and R() < 0.5 else None
        thanked = ended if by_thanks else (ended + 30 + int(R() * 60)
                                           if resolution == "solved_remotely" and R() < 0.3 else None)
        if thanked is not None and thanked >= visit[LEFT]:  # (only a thanks after the desk's close can be late)
            thanked = None
        ids["support_requests"] += 1
        request_id = ids["support_requests"]
        arrived = visit[ARRIVED]
        raised_in = "en_route" if raised < arrived else "on_site"
        ref = f'{{"support": {request_id}}}'
        replies = SUPPORT_REPLIES[category]
        # The steps in time order: (t, actor, action, note, data, reply body or None).
        steps: list[tuple[int, int, str, str | None, str, str | None]] = [
            (raised, inst.id, "support_raise", note, f'{{"support": {request_id}, "category": "{category}"}}', None)]
        if taken is not None:
            steps.append((taken, desk, "support_take", None, ref, None))
        body = replies[int(R() * len(replies))]
        steps.append((replied, desk, "support_reply", body, ref, body))
        if second is not None:
            body2 = replies[int(R() * len(replies))]
            steps.append((second, desk, "support_reply", body2, ref, body2))
        if not by_thanks:
            steps.append((ended, desk, "support_resolve", close_note,
                          f'{{"support": {request_id}, "resolution": "{resolution}"}}', close_note))
        if thanked is not None:
            steps.append((thanked, inst.id, "support_thank", None, ref, None))
        steps = [step for step in steps if step[0] <= vnow]
        # The request as its steps leave it (its version counts its writes, as the services flush).
        status, version = "open", 1
        taken_at = taken_by = first_reply = resolved_at = resolved_by = thanked_at = None
        reply_rows = bulk.rows["support_replies"]
        for t, actor, action, _note, _data, reply_body in steps:
            if action == "support_take":
                status, taken_at, taken_by, version = "taken", t, actor, version + 1
            elif action == "support_reply":  # the reply's write, then the status's (when it changes)
                if first_reply is None:
                    first_reply = t
                if taken_by is None:
                    taken_at, taken_by = t, actor
                version += 1 if status == "answered" else 2
                status = "answered"
            elif action == "support_resolve":
                status, resolved_at, resolved_by = "resolved", t, actor
                version += 2 if reply_body else 1
            elif action == "support_thank":
                if status == "answered":
                    resolved_at, resolved_by = t, actor
                status, thanked_at, version = "thanked", t, version + 1
            if reply_body:
                ids["support_replies"] += 1
                reply_rows.append((ids["support_replies"], request_id, actor, ts(t), reply_body))
        final = status in ("resolved", "thanked")
        bulk.rows["support_requests"].append((
            request_id, order_id, inst.id, inst.team.id, raised_in, category, note, reading, None, status,
            ts(raised), ts(raised + self.reply_seconds), ts(taken_at) if taken_at else None, taken_by,
            ts(first_reply) if first_reply else None, ts(resolved_at) if resolved_at else None, resolved_by,
            resolution if final else None, ts(thanked_at) if thanked_at else None, ts(steps[-1][0]), version))
        trail = []
        for t, actor, action, text, data, _body in steps:
            state = "en_route" if t < arrived else "on_site"
            trail.append([t, actor, action, state, state, text, None, None, data])
        return trail

