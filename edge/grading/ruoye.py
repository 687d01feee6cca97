"""箬叶 measurement on a table photo: each leaf's blade length (petiole excluded) and max
width, holes, tears, spots and yellowing. Pure OpenCV/numpy; the defect model and the
grade are applied in ``leaf_api``.

- The leaf's axis is the major axis of its second moments; it is turned level and its
  width profile (sub-pixel coverage summed across the axis) read along it.
- Petiole: the end whose narrow run is followed by a sudden flare is the base; the narrow
  run there (a stalk of near-constant width) is the petiole and is not blade.
- Holes: table seen through the blade (gaps enclosed by leaf), area from coverage.
- Tears: notches cut in from the margin (what a 6 mm closing fills, reaching at least
  ``TEAR_MIN_DEPTH_MM`` into the leaf) on a mask of mostly-leaf pixels, so a slit half
  filled by blur still shows; never near the base, where petiole and blade meet in a
  natural notch. Gaps at the inner end of such a slit are not holes.
- Spots (dark, brownish) and yellowing (light, yellow) are colour classes of blade pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from edge.grading.background import Scene, analyse
from edge.grading.marker import Marker
from edge.grading.strawberry import coverage

MIN_LEAF_MM2 = 1500.0
MIN_HOLE_MM2 = 2.0
TEAR_MIN_DEPTH_MM = 2.5
PETIOLE_MAX_MM = 6.0
NOMINAL_MM_PER_PX = 0.4  # only for morphology sizes when the photo has no marker


@dataclass(frozen=True)
class LeafMeasure:
    """One leaf found in a photo (pixel units; the caller converts with the marker)."""

    center_px: tuple[float, float]
    length_px: float
    width_px: float
    petiole_px: float
    axis_deg: float
    base_px: tuple[float, float]
    tip_px: tuple[float, float]
    holes: list[tuple[float, tuple[float, float]]]  # (area px², centre)
    tears: int
    spot_pct: float
    yellow_pct: float
    contour: np.ndarray
    roi: tuple[int, int, int, int]  # x, y, w, h in the photo
    blade: np.ndarray  # uint8 mask of the blade in the ROI (holes and petiole excluded)


@dataclass(frozen=True)
class LeafScan:
    """All leaves of a photo and what was left out."""

    leaves: list[LeafMeasure]
    excluded_edge: int
    excluded_marker: int


def _rotation(shape: tuple[int, int], axis_rad: float) -> tuple[np.ndarray, int]:
    h, w = shape
    diag = int(np.ceil(np.hypot(h, w))) + 4
    m = cv2.getRotationMatrix2D((w / 2, h / 2), float(np.rad2deg(axis_rad)), 1.0)
    m[:, 2] += np.array([diag / 2 - w / 2, diag / 2 - h / 2])
    return m, diag


def _profile(alpha: np.ndarray, m: np.ndarray, diag: int) -> np.ndarray:
    rotated = cv2.warpAffine(alpha, m, (diag, diag), flags=cv2.INTER_LINEAR)
    return np.asarray(rotated.sum(0))


def _runs_from_end(p: np.ndarray, idx: np.ndarray, limit: float) -> int:
    """How many columns from the start of ``idx`` stay narrower than ``limit``."""
    for k, i in enumerate(idx):
        if p[i] >= limit:
            return k
    return len(idx)


def _axis(mask: np.ndarray) -> float:
    mom = cv2.moments(mask, binaryImage=True)
    return 0.5 * float(np.arctan2(2 * mom["mu11"], mom["mu20"] - mom["mu02"]))


def _measure_leaf(
    scene: Scene, comp: np.ndarray, others: np.ndarray, x0: int, y0: int, mpp: float
) -> LeafMeasure | None:
    h, w = comp.shape
    dist = scene.distance[y0 : y0 + h, x0 : x0 + w]
    lab = scene.lab(y0, y0 + h, x0, x0 + w)
    bg_l = scene.background_l[y0 : y0 + h, x0 : x0 + w]
    floor = 0.5 * scene.threshold
    cnts, _ = cv2.findContours(comp, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not cnts:
        return None
    outline = max(cnts, key=cv2.contourArea)
    filled = np.zeros_like(comp)
    cv2.drawContours(filled, [outline], -1, 255, cv2.FILLED)
    # holes: gaps enclosed by the leaf, area as uncovered share (sub-pixel)
    gaps = ((filled > 0) & (comp == 0)).astype(np.uint8)
    inner_ref = (
        float(np.median(dist[cv2.erode(comp, np.ones((5, 5), np.uint8)) > 0]))
        if comp.any()
        else 1.0
    )
    holes: list[tuple[float, tuple[float, float]]] = []
    outside = filled == 0
    reach = 2 * int(round(1.5 / mpp)) + 1
    n_g, g_lab, g_stats, g_cent = cv2.connectedComponentsWithStats(gaps)
    for j in range(1, n_g):
        gm = (g_lab == j).astype(np.uint8)
        if bool(outside[cv2.dilate(gm, np.ones((reach, reach), np.uint8)) > 0].any()):
            continue  # a slit whose mouth the blur closed: a tear (found below), not a hole
        ring = cv2.dilate(gm, np.ones((5, 5), np.uint8)) > 0
        uncovered = 1.0 - np.clip((dist[ring] - floor) / max(inner_ref - floor, 1e-3), 0, 1)
        area = float(uncovered.sum())
        if area * mpp * mpp >= MIN_HOLE_MM2:
            holes.append((area, (float(g_cent[j][0] + x0), float(g_cent[j][1] + y0))))
    axis = _axis(filled)
    m, diag = _rotation((h, w), axis)
    alpha = coverage(dist, filled, others, floor)
    p = _profile(alpha, m, diag)
    # the ends (thin tip, petiole stub) are faint: find them without the texture floor
    p_ends = _profile(coverage(dist, filled, others, floor, grow=3), m, diag)
    cols = np.nonzero(p_ends >= 0.25)[0]
    if cols.size < 10:
        return None
    left, right = int(cols[0]), int(cols[-1])
    # width needs the tears closed (a notch does not make a leaf narrower)
    k = 2 * int(round(6.0 / mpp)) + 1
    big = cv2.copyMakeBorder(filled, k, k, k, k, cv2.BORDER_CONSTANT, value=0)
    big = cv2.morphologyEx(
        big, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    )
    closed = big[k:-k, k:-k]  # padded first: closing must not glue the leaf to the ROI edge
    p_closed = _profile(coverage(dist, closed, others, floor), m, diag)
    pw_limit = PETIOLE_MAX_MM / mpp
    idx_l = np.arange(left, right + 1)
    idx_r = idx_l[::-1]
    run_l = _runs_from_end(p, idx_l, pw_limit)
    run_r = _runs_from_end(p, idx_r, pw_limit)
    probe = int(round(10.0 / mpp))
    w_l = p[min(left + run_l + probe, right)]
    w_r = p[max(right - run_r - probe, left)]
    base_is_left = w_l >= w_r
    idx = idx_l if base_is_left else idx_r
    run = run_l if base_is_left else run_r
    petiole_px = 0.0
    step = 1.0 if base_is_left else -1.0
    base = float(idx[0]) - 0.5 * step  # outer edge of the first column
    if run * mpp >= 2.0:
        stalk = p[idx[: max(run, 1)]]
        wp = float(np.median(stalk[len(stalk) // 10 : max(len(stalk) * 9 // 10, 1)]))
        # a stalk tapers a little: the blade starts where the width leaves its widest part
        flare = float(np.percentile(stalk, 95)) + max(0.6 / mpp, 0.2 * wp)
        k0 = min(_runs_from_end(p, idx, flare), len(idx) - 1)
        base = float(idx[k0]) - 0.5 * step  # the blade starts inside the first wide column
        petiole_px = float(abs(base - idx[0])) + 0.5
    tip = idx[-1]
    # sub-pixel tip: the last column's partial coverage extends it a little
    length_px = float(abs(tip - base)) + 0.5  # to the outer edge of the tip column
    lo, hi = sorted((int(base), int(tip)))
    pc = np.convolve(p_closed, np.ones(3) / 3, mode="same")
    width_px = float(pc[lo : hi + 1].max())
    inv = cv2.invertAffineTransform(m)
    fy, fx = np.nonzero(filled)
    centre_row = float((m @ np.array([fx.mean(), fy.mean(), 1.0]))[1])  # the midrib's row

    def back(col: float) -> tuple[float, float]:
        x, y = inv @ np.array([col, centre_row, 1.0])
        return float(x + x0), float(y + y0)

    # the blade: leaf minus holes minus petiole (columns outside base..tip in the level frame)
    keep = np.zeros((diag, diag), np.uint8)
    keep[:, lo : hi + 1] = 255
    keep_roi = cv2.warpAffine(keep, inv, (w, h), flags=cv2.INTER_NEAREST)
    blade = ((comp > 0) & (keep_roi > 0)).astype(np.uint8) * 255
    # tears: notches the closing filled (narrower than the kernel), away from the base
    tears = 0

    def from_base(x: float, y: float) -> float:
        col = float((m @ np.array([x, y, 1.0]))[0])
        return ((col - base) if base_is_left else (base - col)) * mpp

    # on a stricter mask (pixels mostly leaf), so a slit that blur half fills still shows
    lrel_all = lab[..., 0] / np.maximum(bg_l, 1.0)
    dark_spot = (lab[..., 1] > -12) & (lrel_all < 0.5)  # spots at the margin are leaf too
    strict = ((comp > 0) & ((dist > floor + 0.6 * (inner_ref - floor)) | dark_spot)).astype(
        np.uint8
    ) * 255
    s_cnts, _ = cv2.findContours(strict, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    s_filled = np.zeros_like(strict)
    if s_cnts:
        cv2.drawContours(s_filled, [max(s_cnts, key=cv2.contourArea)], -1, 255, cv2.FILLED)
    big = cv2.copyMakeBorder(s_filled, k, k, k, k, cv2.BORDER_CONSTANT, value=0)
    big = cv2.morphologyEx(
        big, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
    )
    s_closed = big[k:-k, k:-k]
    notches = ((s_closed > 0) & (s_filled == 0)).astype(np.uint8)
    n_n, n_lab, n_stats, n_cent = cv2.connectedComponentsWithStats(notches)
    # how far into the leaf a notch reaches: distance from the closed outline
    depth_map = cv2.distanceTransform(
        cv2.copyMakeBorder(s_closed, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0), cv2.DIST_L2, 5
    )[1:-1, 1:-1]
    for j in range(1, n_n):
        depth = float(depth_map[n_lab == j].max()) * mpp
        if depth >= TEAR_MIN_DEPTH_MM and from_base(*n_cent[j]) >= 15.0:
            tears += 1
    # a gap that is the inner end of a slit belongs to that tear, not a hole
    notch_zone = cv2.dilate(notches, np.ones((reach, reach), np.uint8)) > 0
    holes = [
        hl
        for hl in holes
        if not notch_zone[
            min(max(int(round(hl[1][1] - y0)), 0), h - 1),
            min(max(int(round(hl[1][0] - x0)), 0), w - 1),
        ]
    ]
    # colour classes over the blade, rim eroded
    core = cv2.erode(blade, np.ones((5, 5), np.uint8)) > 0
    n_core = int(core.sum())
    spot_pct = yellow_pct = 0.0
    if n_core:
        px = lab[core]
        lrel = px[:, 0] / np.maximum(bg_l[core], 1.0)
        yellow = (px[:, 1] > -18) & (px[:, 2] > 45) & (lrel > 0.5)
        spot = (px[:, 1] > -12) & (lrel < 0.5) & ~yellow
        spot_pct = 100.0 * float(spot.sum()) / n_core
        yellow_pct = 100.0 * float(yellow.sum()) / n_core
    ys, xs = np.nonzero(blade)
    return LeafMeasure(
        center_px=(float(xs.mean() + x0), float(ys.mean() + y0)),
        length_px=length_px,
        width_px=width_px,
        petiole_px=petiole_px,
        axis_deg=float(np.rad2deg(axis)),
        base_px=back(float(base)),
        tip_px=back(float(tip)),
        holes=holes,
        tears=tears,
        spot_pct=spot_pct,
        yellow_pct=yellow_pct,
        contour=outline + np.array([x0, y0], np.int32),
        roi=(x0, y0, w, h),
        blade=blade,
    )


def scan_leaves(
    image_bgr: np.ndarray, marker: Marker | None, scene: Scene | None = None
) -> LeafScan:
    """Find and measure every whole leaf of a table photo."""
    scene = scene if scene is not None else analyse(image_bgr)
    h, w = image_bgr.shape[:2]
    mpp = marker.mm_per_px if marker is not None else NOMINAL_MM_PER_PX
    obj = (scene.distance > scene.threshold).astype(np.uint8) * 255
    obj = np.asarray(cv2.morphologyEx(obj, cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)), np.uint8)
    excl = np.zeros((h, w), np.uint8)
    if marker is not None:
        cv2.fillPoly(excl, [np.round(marker.exclusion_polygon()).astype(np.int32)], 255)
    n, lab, stats, _ = cv2.connectedComponentsWithStats(obj)
    leaves: list[LeafMeasure] = []
    ex_edge = ex_marker = 0
    min_px = MIN_LEAF_MM2 / (mpp * mpp)
    for i in range(1, n):
        x, y, bw, bh, area = (int(v) for v in stats[i])
        if area < min_px:
            continue
        if x <= 1 or y <= 1 or x + bw >= w - 1 or y + bh >= h - 1:
            ex_edge += 1
            continue
        pad = 6
        xa, ya = max(x - pad, 0), max(y - pad, 0)
        xb, yb = min(x + bw + pad, w), min(y + bh + pad, h)
        sub = lab[ya:yb, xa:xb]
        comp = (sub == i).astype(np.uint8) * 255
        inside = int(np.count_nonzero(excl[ya:yb, xa:xb][comp > 0]))
        if inside * 2 >= area:
            continue  # the marker itself
        if inside:
            ex_marker += 1
            continue
        others = (sub != i) & (sub > 0)
        leaf = _measure_leaf(scene, comp, others, xa, ya, mpp)
        if leaf is not None:
            leaves.append(leaf)
    leaves.sort(key=lambda lf: (round(lf.center_px[1] / 100), lf.center_px[0]))
    return LeafScan(leaves, ex_edge, ex_marker)
