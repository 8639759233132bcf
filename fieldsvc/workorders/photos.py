"""Photos and signatures: checked by content (not by name or declared type), resized, stored under
the instance folder with random names. Services flush; the edge commits."""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import secrets
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from ..auth.models import User
from ..errors import InvalidInput
from ..extensions import db
from .models import PhotoKind, Visit, WorkOrder, WorkOrderPhoto

MAX_MEGABYTES = 10
MAX_BYTES = MAX_MEGABYTES * 1024 * 1024
MAX_SIDE = 1600  # pixels on the long side after resizing: sharp on a phone, ~200–400 kB
MAX_PIXELS = 50_000_000  # refuse decompression bombs before decoding
ACCEPTED = {"JPEG", "PNG"}
SIGNATURE_PREFIX = "data:image/png;base64,"


def _decode(data: bytes) -> Image.Image:
    if not data:
        raise InvalidInput(_l("The file is empty."), errors={"photo": [_l("The file is empty.")]})
    if len(data) > MAX_BYTES:
        too_big = _l("A photo is at most %(n)d MB.", n=MAX_MEGABYTES)
        raise InvalidInput(too_big, errors={"photo": [too_big]})
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in ACCEPTED:
                raise InvalidInput(_l("Only JPEG and PNG photos."), errors={"photo": [_l("Only JPEG and PNG photos.")]})
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidInput(_l("The image has too many pixels."), errors={"photo": [_l("The image has too many pixels.")]})
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except InvalidInput:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise InvalidInput(_l("The file is not a readable JPEG or PNG image."),
                           errors={"photo": [_l("The file is not a readable JPEG or PNG image.")]}) from error
    return image


def store_photo(order: WorkOrder, uploader: User, data: bytes, folder: Path,
                kind: PhotoKind = PhotoKind.PHOTO) -> WorkOrderPhoto:
    """Check, resize and store one image for `order`; the same content twice is stored once."""
    digest = hashlib.sha256(data).hexdigest()
    existing = db.session.scalar(select(WorkOrderPhoto).where(
        WorkOrderPhoto.work_order_id == order.id, WorkOrderPhoto.content_hash == digest))
    if existing is not None:
        return existing
    image = _decode(data)
    image = ImageOps.exif_transpose(image)  # keep the orientation, drop EXIF (and its GPS) on re-encoding
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    out = io.BytesIO()
    if kind is PhotoKind.SIGNATURE:
        image.save(out, "PNG", optimize=True)
        content_type, suffix = "image/png", "png"
    else:
        image.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
        content_type, suffix = "image/jpeg", "jpg"
    folder.mkdir(parents=True, exist_ok=True)
    filename = f"{secrets.token_hex(16)}.{suffix}"
    (folder / filename).write_bytes(out.getvalue())
    visit_id = db.session.scalar(select(Visit.id).where(Visit.work_order_id == order.id, Visit.left_at.is_(None)))
    photo = WorkOrderPhoto(work_order_id=order.id, visit_id=visit_id, uploaded_by_id=uploader.id, kind=kind,
                           filename=filename, content_hash=digest, content_type=content_type,
                           width=image.width, height=image.height, size_bytes=out.tell())
    db.session.add(photo)
    db.session.flush()
    return photo


_NOT_A_DRAWING = _l("The signature is not a PNG drawing.")


def signature_bytes(data_url: str) -> bytes:
    """The PNG inside a canvas's data URL."""
    if not data_url.startswith(SIGNATURE_PREFIX) or len(data_url) > MAX_BYTES:
        raise InvalidInput(_NOT_A_DRAWING, errors={"signature": [_NOT_A_DRAWING]})
    try:
        return base64.b64decode(data_url[len(SIGNATURE_PREFIX):], validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput(_NOT_A_DRAWING, errors={"signature": [_NOT_A_DRAWING]}) from error


def photo_path(photo: WorkOrderPhoto, folder: Path) -> Path:
    return folder / photo.filename
