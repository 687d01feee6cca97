"""Small JPEGs and a station with lots that name them, for the photo tests."""

from __future__ import annotations

import hashlib
import io
from typing import Any

from PIL import Image


def jpeg(seed: int, size: tuple[int, int] = (32, 24)) -> bytes:
    """A small real JPEG, different for each seed."""
    img = Image.new("RGB", size, ((seed * 37) % 256, (seed * 91) % 256, (seed * 13) % 256))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=80)
    return out.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def with_photos(doc: dict[str, Any], *hashes: str) -> dict[str, Any]:
    return {**doc, "image_hashes": list(hashes)}
