"""Photos and signatures, which arrive with the completion that needs them. Every file of a request
is checked first from its header alone (format by content, not by name or declared type; bytes;
pixels), so a request with one bad file is refused before anything is decoded; then each is decoded
(a JPEG at a reduced scale), resized and re-encoded in memory. The rows are added with the
completion, and the files are written under the instance folder, with random names, only when that
transaction commits: a refused completion keeps neither. The limits here are the only copy: the job
page and its view read them from this module. Services flush; the edge commits."""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps, UnidentifiedImageError
from sqlalchemy import select

from ..auth.models import User
from ..db import write_on_commit
from ..errors import InvalidInput
from ..extensions import db
from .evidence import PHOTOS_REQUIRED
from .models import PhotoKind, Visit, WorkOrder, WorkOrderPhoto

ACCEPTED = ("JPEG", "PNG")
MAX_MEGABYTES = 10  # one photo's upload
MAX_BYTES = MAX_MEGABYTES * 1024 * 1024
MAX_FILES = PHOTOS_REQUIRED[1]  # photos sent with one completion: as many as a job type may require
MAX_PER_ORDER = 30  # photos and signatures one order keeps
# Pixels, read from the header and refused before decoding. A JPEG is decoded at 1/2 to 1/8 scale
# (only as large as the resized copy needs), so even a 40 MP phone photo costs little; a PNG is
# decoded in full, so it is held to what a screenshot needs (a phone's is under 6 MP).
MAX_MEGAPIXELS = 40
MAX_PNG_MEGAPIXELS = 12
MAX_PIXELS = MAX_MEGAPIXELS * 1_000_000
MAX_PNG_PIXELS = MAX_PNG_MEGAPIXELS * 1_000_000
MAX_SIDE = 1600  # pixels on the long side after resizing: sharp on a phone, ~200–400 kB
# The drawn signature's data URL: a PNG of the job page's 320 × 140 canvas stays far below this.
MAX_SIGNATURE_BYTES = 256 * 1024
SIGNATURE_PREFIX = "data:image/png;base64,"
# The largest body the completion form may send: every photo at its largest, and 1 MB for the
# signature and the other fields. Every other request keeps the app's 1 MB MAX_CONTENT_LENGTH.
MAX_REQUEST_BYTES = MAX_FILES * MAX_BYTES + 1024 * 1024
# What an installer's phone keeps of photos waiting to be sent (its outbox, offline): resized there to
# MAX_SIDE first (a few hundred kB each), so this holds some fifty; beyond it the phone refuses more.
MAX_QUEUED_MEGABYTES = 25

# Pillow's own guard against decompression bombs, for every image opened in this process: above
# MAX_PIXELS it warns, above twice that it refuses to open the file at all.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


@dataclass(frozen=True)
class Upload:
    """One checked, resized and re-encoded image, held in memory until its completion commits."""

    kind: PhotoKind
    content_hash: str  # SHA-256 of the file as sent: the same file twice is kept once
    content: bytes
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return "image/png" if self.kind is PhotoKind.SIGNATURE else "image/jpeg"

    @property
    def suffix(self) -> str:
        return "png" if self.kind is PhotoKind.SIGNATURE else "jpg"


def _refuse(field: str, name: str, problem: str) -> InvalidInput:
    message = _l("%(file)s: %(problem)s", file=name, problem=problem)
    return InvalidInput(message, errors={field: [message]})


def _open(data: bytes) -> Image.Image:
    """The image, with only its header read (UnidentifiedImageError, DecompressionBomb* otherwise)."""
    return Image.open(io.BytesIO(data), formats=ACCEPTED)


def _check(name: str, data: bytes, field: str) -> None:
    """Refuse a file by its size and header alone: nothing is decoded here."""
    if not data:
        raise _refuse(field, name, _l("The file is empty."))
    if len(data) > MAX_BYTES:
        raise _refuse(field, name, _l("A photo is at most %(n)d MB.", n=MAX_MEGABYTES))
    try:
        with _open(data) as probe:
            width, height, png = probe.width, probe.height, probe.format == "PNG"
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise _refuse(field, name, _l("The image has too many pixels (at most %(n)d megapixels).",
                                      n=MAX_MEGAPIXELS)) from error
    except UnidentifiedImageError as error:
        raise _refuse(field, name, _l("Only JPEG and PNG photos.")) from error
    except (OSError, SyntaxError, ValueError) as error:
        raise _refuse(field, name, _l("The file is not a readable JPEG or PNG image.")) from error
    if width * height > MAX_PIXELS:  # the same answer as Pillow's bomb guard above gives
        raise _refuse(field, name, _l("The image has too many pixels (at most %(n)d megapixels).", n=MAX_MEGAPIXELS))
    if png and width * height > MAX_PNG_PIXELS:
        raise _refuse(field, name, _l("A PNG image has at most %(n)d megapixels; send photos as JPEG.",
                                      n=MAX_PNG_MEGAPIXELS))


def _kept_size(size: tuple[int, int]) -> tuple[int, int]:
    """The size of the copy kept: the image within MAX_SIDE × MAX_SIDE, never enlarged."""
    scale = min(1.0, MAX_SIDE / max(size))
    return max(1, int(size[0] * scale)), max(1, int(size[1] * scale))


def _encode(name: str, data: bytes, kind: PhotoKind, field: str) -> Upload:
    """Decode (a JPEG straight at the reduced scale), resize, turn upright and re-encode: the copy
    kept has no EXIF (and so no GPS) and is at most MAX_SIDE pixels on its long side."""
    try:
        with _open(data) as image:
            # Before anything is decoded: a JPEG is then read at the smallest scale (1/2, 1/4 or
            # 1/8) still at least the size kept (a PNG has no such thing: it is decoded in full).
            image.draft(None, _kept_size(image.size))
            # Halved (or more) by averaging while that keeps at least the size, then resampled:
            # a third of the time of resampling all the way, as sharp at 1600 px.
            image.thumbnail((MAX_SIDE, MAX_SIDE), reducing_gap=1.0)
            image = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            if kind is PhotoKind.SIGNATURE:
                image.save(out, "PNG", optimize=True)
            else:
                image.convert("RGB").save(out, "JPEG", quality=80, optimize=True)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as error:
        raise _refuse(field, name, _l("The file is not a readable JPEG or PNG image.")) from error
    return Upload(kind=kind, content_hash=hashlib.sha256(data).hexdigest(), content=out.getvalue(),
                  width=image.width, height=image.height)


class Readable(Protocol):
    """A file as sent (Werkzeug keeps a large one on disk): read once to check, again to encode."""

    def read(self, size: int = -1, /) -> bytes: ...

    def seek(self, offset: int, whence: int = 0, /) -> int: ...


def prepare(photos: Sequence[tuple[str, Readable]], signature: bytes | None = None) -> list[Upload]:
    """The (file name, stream) photos and the signature's PNG of one completion, checked and
    re-encoded in memory. Too many photos are refused unread; then every file is checked from its
    size and header before any is decoded; one bad file refuses the whole request (400). One file
    is held in memory at a time, besides the re-encoded copies. Nothing is written here: `attach`
    does that with the completion."""
    if len(photos) > MAX_FILES:
        message = _l("Send at most %(n)d photos with a completion (%(sent)d were sent).", n=MAX_FILES, sent=len(photos))
        raise InvalidInput(message, errors={"photo": [message]})

    def files() -> Iterator[tuple[str, bytes, PhotoKind, str]]:
        for name, stream in photos:
            stream.seek(0)
            yield name, stream.read(MAX_BYTES + 1), PhotoKind.PHOTO, "photo"
        if signature is not None:
            yield str(_l("Customer signature")), signature, PhotoKind.SIGNATURE, "signature"

    for name, data, _kind, field in files():
        _check(name, data, field)
    uploads: dict[str, Upload] = {}
    for name, data, kind, field in files():
        upload = _encode(name, data, kind, field)
        uploads.setdefault(upload.content_hash, upload)  # the same file picked twice counts once
    return list(uploads.values())


def new_uploads(kept: Iterable[tuple[PhotoKind, str]], uploads: Sequence[Upload]) -> list[Upload]:
    """The uploads an order does not hold yet, given its (kind, content hash) files; refused (400)
    when the order would hold more than MAX_PER_ORDER."""
    kept = list(kept)
    hashes = {content_hash for _kind, content_hash in kept}
    new = [upload for upload in uploads if upload.content_hash not in hashes]
    if len(kept) + len(new) > MAX_PER_ORDER:
        message = _l("A work order keeps at most %(n)d photos; it has %(kept)d.", n=MAX_PER_ORDER, kept=len(kept))
        raise InvalidInput(message, errors={"photo": [message]})
    return new


def upload_folder() -> Path:
    return Path(current_app.config["UPLOAD_FOLDER"])


def attach(order: WorkOrder, visit: Visit | None, uploader: User, uploads: Iterable[Upload]) -> list[WorkOrderPhoto]:
    """Add the rows of `uploads` (from `new_uploads`) to the session; each file is written when the
    transaction commits and never when it is rolled back. Issues no query: the caller flushes."""
    folder = upload_folder()
    photos = []
    for upload in uploads:
        filename = f"{secrets.token_hex(16)}.{upload.suffix}"
        photo = WorkOrderPhoto(work_order_id=order.id, visit_id=visit.id if visit else None, uploaded_by_id=uploader.id,
                               kind=upload.kind, filename=filename, content_hash=upload.content_hash,
                               content_type=upload.content_type, width=upload.width, height=upload.height,
                               size_bytes=len(upload.content))
        db.session.add(photo)
        write_on_commit(db.session, folder / filename, upload.content)
        photos.append(photo)
    return photos


def attach_once(order: WorkOrder, visit: Visit | None, uploader: User, upload: Upload) -> WorkOrderPhoto:
    """The order's row for one file sent outside a completion (a request for help's photo, with
    its own `kind`): the row the order holds already for the same file, or a new one, refused
    (400) past MAX_PER_ORDER like a completion's."""
    held = list(db.session.scalars(select(WorkOrderPhoto).where(WorkOrderPhoto.work_order_id == order.id)))
    same = next((photo for photo in held if photo.content_hash == upload.content_hash), None)
    if same is not None:
        return same
    (photo,) = attach(order, visit, uploader, new_uploads([(p.kind, p.content_hash) for p in held], [upload]))
    return photo


_NOT_A_DRAWING = _l("The signature is not a PNG drawing.")


def signature_bytes(data_url: str) -> bytes:
    """The PNG inside a canvas's data URL."""
    if not data_url.startswith(SIGNATURE_PREFIX) or len(data_url) > MAX_SIGNATURE_BYTES:
        raise InvalidInput(_NOT_A_DRAWING, errors={"signature": [_NOT_A_DRAWING]})
    try:
        return base64.b64decode(data_url[len(SIGNATURE_PREFIX):], validate=True)
    except (binascii.Error, ValueError) as error:
        raise InvalidInput(_NOT_A_DRAWING, errors={"signature": [_NOT_A_DRAWING]}) from error


def photo_path(photo: WorkOrderPhoto, folder: Path) -> Path:
    return folder / photo.filename
