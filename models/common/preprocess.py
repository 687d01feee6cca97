"""The one image preprocessing of the classifiers, used by training, evaluation and run time.

numpy + OpenCV only, so the station box (no torch) computes exactly what training saw.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

RESIZE_RULE = (
    "pad the RGB crop to a square by replicating its edge pixels (cv2.BORDER_REPLICATE, "
    "centred), then cv2.resize to size with INTER_AREA (INTER_LINEAR when enlarging)"
)


def pad_to_square(img: np.ndarray) -> np.ndarray:
    """Pad ``img`` (H, W, 3) to a centred square by replicating its edge pixels."""
    h, w = img.shape[:2]
    if h == w:
        return img
    d = abs(h - w)
    a, b = d // 2, d - d // 2
    if h < w:
        return cv2.copyMakeBorder(img, a, b, 0, 0, cv2.BORDER_REPLICATE)
    return cv2.copyMakeBorder(img, 0, 0, a, b, cv2.BORDER_REPLICATE)


def square_resize(img: np.ndarray, size: int) -> np.ndarray:
    """Pad to square and resize to ``size`` × ``size`` (uint8 in, uint8 out)."""
    sq = pad_to_square(img)
    interp = cv2.INTER_AREA if sq.shape[0] >= size else cv2.INTER_LINEAR
    return cv2.resize(sq, (size, size), interpolation=interp)


def normalise(batch_rgb: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> np.ndarray:
    """uint8 (N, H, W, 3) RGB to float32 NCHW with ``(pixel/255 - mean)/std``."""
    x = batch_rgb.astype(np.float32) * np.float32(1.0 / 255.0)
    y = (x - np.asarray(mean, np.float32)) / np.asarray(std, np.float32)
    return np.ascontiguousarray(y.transpose(0, 3, 1, 2))


def to_input(
    crops_rgb: Sequence[np.ndarray], size: int, mean: Sequence[float], std: Sequence[float]
) -> np.ndarray:
    """RGB crops of any size to the model's float32 NCHW input batch."""
    if not crops_rgb:
        return np.zeros((0, 3, size, size), np.float32)
    return normalise(np.stack([square_resize(c, size) for c in crops_rgb]), mean, std)
