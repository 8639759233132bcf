"""The permission matrix: every rule × method of the app's url_map × every kind of caller, with the
answer each must get, written by hand below. A route without an entry fails the suite, and so
does an entry for a route that is gone.

The callers: anonymous; installer A (team A) and installer B (team B); supervisor A (runs team A)
and supervisor B (runs team B only); the admin; a deactivated installer of team A (a browser
session and an API token from before the deactivation); and API tokens of installer A and B,
supervisor A and B and the admin. The URLs name team A's things (an order of team A assigned to
installer A, its photo and rating link, installer A's certificate and training record), so the
"B" callers try someone else's.

- Pages authenticate by the browser session only: a bearer token on a page is ignored (the token
  callers carry an anonymous session, with its CSRF token, so their form posts reach the sign-in
  check instead of stopping at CSRF). The API authenticates by token only: a signed-in browser
  session gets 401 there (and the API needs no CSRF token, since no cookie authenticates it).
- Every body is valid, so an allowed caller gets through (2xx/3xx, and an allowed form post must
  change the data unless the entry says it changes nothing) and a refused one is refused by a
  permission check, not by validation.
- A refused request (401, 403, 404, a redirect to sign in, or an entry marked refused) leaks
  nothing: none of the marker strings planted in team A's and team B's data appears in its body
  or headers; and it writes nothing: a fingerprint of every table's rows is the same after it.
  Allowed answers show only markers the caller may see (an installer their own orders, a
  supervisor their teams', an admin all). Every marker must show up somewhere for someone
  allowed, or its absence elsewhere would prove nothing.
- A page view (GET) writes nothing, allowed or not.
- Allowed writes are undone: after a request that changed the data, the tables it changed are put
  back as seeded, so every request starts from the same known state.
"""
from __future__ import annotations

import io
import re
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select, update

from fieldsvc.auth.models import ApiToken, Role
from fieldsvc.auth.people import create_reset_link
from fieldsvc.auth.services import create_token, deactivate_user
from fieldsvc.certifications.models import (
    CertificationType,
    TrainingCourse,
    TrainingRecord,
    TrainingSession,
)
from fieldsvc.db import utcnow, zone
from fieldsvc.extensions import db
from fieldsvc.notifications.models import Notification
from fieldsvc.onboarding import storage
from fieldsvc.onboarding.services import preview
from fieldsvc.ratings.lookup import find_visits
from fieldsvc.ratings.models import FollowUp, PraiseChannel
from fieldsvc.ratings.placards import issue_placards
from fieldsvc.ratings.praise import photo_upload, record_praise
from fieldsvc.ratings.services import invitation_for, invite, submit_rating
from fieldsvc.rules.services import rule_rows, rule_version
from fieldsvc.support.knowledge import NoteData, create_note
from fieldsvc.support.services import NewRequest, raise_request, resolve
from fieldsvc.workforce.services import district_state, state_tag, team_state
from fieldsvc.workorders import lifecycle, photos, standards
from fieldsvc.workorders.models import OrderStatus, Visit, WorkOrder, WorkOrderEvent
from tests import factories as f
from tests.conftest import CSRF_RE, sign_in
from tests.matrix_support import (
    LOGIN,
    SESSION_COOKIE,
    Actor,
    Case,
    Expect,
    Marker,
    TableState,
    answer_text,
    markers_in,
    mismatch,
    send,
)

# --- who asks ----------------------------------------------------------------------------------

PEOPLE = ("inst_a", "inst_b", "sup_a", "sup_b", "admin")  # signed in with a browser session
TOKENS = ("tok_inst_a", "tok_inst_b", "tok_sup_a", "tok_sup_b", "tok_admin")  # API tokens only
ACTORS = ("anon", *PEOPLE, "deact", *TOKENS)
TOKEN_OWNER = dict(zip(TOKENS, PEOPLE, strict=True))


def _expect(value: int | Expect, writes: bool | None) -> Expect:
    if isinstance(value, Expect):
        return value
    return Expect(value, writes=writes if value < 400 else None)


def pages(inst_a: int | Expect, inst_b: int | Expect, sup_a: int | Expect, sup_b: int | Expect,
          admin: int | Expect, *, others: int | Expect = LOGIN, writes: bool | None = None,
          **overrides: int | Expect) -> dict[str, Expect]:
    """A page (or form post): the five signed-in people as given; everyone without a live browser
    session (anonymous, the deactivated user, the API tokens) gets `others`, by default sent to
    sign in. `writes` says whether the allowed ones change the data."""
    given = dict(zip(PEOPLE, (inst_a, inst_b, sup_a, sup_b, admin), strict=True))
    table = {actor: _expect(given.get(actor, others), writes) for actor in ACTORS}
    table.update({actor: _expect(value, writes) for actor, value in overrides.items()})
    return table


def api(inst_a: int | Expect, inst_b: int | Expect, sup_a: int | Expect, sup_b: int | Expect,
        admin: int | Expect, *, writes: bool | None = None) -> dict[str, Expect]:
    """An API endpoint: the five people's tokens as given; everyone without a live token (anonymous,
    the signed-in browser sessions, the deactivated user's token) gets 401."""
    given = dict(zip(TOKENS, (inst_a, inst_b, sup_a, sup_b, admin), strict=True))
    return {actor: _expect(given.get(actor, 401), writes) for actor in ACTORS}


def everyone(value: int | Expect, *, writes: bool | None = None, **overrides: int | Expect) -> dict[str, Expect]:
    """Public: every caller alike."""
    table = {actor: _expect(value, writes) for actor in ACTORS}
    table.update({actor: _expect(v, writes) for actor, v in overrides.items()})
    return table


WRITES = Expect(302, writes=True)
REFUSED_200 = Expect(200, denied=True)  # a per-item refusal in a 200 page (bulk assignment)
SIGNED_OUT = Expect(302, location="/login", writes=True)  # sign-out raises the session version
PRINTED, ISSUED = Expect(303, writes=False), Expect(303, writes=True)  # placards printed: codes kept / issued

# --- what is planted where ---------------------------------------------------------------------

ORDER_A = frozenset({"inst_a", "sup_a", "admin"})  # installer A's orders, certificates, name
QUEUE_A = frozenset({"sup_a", "admin"})  # an unassigned order in team A's district
ORDER_B = frozenset({"inst_b", "sup_b", "admin"})
INBOX_A = frozenset({"inst_a"})

MARKERS = {
    "customer_a_name": Marker("QzCustAName", ORDER_A),
    "customer_a_phone": Marker("13905550101", ORDER_A),
    "customer_a_account": Marker("02799550101", ORDER_A),
    "customer_a_address": Marker("QzCustAAddr", ORDER_A),
    "order_a_notes": Marker("QzOrderANotes", ORDER_A),
    "order_a_ref": Marker("CRM-QzOrderARef", ORDER_A),
    "order_a_event_note": Marker("QzOrderAEvent", ORDER_A),
    "done_customer_name": Marker("QzDoneName", ORDER_A),
    "queue_customer_name": Marker("QzQueueName", QUEUE_A),
    "queue_customer_address": Marker("QzQueueAddr", QUEUE_A),
    "customer_b_name": Marker("QzCustBName", ORDER_B),
    "customer_b_address": Marker("QzCustBAddr", ORDER_B),
    "certificate_number": Marker("QzCertNo", ORDER_A),
    "notice_a": Marker("QzNoticeA", INBOX_A),
    "installer_a_name": Marker("QzInstA", ORDER_A),
    "followup_customer_name": Marker("QzFollowCust", ORDER_A),
    "rating_comment": Marker("QzRatingComment", ORDER_A),
    "praise_a_note": Marker("QzPraiseA", ORDER_A),
    "support_note": Marker("QzSupportNote", ORDER_A),
}
# The one marker that is not secret everywhere: an installer's name is shown on the API's
# installer list (to every token) and on the customer's rating page ("engineer …").
DIRECTORY = ("installer_a_name",)

# The URL parameters, by the seeded world's attributes (a case may name others).
PARAMS = {"number": "order_a", "photo_id": "photo_id", "token": "survey_token", "session_id": "past_session",
          "record_id": "record_id", "username": "inst_a", "certification_id": "certificate_id", "fmt": "export_format",
          "filename": "static_file", "code": "job_type", "praise_id": "praise_id", "followup_id": "followup_id",
          "key": "rule_key", "token_id": "token_id", "request_id": "support_open", "note_id": "note_id"}


# --- the bodies --------------------------------------------------------------------------------

def act(action: str, **fields: str):
    """A job-page action on order A (the form's fields carry the action's prefix)."""
    def body(w: Any, actor: Actor) -> dict[str, Any]:
        return {"action": action, f"{action}-csrf_token": actor.csrf or "", f"{action}-version": w.order_a_version,
                f"{action}-idempotency_key": f"matrix-{actor.name}", **{f"{action}-{k}": v for k, v in fields.items()}}
    return body


def sign_in_form(w: Any, actor: Actor) -> dict[str, str]:
    # Each caller signs in as themself (a token's owner; the deactivated user, refused); anonymous as installer A.
    username = w.usernames.get(TOKEN_OWNER.get(actor.name, actor.name), w.inst_a)
    return {"username": username, "password": f.PASSWORD}


def bulk_assign_form(w: Any, actor: Actor) -> dict[str, Any]:
    # To an installer of the caller's own team: supervisor B may pick theirs, not take team A's order.
    installer = w.inst_b if actor.name == "sup_b" else w.inst_a
    return {"orders": [f"{w.queue_order}:{w.queue_order_version}"], "installer": installer}


def new_order_form(w: Any, actor: Actor) -> dict[str, str]:
    # In team A's district: supervisor B's form does not offer it.
    return {"job_type": "repair", "priority": "normal", "account_no": "02788880009", "customer_name": "新客户",
            "phone": "13800001111", "address": "珞喻路2号", "district": "hongshan", "notes": ""}


def new_order_json(w: Any, actor: Actor) -> dict[str, Any]:
    return {"external_ref": "CRM-MATRIX-NEW", "job_type": "repair",
            "customer": {"account_no": "02788880009", "name": "新客户", "phone": "13800001111",
                         "address": "珞喻路2号", "district": "hongshan"}}


def edit_order_form(w: Any, actor: Actor) -> dict[str, Any]:
    return {"priority": "high", "notes": "改约到下午", "version": w.order_a_version, "day": "", "slot": ""}


def job_type_form(w: Any, actor: Actor) -> dict[str, Any]:
    return {"name_zh": "修障", "name_en": "Fault repair", "same_day_cutoff_hour": "16", "deadline_hours": "36",
            "required_evidence": ["fault_cause"], "photos_required": "0", "is_active": "y"}


def rule_form(w: Any, actor: Actor) -> dict[str, Any]:
    return {"value": "10", "effective_from": w.today.isoformat(), "version": w.rule_version, "note": "matrix"}


def standard_form(w: Any, actor: Actor) -> dict[str, Any]:
    return {"steps": "shoe_covers | on_site | required | 穿鞋套 | Shoe covers", "seen": w.standard_seen}


def step_form(w: Any, actor: Actor) -> dict[str, Any]:
    return {"done": "1"}


def certification_type_form(code: str):
    def body(w: Any, actor: Actor) -> dict[str, str]:
        return {"code": code, "name_zh": "光纤入户", "name_en": "FTTH installation", "category": "skill",
                "validity_months": "37", "review_months": "", "renewal_window_days": "60", "min_level": "",
                "max_level": "", "is_active": "y", "required_by": "install"}
    return body


def onboarding_file(w: Any, actor: Actor) -> dict[str, Any]:
    return {"file": (io.BytesIO("工号,姓名,班组编码\nwa101,新装维,TA01\n".encode()), "installers.csv")}


def session_form(w: Any, actor: Actor) -> dict[str, Any]:
    return {"course": str(w.course_id), "day": (w.today + timedelta(days=10)).isoformat(), "starts": "09:00",
            "ends": "17:00", "place": "洪山培训中心", "trainer": "李老师", "capacity": "20"}


def certificate_form(w: Any, actor: Actor) -> dict[str, str]:
    return {"type": "ftth", "issued_on": (w.today - timedelta(days=1)).isoformat(), "level": "",
            "number": "FT-2026-0001", "evidence": ""}


def certificate_json(w: Any, actor: Actor) -> dict[str, str]:
    return {"type": "ftth", "issued_on": (w.today - timedelta(days=1)).isoformat()}


def metric_orders(w: Any, **scope: str) -> dict[str, str]:
    """The orders behind this month's completed orders of a scope (the page's `start`, the API's `period_start`)."""
    start = w.today.replace(day=1).isoformat()
    return {"metric": "completed_orders", "period": "month", "start": start, "period_start": start, **scope}


def followup_form(**fields: str):
    """A step of the follow-up of installer A's 1-star rating, from the version seeded."""
    return lambda w, actor: {"version": w.followup_version, **fields}
def support_form(which: str, **fields: str):
    """A step of a seeded support request (`which`: the open one, or the one resolved), from its version."""
    return lambda w, actor: {"version": getattr(w, f"{which}_version"), **fields}


def praise_form(w: Any, actor: Actor) -> dict[str, str]:
    # For installer A: supervisor B's form does not offer them (a field error, nothing recorded).
    return {"installer": w.inst_a, "received_on": w.today.isoformat(), "channel": "letter", "note": "感谢信"}


def person_form(username: str | None = None):
    """A person's details: a new installer of team B, or installer B's edited (in the same team)."""
    def body(w: Any, actor: Actor) -> dict[str, Any]:
        form = {"name": "李强", "name_en": "Li Qiang", "phone": "13900009999", "role": "installer",
                "employer_type": "staff", "team": "TB01"}
        return {"username": username, **form} if username else form
    return body


def team_form(**fields: Any):
    """Team A's form (its code is the URL's), or a new team's with `code`."""
    return lambda w, actor: {"name_zh": "矩阵班", "name_en": "Matrix crew", "home_district": "hongshan",
                             "districts": ["hongshan"], "is_active": "y", "seen": w.team_seen, **fields}


def note_form(preview: bool = False):
    """The standard-procedure note form (a new note, or the seeded one edited from its version);
    with `preview` the preview button, which saves nothing."""
    def body(w: Any, actor: Actor) -> dict[str, Any]:
        form = {"title_zh": "光功率偏低排查", "title_en": "Weak optical signal", "body_zh": "先**清洁**连接器。",
                "body_en": "", "job_types": ["repair"], "categories": ["optical_signal"], "is_active": "y",
                "version": w.note_version}
        return {**form, "preview": "1"} if preview else form
    return body


def same(**fields: Any):
    """The same form for every caller."""
    return lambda w, actor: dict(fields)


def order_a_json(**fields: Any):
    return lambda w, actor: {"version": w.order_a_version, **fields}


# --- the matrix --------------------------------------------------------------------------------
# pages(...) and api(...) list installer A, installer B, supervisor A, supervisor B, admin.

MATRIX: dict[str, dict[str, Case | list[Case]]] = {
    "/static/<path:filename>": {"GET": Case(everyone(200))},
    "/": {"GET": Case(pages(302, 302, 302, 302, 302))},  # signed in: home; else the sign-in page
    "/healthz": {"GET": Case(everyone(200))},
    # The phone's offline parts (README "Offline on the phone"): the worker and the manifest are public
    # (nothing personal in them); the outbox's fresh CSRF token needs a live browser session.
    "/sw.js": {"GET": Case(everyone(200))},
    "/manifest.webmanifest": {"GET": Case(everyone(200))},
    "/session/token": {"GET": Case(pages(200, 200, 200, 200, 200))},
    "/login": {
        "GET": Case(pages(302, 302, 302, 302, 302, others=200)),  # signed in: home
        "POST": Case(pages(*[Expect(302, writes=False)] * 5, others=Expect(302, writes=True),
                           deact=Expect(400, denied=True)), form=sign_in_form),
    },
    "/logout": {"POST": Case(pages(*[SIGNED_OUT] * 5), form=same())},
    "/language": {"POST": Case(everyone(Expect(302, writes=False)), form=same(lang="en", next="/"))},
    "/today": {"GET": Case(pages(200, 200, 403, 403, 403))},
    "/upcoming": {"GET": Case(pages(200, 200, 403, 403, 403))},
    "/done": {"GET": Case(pages(200, 200, 403, 403, 403))},
    "/orders/<number>": {"GET": Case(pages(200, 404, 200, 404, 200))},
    "/orders/<number>/act": {"POST": [
        # The visit's steps are the assigned installer's alone (#11 item 5): supervisors and admins 403.
        Case(pages(302, 404, 403, 404, 403, writes=True), form=act("accept"), note="accept"),
        # Only supervisors and admins cancel (and assign): installer A may see the order, not cancel it.
        Case(pages(403, 404, 302, 404, 302, writes=True), form=act("cancel", reason="客户撤单"), note="cancel"),
        Case(pages(403, 404, 302, 404, 302, writes=True), form=act("unassign"), note="unassign"),
    ]},
    "/photos/<int:photo_id>": {"GET": Case(pages(200, 404, 200, 404, 200))},
    "/board": {"GET": [
        Case(pages(403, 403, 200, 200, 200)),
        Case(pages(403, 403, 200, 200, 200), query=lambda w: {"q": MARKERS["customer_a_phone"].text},
             note="searching another team's customer"),
    ]},
    "/board/assign": {"POST": Case(pages(403, 403, 200, REFUSED_200, 200, writes=True), form=bulk_assign_form)},
    "/board/workload": {"GET": Case(pages(403, 403, 200, 200, 200))},
    "/orders/new": {
        "GET": [
            Case(pages(403, 403, 200, 200, 200)),
            Case(pages(403, 403, 200, 200, 200), query=lambda w: {"find": MARKERS["customer_a_phone"].text},
                 note="looking up another team's customer"),
        ],
        "POST": Case(pages(403, 403, 302, Expect(400, denied=True), 302, writes=True), form=new_order_form),
    },
    "/orders/<number>/edit": {
        "GET": Case(pages(403, 403, 200, 404, 200)),
        "POST": Case(pages(403, 403, 302, 404, 302, writes=True), form=edit_order_form),
    },
    "/admin/": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/job-types": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/scheduler": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/job-types/<code>": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": Case(pages(403, 403, 403, 403, 302, writes=True), form=job_type_form),
    },
    "/admin/rx-band": {"POST": Case(pages(403, 403, 403, 403, 302, writes=True), form=same(low="-26", high="-9"))},
    "/admin/certification-types": {"GET": Case(pages(403, 403, 403, 403, 200))},
    # The rules and the audit log: the admin's alone.
    "/admin/rules/": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/rules/<key>": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": Case(pages(403, 403, 403, 403, 302, writes=True), form=rule_form),
    },
    "/admin/rules/deadlines/<code>": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/standards/": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/standards/<code>": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": Case(pages(403, 403, 403, 403, 302, writes=True), form=standard_form),
    },
    # Ticking a step of the service standard: the assigned installer only (B: not theirs, absent).
    "/orders/<number>/steps/<code>": {"POST": Case(pages(302, 404, 403, 403, 403, writes=True),
                                                   params={"code": "step_code"}, form=step_form)},
    "/admin/audit/": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/audit/export.csv": {"GET": Case(pages(403, 403, 403, 403, 200))},
    # Bulk onboarding (#14 item 2): admins only. An upload is previewed (kept in the instance folder,
    # no table written); the confirm imports the admin's own seeded upload (one new installer).
    "/admin/onboarding/": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": Case(pages(403, 403, 403, 403, Expect(303, writes=False)), form=onboarding_file),
    },
    "/admin/onboarding/preview/<upload_id>": {"GET": Case(pages(403, 403, 403, 403, 200),
                                                          params={"upload_id": "onboarding_upload"})},
    "/admin/onboarding/preview/<upload_id>/confirm": {"POST": Case(
        pages(403, 403, 403, 403, Expect(303, writes=True)), params={"upload_id": "onboarding_upload"},
        form=lambda w, actor: {"digest": w.onboarding_digest})},
    "/admin/onboarding/template.<fmt>": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/certification-types/<code>": {
        "GET": Case(pages(403, 403, 403, 403, 200), params={"code": "certification_type"}),
        "POST": Case(pages(403, 403, 403, 403, 302, writes=True), params={"code": "certification_type"},
                     form=certification_type_form("ftth")),
    },
    # Teams and districts: admins only; the edit forms carry the tag of what they saw (a stale one: 409).
    "/admin/teams": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/teams/new": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": Case(pages(403, 403, 403, 403, 302, writes=True), form=team_form(code="TM01")),
    },
    "/admin/teams/<code>": {
        "GET": Case(pages(403, 403, 403, 403, 200), params={"code": "team_code"}),
        "POST": Case(pages(403, 403, 403, 403, 302, writes=True), params={"code": "team_code"}, form=team_form()),
    },
    "/admin/districts": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/districts/<code>": {
        "GET": Case(pages(403, 403, 403, 403, 200), params={"code": "district_code"}),
        "POST": Case(pages(403, 403, 403, 403, 302, writes=True), params={"code": "district_code"},
                     form=lambda w, actor: {"name_zh": "洪山区", "name_en": "Hongshan (matrix)", "seen": w.district_seen}),
    },
    # API tokens: everyone their own (the token named is installer A's: anyone else's is not found);
    # an admin anyone's. A created token is shown on the 200 answer, once.
    "/account/tokens": {
        "GET": Case(pages(200, 200, 200, 200, 200)),
        "POST": Case(pages(*[Expect(200, writes=True)] * 5), form=same(name="matrix")),
    },
    "/account/tokens/<int:token_id>/revoke": {"POST": Case(pages(WRITES, 404, 404, 404, 404), form=same())},
    "/admin/people/<username>/tokens": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": Case(pages(403, 403, 403, 403, Expect(200, writes=True)), form=same(name="matrix")),
    },
    "/admin/people/<username>/tokens/<int:token_id>/revoke": {
        "POST": Case(pages(403, 403, 403, 403, WRITES), form=same())},
    "/admin/certification-types/new": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": Case(pages(403, 403, 403, 403, 302, writes=True), form=certification_type_form("fibre_matrix")),
    },
    # Standard-procedure notes (#15 item 5): written by admins (a preview saves nothing), read by anyone signed in.
    "/admin/notes": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/notes/new": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": [Case(pages(403, 403, 403, 403, WRITES), form=note_form()),
                 Case(pages(403, 403, 403, 403, Expect(200, writes=False)), form=note_form(preview=True), note="preview")],
    },
    "/admin/notes/<int:note_id>": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": [Case(pages(403, 403, 403, 403, WRITES), form=note_form()),
                 Case(pages(403, 403, 403, 403, Expect(200, writes=False)), form=note_form(preview=True), note="preview")],
    },
    "/notes/<int:note_id>": {"GET": Case(pages(200, 200, 200, 200, 200))},
    # People (admin only): installer B's page, edited, deactivated, given a reset link. Installer B is
    # active already, so reactivating them changes nothing (a message says so).
    "/admin/people": {"GET": Case(pages(403, 403, 403, 403, 200))},
    "/admin/people/new": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": Case(pages(403, 403, 403, 403, WRITES), form=person_form("wn001")),
    },
    "/admin/people/<username>": {
        "GET": Case(pages(403, 403, 403, 403, 200)),
        "POST": Case(pages(403, 403, 403, 403, WRITES), params={"username": "inst_b"}, form=person_form()),
    },
    "/admin/people/<username>/deactivate": {"POST": Case(pages(403, 403, 403, 403, WRITES), params={"username": "inst_b"},
                                                         form=same())},
    "/admin/people/<username>/reactivate": {"POST": Case(pages(403, 403, 403, 403, Expect(302, writes=False)),
                                                         params={"username": "inst_b"}, form=same())},
    "/admin/people/<username>/reset-link": {"POST": Case(pages(403, 403, 403, 403, Expect(200, writes=True)),
                                                         params={"username": "inst_b"}, form=same())},
    # Everyone signed in changes their own password (the current one required).
    "/account/password": {
        "GET": Case(pages(200, 200, 200, 200, 200)),
        "POST": Case(pages(*[WRITES] * 5), form=same(current=f.PASSWORD, new="battery-staple-42",
                                                     again="battery-staple-42")),
    },
    # A password reset link (installer B's) needs no account: whoever holds it sets the password, once,
    # and is sent to sign in with it.
    "/reset/<token>": {
        "GET": Case(everyone(200), params={"token": "reset_token"}),
        "POST": Case(everyone(Expect(302, location="/login", writes=True)), params={"token": "reset_token"},
                     form=same(new="battery-staple-42", again="battery-staple-42")),
    },
    # The customer's rating link needs no account: whoever holds it may rate, once.
    "/r/<token>": {
        "GET": Case(everyone(200), reveals=DIRECTORY),
        "POST": Case(everyone(200, writes=True), form=same(score="5")),
    },
    "/orders/<number>/rating-code": {"GET": Case(pages(200, 404, 200, 404, 200), params={"number": "done_order"},
                                                 query=lambda w: {"token": w.survey_token})},
    # A fresh rating link for the order's completed job: the installer who completed it only (the
    # code is shown in person on their phone); any supervisor or admin 403, another installer 404.
    "/orders/<number>/rating-code/new": {"POST": Case(
        pages(Expect(303, writes=True), 404, 403, 403, 403), params={"number": "done_order"}, form=same())},
    # The follow-ups (回访) of bad ratings: supervisors of the order's team and admins; installers see
    # theirs on their job page (and through the API), read-only.
    "/followups": {"GET": Case(pages(403, 403, 200, 200, 200))},
    "/followups/export.<fmt>": {"GET": Case(pages(403, 403, 200, 200, 200))},
    "/followups/<int:followup_id>": {"GET": Case(pages(403, 403, 200, 404, 200))},
    "/followups/<int:followup_id>/contact": {"POST": Case(pages(403, 403, WRITES, 404, WRITES),
                                                          form=followup_form(note="已联系客户"))},
    "/followups/<int:followup_id>/close": {"POST": Case(pages(403, 403, WRITES, 404, WRITES),
                                                        form=followup_form(outcome="customer_unreachable",
                                                                           note="电话无人接听"))},
    # Rating reminders off for the customer of a completed order: its supervisors and admins on the
    # job page; the customer, whoever holds the link, on the rating page.
    "/orders/<number>/reminders": {"POST": Case(
        pages(403, 403, Expect(303, writes=True), 404, Expect(303, writes=True)), params={"number": "done_order"},
        form=same(reminders="off"))},
    "/r/<token>/reminders": {"POST": Case(everyone(Expect(303, writes=True)), form=same(reminders="off"))},
    # On-site support (现场支撑): the installer asks on their own order on the way (supervisors and
    # admins 403: they are the desk); the desk is supervisors of the order's team and admins.
    "/orders/<number>/support": {"POST": Case(pages(WRITES, 404, 403, 404, 403), params={"number": "raise_order"},
                                              form=same(category="optical_signal", note="光功率-29"))},
    "/orders/<number>/support/live": {"GET": Case(pages(200, 404, 200, 404, 200), params={"number": "asked_order"})},
    "/support/requests/<int:request_id>/thanks": {"POST": Case(
        pages(WRITES, 404, 403, 403, 403), params={"request_id": "support_resolved"}, form=support_form("support_resolved"))},
    "/support": {"GET": Case(pages(403, 403, 200, 200, 200))},
    "/support/queue": {"GET": Case(pages(403, 403, 200, 200, 200))},
    "/support/requests/<int:request_id>": {"GET": Case(pages(403, 403, 200, 404, 200))},
    "/support/requests/<int:request_id>/take": {"POST": Case(pages(403, 403, WRITES, 404, WRITES),
                                                             form=support_form("support_open"))},
    "/support/requests/<int:request_id>/reply": {"POST": Case(pages(403, 403, WRITES, 404, WRITES),
                                                              form=support_form("support_open", body="换3号口"))},
    "/support/requests/<int:request_id>/resolve": {"POST": Case(
        pages(403, 403, WRITES, 404, WRITES), form=support_form("support_open", resolution="expert_sent", note=""))},
    "/me/ratings": {"GET": Case(pages(200, 200, 403, 403, 403))},
    "/ratings/installers/<username>": {"GET": Case(pages(403, 403, 200, 404, 200))},
    "/ratings/team": {"GET": [
        Case(pages(403, 403, 200, 200, 200)),
        Case(pages(403, 403, 200, 404, 200), query=lambda w: {"team": "TA01"}, note="team A's view"),
    ]},
    # Praise: everyone signed in sees what is theirs to see; supervisors (their teams') and admins record it.
    "/praise": {"GET": Case(pages(200, 200, 200, 200, 200))},
    "/praise/new": {
        "GET": Case(pages(403, 403, 200, 200, 200)),
        "POST": Case(pages(403, 403, Expect(303, writes=True), Expect(400, denied=True), Expect(303, writes=True)),
                     form=praise_form),
    },
    "/praise/<int:praise_id>/photo": {"GET": Case(pages(200, 404, 200, 404, 200))},
    # The 双评议 placards: an installer prints their own, a supervisor their teams' installers', an
    # admin everyone's; only supervisors and admins issue a new code.
    "/placards": {"GET": [
        Case(pages(200, 200, 200, 200, 200)),
        Case(pages(200, 200, 200, 404, 200), query=lambda w: {"team": "TA01"}, note="team A's installers"),
    ]},
    "/placards/print": {
        "GET": Case(pages(200, 404, 200, 404, 200), query=lambda w: {"installer": w.inst_a}),
        "POST": [
            # Installer A's card has its code already: printing it again changes nothing.
            Case(pages(PRINTED, 404, PRINTED, 404, PRINTED), form=lambda w, actor: {"installer": w.inst_a},
                 note="installer A's card"),
            Case(pages(404, ISSUED, 404, ISSUED, ISSUED), form=same(team="TB01"), note="team B's cards: a code issued"),
        ],
    },
    "/placards/<username>/new-code": {"POST": Case(pages(403, 403, WRITES, 404, WRITES), form=same())},
    # The placard's public page: anyone who scans it; it names the installer, and of a visit found
    # by the customer's phone digits, its day and job type only.
    "/p/<code>": {
        "GET": Case(everyone(200), params={"code": "placard_code"}, reveals=DIRECTORY),
        "POST": Case(everyone(Expect(200, writes=False)), params={"code": "placard_code"}, reveals=DIRECTORY,
                     form=lambda w, actor: {"digits": w.placard_digits}),
    },
    "/p/<code>/rate": {"POST": Case(everyone(200, writes=True), params={"code": "placard_code"}, reveals=DIRECTORY,
                                    form=lambda w, actor: {"pick": w.placard_pick, "score": "5"})},
    "/certifications": {"GET": Case(pages(403, 403, 200, 200, 200))},
    "/certifications/export.<fmt>": {"GET": Case(pages(403, 403, 200, 200, 200))},
    "/certifications/enrol": {"POST": Case(pages(WRITES, 404, WRITES, 404, WRITES), form=lambda w, actor: {
        "session_id": str(w.future_session), "username": w.inst_a, "next": "/training"})},
    "/me/certifications": {"GET": Case(pages(200, 200, 403, 403, 403))},
    "/training": {"GET": Case(pages(200, 200, 200, 200, 200))},
    "/training/sessions": {"POST": Case(pages(403, 403, 403, 403, 302, writes=True), form=session_form)},
    "/training/sessions/<int:session_id>": {"GET": Case(pages(200, 200, 200, 200, 200))},
    "/training/records/<int:record_id>/result": {
        "POST": Case(pages(403, 403, 403, 403, 302, writes=True), form=same(attended="y", score="80"))},
    "/certifications/installers/<username>": {
        "GET": Case(pages(403, 403, 200, 404, 200)),
        # Supervisors read their installers' certificates; only admins record them.
        "POST": Case(pages(403, 403, 403, 404, 302, writes=True), form=certificate_form),
    },
    "/certifications/<int:certification_id>/revoke": {
        "POST": Case(pages(403, 403, 403, 403, 302, writes=True), form=same(reason="证书作废"))},
    "/notifications": {"GET": Case(pages(200, 200, 200, 200, 200))},
    # The quality dashboard: supervisors (their teams; the districts and branch as a reference) and admins.
    "/quality": {"GET": [
        Case(pages(403, 403, 200, 200, 200)),
        Case(pages(403, 403, 200, 404, 200), query=lambda w: {"scope": "team", "id": "TA01"}, note="team A's view"),
    ]},
    "/quality/export.<fmt>": {"GET": Case(pages(403, 403, 200, 200, 200))},
    # The orders behind installer A's figure: theirs, their supervisor's and the admin's to list.
    "/quality/orders": {"GET": [
        Case(pages(200, 404, 200, 404, 200), query=lambda w: metric_orders(w, scope="installer", id=w.inst_a)),
        Case(pages(404, 404, 200, 404, 200), query=lambda w: metric_orders(w, scope="team", id="TA01"),
             note="team A's figure: not even for its installers"),
    ]},
    # Everyone marks their own notifications read: only installer A has one, so only they change anything.
    "/notifications/read": {"POST": Case(pages(WRITES, *[Expect(302, writes=False)] * 4), form=same())},
    "/api/v1/openapi.json": {"GET": Case(everyone(200))},  # documentation, no data
    "/api/v1/installers": {"GET": Case(api(200, 200, 200, 200, 200), reveals=DIRECTORY)},
    "/api/v1/installers/<username>/certifications": {
        "GET": Case(api(200, 404, 200, 404, 200)),
        "POST": Case(api(403, 403, 403, 403, 201, writes=True), json=certificate_json),
    },
    "/api/v1/metrics": {"GET": Case(api(200, 200, 200, 200, 200))},
    "/api/v1/metrics/orders": {"GET": [
        Case(api(200, 404, 200, 404, 200), query=lambda w: metric_orders(w, scope="installer", scope_id=w.inst_a)),
        Case(api(404, 404, 404, 404, 200), query=lambda w: metric_orders(w, scope="company"),
             note="the branch's figure: its orders are the admin's alone"),
    ]},
    "/api/v1/work-orders": {
        "GET": Case(api(200, 200, 200, 200, 200)),
        # In team A's district: supervisor B's teams do not serve it (422, a rule refusing).
        "POST": Case(api(403, 403, 201, Expect(422, denied=True), 201, writes=True), json=new_order_json),
    },
    "/api/v1/work-orders/<number>": {"GET": Case(api(200, 404, 200, 404, 200))},
    "/api/v1/follow-ups": {"GET": Case(api(200, 200, 200, 200, 200))},
    "/api/v1/follow-ups/<int:followup_id>": {"GET": Case(api(200, 404, 200, 404, 200))},
    "/api/v1/support-requests": {"GET": Case(api(200, 200, 200, 200, 200))},
    "/api/v1/support-requests/<int:request_id>": {"GET": Case(api(200, 404, 200, 404, 200))},
    "/api/v1/support-requests/<int:request_id>/photo": {"GET": Case(api(200, 404, 200, 404, 200))},
    "/api/v1/work-orders/<number>/support-requests": {"POST": Case(
        api(Expect(201, writes=True), 404, 403, 404, 403), params={"number": "raise_order"},
        json=same(category="resource_port", note="没有空闲端口"))},
    "/api/v1/work-orders/<number>/events": {"GET": Case(api(200, 404, 200, 404, 200))},
    "/api/v1/work-orders/<number>/assignment": {
        "POST": Case(api(403, 404, 200, 404, 200, writes=True), json=order_a_json(installer=None))},
    "/api/v1/work-orders/<number>/transitions": {"POST": [
        Case(api(200, 404, 403, 404, 403, writes=True), json=order_a_json(action="accept"), note="accept"),
        Case(api(403, 404, 200, 404, 200, writes=True), json=order_a_json(action="cancel", reason="客户撤单"),
             note="cancel"),
    ]},
}


def cases() -> list[tuple[str, str, Case]]:
    return [(rule, method, case) for rule, methods in MATRIX.items() for method, entry in methods.items()
            for case in (entry if isinstance(entry, list) else [entry])]


# --- the seeded world --------------------------------------------------------------------------

def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (320, 240), "green").save(out, "JPEG")
    return out.getvalue()


def seed(app: Flask, password_hash: str) -> tuple[SimpleNamespace, dict[str, Actor]]:
    """Two teams in two districts and their people, team A's orders (assigned, queued, completed
    with a photo and a rating link), a team B order, installer A's certificate, notification and
    training; then everyone signs in (the deactivated user before being deactivated)."""
    with app.app_context():
        team_a = f.make_team("TA01", districts=("hongshan",))
        team_b = f.make_team("TB01", districts=("jiangan",))
        m = {name: marker.text for name, marker in MARKERS.items()}
        people = {
            "inst_a": f.certify_fully(f.make_user(Role.INSTALLER, "wa001", team_a, name=f"张伟{m['installer_a_name']}",
                                                  name_en=f"Zhang {m['installer_a_name']}", password_hash=password_hash)),
            "inst_b": f.certify_fully(f.make_user(Role.INSTALLER, "wb001", team_b, password_hash=password_hash)),
            "sup_a": f.make_user(Role.SUPERVISOR, "sa001", team_a, password_hash=password_hash),
            "sup_b": f.make_user(Role.SUPERVISOR, "sb001", team_b, password_hash=password_hash),
            "admin": f.make_user(Role.ADMIN, "ad001", password_hash=password_hash),
            "deact": f.make_user(Role.INSTALLER, "wa009", team_a, password_hash=password_hash),
        }
        inst_a = people["inst_a"]
        certificate = f.make_certification(inst_a, "low_voltage_electrician", number=m["certificate_number"])
        customer_a = f.make_customer("hongshan", name=f"王芳{m['customer_a_name']}", phone=m["customer_a_phone"],
                                     account_no=m["customer_a_account"], address=f"珞喻路{m['customer_a_address']}号")
        order_a = f.make_work_order(OrderStatus.ASSIGNED, customer=customer_a, assignee=inst_a,
                                    notes=m["order_a_notes"], external_ref=m["order_a_ref"])
        db.session.add(WorkOrderEvent(work_order=order_a, actor=people["sup_a"], created_at=utcnow(), action="assign",
                                      from_status="new", to_status="assigned", note=m["order_a_event_note"]))
        # Order A follows a service standard (its job type's first version), so its steps can be ticked.
        standard = standards.put_version(order_a.job_type, [standards.StepInput(
            "shoe_covers", "穿鞋套", "Shoe covers", standards.Phase.ON_SITE)], people["admin"], seen=0)
        db.session.add(standards.OrderStandard(work_order_id=order_a.id, version_id=standard.id))
        queued = f.make_work_order(customer=f.make_customer("hongshan", name=m["queue_customer_name"],
                                                            address=m["queue_customer_address"]))
        f.make_work_order(OrderStatus.ASSIGNED, assignee=people["inst_b"], customer=f.make_customer(
            "jiangan", name=m["customer_b_name"], address=m["customer_b_address"]))
        done = f.make_work_order(OrderStatus.ON_SITE, assignee=inst_a,
                                 customer=f.make_customer("hongshan", name=m["done_customer_name"]))
        visit = Visit(work_order=done, seq=1, installer=inst_a, arrived_at=utcnow() - timedelta(minutes=40))
        db.session.add(visit)
        db.session.flush()
        survey_token = lifecycle.transition(done, inst_a, "complete", done.version, tz=zone(),
                                            evidence={"fault_cause": "onu"}).survey_token
        (photo,) = photos.attach(done, visit, inst_a, photos.prepare([("onu.jpg", io.BytesIO(_jpeg()))]))
        placard = issue_placards([inst_a], people["sup_a"])[inst_a.id]
        placard_digits = done.customer.phone[-4:]
        (found,) = find_visits(placard, placard_digits)  # the done order, picked on installer A's placard
        # Another of installer A's jobs, rated 1 star: its follow-up (and supervisor A's notice, read).
        bad = f.make_work_order(OrderStatus.COMPLETED, assignee=inst_a, completed_by_id=inst_a.id,
                                completed_at=utcnow() - timedelta(hours=2),
                                customer=f.make_customer("hongshan", name=m["followup_customer_name"]))
        response = submit_rating(invitation_for(invite(bad, utcnow() - timedelta(hours=2))), 1,
                                 comment=f"太慢{m['rating_comment']}")
        followup = db.session.scalar(select(FollowUp).where(FollowUp.response_id == response.id))
        # Installer A on the way to two more jobs: one to ask for help on, one asked on already (a
        # request resolved by the desk, and one waiting, whose note is a marker, with a photo).
        raise_order = f.make_work_order(OrderStatus.EN_ROUTE, assignee=inst_a, customer=f.make_customer("hongshan"))
        asked = f.make_work_order(OrderStatus.EN_ROUTE, assignee=inst_a, customer=f.make_customer("hongshan"))
        settled = raise_request(asked, inst_a, NewRequest("other", "已解决"), utcnow())
        resolve(settled, people["sup_a"], "solved_remotely", "好了", settled.version, utcnow())
        (port_photo,) = photos.prepare([("port.jpg", io.BytesIO(_jpeg()))])
        waiting = raise_request(asked, inst_a, NewRequest("optical_signal", f"光功率低{m['support_note']}", None, port_photo),
                                utcnow())
        db.session.execute(update(Notification).values(read_at=utcnow()))
        f.make_notification(inst_a, message=f"Note {m['notice_a']}.")
        praise = record_praise(inst_a, people["sup_a"], f.today(), PraiseChannel.BANNER, f"锦旗{m['praise_a_note']}",
                               f.today(), photo_upload("banner.jpg", io.BytesIO(_jpeg())))
        course = TrainingCourse(code="SAF-01", name_zh="安全生产", name_en="Safety", hours=8, pass_mark=60,
                                grants_certification_type=db.session.scalar(
                                    select(CertificationType).where(CertificationType.code == "work_at_height")))
        now = utcnow()
        future = TrainingSession(course=course, starts_at=now + timedelta(days=3), ends_at=now + timedelta(days=3, hours=8),
                                 place="洪山培训中心", trainer="李老师", capacity=10)
        past = TrainingSession(course=course, starts_at=now - timedelta(days=1), ends_at=now - timedelta(hours=16),
                               place="洪山培训中心", trainer="李老师", capacity=10)
        record = TrainingRecord(session=past, user=inst_a, enrolled_at=now - timedelta(days=5))
        db.session.add_all([course, future, past, record])
        reset_token = create_reset_link(people["admin"], people["inst_b"])
        procedure = create_note(people["admin"], NoteData(title_zh="修障要点", body_zh="先测光功率。", job_types=["repair"]))
        tokens = {token: create_token(people[owner]) for token, owner in TOKEN_OWNER.items()}
        tokens["deact"] = create_token(people["deact"])
        db.session.commit()
        onboarding_rows = [{"username": "wa100", "name": "新装维", "team": "TA01"}]
        onboarding_upload = storage.save(onboarding_rows, [2], filename="installers.csv", sha256="0" * 64,
                                         actor_id=people["admin"].id)
        onboarding_digest = preview(onboarding_rows, [2]).digest
        world = SimpleNamespace(
            order_a=order_a.number, order_a_version=order_a.version, queue_order=queued.number,
            queue_order_version=queued.version, done_order=done.number, survey_token=survey_token, photo_id=photo.id,
            certificate_id=certificate.id, course_id=course.id, future_session=future.id, past_session=past.id,
            record_id=record.id, inst_a=inst_a.username, inst_b=people["inst_b"].username, today=f.today(),
            usernames={name: user.username for name, user in people.items()}, job_type="repair",
            certification_type="ftth", static_file="css/app.css", export_format="csv", praise_id=praise.id,
            placard_code=placard.code, placard_digits=placard_digits, placard_pick=found.pick,
            followup_id=followup.id, followup_version=followup.version, reset_token=reset_token,
            rule_key="survey_link_days", rule_version=rule_version(rule_rows("survey_link_days")),
            onboarding_upload=onboarding_upload, onboarding_digest=onboarding_digest,
            step_code="shoe_covers", standard_seen=str(standard.number),
            raise_order=raise_order.number, asked_order=asked.number, support_open=waiting.id,
            support_open_version=waiting.version, support_resolved=settled.id, support_resolved_version=settled.version,
            note_id=procedure.id, note_version=procedure.version,
        )
        deact_id = people["deact"].id
        world.team_code, world.district_code = team_a.code, "hongshan"
        world.team_seen = state_tag(team_state(team_a))
        world.district_seen = state_tag(district_state(f.district("hongshan")))
        world.token_id = db.session.scalar(select(ApiToken.id).where(ApiToken.user_id == inst_a.id))

    actors = {"anon": Actor("anon", None, *_browser(app, None))}
    for name in PEOPLE:
        actors[name] = Actor(name, name, *_browser(app, world.usernames[name]))
    # Whatever the deactivated user held: a browser session and a token, both from before.
    actors["deact"] = Actor("deact", None, *_browser(app, world.usernames["deact"]), token=tokens["deact"])
    for name, owner in TOKEN_OWNER.items():
        # A token on its own, with an anonymous session for the CSRF token of a form post.
        actors[name] = Actor(name, owner, actors["anon"].cookie, actors["anon"].csrf, tokens[name])
    with app.app_context():
        deactivate_user(db.session.get(type(inst_a), deact_id))
        db.session.commit()
    return world, actors


def _browser(app: Flask, username: str | None) -> tuple[str, str]:
    """A browser's session cookie and CSRF token: signed in as `username`, or anonymous."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    if username is not None:
        assert sign_in(client, username).status_code == 302
    page = client.get("/notifications" if username else "/login").get_data(as_text=True)
    match = CSRF_RE.search(page)
    assert match
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    return cookie.value, match.group(1) or match.group(2)


def _url(rule: str, case: Case, world: SimpleNamespace) -> str:
    names = {**PARAMS, **case.params}
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda found: str(getattr(world, names[found.group(1)])), rule)


# --- the tests ---------------------------------------------------------------------------------

def test_every_route_and_method_has_an_entry(app: Flask) -> None:
    routes = {(rule.rule, method) for rule in app.url_map.iter_rules()
              for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}}
    entries = {(rule, method) for rule, methods in MATRIX.items() for method in methods}
    assert not routes - entries, f"routes without an entry in MATRIX: {sorted(routes - entries)}"
    assert not entries - routes, f"entries in MATRIX for routes that no longer exist: {sorted(entries - routes)}"
    for rule, method, case in cases():
        assert set(case.expect) == set(ACTORS), (rule, method, case.note)
        assert set(case.reveals) <= set(MARKERS), (rule, method, case.note)



def test_permission_matrix(app: Flask, quick_passwords: str) -> None:
    world, actors = seed(app, quick_passwords)
    with app.app_context():
        state = TableState(db.engine)
    client = app.test_client(use_cookies=False)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    failures: list[str] = []
    shown: set[str] = set()  # markers some allowed caller was shown
    for rule, method, case in cases():
        path = _url(rule, case, world)
        query = case.query(world) if case.query else None
        for name in ACTORS:
            actor, expect = actors[name], case.expect[name]
            form = case.form(world, actor) if case.form else None
            body = case.json(world, actor) if case.json else None
            where = f"{method} {rule}{f' [{case.note}]' if case.note else ''} as {name}"
            with send(client, actor, method, path, query=query, form=form, json=body) as response:
                problem = mismatch(expect, response)
                text = answer_text(response)
            if problem:
                failures.append(f"{where}: {problem}")
            excused = f"{path} {query} {form} {body}"
            found = markers_in(text, MARKERS, excused)
            if expect.refused:
                leaked = found
            else:
                leaked = {m for m in found if actor.user not in MARKERS[m].audience and m not in case.reveals}
                shown |= found
            if leaked:
                failures.append(f"{where}: the answer shows {sorted(leaked)}")
            changed = state.changed()
            if changed and (expect.refused or expect.writes is False or (method == "GET" and expect.writes is None)):
                failures.append(f"{where}: {'refused, but ' if expect.refused else ''}the data changed")
            elif not changed and expect.writes and not expect.refused and not problem:
                failures.append(f"{where}: allowed, but nothing changed (did the request get through?)")
            if changed:
                state.restore(changed)
    unseen = set(MARKERS) - shown
    assert not unseen, f"markers no allowed answer shows (so their absence elsewhere proves nothing): {sorted(unseen)}"
    assert not failures, f"{len(failures)} cells of the matrix are wrong:\n" + "\n".join(failures)
    assert not state.changed()


@pytest.mark.parametrize("how", ["restore", "refill"])
def test_the_fingerprint_sees_a_change_and_the_restore_undoes_it(app: Flask, how: str) -> None:
    """The matrix's write check is only as good as its fingerprint: it must see a changed value,
    not a token's last-used time; and both ways back must bring the rows back as they were."""
    with app.app_context():
        order = f.make_work_order(notes="before")
        token = ApiToken(user=f.make_user(), token_hash="0" * 64, prefix="fsv_000000")
        db.session.add(token)
        db.session.commit()
        order_id = order.id
        state = TableState(db.engine)
        token.last_used_at = utcnow()
        db.session.commit()
        assert state.changed() == []
        order.notes = "after"
        db.session.add(WorkOrderEvent(work_order=order, created_at=utcnow(), action="note", note="added"))
        f.make_customer()
        db.session.commit()
        assert {table.name for table in state.changed()} == {"work_orders", "work_order_events", "customers"}
        db.session.close()
        state.restore() if how == "restore" else state.refill()
        assert state.changed() == []
        assert db.session.get(WorkOrder, order_id).notes == "before"
