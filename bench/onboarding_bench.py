"""Bulk onboarding benchmark: the preview of a 1,000-installer CSV (parse + `preview`, the work
behind the upload page; target under 5 s), on a database that already holds half of them with a
certificate each (so the file is half new, half changed or unchanged), then the import of it.
In-process, on a throwaway database: a temporary SQLite file by default, or --database-url
(its tables are created and dropped: use an empty database).

    python bench/onboarding_bench.py
    python bench/onboarding_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/onboarding_bench
"""
from __future__ import annotations

import argparse
import csv
import io
import os
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import csrf_token, signed_in  # noqa: E402  (after the path is set)


def installers_csv(n: int) -> bytes:
    """n installers in 80 teams, each with a service-star certificate; half with a new phone."""
    from fieldsvc.onboarding.parse import HEADERS

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(HEADERS["zh"])
    for i in range(n):
        writer.writerow([f"w{20000 + i}", f"装维{i}", f"139{i:08d}", f"T{i % 80:03d}", "自有", "service_star",
                         f"SS-{i}", "2025-06-01", str(1 + i % 5), ""])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--iterations", type=int, default=5)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix="onboarding-bench-")
    url = args.database_url or f"sqlite:///{folder}/bench.sqlite3"
    os.environ.setdefault("FIELDSVC_SECRET_KEY", "bench")
    from sqlalchemy import event

    import fieldsvc.models  # noqa: F401  (every table)
    from fieldsvc import create_app
    from fieldsvc.auth.models import Role, User
    from fieldsvc.auth.services import hash_password
    from fieldsvc.certifications.services import record_certification
    from fieldsvc.db import Base
    from fieldsvc.demo import DEMO_PASSWORD
    from fieldsvc.extensions import db
    from fieldsvc.onboarding.parse import parse
    from fieldsvc.onboarding.services import RowStatus, apply, preview
    from fieldsvc.reference import ensure_reference_data
    from fieldsvc.workforce.models import District, Team

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SESSION_COOKIE_SECURE": False, "REMEMBER_COOKIE_SECURE": False,
                      "RATELIMIT_ENABLED": False})
    app.instance_path = folder
    with app.app_context():
        Base.metadata.create_all(db.engine)
    try:
        with app.app_context():
            ensure_reference_data()
            hongshan = db.session.query(District).filter_by(code="hongshan").one()
            for t in range(80):
                db.session.add(Team(code=f"T{t:03d}", name_zh=f"装维{t}班", name_en=f"Crew {t}", districts=[hongshan]))
            db.session.flush()
            teams = {t.code: t for t in db.session.query(Team)}
            for i in range(0, args.rows, 2):  # every other installer is there already, with their certificate
                user = User(username=f"w{20000 + i}", name=f"装维{i}", phone=f"138{i:08d}" if i % 4 else f"139{i:08d}",
                            role=Role.INSTALLER, team=teams[f"T{i % 80:03d}"], password_hash="!")
                db.session.add(user)
                db.session.flush()
                record_certification(user, "service_star", date(2025, 6, 1), level=1 + i % 5, number=f"SS-{i}")
            db.session.commit()
            data = installers_csv(args.rows)
            statements: list[str] = []
            event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
            times = []
            for _ in range(args.iterations):
                statements.clear()
                started = time.perf_counter()
                parsed = parse(data)
                result = preview(parsed.rows, parsed.lines)
                times.append(time.perf_counter() - started)
                db.session.rollback()
            counts = {s.value: result.count(s) for s in RowStatus}
            print(f"{db.engine.dialect.name}: preview of {args.rows} rows ({len(data) // 1024} KB CSV) {counts}")
            print(f"preview: median {statistics.median(times):.2f} s, max {max(times):.2f} s, "
                  f"{len(statements)} SQL statements")
            # The admin's view of it: the upload (parse, preview, keep) and the preview page, through the app.
            db.session.add(User(username="bench_admin", name="bench", role=Role.ADMIN,
                                password_hash=hash_password(DEMO_PASSWORD)))
            db.session.commit()
        # Outside the app context: each request has its own, as in a server.
        client = signed_in(app, "bench_admin")
        page_times = []
        for _ in range(args.iterations):
            token = csrf_token(client.get("/admin/onboarding/").get_data(as_text=True))
            started = time.perf_counter()
            sent = client.post("/admin/onboarding/", data={"csrf_token": token,
                                                           "file": (io.BytesIO(data), "installers.csv")})
            assert sent.status_code == 303, (sent.status_code, sent.get_data(as_text=True)[-1500:])
            shown = client.get(sent.headers["Location"])
            page_times.append(time.perf_counter() - started)
            assert shown.status_code == 200
        print(f"upload + preview page (the admin's wait; 200 rows listed): median "
              f"{statistics.median(page_times):.2f} s, max {max(page_times):.2f} s")
        with app.app_context():
            parsed = parse(data)
            started = time.perf_counter()
            result = preview(parsed.rows, parsed.lines)
            apply(result, parsed.rows, None)
            db.session.commit()
            print(f"import (preview again + apply + commit): {time.perf_counter() - started:.2f} s")
    finally:
        with app.app_context():
            Base.metadata.drop_all(db.engine)


if __name__ == "__main__":
    main()
