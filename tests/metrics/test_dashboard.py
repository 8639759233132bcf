"""The quality dashboard, its drill-down and exports, the installer's Today figures, and
GET /api/v1/metrics: the same stored figures everywhere, each caller seeing only their reach."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from fieldsvc.auth.models import Role, User
from fieldsvc.auth.services import create_token
from fieldsvc.extensions import db
from fieldsvc.rules.services import set_setting
from fieldsvc.snapshots.models import PeriodType
from fieldsvc.snapshots.periods import period_start
from tests import factories as f
from tests.conftest import sign_in
from tests.workorders.test_query_counts import counting

from .conftest import complete, compute_now


def token_for(app: Flask, username: str) -> dict[str, str]:
    with app.app_context():
        token = create_token(db.session.scalar(select(User).where(User.username == username)))
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


def month(branch) -> str:
    return period_start(PeriodType.MONTH, branch.today).isoformat()


def test_a_supervisor_sees_their_team_with_targets_fractions_and_drill_down(app, client, branch) -> None:
    sign_in(client, "sa001")
    page = client.get("/quality")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "TA01" in html
    # Team A this month: 4 orders, 3 resolved on the first visit (75.0%), 4 ratings, 3 satisfied, 1 dissatisfied.
    assert "75.0%" in html and "3</a>/<a" in html
    assert "Target ≥ 90.0%" in html and "not met" in html
    assert "Installers of this team" in html and "wa001" in html and "wb001" not in html
    assert "metric=onsite_resolution_rate" in html and "part=numerator" in html
    # The drill-down lists the very orders the numerator counted.
    drill = client.get("/quality/orders", query_string={
        "metric": "onsite_resolution_rate", "scope": "team", "id": "TA01", "period": "month", "start": month(branch),
        "part": "numerator"}).get_data(as_text=True)
    listed = {n for n in branch.a1 + branch.a2 if n in drill}
    assert listed == {branch.a1[0], branch.a1[1], branch.a2[0]}
    assert "3 orders" in drill
    # Timeliness and hours to complete per job type, drilled into the same way.
    assert "By job type" in html and "metric=timeliness_rate.repair" in html
    by_type = client.get("/quality/orders", query_string={
        "metric": "timeliness_rate.repair", "scope": "team", "id": "TA01", "period": "month", "start": month(branch),
        "part": "denominator"}).get_data(as_text=True)
    assert "Timeliness · Fault repair" in by_type and {n for n in branch.a1 + branch.a2 if n in by_type} == set(branch.a1 + branch.a2)
    assert client.get("/quality/orders", query_string={
        "metric": "satisfaction_rate.repair", "scope": "team", "id": "TA01", "period": "month", "start": month(branch),
        "part": "denominator"}).status_code == 404


def test_no_drill_down_outside_the_callers_scope(app, client, branch) -> None:
    sign_in(client, "sb001")
    query = {"metric": "completed_orders", "period": "month", "start": month(branch)}
    assert client.get("/quality", query_string={"scope": "team", "id": "TA01"}).status_code == 404
    assert client.get("/quality/orders", query_string={**query, "scope": "team", "id": "TA01"}).status_code == 404
    assert client.get("/quality/orders", query_string={**query, "scope": "installer", "id": "wa001"}).status_code == 404
    # The district and the branch are a reference: their figures, not their orders.
    page = client.get("/quality", query_string={"scope": "company"}).get_data(as_text=True)
    assert "not yours to list" in page and "quality/orders" not in page
    assert client.get("/quality/orders", query_string={**query, "scope": "company"}).status_code == 404
    assert client.get("/quality/orders", query_string={**query, "scope": "team", "id": "TB01"}).status_code == 200


def test_rankings_leave_out_small_samples_and_say_so(app, client, branch) -> None:
    sign_in(client, "ad001")
    html = client.get("/quality").get_data(as_text=True)
    assert "left out: below the minimum sample of 30" in html
    assert "Nobody to rank in this period." in html
    with app.app_context():
        set_setting("ranking_min_completed_orders", 1, branch.today - timedelta(days=40), None)
        set_setting("ranking_min_ratings", 2, branch.today - timedelta(days=40), None)
        db.session.commit()
    html = client.get("/quality").get_data(as_text=True)
    ranking = html.split("Rankings", 1)[1]
    # On-site resolution, installers: wa002 and wb001 (100%) before wa001 (66.7%).
    assert ranking.index("wa002") < ranking.index("66.7%")
    assert "below the minimum sample of 2" in ranking  # wa002: one rating


def test_the_export_and_the_api_give_the_dashboards_numbers(app, client, branch) -> None:
    sign_in(client, "sa001")
    query = {"scope": "team", "id": "TA01", "period": "month", "days": "30"}
    body = client.get("/quality/export.csv", query_string=query).get_data()
    assert body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    header, rows = rows[0], rows[1:]
    exported = {(r[1], r[5]): r for r in rows if r[4] == "month"}
    api = client.get("/api/v1/metrics", headers=token_for(app, "sa001"), query_string={
        "scope": "team", "scope_id": "TA01", "period": "month", "from": month(branch), "to": month(branch)}).get_json()
    assert len(api) == len(exported) > 10
    for figure in api:
        row = exported[(figure["metric"], figure["period_start"])]
        assert float(row[header.index("denominator")]) == figure["denominator"]
        assert (row[header.index("value")] or None) == (None if figure["value"] is None else str(figure["value"]))
    onsite = next(x for x in api if x["metric"] == "onsite_resolution_rate")
    assert (onsite["numerator"], onsite["denominator"], onsite["value"], onsite["final"]) == (3, 4, 0.75, False)
    xlsx = client.get("/quality/export.xlsx", query_string=query)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK"


def test_the_api_answers_each_caller_with_their_reach(app, client, branch) -> None:
    def scopes(username: str) -> set[tuple[str, str]]:
        answer = client.get("/api/v1/metrics", headers=token_for(app, username),
                            query_string={"metric": "completed_orders", "period": "day"})
        assert answer.status_code == 200
        return {(x["scope"], x["scope_id"]) for x in answer.get_json()}

    assert scopes("wa001") == {("installer", "wa001"), ("team", "TA01")}
    assert scopes("sa001") == {("installer", "wa001"), ("installer", "wa002"), ("team", "TA01"),
                               ("district", "hongshan"), ("company", "all")}
    assert ("installer", "wb001") in scopes("ad001")


def test_the_api_drill_down_and_its_refusals(app, client, branch) -> None:
    headers = token_for(app, "wa001")
    query = {"metric": "dissatisfied_count", "period": "week",
             "period_start": period_start(PeriodType.WEEK, branch.today).isoformat()}
    mine = client.get("/api/v1/metrics/orders", headers=headers, query_string={**query, "scope": "installer",
                                                                               "scope_id": "wa001"})
    assert mine.status_code == 200 and mine.get_json()["orders"] == [branch.a1[2]]
    team = client.get("/api/v1/metrics/orders", headers=headers, query_string={**query, "scope": "team",
                                                                               "scope_id": "TA01"})
    assert team.status_code == 404 and team.mimetype == "application/problem+json"
    bad = client.get("/api/v1/metrics/orders", headers=headers, query_string={
        **query, "period_start": (branch.today.replace(day=1) + timedelta(days=1)).isoformat(), "period": "month",
        "scope": "installer", "scope_id": "wa001"})
    assert bad.status_code == 404 and "period_start" in bad.get_json()["detail"]
    wrong = client.get("/api/v1/metrics", headers=headers, query_string={"scope": "planet"})
    assert wrong.status_code == 400 and wrong.mimetype == "application/problem+json"
    assert "scope (query)" in wrong.get_json()["detail"]


def test_the_installer_sees_their_figures_beside_their_teams_on_today(app, client, branch) -> None:
    sign_in(client, "wa001")
    html = client.get("/today").get_data(as_text=True)
    assert "My figures" in html and "This week" in html and "This month" in html
    assert "66.7%" in html  # their own on-site resolution (2 of 3)
    assert "Team 75.0%" in html
    assert "scope=installer" in html and "scope=team" not in html  # their own orders only


def test_the_dashboard_costs_the_same_queries_for_ten_installers_as_for_three(app, client, branch) -> None:
    sign_in(client, "sa001")
    client.get("/quality")

    def count() -> int:
        with counting(app) as statements:
            assert client.get("/quality").status_code == 200
        return len(statements)

    before = count()
    with app.app_context():
        team = db.session.scalar(select(User).where(User.username == "wa001")).team
        for n in range(7):
            complete(f.make_user(Role.INSTALLER, f"wa1{n:02d}", team), score=5)
        compute_now()
    assert count() == before


def test_an_earlier_period_is_one_link_away_and_keeps_its_place(app, client, branch) -> None:
    sign_in(client, "sa001")
    this_month = period_start(PeriodType.MONTH, branch.today)
    before = this_month - timedelta(days=1)
    current = client.get("/quality", query_string={"period": "month"}).get_data(as_text=True)
    assert "75.0%" in current and 'rel="next"' not in current
    assert f"on={before.isoformat()}" in current  # the previous link
    earlier = client.get("/quality", query_string={"period": "month", "on": before.isoformat()}).get_data(as_text=True)
    assert period_start(PeriodType.MONTH, before).isoformat() in earlier and "75.0%" not in earlier
    assert "No figures are stored for this period yet" in earlier
    assert 'rel="next"' in earlier and f"on={this_month.isoformat()}" in earlier
    assert 'name="on"' in earlier and "This month" not in earlier  # switching scope keeps the period
    csv_rows = client.get("/quality/export.csv", query_string={"period": "month", "on": before.isoformat()})
    assert f"-{period_start(PeriodType.MONTH, before).isoformat()}.csv" in csv_rows.headers["Content-Disposition"]
    for odd in ("2999-01-01", "yesterday"):  # the future and nonsense show the current period
        assert "75.0%" in client.get("/quality", query_string={"period": "month", "on": odd}).get_data(as_text=True)


def test_the_drill_down_comes_in_pages_of_order_numbers(app, client, branch) -> None:
    """A figure's orders a page at a time, in number order, each page after the last number of
    the one before, the count of them all on every page: the API by cursor, the page by link."""
    headers = token_for(app, "sa001")
    query = {"metric": "onsite_resolution_rate", "scope": "team", "scope_id": "TA01", "period": "month",
             "period_start": month(branch), "part": "numerator"}
    expected = sorted([branch.a1[0], branch.a1[1], branch.a2[0]])
    seen, cursor = [], None
    for _ in range(4):
        answer = client.get("/api/v1/metrics/orders", headers=headers,
                            query_string={**query, "limit": 2, **({"cursor": cursor} if cursor else {})}).get_json()
        assert answer["total"] == 3 and len(answer["orders"]) <= 2
        seen += answer["orders"]
        cursor = answer["next_cursor"]
        if cursor is None:
            break
    assert seen == expected
    whole = client.get("/api/v1/metrics/orders", headers=headers, query_string=query).get_json()
    assert whole["orders"] == expected and whole["next_cursor"] is None
    for bad in ({"cursor": "not-a-cursor"}, {"limit": 0}, {"limit": 10_001}):
        refused = client.get("/api/v1/metrics/orders", headers=headers, query_string={**query, **bad})
        assert refused.status_code == 400 and refused.mimetype == "application/problem+json"

    import fieldsvc.metrics.views as views
    sign_in(client, "sa001")
    page_query = {"metric": "onsite_resolution_rate", "scope": "team", "id": "TA01", "period": "month",
                  "start": month(branch), "part": "numerator"}
    limit, views.DRILL_LIMIT = views.DRILL_LIMIT, 2
    try:
        first = client.get("/quality/orders", query_string=page_query).get_data(as_text=True)
        assert "3 orders" in first and f"{expected[0]} to {expected[1]} listed" in first
        assert expected[2] not in first and f"after={expected[1]}" in first and "First page" not in first
        second = client.get("/quality/orders", query_string={**page_query, "after": expected[1]}).get_data(as_text=True)
        assert "3 orders" in second and expected[2] in second and expected[0] not in second
        assert "First page" in second and "after=" not in second.split("First page")[0].rsplit("<a", 1)[-1]
    finally:
        views.DRILL_LIMIT = limit


def test_the_drill_down_counts_the_orders_it_may_not_show(app, client, branch) -> None:
    """Installer A1 completed an order that now belongs to team B: their supervisor drills into
    A1's figure and sees A1's own team's orders, told that one more was counted."""
    with app.app_context():
        a1 = db.session.scalar(select(User).where(User.username == "wa001"))
        b1 = db.session.scalar(select(User).where(User.username == "wb001"))
        lent = complete(a1)
        lent.team_id, lent.assignee_id = b1.team_id, b1.id
        lent_number = lent.number
        db.session.commit()
        compute_now()
    query = {"metric": "completed_orders", "scope": "installer", "scope_id": "wa001", "period": "day",
             "period_start": branch.today.isoformat()}
    answer = client.get("/api/v1/metrics/orders", headers=token_for(app, "sa001"), query_string=query).get_json()
    assert answer["orders"] == sorted(branch.a1) and answer["total"] == 3 and answer["not_shown"] == 1
    admin = client.get("/api/v1/metrics/orders", headers=token_for(app, "ad001"), query_string=query).get_json()
    assert admin["orders"] == sorted([*branch.a1, lent_number]) and admin["total"] == 4 and admin["not_shown"] == 0
    sign_in(client, "sa001")
    page = client.get("/quality/orders", query_string={"metric": "completed_orders", "scope": "installer", "id": "wa001",
                                                      "period": "day", "start": branch.today.isoformat()})
    html = page.get_data(as_text=True)
    assert "3 orders" in html and lent_number not in html and "1 more order was counted that is not yours to see" in html
