"""The lot's camera photo with each fruit/leaf outlined, drawn on the edge.

The kept frame is graded again with the lane's (already loaded) grader, which gives the
true outlines (:mod:`edge.grading.annotate`), and each item's number from the lot's
stored grading is written at its centre so the table under the photo lines up with it.
Results are kept for a few photos (a panel is redrawn often while a lot waits).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CACHED = 8
MAX_WIDTH = 960


class AnnotatedPhotos:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, bytes] = OrderedDict()

    def jpeg(self, path: Path, product: str, items: list[dict[str, Any]]) -> bytes | None:
        """The annotated JPEG of a kept frame; the plain photo if drawing fails; None when
        the frame is not kept."""
        key = f"{path.name}:{product}"
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        try:
            data = path.read_bytes()
        except OSError:
            return None
        try:
            out = _draw(data, product, items)
        except Exception:  # a drawing failure must not hide the photo
            log.exception("照片标注失败 / annotating %s failed", path.name)
            out = data
        with self._lock:
            self._cache[key] = out
            while len(self._cache) > CACHED:
                self._cache.popitem(last=False)
        return out


def _draw(data: bytes, product: str, items: list[dict[str, Any]]) -> bytes:
    import cv2
    import numpy as np

    from edge.grading.api import load_grader
    from edge.grading.errors import GradingError

    img = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if img is None:
        return data
    try:
        _, drawn = load_grader(product).grade_image_annotated(img)
    except (GradingError, OSError, ValueError) as exc:  # no model here: numbers only
        log.warning("无法重新分级照片 / photo not regraded for outlines: %s", exc)
        drawn = img.copy()
    scale = max(0.6, max(drawn.shape[:2]) / 1000)
    for n, it in enumerate(items, start=1):
        c = it.get("center_px")
        if not (isinstance(c, list | tuple) and len(c) == 2):
            continue
        x, y = int(c[0]), int(c[1])
        r = int(16 * scale)
        cv2.circle(drawn, (x, y), r, (255, 255, 255), -1, cv2.LINE_AA)
        cv2.circle(drawn, (x, y), r, (30, 30, 30), 2, cv2.LINE_AA)
        label = str(n)
        (tw, th), _ = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, 0.6 * scale, 2)
        cv2.putText(
            drawn,
            label,
            (x - tw // 2, y + th // 2),
            cv2.FONT_HERSHEY_SIMPLEX,
            0.6 * scale,
            (30, 30, 30),
            2,
            cv2.LINE_AA,
        )
    h, w = drawn.shape[:2]
    if w > MAX_WIDTH:
        drawn = cv2.resize(drawn, (MAX_WIDTH, int(h * MAX_WIDTH / w)), interpolation=cv2.INTER_AREA)
    ok, buf = cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return bytes(buf) if ok else data
