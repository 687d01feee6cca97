"""Strawberry measurement on a grading-table photo: find each fruit, its body diameter and
white fraction. Pure OpenCV/numpy; classification and grading happen in ``api``.

- Objects: pixels that differ from the table model (``background``).
- Calyx: saturated green object pixels. It is not fruit: it is cut from the body before
  measuring, and a calyx that sticks out wider than the body does not count.
- Touching fruit are split by watershed on the distance transform.
- Fruit touching the frame edge or the marker are skipped (counted in the flags).
- Diameter: the widest chord of the body perpendicular to its long axis (second moments).
- Lesions (rot, mould): the colour rule of ``lesion`` over the body (calyx cut).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.grading import lesion
from edge.grading.background import Scene, analyse
from edge.grading.marker import Marker

MIN_FRUIT_MM = 8.0  # smaller blobs are debris, not fruit
_MIN_FRUIT_PX = 150
# uncoloured flesh: low redness and still light (dark brown rot is not "white")
_WHITE_MAX_A = 14.0
_WHITE_MIN_L_RATIO = 0.5
# yellow seeds (achenes) are not uncoloured flesh: strongly yellow unless greenish
_SEED_MIN_B = 30.0
_GREENISH_A = -8.0


def _is_white(lab: np.ndarray, light_ref: np.ndarray | float) -> np.ndarray:
    """Uncoloured flesh: not red or pink, still light, and not a yellow seed."""
    a, b = lab[..., 1], lab[..., 2]
    return np.asarray(
        (a < _WHITE_MAX_A)
        & (lab[..., 0] > _WHITE_MIN_L_RATIO * light_ref)
        & ((b < _SEED_MIN_B) | (a < _GREENISH_A))
    )


@dataclass(frozen=True)
class FruitMeasure:
    """One fruit found in a photo."""

    center_px: tuple[float, float]
    diameter_px: float
    axis_deg: float
    white_fraction: float
    bbox: tuple[int, int, int, int]  # x, y, w, h of body + calyx
    contour: np.ndarray  # body outline (px)
    split: bool  # separated from a touching neighbour
    lesion_pct: float = 0.0  # share of the body that is rot or mould, 0..100
    lesion_outlines: tuple[np.ndarray, ...] = ()  # outlines of the lesion areas (px)


@dataclass(frozen=True)
class FruitScan:
    """All fruit of a photo and what was left out."""

    fruit: list[FruitMeasure]
    excluded_edge: int
    excluded_marker: int
    split: int


def _calyx_mask(image_bgr: np.ndarray, obj: np.ndarray) -> np.ndarray:
    hsv = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2HSV)
    h, s = hsv[..., 0], hsv[..., 1]
    green = (h >= 30) & (h <= 95) & (s >= 90)
    return np.asarray(green & obj)


def _fill_holes(mask: np.ndarray) -> np.ndarray:
    cnts, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = np.zeros_like(mask)
    cv2.drawContours(out, cnts, -1, 255, thickness=cv2.FILLED)
    return out


def _hill_markers(dist: np.ndarray) -> np.ndarray:
    """One label per hill of the distance transform that stands out by a quarter of its
    height (an h-maxima), so a small fruit against a big one still gets its own seed."""
    peak = (dist >= cv2.dilate(dist, np.ones((5, 5), np.uint8))) & (dist > 3)
    n, plabels, _, cents = cv2.connectedComponentsWithStats(peak.astype(np.uint8))
    cands = sorted(
        (
            (float(dist[int(round(cy)), int(round(cx))]), int(round(cx)), int(round(cy)))
            for cx, cy in cents[1:]
        ),
        reverse=True,
    )
    out = np.zeros(dist.shape, np.int32)
    accepted: list[tuple[int, int]] = []
    for height, x, y in cands[:12]:
        if height <= 3:
            continue
        level = (dist > height * 0.75).astype(np.uint8)
        _, hill = cv2.connectedComponents(level)
        k = hill[y, x]
        if k == 0 or any(hill[ay, ax] == k for ax, ay in accepted):
            continue
        accepted.append((x, y))
        out[(hill == k) & (out == 0)] = len(accepted)
    return out


def _flood(seeds: np.ndarray, dist: np.ndarray, steps: int = 24) -> np.ndarray:
    """Watershed of ``-dist`` from ``seeds``: labels grow level by level from the fruit
    centres down to the rims, so two fruit meet at the neck between them."""
    lab = seeds.astype(np.float32)
    k3 = np.ones((3, 3), np.uint8)
    for level in np.linspace(float(dist.max()), 0.0, steps)[1:]:
        allowed = (dist >= level) | (level <= 0.0) & (dist > 0)
        for _ in range(64):
            grown = cv2.dilate(lab, k3)
            new = (lab == 0) & allowed & (grown > 0)
            if not new.any():
                break
            lab[new] = grown[new]
    return lab.astype(np.int32)


def _split(comp: np.ndarray, min_px: int) -> list[np.ndarray]:
    """Split a blob of touching convex fruit into one mask per fruit (or return it whole)."""
    cnts, _ = cv2.findContours(comp, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not cnts:
        return []
    cnt = max(cnts, key=cv2.contourArea)
    area = cv2.contourArea(cnt)
    hull = cv2.contourArea(cv2.convexHull(cnt))
    if hull <= 0 or area / hull > 0.93:
        return [comp]
    dist = cv2.distanceTransform(comp, cv2.DIST_L2, 5)
    lab = _hill_markers(dist)
    n = int(lab.max()) + 1
    if n - 1 < 2:
        return [comp]
    markers = _flood(lab, dist)
    parts = []
    for k in range(1, n):
        part = ((markers == k) & (comp > 0)).astype(np.uint8) * 255
        if int(np.count_nonzero(part)) >= min_px:
            parts.append(part)
    return parts if len(parts) >= 2 else [comp]


def coverage(
    dist: np.ndarray,
    part: np.ndarray,
    forbidden: np.ndarray,
    floor: float = 0.0,
    grow: int = 2,
) -> np.ndarray:
    """Sub-pixel coverage (0..1) of an object around its mask ``part``.

    A rim pixel is a blend of object and table, so its distance to the table model is about
    its coverage times the distance of the object's interior nearby; the binary mask alone
    would put every edge where the threshold cuts the blur, a pixel or so too wide.
    """
    k3 = np.ones((3, 3), np.uint8)
    inner = cv2.erode(part, k3, iterations=2)
    zone = cv2.dilate(part, k3, iterations=grow) > 0
    zone &= ~forbidden
    w = cv2.blur(inner.astype(np.float32) / 255.0, (13, 13))
    ref = cv2.blur(dist * (inner > 0), (13, 13)) / np.maximum(w, 1e-6)
    # far from any interior (a thin tip, a stalk): the interior a little further off, and
    # failing that the object's overall level, stands in
    whole = (
        float(np.median(dist[inner > 0])) if inner.any() else float(dist[part > 0].max(initial=1.0))
    )
    w_far = cv2.blur(inner.astype(np.float32) / 255.0, (41, 41))
    ref_far = cv2.blur(dist * (inner > 0), (41, 41)) / np.maximum(w_far, 1e-6)
    ref = np.where(w > 0.02, ref, np.where(w_far > 0.002, ref_far, whole))
    # ``floor``: what the bare table's texture and a fruit's shadow reach on their own
    alpha = np.clip((dist - floor) / np.maximum(ref - floor, 1e-3), 0.0, 1.0)
    alpha = np.where(inner > 0, 1.0, alpha)
    return np.where(zone, alpha, 0.0).astype(np.float32)


def max_chord_across(mask: np.ndarray, axis_rad: float) -> float:
    """Widest chord of ``mask`` (uint8 0/255 or float coverage 0..1) perpendicular to the
    axis at ``axis_rad`` (px, sub-pixel)."""
    h, w = mask.shape
    diag = int(np.ceil(np.hypot(h, w))) + 4
    m = cv2.getRotationMatrix2D((w / 2, h / 2), float(np.rad2deg(axis_rad)), 1.0)
    m[:, 2] += (diag / 2 - w / 2, diag / 2 - h / 2)
    src = mask.astype(np.float32) / 255.0 if mask.dtype == np.uint8 else mask.astype(np.float32)
    rotated = cv2.warpAffine(src, m, (diag, diag), flags=cv2.INTER_LINEAR)
    # the axis now runs along x; chords across it are columns, averaged over 3 columns so
    # the staircase of a pixel outline does not push the maximum up
    cols = np.convolve(rotated.sum(0), np.ones(3) / 3, mode="same")
    return float(cols.max())


def _axis(mask: np.ndarray, calyx: np.ndarray | None = None) -> float:
    """Direction of the long axis: from the calyx hub to the tip when a calyx is attached,
    else the major axis of the body's second moments (calyx end unknown)."""
    if calyx is not None:
        grown = cv2.dilate(mask, np.ones((7, 7), np.uint8)) > 0
        n, cl = cv2.connectedComponents(calyx.astype(np.uint8))
        if n > 1:
            touch = np.bincount(cl[grown & calyx].ravel(), minlength=n)[1:]
            if touch.max() >= 8:
                own = (cl == int(touch.argmax()) + 1).astype(np.uint8)
                dt = cv2.distanceTransform(own, cv2.DIST_L2, 5)
                hy, hx = np.unravel_index(int(dt.argmax()), dt.shape)
                ys, xs = np.nonzero(mask)
                far = int(np.argmax((xs - hx) ** 2 + (ys - hy) ** 2))
                return float(np.arctan2(ys[far] - hy, xs[far] - hx))
    mom = cv2.moments(mask, binaryImage=True)
    return 0.5 * float(np.arctan2(2 * mom["mu11"], mom["mu20"] - mom["mu02"]))


def white_fraction(lab: np.ndarray, body: np.ndarray, table_l: float) -> float:
    """Share of the body's pixels (rim eroded away) that are uncoloured."""
    inner = cv2.erode(body, np.ones((5, 5), np.uint8))
    sel = inner > 0
    if int(sel.sum()) < 20:
        sel = body > 0
    px = lab[sel]
    if px.size == 0:
        return 0.0
    white = _is_white(px, table_l)
    return float(white.mean())


def scan(image_bgr: np.ndarray, marker: Marker | None, scene: Scene | None = None) -> FruitScan:
    """Find and measure every whole fruit of a table photo."""
    scene = scene if scene is not None else analyse(image_bgr)
    h, w = image_bgr.shape[:2]
    obj = (scene.distance > scene.threshold).astype(np.uint8) * 255
    obj = np.asarray(cv2.morphologyEx(obj, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)), np.uint8)
    excl = np.zeros((h, w), np.uint8)
    if marker is not None:
        cv2.fillPoly(excl, [np.round(marker.exclusion_polygon()).astype(np.int32)], 255)
    calyx = _calyx_mask(image_bgr, obj > 0)
    body = obj.copy()
    body[calyx] = 0
    # close first: a faint seam where a white shoulder meets the red must not cut a fruit
    body = np.asarray(cv2.morphologyEx(body, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8)), np.uint8)
    body[calyx] = 0
    body = np.asarray(cv2.morphologyEx(body, cv2.MORPH_OPEN, np.ones((5, 5), np.uint8)), np.uint8)
    min_px = _MIN_FRUIT_PX
    if marker is not None:
        min_px = max(min_px, int(np.pi * (MIN_FRUIT_MM / 2 / marker.mm_per_px) ** 2))
    # whole objects (body + calyx) touching the frame edge or the marker are skipped
    n_obj, obj_lab, obj_stats, _ = cv2.connectedComponentsWithStats(obj)
    edge_ids: set[int] = set()
    marker_ids: set[int] = set()
    for i in range(1, n_obj):
        x, y, bw, bh, area = (int(v) for v in obj_stats[i])
        if area < min_px:
            continue
        if x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1:
            edge_ids.add(i)
    if marker is not None:
        marker_ids = {int(v) for v in np.unique(obj_lab[excl > 0])} - {0}
    n, lab, stats, _ = cv2.connectedComponentsWithStats(body)
    fruit: list[FruitMeasure] = []
    excluded_edge = excluded_marker = n_split = 0
    table_l = float(np.median(scene.background_l))
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < min_px:
            continue
        pad = max(bw, bh) // 2 + 3  # room for the fruit's own calyx
        xa, ya = max(x - pad, 0), max(y - pad, 0)
        xb, yb = min(x + bw + pad, w), min(y + bh + pad, h)
        comp = (lab[ya:yb, xa:xb] == i).astype(np.uint8) * 255
        owners = {int(v) for v in np.unique(obj_lab[ya:yb, xa:xb][comp > 0])} - {0}
        if int(np.count_nonzero(excl[ya:yb, xa:xb][comp > 0])) * 2 >= area:
            continue  # the marker itself (its black square)
        if owners & marker_ids:
            excluded_marker += 1
            continue
        if owners & edge_ids:
            excluded_edge += 1
            continue
        parts = _split(_fill_holes(comp), min_px)
        was_split = len(parts) > 1
        n_split += len(parts) - 1 if was_split else 0
        roi_dist = scene.distance[ya:yb, xa:xb]
        roi_lab = scene.lab(ya, yb, xa, xb)
        others = (lab[ya:yb, xa:xb] != i) & (lab[ya:yb, xa:xb] > 0)
        for part in parts:
            part = _fill_holes(part)
            axis = _axis(part, calyx[ya:yb, xa:xb])
            forbidden = calyx[ya:yb, xa:xb] | others | ((comp > 0) & (part == 0))
            cov = coverage(roi_dist, part, forbidden, 0.5 * scene.threshold)
            diam = max_chord_across(cov, axis)
            ys, xs = np.nonzero(part)
            cnts, _ = cv2.findContours(part, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
            contour = max(cnts, key=cv2.contourArea) + np.array([xa, ya], np.int32)
            # the bounding box takes the fruit's own calyx along for the classifier crop
            grown = cv2.dilate(part, np.ones((9, 9), np.uint8))
            own = (grown > 0) & calyx[ya:yb, xa:xb]
            cy_, cx_ = np.nonzero((part > 0) | own)
            bbox = (
                int(cx_.min() + xa),
                int(cy_.min() + ya),
                int(cx_.max() - cx_.min() + 1),
                int(cy_.max() - cy_.min() + 1),
            )
            les_pct, les = lesion.lesion_pct(roi_lab, part)
            les_cnts, _ = cv2.findContours(
                les.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE
            )
            fruit.append(
                FruitMeasure(
                    center_px=(float(xs.mean() + xa), float(ys.mean() + ya)),
                    diameter_px=diam,
                    axis_deg=float(np.rad2deg(axis)),
                    white_fraction=white_fraction(roi_lab, part, table_l),
                    bbox=bbox,
                    contour=contour,
                    split=was_split,
                    lesion_pct=les_pct,
                    lesion_outlines=tuple(c + np.array([xa, ya], np.int32) for c in les_cnts),
                )
            )
    fruit.sort(key=lambda f: (round(f.center_px[1] / 50), f.center_px[0]))
    return FruitScan(fruit, excluded_edge, excluded_marker, n_split)


_SINGLE_PX = 32
_LAB8_SCALE = np.array([100.0 / 255.0, 1.0, 1.0], np.float32)
_LAB8_SHIFT = np.array([0.0, 128.0, 128.0], np.float32)


def small_crops(squares_bgr: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One-fruit crops, already squared for the classifier, at 32 px as float Lab and uint8
    HSV ``[n, 32, 32, 3]`` (so a lane crop is resized once more only; colour conversions
    are per pixel, so one call converts the whole batch)."""
    n, k = len(squares_bgr), _SINGLE_PX
    if not n:
        return np.zeros((0, k, k, 3), np.float32), np.zeros((0, k, k, 3), np.uint8)
    small = np.stack([cv2.resize(sq, (k, k), interpolation=cv2.INTER_AREA) for sq in squares_bgr])
    tall = small.reshape(n * k, k, 3)
    lab = cv2.cvtColor(tall, cv2.COLOR_BGR2Lab).astype(np.float32) * _LAB8_SCALE - _LAB8_SHIFT
    hsv = cv2.cvtColor(tall, cv2.COLOR_BGR2HSV)
    return lab.reshape(n, k, k, 3), hsv.reshape(n, k, k, 3)


def single_white_fractions(
    lab: np.ndarray, hsv: np.ndarray, bg: np.ndarray | None = None
) -> list[float]:
    """White fractions of one-fruit crops (:func:`small_crops`): fruit is what differs from
    the crop's border colour (``bg``, :func:`lesion.border_colours`, if already at hand)."""
    n = lab.shape[0]
    if not n:
        return []
    bg = lesion.border_colours(lab) if bg is None else bg  # (n, 3)
    d = lab - bg[:, None, None, :]
    dist = np.sqrt((0.25 * d[..., 0]) ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2)  # shadows: L only
    # sepals: saturated green and darker than the table (pale green flesh is lighter)
    calyx = (
        (hsv[..., 0] >= 30)
        & (hsv[..., 0] <= 95)
        & (hsv[..., 1] >= 90)
        & (lab[..., 0] < 0.72 * bg[:, 0, None, None])
    ).astype(np.uint8)
    white_px = _is_white(lab, bg[:, 0, None, None])
    bodies = (dist > 10).astype(np.uint8) * 255
    k3 = np.ones((3, 3), np.uint8)
    out = []
    for i in range(n):
        # sepals are not fruit
        body = bodies[i].copy()
        body[calyx[i] > 0] = 0
        body = cv2.morphologyEx(body, cv2.MORPH_OPEN, k3)
        if int(np.count_nonzero(body)) < 0.03 * body.size:
            body = np.full(body.shape, 255, np.uint8)  # no contrast: take the whole crop
        sel = cv2.erode(body, k3, iterations=2) > 0  # the rim blends with the table
        if not sel.any():
            sel = body > 0
        out.append(float(white_px[i][sel].mean()))
    return out
