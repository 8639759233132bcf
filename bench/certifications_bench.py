"""Certification dashboard benchmark: the dashboard for 1,000 installers × the certification
types, as an admin (target p95 under 300 ms), and its CSV and Excel exports. In-process (Flask's
test client, one request at a time, `gc.freeze()` after start-up as in `fieldsvc.wsgi`). Adds a
sixth certification type when the database has fewer (use a throwaway copy).

    python bench/certifications_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/fieldsvc_bench
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import signed_in  # noqa: E402  (after the path is set)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/fieldsvc_bench")
    parser.add_argument("--iterations", type=int, default=20)
    args = parser.parse_args()
    os.environ["FIELDSVC_DATABASE_URL"] = args.database_url
    os.environ.setdefault("FIELDSVC_SECRET_KEY", "bench")
    from sqlalchemy import event, func, select

    from fieldsvc import create_app
    from fieldsvc.auth.models import Role, User
    from fieldsvc.certifications.models import Certification, CertificationType
    from fieldsvc.extensions import db

    app = create_app({"SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False, "RATELIMIT_ENABLED": False})
    gc.freeze()
    with app.app_context():
        installers = db.session.scalar(select(func.count()).select_from(User).where(User.role == Role.INSTALLER,
                                                                                  User.is_active.is_(True)))
        types = db.session.scalar(select(func.count()).select_from(CertificationType))
        if types < 6:  # the size: six types (the demo has five; a sixth one is new, held by nobody)
            from fieldsvc.certifications.models import CertificationCategory

            db.session.add(CertificationType(code="fttr", name_zh="FTTR组网认证", name_en="FTTR networking",
                                             category=CertificationCategory.SKILL, validity_months=24))
            db.session.commit()
            types = 6
        certificates = db.session.scalar(select(func.count()).select_from(Certification))
        engine = db.engine
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    client = signed_in(app, "admin")
    print(f"{installers} active installers × {types} certification types, {certificates} certificates")
    print(f"{'scenario':<30}{'p50 ms':>8}{'p95 ms':>8}{'max ms':>8}{'KB':>8}{'SQL':>6}")
    for name, path in (("dashboard, every team", "/certifications"), ("dashboard, 30-day horizon", "/certifications?horizon=30"),
                       ("CSV export", "/certifications/export.csv"), ("Excel export", "/certifications/export.xlsx")):
        times = []
        for i in range(args.iterations + 2):
            statements.clear()
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
            assert response.status_code == 200, response.status_code
            if i >= 2:
                times.append(elapsed)
        p95 = statistics.quantiles(times, n=20)[18]
        print(f"{name:<30}{statistics.median(times) * 1000:>8.1f}{p95 * 1000:>8.1f}{max(times) * 1000:>8.1f}"
              f"{len(response.data) / 1024:>8.0f}{len(statements):>6}")
    engine.dispose()


if __name__ == "__main__":
    main()
