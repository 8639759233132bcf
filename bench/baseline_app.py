"""The limits the load benchmark compares fieldsvc with, served exactly like fieldsvc (same
gunicorn, same database):

* `POST /bump/<id>`: the framework-and-database limit of the machine, a bare Flask endpoint doing
  one versioned UPDATE and one commit (the issue's baseline).
* `GET /floor/today` and `POST /floor/work-orders/<number>/transitions`: the least any
  implementation of the *Today* page and of a `book` transition must do, hand-written with
  SQLAlchemy Core and no framework layers beyond Flask: read the signed session cookie (or look
  the bearer token up), load the user, run the same queries on the same tables, write the same
  rows, render a minimal page or the order as JSON. They skip what the product needs on top (the
  layout, translations, CSRF, permissions by role, the lifecycle rules, idempotency, the API
  schema), so they show what share of the baseline a real implementation can reach at best.

    FIELDSVC_DATABASE_URL=postgresql+psycopg://… FIELDSVC_SECRET_KEY=… gunicorn bench.baseline_app:app
"""
from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import Flask, abort, jsonify, request, session
from sqlalchemy import create_engine, text

engine = create_engine(os.environ["FIELDSVC_DATABASE_URL"], pool_pre_ping=True)
app = Flask(__name__)
app.secret_key = os.environ.get("FIELDSVC_SECRET_KEY", "bench")  # reads fieldsvc's session cookie
TZ = ZoneInfo(os.environ.get("FIELDSVC_TIMEZONE", "Asia/Shanghai"))

SETUP = """
CREATE TABLE IF NOT EXISTS bench_rows (id integer PRIMARY KEY, version integer NOT NULL,
                                       updated_at timestamptz NOT NULL DEFAULT now())
"""


def setup(rows: int) -> None:
    """Create the table the endpoint updates, with `rows` rows at version 1."""
    with engine.begin() as connection:
        connection.execute(text(SETUP))
        connection.execute(text("DELETE FROM bench_rows"))
        connection.execute(text("INSERT INTO bench_rows (id, version) SELECT g, 1 FROM generate_series(1, :n) g"),
                           {"n": rows})


@app.post("/bump/<int:row_id>")
def bump(row_id: int):
    """One versioned UPDATE and one commit; 409 on a stale version, like a transition."""
    version = int(request.get_json(force=True)["version"])
    with engine.begin() as connection:
        new = connection.execute(
            text("UPDATE bench_rows SET version = version + 1, updated_at = now() "
                 "WHERE id = :id AND version = :v RETURNING version"),
            {"id": row_id, "v": version},
        ).scalar()
    if new is None:
        abort(409)
    return jsonify(version=new)


TODAY_SQL = text("""
SELECT o.number, o.status, o.appointment_start, o.appointment_end, o.due_by, o.completed_at,
       o.cancelled_at, o.address, c.name AS customer, j.name_zh AS job_type, d.name_zh AS district
FROM work_orders o JOIN customers c ON c.id = o.customer_id JOIN job_types j ON j.id = o.job_type_id
     JOIN districts d ON d.id = o.district_id
WHERE o.assignee_id = :user AND ((o.status IN ('new', 'assigned', 'accepted', 'en_route', 'on_site')
      AND (o.appointment_start IS NULL OR o.appointment_start < :end))
      OR (o.completed_at >= :start AND o.completed_at < :end))
ORDER BY o.appointment_start IS NULL, o.appointment_start, o.due_by
""")

# Today's "My figures" (since #12): the installer's and their team's stored snapshots of six
# metrics for today, this week and this month, one query like the product's (with its periods'
# types and starts also tested apart, as the product does, so an index seeks them whatever the
# history: without, PostgreSQL filtered every stored period of the two scopes).
FIGURES_SQL = text("""
SELECT metric, scope_type, period_type, numerator, denominator, value, is_final FROM metric_snapshots
WHERE ((scope_type = 'installer' AND scope_id = :username) OR (scope_type = 'team' AND scope_id = :team))
  AND metric IN ('completed_orders', 'onsite_resolution_rate', 'satisfaction_rate', 'dissatisfied_count',
                 'booking_in_time_rate', 'checklist_compliance_rate')
  AND ((period_type = 'day' AND period_start = :day) OR (period_type = 'week' AND period_start = :week)
       OR (period_type = 'month' AND period_start = :month))
  AND period_type IN ('day', 'week', 'month') AND period_start IN (:day, :week, :month)
""")

TODAY_PAGE = app.jinja_env.from_string("""<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>今天</title></head><body>
<h1>{{ name }}</h1><ul>{% for o in orders %}
<li><a href="/jobs/{{ o.number }}"><strong>{{ o.job_type }}</strong> · {{ o.customer }} · {{ o.status }}<br>
<small>{{ o.appointment_start.astimezone(tz).strftime("%m-%d %H:%M") if o.appointment_start else "—" }}
· {{ o.district }} · {{ o.address }}</small><br><small>{{ o.number }} · {{ o.due_by.astimezone(tz).strftime("%m-%d %H:%M") }}</small></a></li>
{% endfor %}</ul><table>{% for f in figures %}<tr><th>{{ f.metric }}</th><td>{{ f.scope_type }} {{ f.period_type }}</td>
<td>{{ f.value }}</td><td>{{ f.numerator }}/{{ f.denominator }}{% if not f.is_final %} *{% endif %}</td></tr>{% endfor %}
</table></body></html>""")


@app.get("/floor/today")
def floor_today():
    """The signed-in installer's jobs and figures for today: cookie, user (with the team's code),
    two queries, a small page."""
    user_id, _, version = (session.get("_user_id") or "").partition(":")  # fieldsvc's "id:session version"
    if not user_id.isdigit() or not version.isdigit():
        abort(401)
    day = datetime.now(TZ).date()
    start = datetime.combine(day, datetime.min.time(), TZ)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), TZ)
    with engine.connect() as connection:
        user = connection.execute(
            text("SELECT u.id, u.name, u.username, u.role, u.is_active, u.session_version, t.code AS team "
                 "FROM users u LEFT JOIN teams t ON t.id = u.team_id WHERE u.id = :id"), {"id": int(user_id)}).first()
        if user is None or user.session_version != int(version):
            abort(401)  # a session ended by sign-out, a new password or deactivation
        if not user.is_active or user.role != "installer":
            abort(403)
        orders = connection.execute(TODAY_SQL, {"user": user.id, "start": start, "end": end}).all()
        figures = connection.execute(FIGURES_SQL, {
            "username": user.username, "team": user.team, "day": day, "week": day - timedelta(days=day.weekday()),
            "month": day.replace(day=1)}).all()
        connection.commit()  # not a rollback: psycopg forgets its prepared statements at a ROLLBACK
    return TODAY_PAGE.render(name=user.name, orders=orders, figures=figures, tz=TZ)


@app.post("/floor/work-orders/<number>/transitions")
def floor_transition(number: str):
    """`book` by the assigned installer: token, order, versioned UPDATE, event INSERT, commit."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer":
        abort(401)
    payload = request.get_json(force=True)
    start = datetime.fromisoformat(payload["appointment_start"])
    end = datetime.fromisoformat(payload["appointment_end"])
    now = datetime.now(UTC)
    if payload.get("action") != "book" or end <= start or end <= now:
        abort(422)
    with engine.begin() as connection:
        user = connection.execute(
            text("SELECT u.id, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id "
                 "WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.is_active"),
            {"h": hashlib.sha256(token.encode()).hexdigest()}).first()
        if user is None:
            abort(401)
        order = connection.execute(
            text("SELECT id, status, version, assignee_id FROM work_orders WHERE number = :n"), {"n": number}).first()
        if order is None or order.assignee_id != user.id:
            abort(404)
        if order.version != payload["version"] or order.status not in ("accepted", "assigned"):
            abort(409)
        row = connection.execute(
            text("UPDATE work_orders SET appointment_start = :s, appointment_end = :e, updated_at = :now, "
                 "version = version + 1 WHERE id = :id AND version = :v "
                 "RETURNING number, status, version, appointment_start, appointment_end, due_by"),
            {"s": start, "e": end, "now": now, "id": order.id, "v": order.version}).first()
        if row is None:
            abort(409)
        # The booking call of the service standard (since #15): the first `book` ticks it.
        if connection.execute(text("SELECT 1 FROM step_ticks WHERE work_order_id = :o AND code = 'booked_call'"),
                              {"o": order.id}).first() is None:
            connection.execute(
                text("INSERT INTO step_ticks (work_order_id, code, ticked_at, ticked_by_id, dispatch_lag_seconds) "
                     "VALUES (:o, 'booked_call', :now, :a, 0)"), {"o": order.id, "now": now, "a": user.id})
        connection.execute(
            text("INSERT INTO work_order_events (work_order_id, actor_id, created_at, action, from_status, "
                 "to_status, data) VALUES (:o, :a, :now, 'book', :st, :st, :data)"),
            {"o": order.id, "a": user.id, "now": now, "st": order.status,
             "data": json.dumps({"appointment_start": start.isoformat(), "appointment_end": end.isoformat()})})
    return jsonify(number=row.number, status=row.status, version=row.version,
                   appointment_start=row.appointment_start.astimezone(TZ).isoformat(),
                   appointment_end=row.appointment_end.astimezone(TZ).isoformat(),
                   due_by=row.due_by.astimezone(TZ).isoformat())
