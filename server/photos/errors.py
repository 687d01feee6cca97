"""Why a photo upload is refused (each maps to an HTTP answer by the one domain handler)."""

from __future__ import annotations

from server.core.errors import Invalid, NotFound


class HashMismatch(Invalid):
    """The bytes do not hash to the SHA-256 the upload names."""

    code = "hash_mismatch"


class NotJpeg(Invalid):
    """The bytes are not a JPEG image."""

    code = "not_jpeg"


class NoLotForPhoto(NotFound):
    """No lot of the uploading station names this photo in its ``image_hashes``."""

    code = "no_lot_for_photo"
