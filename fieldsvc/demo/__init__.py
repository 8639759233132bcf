"""The realistic demo data behind `fieldsvc seed-demo` and `fieldsvc demo` (DOMAIN.md §2–3).

`seed_demo` fills an empty database: teams of 8 to 15 installers (about 12, DOMAIN.md §3.2; fewer
than 8 installers make one smaller team, 20 make two of 10) across Wuhan's 13 districts, supervisors
and installers with bilingual names, certificates and training, customers, and `days` days of work orders with
their visits, event trail and ratings, driven by a latent installer skill so that dashboards show
coherent good and weak performers.

It is a CLI-edge job and commits itself. Its clock is an explicit instant, `now` (by default the
current time): every order is simulated from its creation to its end and then cut at `now`, so
the data is what the branch would hold at that instant. The same seed and the same `now` give the
same rows (one `random.Random(seed)`, consumed in a fixed order; the password hash and the rating
links' token digests are the exceptions, salted or random as always).

What the demo promises at any instant `now` (checked at 00:05, 08:00, 15:58, 23:55, on a Sunday
and on the last day of a month by tests/test_demo.py):

- Nothing is recorded after `now`: no order created, assigned, visited, completed or cancelled,
  no event, rating, used rating link, enrolment or training result later than it. What lies
  ahead is booked only: appointments for the next four days, upcoming training sessions.
- Every order stands where its trail up to `now` leaves it, and visits happen in working hours,
  from 08:00 (the first departures) to 22:30 (the last visits end). An order waiting for its visit
  (new, assigned, accepted) has a window that is not over by more than an hour; one en route
  has a window starting within the hour; one on site arrived today, once its window had opened.
  Tomorrow's orders are in, whatever the day of the month.
- Nobody is in two places at once: an installer's visits, from leaving for the customer to leaving
  them, never overlap (historically too), so at most one of their orders is en route or on site.
  They visit on the days they work (not their rest day, from their hiring to their last day),
  holding a valid service certificate, and take installs only once FTTH-certified; nobody is
  booked on a course or holds a company certificate before they were hired.
- An order's `due_by` is `compute_due_by` at its creation with the window booked then
  (PRODUCT.md §4), and that first window ends by it. A later appointment comes only from a
  rebooking after a failed visit, which records why: such an order is late, and shows overdue
  once `due_by` has passed (as a branch's data does: the deadline is never moved).
- Rates as DOMAIN.md §3.4 has them, spread by the installers' skill: broad satisfaction about
  99.2% across the branch, from about 99.9% in the best team to 97.5% in the weakest (strict 95%,
  98%, 89%). Ratings come for a quarter of the jobs, about 20 an installer a month, so over a
  month most installers are at 100%; the dispatch suggestions weigh 13 weeks and at least 20.
- The service standard and on-site support (issue #15; service.py) as the services write them:
  the default standard in force from eight weeks before `now` (from the history's start when
  it is shorter), a second version for repairs three weeks before `now`; each order keeps the
  version in force at its creation. Every order is booked by the installer's call (on an order
  booked at its creation the call confirms the window), which ticks `booked_call` with its lag
  after the dispatch: within the rule's 30 minutes for about 90%. Resolved visits have every
  required step ticked (the lifecycle insists); a visit that fails misses the on-site steps
  when nobody opened the door and now and then otherwise (about 95% of visits complete).
  About 5% of visits raise a support request (fewer on visits that end resolved): the desk's
  first reply comes in about 8 minutes (median, with a tail; 15 minutes is the rule), most are
  solved remotely while on site, a few send an expert, escalate or cannot be solved.
- `demo_sign_ins(now)` names an active installer with jobs on their *Today* page for the local
  day of `now` (four to seven when any installer has as many; fewer work on a Sunday), in as many
  states as anyone's, one of them completed once anyone has completed a job that day:
  - before 08:00: the day's jobs are booked and waiting (assigned or accepted); nothing has
    started and nobody is out (yesterday's visits all ended by 22:30);
  - from 10:00 to 18:00: jobs in at least two states (waiting, en route or on site, completed),
    and from 11:00 one of them completed;
  - from 22:30: the day is over: the installer's jobs of the day are completed, those left
    unresolved rebooked for another day (they show under *Upcoming*), nobody is en route or on
    site.

Scale: 1,000 installers × 730 days is millions of rows, so orders are generated a day at a time
with ids counted here and written in bulk: COPY on PostgreSQL (fed by a writer thread, so the
server works while Python generates the next day), executemany on SQLite. Nothing holds more
than a day of orders in memory.

The package, by what each part does:

- `reference.py`: what the demo draws from (districts, names, the job mix and its rates, courses);
- `organisation.py`: teams, supervisors and installers;
- `training.py`: certificates, training sessions and records;
- `notes.py`: a few standard-procedure notes (zh + en) for the job page;
- `orders.py`: customers, orders, visits, the event trail, rating links and ratings;
- `service.py`: the standard's versions, the orders' checklists and ticks, the support requests;
- `bulk.py`: writing the big tables (COPY on PostgreSQL);
- `seed.py`: `seed_demo`, the order of the work; `sign_ins.py`: `demo_sign_ins`.
"""
from __future__ import annotations

from .organisation import DEMO_PASSWORD
from .seed import seed_demo
from .sign_ins import demo_sign_ins

__all__ = ["DEMO_PASSWORD", "demo_sign_ins", "seed_demo"]
