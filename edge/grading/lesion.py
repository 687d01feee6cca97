"""The lesion figure of a strawberry (``lesion_pct``): the share of its surface that is rot
or mould, by a colour rule like the leaves' spots. Pure numpy + OpenCV.

The rule, per pixel of float Lab (L 0..100; chroma C and hue angle h of a, b):

- dark lesion: near-black (low L and low C) — sunken anthracnose, old rot;
- brown rot: the hue of orange but dull (moderate C) and not light;
- grey/white mould: almost no colour (grey mould's fur, powdery mildew's coat), or a
  desaturated pink bluer than the skin (a white coat over red skin).

Healthy skin is none of these: ripe and turning skin is strongly coloured, unripe flesh a
yellowish green-white, the sepals saturated green (the calyx is never fruit). The bounds
were set on the training photos only (afzaal ``train`` pool against the healthy ``train``
split of brix-ripeness and Riseholme), see ``models/strawberry/lesion_threshold.py``.

Where the fruit is: a table photo gives the body mask (:func:`lesion_mask`). A crop
without one — a lane crop, a field crop of fruit on the plant — is segmented here
(:func:`crop_lesions`): the central blob of skin colours and its convex hull, plus the
lesion-coloured regions that touch it and do not run out to the crop's edge (background
does; a lesion on the fruit is bounded by the fruit); minus the sepals, minus what has the
colour of the crop's border (a table or sky behind the fruit), rim eroded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import cv2
import numpy as np

# -- the colour rule ------------------------------------------------------------------------
_DARK_MAX_L = 23.0
_DARK_MAX_C = 22.0
_BROWN_HUE = (38.0, 65.0)  # degrees; unripe flesh is ~75-110°
_BROWN_C = (8.0, 34.0)  # ripe and orange turning skin are far more saturated
_BROWN_L = (15.0, 52.0)
_GREY_MAX_C = 8.0
_GREY_L = (30.0, 88.0)  # specular highlights are lighter
_GREY_NEUTRAL_C = 3.0
_FLESH_CAST_HUE = (50.0, 120.0)
_PINK_HUE_MAX = 28.0  # mildew over red: pink turned bluish (hue below the skin's)
_PINK_C = (8.0, 30.0)
_PINK_MIN_L = 45.0
# -- fruit colours, for segmenting a crop --------------------------------------------------
_SKIN_MIN_A = 14.0
_SKIN_MIN_C = 20.0
_FLESH_MIN_L = 25.0
_FLESH_HUE = (74.0, 135.0)
_FLESH_C = (10.0, 60.0)
_WHITE_FLESH_MIN_L = 60.0
_BACKDROP_DIST = 6.0  # ΔE (L weighted ¼) to the border colour that is still backdrop
_SHADOW_DIST = 4.0  # ΔE in a, b only: a shadow keeps the backdrop's hue
_MIN_FRUIT_SHARE = 0.04  # less fruit than this share of a crop: look for a mould blob


def _chroma_hue(lab: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    a, b = lab[..., 1], lab[..., 2]
    return np.sqrt(a * a + b * b), np.degrees(np.arctan2(b, a)) % 360.0


def lesion_pixels(lab: np.ndarray) -> np.ndarray:
    """Per pixel of float Lab ``[..., 3]``: rot-brown/black, dark lesion or grey/white mould."""
    L = lab[..., 0]
    c, h = _chroma_hue(lab)
    dark = (L < _DARK_MAX_L) & (c < _DARK_MAX_C)
    brown = (
        (h >= _BROWN_HUE[0])
        & (h <= _BROWN_HUE[1])
        & (c >= _BROWN_C[0])
        & (c <= _BROWN_C[1])
        & (L >= _BROWN_L[0])
        & (L <= _BROWN_L[1])
    )
    # near-white with a yellow-green cast is unripe flesh, not mould
    flesh_cast = (c >= _GREY_NEUTRAL_C) & (h >= _FLESH_CAST_HUE[0]) & (h <= _FLESH_CAST_HUE[1])
    grey = (c < _GREY_MAX_C) & (L >= _GREY_L[0]) & (L <= _GREY_L[1]) & ~flesh_cast
    pink = (
        ((h <= _PINK_HUE_MAX) | (h >= 330.0))
        & (c >= _PINK_C[0])
        & (c <= _PINK_C[1])
        & (L >= _PINK_MIN_L)
    )
    return np.asarray(dark | brown | grey | pink)


def skin_pixels(lab: np.ndarray) -> np.ndarray:
    """Healthy fruit colours: red/pink/orange skin, or unripe yellowish green-white flesh."""
    L, a = lab[..., 0], lab[..., 1]
    c, h = _chroma_hue(lab)
    skin = (a >= _SKIN_MIN_A) & (c >= _SKIN_MIN_C)
    flesh = (
        (L >= _FLESH_MIN_L)
        & (h >= _FLESH_HUE[0])
        & (h <= _FLESH_HUE[1])
        & (c >= _FLESH_C[0])
        & (c <= _FLESH_C[1])
    )
    # white unripe flesh: light, faintly yellow
    flesh |= (
        (L >= _WHITE_FLESH_MIN_L)
        & (c >= _GREY_NEUTRAL_C)
        & (h >= _FLESH_CAST_HUE[0])
        & (h <= _FLESH_CAST_HUE[1])
    )
    return np.asarray(skin | flesh)


def green_pixels(hsv: np.ndarray) -> np.ndarray:
    """Sepals and leaves: saturated green (OpenCV HSV; the calyx rule of ``strawberry``)."""
    hue, sat = hsv[..., 0], hsv[..., 1]
    return np.asarray((hue >= 30) & (hue <= 95) & (sat >= 90))


def lesion_mask(lab: np.ndarray, body: np.ndarray) -> np.ndarray:
    """The lesion pixels (bool) of a fruit whose body mask (calyx cut) is known."""
    return np.asarray(lesion_pixels(lab) & (body > 0))


def lesion_pct(lab: np.ndarray, body: np.ndarray) -> tuple[float, np.ndarray]:
    """``lesion_pct`` (0..100) of a body mask and the lesion mask it counted; the rim is
    eroded away first, as it blends with the table."""
    body8 = (body > 0).astype(np.uint8)
    inner = cv2.erode(body8, np.ones((5, 5), np.uint8)) > 0
    if int(inner.sum()) < 20:
        inner = body8 > 0
    n = int(inner.sum())
    if n == 0:
        return 0.0, np.zeros(body.shape, bool)
    les = lesion_mask(lab, inner)
    return 100.0 * int(les.sum()) / n, les


@dataclass(frozen=True)
class CropLesions:
    """What :func:`crop_lesions` found in a batch of crops (masks at the crops' size)."""

    pct: list[float]
    fruit: np.ndarray  # bool [n, h, w]
    lesion: np.ndarray  # bool [n, h, w]


def _grow(mask: np.ndarray) -> np.ndarray:
    """3×3 dilation of a batch of masks ``[n, h, w]`` (each crop on its own)."""
    out = mask.copy()
    out[:, 1:] |= mask[:, :-1]
    out[:, :-1] |= mask[:, 1:]
    rows = out.copy()
    out[:, :, 1:] |= rows[:, :, :-1]
    out[:, :, :-1] |= rows[:, :, 1:]
    return out


def _shrink(mask: np.ndarray) -> np.ndarray:
    """3×3 erosion of a batch of masks ``[n, h, w]``, the frame counting as outside."""
    out = ~_grow(~mask)
    out[:, 0] = out[:, -1] = False
    out[:, :, 0] = out[:, :, -1] = False
    return out


_K3 = np.ones((3, 3), np.uint8)


@cache
def _centre_weight(h: int, w: int) -> np.ndarray:
    ys, xs = np.mgrid[0:h, 0:w]
    r2 = ((xs - (w - 1) / 2) / (w / 2)) ** 2 + ((ys - (h - 1) / 2) / (h / 2)) ** 2
    return np.asarray(np.clip(1.0 - r2, 0.0, None).ravel())  # the centre counts most, corners not


def _central(labels: np.ndarray, n: int, weight: np.ndarray) -> int:
    """The component with the most centre-weighted pixels (0 if there is none)."""
    if n <= 1:
        return 0
    score = np.bincount(labels.ravel(), weights=weight, minlength=n)
    score[0] = 0.0
    k = int(score.argmax())
    return k if score[k] > 0 else 0


def _edge_ids(stats: np.ndarray, h: int, w: int) -> np.ndarray:
    x, y, bw, bh = stats[:, 0], stats[:, 1], stats[:, 2], stats[:, 3]
    return np.asarray((x == 0) | (y == 0) | (x + bw >= w) | (y + bh >= h))


def _one_crop(
    les: np.ndarray, skin: np.ndarray, drop: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """The fruit mask of one crop from its lesion, skin and not-fruit pixels."""
    h, w = les.shape
    n, lab_skin = cv2.connectedComponents(skin.astype(np.uint8), connectivity=8)
    core_id = _central(lab_skin, n, weight)
    fruit = np.zeros((h, w), np.uint8)
    if core_id:
        core = (lab_skin == core_id).astype(np.uint8)
        cv2.fillConvexPoly(fruit, cv2.convexHull(cv2.findNonZero(core)), 1)
        # lesion regions bounded by the fruit: touching its skin, not running out of the crop
        n_l, lab_les, stats, _ = cv2.connectedComponentsWithStats(les.astype(np.uint8))
        if n_l > 1:
            touching = np.zeros(n_l, bool)
            touching[lab_les[cv2.dilate(core, _K3) > 0]] = True
            keep = touching & ~_edge_ids(stats, h, w)
            keep[0] = False
            fruit[keep[lab_les]] = 1
    if int(fruit.sum()) < _MIN_FRUIT_SHARE * fruit.size:
        # no skin to speak of (a mummified, mould-covered fruit): the central lesion blob,
        # if it is bounded (dark soil or plastic mulch runs out of the crop)
        n_c, lab_c, stats_c, _ = cv2.connectedComponentsWithStats(les.astype(np.uint8))
        cid = _central(lab_c, n_c, weight)
        if cid and not _edge_ids(stats_c[cid : cid + 1], h, w)[0]:
            fruit[lab_c == cid] = 1
    return np.asarray((fruit > 0) & ~drop)


def border_colours(lab: np.ndarray) -> np.ndarray:
    """Median Lab ``[n, 3]`` of each crop's border: the table, lane or sky behind the fruit."""
    border = np.concatenate([lab[:, 0], lab[:, -1], lab[:, :, 0], lab[:, :, -1]], axis=1)
    return np.asarray(np.median(border, axis=1))


def crop_lesions(lab: np.ndarray, hsv: np.ndarray, bg: np.ndarray | None = None) -> CropLesions:
    """``lesion_pct`` (0..100) of each crop of a batch without masks: float Lab and
    uint8 HSV ``[n, h, w, 3]`` (as ``strawberry.small_crops`` makes them) and, if already
    at hand, their :func:`border_colours`."""
    n, h, w = lab.shape[:3]
    weight = _centre_weight(h, w)
    green = _grow(green_pixels(hsv))  # and a pixel round: the sepals' shadowed bases
    d = lab - (border_colours(lab) if bg is None else bg)[:, None, None, :]
    hue_d2 = d[..., 1] ** 2 + d[..., 2] ** 2
    backdrop = (0.25 * d[..., 0]) ** 2 + hue_d2 < _BACKDROP_DIST**2
    # the fruit's shadow on it: the backdrop's own colour, only darker
    backdrop |= (hue_d2 < _SHADOW_DIST**2) & (d[..., 0] < 0)
    drop = green | backdrop
    les = lesion_pixels(lab) & ~drop
    # a crop on a plain table or lane (most of its border one colour): the fruit is what
    # differs from it, no search needed; on the plant the fruit is looked for
    on_table = backdrop[:, [0, -1]].mean((1, 2)) + backdrop[:, :, [0, -1]].mean((1, 2)) >= 1.5
    fruit = ~drop
    field = np.flatnonzero(~on_table)
    if field.size:
        skin = skin_pixels(lab[field]) & ~drop[field] & ~les[field]
        for j, i in enumerate(field):
            fruit[i] = _one_crop(les[i], skin[j], drop[i], weight)
    inner = _shrink(fruit)  # the rim blends with what is behind the fruit
    small = inner.reshape(n, -1).sum(1) < 20
    fruit = np.where(small[:, None, None], fruit, inner)
    lesion = les & fruit
    nf = fruit.reshape(n, -1).sum(1)
    nl = lesion.reshape(n, -1).sum(1)
    pct = [100.0 * int(a) / int(b) if b else 0.0 for a, b in zip(nl, nf, strict=True)]
    return CropLesions(pct, fruit, lesion)
