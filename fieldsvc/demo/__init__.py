"""The realistic demo data behind `fieldsvc seed-demo` and `fieldsvc demo` (DOMAIN.md §2–3).

`seed_demo` fills an empty database: teams across Wuhan's 13 districts, supervisors and installers
with bilingual names, certificates and training, customers, and `days` days of work orders with
their visits, event trail and ratings, driven by a latent installer skill so that dashboards show
coherent good and weak performers.

It is a CLI-edge job and commits itself. The same seed and the same `today` give the same rows
(one `random.Random(seed)`, consumed in a fixed order; the password hash is the one exception,
salted as always). The clock of the demo stops at `DEMO_CLOCK` local time on `today`: orders are
simulated to the end and then cut at that moment, so today's jobs stand in every open state.

Scale: 1,000 installers × 730 days is millions of rows, so orders are generated a day at a time
with ids counted here and written in bulk: COPY on PostgreSQL (fed by a writer thread, so the
server works while Python generates the next day), executemany on SQLite. Nothing holds more
than a day of orders in memory.

The package, by what each part does:

- `reference.py`: what the demo draws from (districts, names, the job mix and its rates, courses);
- `organisation.py`: teams, supervisors and installers;
- `training.py`: certificates, training sessions and records;
- `orders.py`: customers, orders, visits, the event trail, rating links and ratings;
- `bulk.py`: writing the big tables (COPY on PostgreSQL);
- `seed.py`: `seed_demo`, the order of the work; `sign_ins.py`: `demo_sign_ins`.
"""
from __future__ import annotations

from .organisation import DEMO_PASSWORD
from .seed import seed_demo
from .sign_ins import demo_sign_ins

__all__ = ["DEMO_PASSWORD", "demo_sign_ins", "seed_demo"]
