"""The audit log keeps only what changed, travels in the caller's transaction, and is searchable."""
from __future__ import annotations

from datetime import date, timedelta

from flask import Flask

from fieldsvc.audit.models import AuditEntry
from fieldsvc.audit.services import AuditQuery, fields, record, search
from fieldsvc.auth.models import Role
from fieldsvc.db import local_today, zone
from fieldsvc.extensions import db
from tests import factories as f


def test_an_edit_keeps_only_the_changed_fields_and_a_no_op_records_nothing(app: Flask) -> None:
    with app.app_context():
        f.reference()
        admin = f.make_user(Role.ADMIN, username="admin")
        user = f.make_user(Role.INSTALLER, username="i1", phone="13800000000")
        db.session.commit()
        before = fields(user, ("name", "phone", "role"))
        user.phone = "13900000000"
        entry = record(admin, "user.edit", "user", user.username, before, fields(user, before))
        assert record(admin, "user.edit", "user", "i1", before | {"phone": "13900000000"},
                      fields(user, before)) is None
        db.session.commit()
        assert entry is not None
        stored = db.session.get(AuditEntry, entry.id)
        assert (stored.before, stored.after) == ({"phone": "13800000000"}, {"phone": "13900000000"})
        assert stored.actor_id == admin.id and stored.action == "user.edit"


def test_a_rolled_back_change_leaves_no_entry(app: Flask) -> None:
    with app.app_context():
        f.reference()
        record(None, "team.create", "team", "T9", None, {"code": "T9", "role": Role.SUPERVISOR})
        db.session.rollback()
        assert db.session.query(AuditEntry).count() == 0


def test_search_filters_by_actor_object_and_local_dates(app: Flask, clock) -> None:
    with app.app_context():
        f.reference()
        a1 = f.make_user(Role.ADMIN, username="a1")
        a2 = f.make_user(Role.ADMIN, username="a2")
        db.session.commit()
        today = local_today(zone())
        record(a1, "user.create", "user", "i1", None, {"name": "甲"})
        record(a2, "team.edit", "team", "T1", {"name_zh": "一"}, {"name_zh": "二"})
        db.session.commit()
        clock.shift(timedelta(days=2))
        record(a1, "user.deactivate", "user", "i1", {"is_active": True}, {"is_active": False})
        db.session.commit()

        entries, total = search(AuditQuery(object_type="user", object_key="i1"))
        assert total == 2 and [e.action for e in entries] == ["user.deactivate", "user.create"]
        assert search(AuditQuery(actor_id=a2.id))[1] == 1
        assert search(AuditQuery(date_from=today, date_to=today))[1] == 2
        assert search(AuditQuery(date_from=today + timedelta(days=1)))[1] == 1
        assert search(AuditQuery(date_to=date(2000, 1, 1)))[1] == 0
        page, total = search(AuditQuery(), page=2, per_page=2)
        assert total == 3 and len(page) == 1
