"""Leaf surface patches: the one cutting rule shared by training and the station.

numpy + OpenCV only (the edge imports it). A leaf photo is resampled to
``PATCH_MM_PER_PX`` so a patch always covers the same area of leaf (8 × 8 mm), then cut on a
grid over the blade; a patch counts when most of it lies on the (hole-filled) blade.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

PATCH_MM_PER_PX = 0.5
PATCH_PX = 16
STRIDE_PX = 12
MIN_ON_LEAF = 0.98  # inside the blade: table in a patch then means a hole
MEAN = (0.5, 0.5, 0.5)
STD = (0.25, 0.25, 0.25)
RULE = (
    f"resample the photo to {PATCH_MM_PER_PX} mm/px (INTER_AREA), cut {PATCH_PX}x{PATCH_PX} "
    f"RGB patches on a {STRIDE_PX}-px grid where >= {MIN_ON_LEAF:.0%} of the patch lies on "
    "the hole-filled blade mask; input (pixel/255 - 0.5)/0.25, NCHW"
)


def resample(image: np.ndarray, mm_per_px: float, *, nearest: bool = False) -> np.ndarray:
    """Scale ``image`` from ``mm_per_px`` to the patch scale."""
    k = mm_per_px / PATCH_MM_PER_PX
    h, w = image.shape[:2]
    size = (max(int(round(w * k)), 1), max(int(round(h * k)), 1))
    interp = cv2.INTER_NEAREST if nearest else (cv2.INTER_AREA if k < 1 else cv2.INTER_LINEAR)
    return cv2.resize(image, size, interpolation=interp)


def grid(filled: np.ndarray) -> list[tuple[int, int]]:
    """Top-left corners of the patches over a hole-filled blade mask (patch scale)."""
    h, w = filled.shape
    if h < PATCH_PX or w < PATCH_PX:
        return []
    on = cv2.blur((filled > 0).astype(np.float32), (PATCH_PX, PATCH_PX))
    out = []
    half = PATCH_PX // 2
    for y in range(0, h - PATCH_PX + 1, STRIDE_PX):
        for x in range(0, w - PATCH_PX + 1, STRIDE_PX):
            if on[y + half, x + half] >= MIN_ON_LEAF:
                out.append((x, y))
    return out


def cut(image_rgb: np.ndarray, corners: Sequence[tuple[int, int]]) -> np.ndarray:
    """uint8 patches (N, PATCH_PX, PATCH_PX, 3) at ``corners``."""
    if not corners:
        return np.zeros((0, PATCH_PX, PATCH_PX, 3), np.uint8)
    return np.stack([image_rgb[y : y + PATCH_PX, x : x + PATCH_PX] for x, y in corners])


def to_input(patches: np.ndarray) -> np.ndarray:
    """uint8 NHWC RGB patches to the model's float32 NCHW input."""
    x: np.ndarray = patches.astype(np.float32) * np.float32(1 / 255)
    y = (x - np.asarray(MEAN, np.float32)) / np.asarray(STD, np.float32)
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2), np.float32)
