"""Hostile input, generated: schemathesis sends requests made from the OpenAPI document, valid
ones and broken ones, to every operation, with the real tokens of a seeded world, and runs every
check it has (no server error, each status and header documented, each body matching its schema,
valid data accepted, invalid data refused, the token enforced, unknown methods refused…)."""
from __future__ import annotations

import io
import itertools
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from PIL import Image
from schemathesis.core.parameters import ParameterLocation
from sqlalchemy import select

from fieldsvc import create_app
from fieldsvc.api.schemas import encode_cursor
from fieldsvc.auth.models import Role
from fieldsvc.auth.services import create_token
from fieldsvc.extensions import db
from fieldsvc.ratings.models import FollowUp
from fieldsvc.ratings.services import invitation_for, invite, submit_rating
from fieldsvc.support.models import SupportRequest
from fieldsvc.support.services import NewRequest, raise_request
from fieldsvc.workorders import photos
from fieldsvc.workorders.models import OrderStatus, WorkOrder
from tests import factories as f
from tests.conftest import suite_now

pytestmark = pytest.mark.generated  # .ci/run: on both databases, not at the extra clock instants

# Each operation gets this many generated requests per phase and mode: enough to reach every
# status the document names, bounded so that the whole file costs seconds, not minutes.
MAX_EXAMPLES = 15

ORDER_NUMBERS = ("WO260316-0000001", "WO260316-0000002", "WO260316-0000003", "WO260316-0000004")
INSTALLERS = ("w20001", "w20002", "w20003")
JOB_TYPES = ("install", "repair", "smart_home", "removal")
DISTRICTS = ("hongshan", "wuchang", "jiangan")
CERTIFICATION_TYPES = ("service_star", "skill_level", "work_at_height", "ftth")


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "green").save(out, "JPEG")
    return out.getvalue()


def _seed() -> dict[str, str]:
    """Two teams, three installers (the first fully certified), a supervisor, an admin; orders in
    several states; a token for each caller."""
    team_a = f.make_team("HS01", districts=("hongshan", "wuchang"))
    team_b = f.make_team("JA01", districts=("jiangan",))
    installer_a = f.certify_fully(f.make_user(Role.INSTALLER, username=INSTALLERS[0], team=team_a))
    f.make_user(Role.INSTALLER, username=INSTALLERS[1], team=team_a)
    f.make_user(Role.INSTALLER, username=INSTALLERS[2], team=team_b)
    supervisor = f.make_user(Role.SUPERVISOR, username="s2001", team=team_a)
    admin = f.make_user(Role.ADMIN, username="admin")
    hongshan = f.make_customer("hongshan")
    f.make_work_order(OrderStatus.NEW, number=ORDER_NUMBERS[0], customer=hongshan)
    f.make_work_order(OrderStatus.ASSIGNED, assignee=installer_a, number=ORDER_NUMBERS[1], customer=hongshan)
    on_site = f.make_work_order(OrderStatus.ON_SITE, assignee=installer_a, number=ORDER_NUMBERS[2],
                                customer=f.make_customer("wuchang"))
    # Its installer asked for help, with a photo: a support request for the support endpoints to answer with.
    (photo,) = photos.prepare([("port.jpg", io.BytesIO(_jpeg()))])
    raise_request(on_site, installer_a, NewRequest("optical_signal", "光功率低", None, photo), suite_now())
    f.make_work_order(OrderStatus.NEW, number=ORDER_NUMBERS[3], customer=f.make_customer("jiangan"))
    # A completed order rated 1 star: its follow-up, for the follow-up endpoints to answer with.
    done = f.make_work_order(OrderStatus.COMPLETED, assignee=installer_a, customer=hongshan,
                             completed_by_id=installer_a.id, completed_at=suite_now() - timedelta(hours=1))
    submit_rating(invitation_for(invite(done, suite_now() - timedelta(hours=1))), 1, comment="太慢")
    tokens = {
        "supervisor": create_token(supervisor),
        "admin": create_token(admin),
    }
    db.session.commit()
    return tokens


def _document() -> dict[str, Any]:
    """The OpenAPI document as the app serves it (an app that only serves it: no database)."""
    documenting = create_app({"TESTING": True, "SECRET_KEY": "documentation-only",
                              "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    return documenting.test_client().get("/api/v1/openapi.json").get_json()


# Valid data must be accepted (2xx), except where the answer depends on the caller or the world
# rather than on the document: a role that may not (403), missing or foreign things (404), stale
# versions and duplicates (409) and rules refusing (422) anywhere. The bodies of these three also
# pass through checks the document cannot state, answered 400 with `errors`: codes that must exist
# (job type, district, certification type), fields one action needs (a cancel's reason, a
# completion's evidence), ranges that move with the day (no certificate from the future, windows
# at most a year ahead, a level within its type's).
WORLD_DEPENDENT = ["2xx", "403", "404", "409", "422"]
CHECKED_BEYOND_THE_DOCUMENT = [
    ("/api/v1/work-orders", "POST"),
    ("/api/v1/work-orders/{number}/transitions", "POST"),
    ("/api/v1/installers/{username}/certifications", "POST"),
]

CONFIG = schemathesis.Config.from_dict({
    "seed": 20260316,
    "checks": {"positive_data_acceptance": {"expected-statuses": WORLD_DEPENDENT}},
    "operations": [
        {"include-path": path, "include-method": method,
         "checks": {"positive_data_acceptance": {"expected-statuses": [*WORLD_DEPENDENT, "400"]}}}
        for path, method in CHECKED_BEYOND_THE_DOCUMENT
    ],
    # NUL characters are refused before any view (fieldsvc.security; tests/test_bad_input.py): left
    # out here so that the examples reach the views.
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True, "allow-x00": False},
})
schema = schemathesis.openapi.from_dict(_document(), config=CONFIG)


@dataclass
class Caller:
    """Who sends the requests, and the turns `_pick` takes (hypothesis is derandomized: the same
    cases come in the same order, so the same values are picked for them)."""

    headers: dict[str, str]
    turns: Iterator[int] = field(default_factory=itertools.count)

    def pick(self, known: tuple[Any, ...], generated: Any) -> Any:
        """One of the known values, in turn, or (one time in len(known) + 1) the generated one."""
        turn = next(self.turns) % (len(known) + 1)
        return known[turn] if turn < len(known) else generated


@pytest.fixture(params=["supervisor", "admin"])
def caller(request: pytest.FixtureRequest, app: Flask) -> Caller:
    """One caller in a freshly seeded world."""
    with app.app_context():
        tokens = _seed()
    return Caller({"Authorization": f"Bearer {tokens[request.param]}"})


def _reachable(case: Any, app: Flask, caller: Caller) -> None:
    """Let valid requests reach past what the document cannot say: most generated order numbers,
    usernames, codes and versions become ones that exist in the seeded world, and a generated
    `cursor`, which is opaque, is wrapped into a real one around the generated value. A component
    schemathesis broke on purpose stays as it made it."""
    components = case.meta.components if case.meta is not None else {}

    def valid(location: ParameterLocation) -> bool:
        return location in components and not components[location].mode.is_negative

    if case.path_parameters and valid(ParameterLocation.PATH):
        for name, known in (("number", ORDER_NUMBERS), ("username", INSTALLERS)):
            if isinstance(case.path_parameters.get(name), str):
                case.path_parameters[name] = caller.pick(known, case.path_parameters[name])
        if isinstance(case.path_parameters.get("followup_id"), int):
            with app.app_context():
                seeded = db.session.scalar(select(FollowUp.id))
            case.path_parameters["followup_id"] = caller.pick((seeded,), case.path_parameters["followup_id"])
        if isinstance(case.path_parameters.get("request_id"), int):
            with app.app_context():
                seeded = db.session.scalar(select(SupportRequest.id))
            case.path_parameters["request_id"] = caller.pick((seeded,), case.path_parameters["request_id"])
    cursor = (case.query or {}).get("cursor")
    if isinstance(cursor, str) and valid(ParameterLocation.QUERY):
        if case.path == "/api/v1/work-orders":
            after = suite_now() - timedelta(seconds=zlib.crc32(cursor.encode("utf-8", "surrogatepass")))
            case.query["cursor"] = encode_cursor([after.isoformat(), len(cursor)])
        elif case.path in ("/api/v1/follow-ups", "/api/v1/support-requests"):  # the id after which the page starts
            case.query["cursor"] = encode_cursor([zlib.crc32(cursor.encode("utf-8", "surrogatepass")) % 2**31])
        else:
            case.query["cursor"] = encode_cursor([cursor])
    body = case.body
    if not isinstance(body, dict) or not valid(ParameterLocation.BODY):
        return
    if isinstance(body.get("job_type"), str):
        body["job_type"] = caller.pick(JOB_TYPES, body["job_type"])
    if isinstance(body.get("customer"), dict) and isinstance(body["customer"].get("district"), str):
        body["customer"]["district"] = caller.pick(DISTRICTS, body["customer"]["district"])
    if case.path.endswith("/certifications") and isinstance(body.get("type"), str):
        body["type"] = caller.pick(CERTIFICATION_TYPES, body["type"])
    if "installer" in body:
        body["installer"] = caller.pick((*INSTALLERS, None), body["installer"])
    number = (case.path_parameters or {}).get("number")
    if isinstance(body.get("version"), int) and number in ORDER_NUMBERS:
        with app.app_context():
            version = db.session.scalar(select(WorkOrder.version).where(WorkOrder.number == number))
        body["version"] = caller.pick((version, version), body["version"])


@schema.parametrize()
@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                                HealthCheck.function_scoped_fixture])
def test_the_api_answers_as_its_document_says(case: Any, app: Flask, caller: Caller) -> None:
    # The document was loaded at collection; the requests go to this test's app (its probes too).
    case.operation.schema.app = case.operation.app = app
    _reachable(case, app, caller)
    components = case.meta.components if case.meta is not None else {}
    header = components.get(ParameterLocation.HEADER)
    # A token of the seeded world, unless schemathesis broke the Authorization header on purpose.
    # Uncompressed answers: its WSGI transport does not undo a Content-Encoding (tests/test_compression.py).
    plain = {"Accept-Encoding": "identity"}
    case.call_and_validate(headers=plain if header is not None and header.mode.is_negative
                           else {**caller.headers, **plain})
