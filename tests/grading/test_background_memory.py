"""The table model is computed without full-frame float copies, with the same numbers."""

from __future__ import annotations

import cv2
import numpy as np

from edge.grading.background import analyse, to_lab


def _photo(h: int = 301, w: int = 407) -> np.ndarray:
    rng = np.random.default_rng(3)
    img = np.full((h, w, 3), 200, np.uint8)
    img += (np.arange(w) // 8).astype(np.uint8)[None, :, None]  # a light ramp
    cv2.circle(img, (150, 140), 40, (40, 30, 200), -1)  # a red fruit
    noise = rng.integers(-3, 4, img.shape)
    return np.asarray(np.clip(img.astype(np.int16) + noise, 0, 255), np.uint8)


def test_strip_lab_equals_whole_frame_conversion() -> None:
    img = _photo()  # 301 rows: not a multiple of the strip height
    whole = cv2.cvtColor(img.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_BGR2Lab)
    assert np.array_equal(to_lab(img), whole)


def test_scene_keeps_lightness_and_distance_and_gives_lab_per_region() -> None:
    img = _photo()
    scene = analyse(img)
    assert scene.background_l.shape == img.shape[:2]
    assert scene.distance.shape == img.shape[:2]
    assert scene.distance.dtype == np.float32
    whole = to_lab(img)
    assert np.array_equal(scene.lab(100, 180, 110, 190), whole[100:180, 110:190])
    # the fruit stands out from the table model, the bare table does not
    assert scene.distance[140, 150] > scene.threshold > scene.distance[20, 20]
