"""Shared helpers for the grading tests: rendered photos decoded from JPEG, truth matching."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np


def decoded(jpeg: bytes) -> np.ndarray:
    """A JPEG as the station receives it, decoded."""
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def match(
    found: Sequence[Any], truth: Sequence[Any], tol_px: float = 25.0
) -> list[tuple[Any, Any]]:
    """Pair found items with truth items by nearest centre; every item must pair."""
    pairs = []
    left = list(truth)
    for f in found:
        d = [
            np.hypot(f.center_px[0] - t.center_px[0], f.center_px[1] - t.center_px[1]) for t in left
        ]
        assert d, f"extra object at {f.center_px}"
        j = int(np.argmin(d))
        assert d[j] < tol_px, f"object at {f.center_px} matches no truth (nearest {d[j]:.1f} px)"
        pairs.append((f, left.pop(j)))
    assert not left, f"missed {[t.center_px for t in left]}"
    return pairs
