"""Messages name people by name, in the reader's language, with the employee number only where
two people share that name."""
from __future__ import annotations

from flask import Flask
from flask_babel import refresh

from fieldsvc.auth.models import Role
from fieldsvc.auth.services import PersonName
from tests import factories as f


def test_a_name_gets_the_number_only_when_shared(app_ctx: Flask) -> None:
    team = f.make_team()
    li = f.make_user(Role.INSTALLER, username="w10016", team=team, name="李强", name_en="Li Qiang")
    f.make_user(Role.INSTALLER, username="w10099", team=team, name="李强", name_en="Li Qiang")
    zhang = f.make_user(Role.INSTALLER, username="w10015", team=team, name="张伟", name_en="Zhang Wei")
    only_zh = f.make_user(Role.INSTALLER, username="w10017", team=team, name="王芳", name_en="")
    for language, expected in (("zh-CN", ["李强（w10016）", "张伟", "王芳"]),
                               ("en", ["Li Qiang (w10016)", "Zhang Wei", "王芳"])):
        with app_ctx.test_request_context(headers={"Accept-Language": language}):
            refresh()  # the test's one app context would keep the first request's language
            assert [str(PersonName(u)) for u in (li, zhang, only_zh)] == expected
