"""A photo sent with a request for help is not completion evidence: the job type's required photos
are those sent with the completion (the same file sent again with it counts, kept once)."""
from __future__ import annotations

import io

import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select

from fieldsvc.auth.models import User
from fieldsvc.db import utcnow, zone
from fieldsvc.errors import RuleViolation
from fieldsvc.extensions import db
from fieldsvc.support.models import SupportRequest
from fieldsvc.support.services import NewRequest, raise_request
from fieldsvc.workorders import lifecycle, photos
from fieldsvc.workorders.models import OrderStatus, PhotoKind, Visit, WorkOrder, WorkOrderPhoto
from tests import factories as f
from tests.conftest import sign_in

from .conftest import World


def jpeg(color: str) -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (120, 90), color).save(out, "JPEG")
    out.seek(0)
    return out


@pytest.fixture
def on_site(app_ctx: Flask, world: World) -> WorkOrder:
    """Installer A on site for a repair whose job type needs one photo, having asked for help with one."""
    installer = db.session.scalar(select(User).where(User.username == "w1"))
    order = f.make_work_order(OrderStatus.ON_SITE, assignee=installer, job_type="repair")
    order.job_type.photos_required = 1
    db.session.add(Visit(work_order=order, seq=1, installer_id=installer.id, arrived_at=utcnow()))
    db.session.flush()
    (upload,) = photos.prepare([("port.jpg", jpeg("red"))])
    raise_request(order, installer, NewRequest("resource_port", "没有空闲端口", None, upload), utcnow())
    db.session.commit()
    return order


def complete(order: WorkOrder, *files: io.BytesIO) -> lifecycle.Outcome:
    return lifecycle.transition(order, order.assignee, "complete", order.version, tz=zone(),
                                evidence={"fault_cause": "connector"},
                                photos=photos.prepare([(f"{i}.jpg", data) for i, data in enumerate(files)]))


def kinds(order: WorkOrder) -> list[PhotoKind]:
    return sorted(db.session.scalars(select(WorkOrderPhoto.kind).where(WorkOrderPhoto.work_order_id == order.id)),
                  key=lambda k: k.value)


def test_the_support_photo_does_not_count_towards_the_required_photos(on_site: WorkOrder) -> None:
    assert kinds(on_site) == [PhotoKind.SUPPORT]
    with pytest.raises(RuleViolation) as refused:
        complete(on_site)
    assert refused.value.details["missing"] == ["photos"]
    db.session.rollback()
    assert db.session.get(WorkOrder, on_site.id).status is OrderStatus.ON_SITE


def test_a_photo_sent_with_the_completion_counts(on_site: WorkOrder) -> None:
    done = complete(on_site, jpeg("green"))
    assert done.order.status is OrderStatus.COMPLETED and done.order.evidence["photos"] == 1
    assert kinds(on_site) == [PhotoKind.PHOTO, PhotoKind.SUPPORT]


def test_the_support_photo_sent_again_with_the_completion_counts_and_is_kept_once(on_site: WorkOrder) -> None:
    done = complete(on_site, jpeg("red"))  # the very file the installer sent the desk
    db.session.commit()
    assert done.order.status is OrderStatus.COMPLETED and done.order.evidence["photos"] == 1
    assert kinds(on_site) == [PhotoKind.PHOTO]  # one row: now the completion's, still the request's
    request = db.session.scalar(select(SupportRequest).where(SupportRequest.work_order_id == on_site.id))
    assert request.photo is not None and request.photo.kind is PhotoKind.PHOTO


def test_the_job_page_asks_for_the_photos_the_support_photo_does_not_give(app: Flask, on_site: WorkOrder) -> None:
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    sign_in(client, "w1")
    page = client.get(f"/orders/{on_site.number}").get_data(as_text=True)
    start = page.index('name="complete-photos"')
    tag = page[page.rindex("<input", 0, start):page.index(">", start)]
    assert " required" in tag  # still one photo to add: the support photo is not one of them
    # The request on the job page shows its photo (not in the completion's photos).
    assert "photos-section" not in page and 'class="support-photo"' in page
