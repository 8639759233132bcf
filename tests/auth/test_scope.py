"""The one scope rule (fieldsvc.auth.scope), proved once per role: which teams, installers and
districts a user manages, and the work orders built on it."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from fieldsvc.auth.models import Role
from fieldsvc.auth.scope import (
    in_managed_team,
    managed_installers,
    managed_team_ids,
    managed_teams,
    manages,
    may_see,
    order_districts,
    served_district_ids,
    supervisors_by_team,
    takes_orders_in,
    teams_serving,
)
from fieldsvc.extensions import db
from fieldsvc.workforce.models import District, Team
from fieldsvc.workorders.models import OrderStatus, WorkOrder
from fieldsvc.workorders.queries import visible_orders
from tests import factories as f


@pytest.fixture
def branch(app_ctx) -> dict:
    """Two crews in two districts, a supervisor of each, one of both, an admin, and installers
    (one of them deactivated, one with no team)."""
    a = f.make_team("A", districts=("hongshan",))
    b = f.make_team("B", districts=("wuchang", "hongshan"))
    c = f.make_team("C", districts=("jiangxia",))
    people = {
        "admin": f.make_user(Role.ADMIN, username="admin"),
        "sa": f.make_user(Role.SUPERVISOR, username="sa", team=a),
        "sb": f.make_user(Role.SUPERVISOR, username="sb", team=b),
        "wa": f.make_user(Role.INSTALLER, username="wa", team=a),
        "wa_gone": f.make_user(Role.INSTALLER, username="wa_gone", team=a, is_active=False),
        "wb": f.make_user(Role.INSTALLER, username="wb", team=b),
        "wc": f.make_user(Role.INSTALLER, username="wc", team=c),
        "loner": f.make_user(Role.INSTALLER, username="loner"),
    }
    people["sab"] = f.make_user(Role.SUPERVISOR, username="sab", team=a)
    people["sab"].supervised_teams.append(b)
    db.session.flush()
    return {"teams": {"A": a, "B": b, "C": c}, **people}


def _codes(team_ids) -> set[str]:
    return set(db.session.scalars(select(Team.code).where(Team.id.in_(team_ids))))


@pytest.mark.parametrize("who, teams, installers", [
    ("admin", {"A", "B", "C"}, {"wa", "wb", "wc", "loner"}),  # an admin: every installer, even without a team
    ("sa", {"A"}, {"wa"}),
    ("sb", {"B"}, {"wb"}),
    ("sab", {"A", "B"}, {"wa", "wb"}),
    ("wa", set(), set()),
])
def test_teams_and_installers_each_role_manages(branch, who, teams, installers) -> None:
    user = branch[who]
    assert _codes(managed_team_ids(user.role, user.id)) == teams
    assert {t.code for t in managed_teams(user)} == teams
    assert {u.username for u in db.session.scalars(managed_installers(user))} == installers
    everyone = {u.username for u in db.session.scalars(managed_installers(user, active_only=False))}
    assert everyone == installers | ({"wa_gone"} if "A" in teams else set())
    for name in ("wa", "wa_gone", "wb", "wc", "loner"):
        installer = branch[name]
        expected = user.role is Role.ADMIN or installer.team is not None and installer.team.code in teams
        assert manages(user, installer) is expected, (who, name)
        assert may_see(user, installer) is (expected or user.id == installer.id), (who, name)
    # The condition form agrees with the subquery form.
    condition = in_managed_team(Team.id, user.role, user.id)
    assert set(db.session.scalars(select(Team.code).where(condition))) == teams


@pytest.mark.parametrize("who, districts", [
    ("admin", {"hongshan", "wuchang", "jiangxia"}),
    ("sa", {"hongshan"}),
    ("sb", {"hongshan", "wuchang"}),
    ("wa", set()),
])
def test_districts_served_by_the_managed_teams(branch, who, districts) -> None:
    user = branch[who]
    ids = served_district_ids(user.role, user.id)
    assert set(db.session.scalars(select(District.code).where(District.id.in_(ids)))) == districts


@pytest.mark.parametrize("who, districts", [
    ("sa", {"hongshan"}),
    ("sb", {"hongshan", "wuchang"}),
    ("sab", {"hongshan", "wuchang"}),
    ("wa", set()),
])
def test_districts_a_user_takes_orders_in(branch, who, districts) -> None:
    user = branch[who]
    assert {d.code for d in db.session.scalars(order_districts(user))} == districts
    for district in db.session.scalars(select(District)):
        assert takes_orders_in(user, district.id) is (district.code in districts), (who, district.code)


def test_an_admin_takes_orders_in_every_district_even_one_no_team_serves(branch) -> None:
    every = set(db.session.scalars(select(District.code)))
    assert len(every) == 13
    assert {d.code for d in db.session.scalars(order_districts(branch["admin"]))} == every
    assert takes_orders_in(branch["admin"], f.district("hannan").id)


def test_teams_serving_a_district_and_supervisors_of_each_team(branch) -> None:
    hongshan = f.district("hongshan")
    assert _codes(teams_serving(hongshan.id)) == {"A", "B"}
    supervisors = {team_id: {u.username for u in users} for team_id, users in supervisors_by_team().items()}
    teams = branch["teams"]
    assert supervisors == {teams["A"].id: {"sa", "sab"}, teams["B"].id: {"sb", "sab"}}
    teams["B"].is_active = False  # a deactivated team takes no new work in the districts it served
    db.session.flush()
    assert _codes(teams_serving(hongshan.id)) == {"A"}


def test_orders_visible_follow_the_same_rule(branch) -> None:
    teams = branch["teams"]
    mine = f.make_work_order(OrderStatus.ASSIGNED, assignee=branch["wa"], number="WO-A")
    theirs = f.make_work_order(OrderStatus.ASSIGNED, assignee=branch["wb"], number="WO-B")
    unassigned_here = f.make_work_order(number="WO-NEW-HS")  # hongshan: served by A and B
    unassigned_far = f.make_work_order(number="WO-NEW-JX", customer=f.make_customer("jiangxia"))
    assert mine.team_id == teams["A"].id and theirs.team_id == teams["B"].id
    seen = {who: set(db.session.scalars(visible_orders(branch[who]).with_only_columns(WorkOrder.number)))
            for who in ("admin", "sa", "sb", "wa", "wb")}
    assert seen["admin"] == {"WO-A", "WO-B", "WO-NEW-HS", "WO-NEW-JX"}
    assert seen["sa"] == {"WO-A", "WO-NEW-HS"}
    assert seen["sb"] == {"WO-B", "WO-NEW-HS"}
    assert seen["wa"] == {"WO-A"} and seen["wb"] == {"WO-B"}
    assert unassigned_here.number in seen["sa"] and unassigned_far.number not in seen["sb"]
