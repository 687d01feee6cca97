"""箬叶 (Indocalamus leaf) photos with known geometry, seen from above on a table.

A leaf is drawn in its own frame (u along the midrib from the blade base, v across, in mm):
a lanceolate blade of exactly ``length_mm`` × ``width_mm`` (widest chord across the
midrib), a thin petiole behind the base, veins, and optional defects: brown spots,
yellowing, holes and tears (notches cut in from the margin). ``extra`` carries per-pixel
masks (leaf, spot, yellow, hole) for training the surface-defect model.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from models.render.common import (
    TABLES,
    RenderedPhoto,
    Table,
    composite,
    darken,
    draw_marker,
    finish,
    light_field,
    poly_alpha,
    rot,
    table_image,
)

_A, _B = 0.4, 1.1  # base and tip exponents of the blade profile
_S_MAX = _A / (_A + _B)
_NORM = _S_MAX**_A * (1 - _S_MAX) ** _B
DEFECTS = ("clean", "spot", "yellow", "hole", "tear")


@dataclass(frozen=True)
class LeafTruth:
    """Ground truth of one rendered leaf."""

    center_px: tuple[float, float]  # centroid of the blade
    length_mm: float  # blade, petiole excluded
    width_mm: float
    petiole_mm: float
    holes_mm2: tuple[float, ...]
    tears: int
    spot_pct: float  # of the blade's visible area
    yellow_pct: float
    touches_edge: bool
    angle_deg: float  # base → tip


def _profile(s: np.ndarray) -> np.ndarray:
    s = np.clip(s, 0.0, 1.0)
    return np.asarray(s**_A * (1 - s) ** _B / _NORM)


@dataclass(frozen=True)
class _Leaf:
    length_mm: float
    width_mm: float
    petiole_mm: float
    petiole_w_mm: float
    green_bgr: tuple[float, float, float]
    spots: tuple[tuple[float, float, float, float], ...]  # s, v-frac, rx mm, ry mm
    yellow: tuple[float, float, float] | None  # centre s, v-frac, radius mm (a blotch)
    yellow_tip: float  # share of the length from the tip that is yellowed (0 = none)
    holes: tuple[tuple[float, float, float, float], ...]  # s, v-frac, rx, ry mm
    tears: tuple[tuple[float, int, float, float], ...]  # s, side ±1, depth mm, opening mm


def random_leaf(rng: np.random.Generator, kind: str | None = None) -> _Leaf:
    """A leaf spec; ``kind`` one of :data:`DEFECTS` or ``None`` for a random mix."""
    k = kind if kind is not None else str(rng.choice(DEFECTS, p=[0.4, 0.15, 0.15, 0.15, 0.15]))
    good = rng.random() < 0.5
    length = float(rng.uniform(360, 460) if good else rng.uniform(200, 460))
    width = float(np.clip(length * rng.uniform(0.2, 0.26), 40, 108))
    green = (float(rng.uniform(25, 45)), float(rng.uniform(90, 125)), float(rng.uniform(30, 55)))
    spots: list[tuple[float, float, float, float]] = []
    holes: list[tuple[float, float, float, float]] = []
    tears: list[tuple[float, int, float, float]] = []
    yellow = None
    yellow_tip = 0.0
    if k == "spot":
        for _ in range(int(rng.integers(3, 25))):
            r = float(rng.uniform(1.0, 4.5))
            spots.append(
                (
                    float(rng.uniform(0.1, 0.9)),
                    float(rng.uniform(-0.7, 0.7)),
                    r,
                    r * float(rng.uniform(0.6, 1.0)),
                )
            )
    elif k == "yellow":
        if rng.random() < 0.5:
            yellow_tip = float(rng.uniform(0.03, 0.2))
        else:
            yellow = (
                float(rng.uniform(0.2, 0.8)),
                float(rng.uniform(-0.5, 0.5)),
                float(width * rng.uniform(0.1, 0.35)),
            )
    elif k == "hole":
        for _ in range(int(rng.choice([1, 1, 2, 3]))):
            r = float(np.sqrt(rng.uniform(4, 150) / np.pi))
            holes.append(
                (
                    float(rng.uniform(0.15, 0.85)),
                    float(rng.uniform(-0.5, 0.5)),
                    r,
                    r * float(rng.uniform(0.6, 1.0)),
                )
            )
    elif k == "tear":
        for _ in range(int(rng.choice([1, 1, 2]))):
            tears.append(
                (
                    float(rng.uniform(0.2, 0.85)),
                    int(rng.choice([-1, 1])),
                    float(width * rng.uniform(0.12, 0.35)),
                    float(rng.uniform(1.5, 4.0)),
                )
            )
    return _Leaf(
        length,
        width,
        float(rng.uniform(6, 20)),
        float(rng.uniform(2.5, 4.0)),
        green,
        tuple(spots),
        yellow,
        yellow_tip,
        tuple(holes),
        tuple(tears),
    )


def _outline_mm(f: _Leaf) -> np.ndarray:
    s = np.sort(np.append(np.linspace(0, 1, 600), _S_MAX))
    u = s * f.length_mm
    hw = _profile(s) * f.width_mm / 2
    return np.concatenate([np.stack([u, hw], 1), np.stack([u[::-1], -hw[::-1]], 1)])


def _ellipse_mm(cu: float, cv: float, rx: float, ry: float, ang: float = 0.0) -> np.ndarray:
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    p = np.stack([rx * np.cos(t), ry * np.sin(t)], 1) @ rot(ang).T
    return np.asarray(p + [cu, cv])


def _draw_leaf(
    img: np.ndarray,
    masks: dict[str, np.ndarray],
    f: _Leaf,
    center_px: tuple[float, float],
    angle: float,
    mpp: float,
    rng: np.random.Generator,
) -> LeafTruth:
    r = rot(angle)
    mid = np.array([f.length_mm / 2, 0.0])
    c = np.asarray(center_px, np.float64)

    def to_img(p: np.ndarray) -> np.ndarray:
        return np.asarray((p - mid) / mpp @ r.T + c)

    blade = to_img(_outline_mm(f))
    pw = f.petiole_w_mm / 2
    petiole = to_img(
        np.array([[1.0, -pw], [-f.petiole_mm, -pw * 0.8], [-f.petiole_mm, pw * 0.8], [1.0, pw]])
    )
    hole_polys = [
        to_img(
            _ellipse_mm(
                s * f.length_mm,
                float(vf * _profile(np.array(s)) * f.width_mm / 2),
                rx,
                ry,
                rng.uniform(0, np.pi),
            )
        )
        for s, vf, rx, ry in f.holes
    ]
    tear_polys = []
    for s, side, depth, opening in f.tears:
        u0 = s * f.length_mm
        edge = float(_profile(np.array(s)) * f.width_mm / 2) * side
        tip = [u0 + depth * 0.35, edge - side * depth]
        tear_polys.append(
            to_img(
                np.array(
                    [
                        [u0 - opening / 2, edge + side * 2.0],
                        [u0 + opening / 2, edge + side * 2.0],
                        tip,
                    ]
                )
            )
        )
    allpts = np.concatenate([blade, petiole])
    x0, y0 = np.floor(allpts.min(0)).astype(int) - 10
    x1, y1 = np.ceil(allpts.max(0)).astype(int) + 10
    h, w = int(y1 - y0), int(x1 - x0)
    blade_a = poly_alpha([blade], x0, y0, h, w)
    pet_a = poly_alpha([petiole], x0, y0, h, w)
    cut_a = (
        poly_alpha(hole_polys + tear_polys, x0, y0, h, w)
        if (hole_polys or tear_polys)
        else np.zeros((h, w), np.float32)
    )
    leaf_a = np.clip(np.maximum(blade_a, pet_a) - cut_a, 0, 1)
    sh = cv2.GaussianBlur(leaf_a, (0, 0), 3.0)
    sh = np.roll(sh, (2, 2), (0, 1))
    darken(img, x0, y0, 0.15 * sh * (1 - leaf_a))
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    rel = np.stack([xx - c[0], yy - c[1]], -1) @ r
    u = rel[..., 0] * mpp + f.length_mm / 2
    v = rel[..., 1] * mpp
    s = u / f.length_mm
    hw = np.maximum(_profile(s) * f.width_mm / 2, 1e-3)
    green = np.array(f.green_bgr)
    col = np.broadcast_to(green, (h, w, 3)).astype(np.float64).copy()
    # veins: the midrib and faint parallel veins
    col += (np.exp(-((v / 0.8) ** 2)) * 30.0)[..., None]
    col += (np.cos(v / hw * np.pi * 7) ** 16 * 8.0)[..., None]
    col *= (1.0 - 0.12 * np.clip(np.abs(v) / hw, 0, 1))[..., None]
    col[s < 0.002] = np.array([55.0, 140.0, 110.0])  # the petiole: paler, yellowish green
    yellow = np.zeros((h, w), bool)
    if f.yellow_tip > 0:
        yellow |= s > 1 - f.yellow_tip
    if f.yellow is not None:
        ys_, yv, yr = f.yellow
        dy = np.hypot(
            u - ys_ * f.length_mm, v - yv * float(_profile(np.array(ys_))) * f.width_mm / 2
        )
        wob = 1 + 0.25 * np.sin(np.arctan2(v, u - ys_ * f.length_mm) * 5)
        yellow |= dy < yr * wob
    col[yellow] = np.array([45.0, 185.0, 205.0])
    spot = np.zeros((h, w), bool)
    for ss, sv, rx, ry in f.spots:
        d = ((u - ss * f.length_mm) / rx) ** 2 + (
            (v - sv * float(_profile(np.array(ss))) * f.width_mm / 2) / ry
        ) ** 2
        spot |= d < 1
        col[d < 1] = np.array([28.0, 52.0, 88.0])
    composite(img, x0, y0, col.astype(np.float32), leaf_a)
    # truth over the blade (petiole excluded), pixel-exact for the masks
    vis = (blade_a > 0.5) & (cut_a < 0.5)
    H, W = img.shape[:2]
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)
    sl = (slice(ya - y0, yb - y0), slice(xa - x0, xb - x0))
    masks["leaf"][ya:yb, xa:xb] |= (leaf_a > 0.5)[sl]
    masks["spot"][ya:yb, xa:xb] |= (spot & vis)[sl]
    masks["yellow"][ya:yb, xa:xb] |= (yellow & ~spot & vis)[sl]
    masks["hole"][ya:yb, xa:xb] |= ((cut_a > 0.5) & (blade_a > 0.5))[sl]
    area = max(int(vis.sum()), 1)
    ys, xs = np.nonzero(blade_a > 0.5)
    holes_mm2 = []
    for hp in hole_polys:
        holes_mm2.append(float(cv2.contourArea(hp.astype(np.float32)) * mpp * mpp))
    touches = bool(allpts.min() < 1 or allpts[:, 0].max() > W - 2 or allpts[:, 1].max() > H - 2)
    return LeafTruth(
        center_px=(float(xs.mean() + x0), float(ys.mean() + y0)),
        length_mm=f.length_mm,
        width_mm=f.width_mm,
        petiole_mm=f.petiole_mm,
        holes_mm2=tuple(holes_mm2),
        tears=len(f.tears),
        spot_pct=100.0 * float((spot & vis).sum()) / area,
        yellow_pct=100.0 * float((yellow & ~spot & vis).sum()) / area,
        touches_edge=touches,
        angle_deg=float(np.rad2deg(angle)),
    )


def _footprint(
    f: _Leaf, center: np.ndarray, angle: float, mpp: float, margin_mm: float
) -> np.ndarray:
    r = rot(angle)
    box = np.array(
        [
            [-f.petiole_mm - margin_mm, -f.width_mm / 2 - margin_mm],
            [f.length_mm + margin_mm, -f.width_mm / 2 - margin_mm],
            [f.length_mm + margin_mm, f.width_mm / 2 + margin_mm],
            [-f.petiole_mm - margin_mm, f.width_mm / 2 + margin_mm],
        ]
    )
    return np.asarray((box - [f.length_mm / 2, 0]) / mpp @ r.T + center)


def render_leaf_photo(
    rng: np.random.Generator,
    *,
    n_leaves: int = 3,
    table: Table | str = "white",
    size: tuple[int, int] = (1600, 1200),
    mm_per_px: float | None = None,
    marker: bool = True,
    n_edge: int = 0,
    kinds: list[str] | None = None,
) -> RenderedPhoto:
    """A table photo of ``n_leaves`` whole leaves (+ ``n_edge`` cut by the frame edge)."""
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {TABLES}")
    w, h = size
    mpp = float(mm_per_px if mm_per_px is not None else rng.uniform(0.34, 0.42))
    img = table_image(rng, h, w, table)
    occ = np.zeros((h, w), np.uint8)
    masks = {k: np.zeros((h, w), bool) for k in ("leaf", "spot", "yellow", "hole")}
    corners = None
    if marker:
        for _ in range(200):
            mc = rng.uniform([60, 60], [w - 60, h - 60])
            half = 56 / 2 * 1.5 / mpp
            box = np.array([[-half, -half], [half, -half], [half, half], [-half, half]]) + mc
            if box.min() < 0 or box[:, 0].max() >= w or box[:, 1].max() >= h:
                continue
            corners = draw_marker(
                img, (float(mc[0]), float(mc[1])), float(rng.uniform(0, 2 * np.pi)), mpp
            )
            cv2.fillPoly(occ, [box.astype(np.int32)], 1)
            break
    items: list[LeafTruth] = []
    specs = [
        (random_leaf(rng, kinds[i % len(kinds)] if kinds else None), True) for i in range(n_leaves)
    ]
    specs += [(random_leaf(rng, None), False) for _ in range(n_edge)]
    for f, inside in specs:
        for _ in range(300):
            angle = float(rng.uniform(0, 2 * np.pi))
            centre = rng.uniform([0, 0], [w, h])
            fp = _footprint(f, centre, angle, mpp, 6.0)
            fits = fp.min() >= 2 and fp[:, 0].max() < w - 2 and fp[:, 1].max() < h - 2
            if fits != inside:
                continue
            probe = np.zeros_like(occ)
            cv2.fillPoly(probe, [np.round(fp).astype(np.int32)], 1)
            if (probe & occ).any():
                continue
            occ |= probe
            items.append(
                _draw_leaf(img, masks, f, (float(centre[0]), float(centre[1])), angle, mpp, rng)
            )
            break
    out = finish(img, light_field(rng, h, w), rng)
    return RenderedPhoto(out, mpp, list(items), str(table), corners, extra=masks)
