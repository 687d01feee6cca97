"""Table background under uneven light, and the objects that stand out from it.

The light varies smoothly over the table (a ramp, vignetting, a sheen on steel), so each
Lab channel of the bare table is modelled as a cubic polynomial in x, y fitted robustly to
the pixels that are not objects; objects are what differs from that model by more than
the table's own texture (wood grain, brushed steel) allows.

Memory: a 1280×960 photo is 15 MB as float32 Lab, so no full-frame float copy is kept.
Lab is a per-pixel conversion, so it is made in strips of rows (for the distance) and per
region of interest afterwards (:meth:`Scene.lab`), which gives exactly the values a
whole-frame conversion would; only the table's lightness and the distance map stay.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

_FIT_LONG_SIDE = 160
_L_WEIGHT = 0.25  # shadows and shading change lightness; objects differ in colour too
_STRIP_ROWS = 64  # rows converted to float Lab at a time


@dataclass(frozen=True)
class Scene:
    """A photo, its table model and the colour distance to it."""

    image_bgr: np.ndarray  # the uint8 photo the scene was made from
    background_l: np.ndarray  # the table model's lightness L (0..100), per pixel
    distance: np.ndarray  # weighted ΔE to the table model, per pixel
    threshold: float  # distance above which a pixel is an object

    def lab(self, y0: int, y1: int, x0: int, x1: int) -> np.ndarray:
        """Float Lab of the region rows ``y0:y1``, columns ``x0:x1`` (as :func:`to_lab`)."""
        return to_lab(self.image_bgr[y0:y1, x0:x1])


def to_lab(image_bgr: np.ndarray) -> np.ndarray:
    """uint8 BGR to float32 Lab (L 0..100, a/b about -128..127), in strips of rows so no
    full-frame float copy of the photo is made."""
    h, w = image_bgr.shape[:2]
    out = np.empty((h, w, 3), np.float32)
    for y in range(0, h, _STRIP_ROWS):
        ys = slice(y, y + _STRIP_ROWS)
        out[ys] = cv2.cvtColor(_unit_float(image_bgr[ys]), cv2.COLOR_BGR2Lab)
    return out


def _unit_float(bgr: np.ndarray) -> np.ndarray:
    strip = bgr.astype(np.float32)
    strip *= np.float32(1 / 255)
    return strip


def _design(h: int, w: int) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    x = (xx / max(w - 1, 1) * 2 - 1).ravel()
    y = (yy / max(h - 1, 1) * 2 - 1).ravel()
    return np.stack(
        [np.ones_like(x), x, y, x * x, x * y, y * y, x**3, x * x * y, x * y * y, y**3], 1
    )


def _distance(lab: np.ndarray, bg: np.ndarray) -> np.ndarray:
    d = lab - bg
    return np.asarray(np.sqrt((_L_WEIGHT * d[..., 0]) ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2))


def _fit_size(h: int, w: int) -> tuple[int, int]:
    k = _FIT_LONG_SIDE / max(h, w)
    return max(int(round(h * k)), 8), max(int(round(w * k)), 8)


def analyse(image_bgr: np.ndarray, *, min_threshold: float = 7.0) -> Scene:
    """Fit the table model and measure every pixel's distance to it."""
    h, w = image_bgr.shape[:2]
    sh, sw = _fit_size(h, w)
    lab = to_lab(image_bgr)
    small = cv2.resize(lab, (sw, sh), interpolation=cv2.INTER_AREA)
    del lab  # freed before the full-size table model is made
    a = _design(sh, sw)
    vals = small.reshape(-1, 3)
    # first guess: the median colour; a pixel is table if close to the current model
    bg_small = np.broadcast_to(np.median(vals, 0), vals.shape)
    inl = np.ones(len(vals), bool)
    thr = 12.0
    for _ in range(4):
        d = _distance(vals, bg_small)
        spread = float(np.median(d[inl])) * 1.4826 * 1.2 if inl.any() else 3.0
        thr = max(min_threshold, 2.5 * spread + 3.0)
        inl = d < thr
        if inl.sum() < a.shape[1] * 10:
            break
        coef, *_ = np.linalg.lstsq(a[inl], vals[inl], rcond=None)
        bg_small = a @ coef
    bg = cv2.resize(
        bg_small.reshape(sh, sw, 3).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR
    )
    dist = np.empty((h, w), np.float32)
    for y in range(0, h, _STRIP_ROWS):  # Lab again, a strip at a time, instead of kept whole
        ys = slice(y, y + _STRIP_ROWS)
        strip = cv2.cvtColor(_unit_float(image_bgr[ys]), cv2.COLOR_BGR2Lab)
        dist[ys] = _distance(strip, bg[ys])
    background_l = np.ascontiguousarray(bg[..., 0])
    del bg
    # table texture: robust spread of the distance over what the model calls table
    sample = dist[:: max(h // 200, 1), :: max(w // 200, 1)]
    tab = sample[sample < np.percentile(sample, 60)]
    noise = float(np.median(tab) * 1.4826) if tab.size else 2.0
    threshold = max(min_threshold, 3.0 * noise + 4.0)
    return Scene(image_bgr, background_l, dist, threshold)
