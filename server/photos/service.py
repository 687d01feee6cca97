"""Lot photos: checked and stored content-addressed on disk, linked to the lots naming them.

Files are ``<root>/<sha[:2]>/<sha>.jpg``, written to a temporary name and renamed, so a
crash never leaves half a photo under a real name; a file whose row did not commit is
harmless (the next upload of the same photo finds it and adds the row). A station may
only upload a photo that one of its own lots names, and a photo is shown only to users of
the cooperative of a lot it is linked to.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from PIL import Image, UnidentifiedImageError
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from server.auth.models import User
from server.core.db import dialect_insert, utcnow
from server.core.errors import Invalid, NotFound, PayloadTooLarge
from server.lots.models import Lot
from server.photos.errors import HashMismatch, NoLotForPhoto, NotJpeg
from server.photos.models import LotPhoto, Photo

SHA256 = re.compile(r"^[0-9a-f]{64}$")
_PHOTOS = cast(Table, Photo.__table__)
_LOT_PHOTOS = cast(Table, LotPhoto.__table__)


def photo_path(*, root: Path, sha256: str) -> Path:
    """Where the photo with this hash is (or would be) kept."""
    return Path(root) / sha256[:2] / f"{sha256}.jpg"


@dataclass(frozen=True, slots=True)
class Stored:
    sha256: str
    size_bytes: int
    created: bool  # False: the server had this photo already (an idempotent re-upload)


def _check_jpeg(data: bytes) -> None:
    # The magic first (cheap), then Pillow reads the structure without decoding pixels.
    if not data.startswith(b"\xff\xd8\xff"):
        raise NotJpeg("不是 JPEG 图片 / the photo is not a JPEG image")
    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format != "JPEG":
                raise NotJpeg("不是 JPEG 图片 / the photo is not a JPEG image")
            img.verify()
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise NotJpeg(f"JPEG 图片已损坏 / the JPEG does not read: {exc}") from None


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def store_photo(
    *, session: Session, station_id: str,
    lot_id: uuid.UUID,
    sha256: str,
    data: bytes,
    root: Path,
    max_bytes: int,
) -> Stored:
    """Check and keep one uploaded photo of ``lot_id`` (idempotent by ``sha256``).

    Refused: a malformed hash, a lot that is not the station's or does not name the photo,
    more than ``max_bytes``, anything but a JPEG, bytes that hash to something else.
    """
    if not SHA256.match(sha256):
        raise Invalid("照片哈希格式错误 / the photo hash must be 64 lowercase hex digits")
    lot = session.get(Lot, lot_id)
    if lot is None or lot.station_id != station_id or sha256 not in (lot.image_hashes or []):
        raise NoLotForPhoto("本站没有引用这张照片的批次 / no lot of this station names this photo")
    if len(data) > max_bytes:
        raise PayloadTooLarge(
            f"照片过大（上限 {max_bytes} 字节）/ photo larger than {max_bytes} bytes"
        )
    if hashlib.sha256(data).hexdigest() != sha256:
        raise HashMismatch("照片内容与哈希不符 / the photo's bytes do not match its SHA-256")
    _check_jpeg(data)
    path = photo_path(root=root, sha256=sha256)
    known = session.get(Photo, sha256)
    if known is None or not path.is_file():
        _write(path, data)  # also heals a file lost from disk under a stored row
    ins = dialect_insert(session)
    # Two workers taking the same photo at once: the second insert does nothing.
    created = (
        session.execute(
            ins(_PHOTOS)
            .values(
                sha256=sha256, station_id=station_id, size_bytes=len(data), received_at=utcnow()
            )
            .on_conflict_do_nothing(index_elements=["sha256"])
            .returning(_PHOTOS.c.sha256)
        ).first()
        is not None
    )
    session.execute(
        ins(_LOT_PHOTOS)
        .values(lot_id=lot_id, sha256=sha256)
        .on_conflict_do_nothing(index_elements=["lot_id", "sha256"])
    )
    return Stored(sha256=sha256, size_bytes=len(data), created=created)


def sees_cooperative(*, user: User, cooperative_id: str) -> bool:
    """A user of that cooperative, or an admin (who sees every cooperative)."""
    return user.role == "admin" or (
        user.cooperative_id is not None and user.cooperative_id == cooperative_id
    )


def lot_photo_path(*, session: Session, user: User, lot_id: uuid.UUID, root: Path) -> Path:
    """The file of the lot's (first stored) photo, for a user of the lot's cooperative.

    Admins see every cooperative, as on every other page. An unknown lot, a lot of another
    cooperative and a lot without a stored photo all answer the same "not found", so
    nothing tells another cooperative's user that a lot exists.
    """
    missing = NotFound("没有这张照片 / no photo for this lot")
    lot = session.get(Lot, lot_id)
    if lot is None or not sees_cooperative(user=user, cooperative_id=lot.cooperative_id):
        raise missing
    linked = set(session.scalars(select(LotPhoto.sha256).where(LotPhoto.lot_id == lot_id)))
    for sha in lot.image_hashes or []:
        if sha in linked:
            path = photo_path(root=root, sha256=sha)
            if path.is_file():
                return path
    raise missing
