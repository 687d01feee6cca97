"""Strawberry photos with known geometry: fruit lying on a grading table, seen from above.

A fruit is drawn in its own frame (u along the long axis from the calyx end, v across it,
in mm): a heart-shaped body whose widest chord across the axis is exactly ``diameter_mm``,
a green calyx that may stick out wider than the body, seeds, shading, a ripeness colour
gradient (the calyx end whitens last) and, for defects, a rot patch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
    place,
    poly_alpha,
    rot,
    table_image,
)

Label = Literal["unripe", "turning", "ripe", "defect"]
LABELS: tuple[Label, ...] = ("unripe", "turning", "ripe", "defect")
_PROFILE_T = np.linspace(0.0, 1.0, 401)
_PROFILE_A, _PROFILE_B = 0.35, 0.9
_T_MAX = _PROFILE_A / (_PROFILE_A + _PROFILE_B)
_NORM = _T_MAX**_PROFILE_A * (1 - _T_MAX) ** _PROFILE_B


@dataclass(frozen=True)
class FruitTruth:
    """Ground truth of one rendered fruit."""

    center_px: tuple[float, float]  # centroid of the body
    diameter_mm: float  # widest chord of the body perpendicular to the long axis
    length_mm: float
    white_fraction: float  # uncoloured share of the visible body surface
    label: Label
    defect: bool
    touches_edge: bool
    angle_deg: float  # direction of the long axis, calyx → tip


def _profile(t: np.ndarray) -> np.ndarray:
    """Half-width of the body (fraction of its maximum) at axial position t in [0, 1]."""
    t = np.clip(t, 0.0, 1.0)
    return np.asarray(t**_PROFILE_A * (1 - t) ** _PROFILE_B / _NORM)


@dataclass(frozen=True)
class _Fruit:
    diameter_mm: float
    length_mm: float
    label: Label
    t_white: float  # body with t < t_white is uncoloured
    white_rgb: tuple[float, float, float]
    red_bgr: tuple[float, float, float]
    sepals: tuple[tuple[float, float, float], ...]  # (angle from backwards, length, width) mm
    stem_mm: float
    rot_patch: tuple[float, float, float] | None  # (t, v fraction, radius mm)


def _random_fruit(
    rng: np.random.Generator,
    label: Label | None,
    diameter_mm: tuple[float, float] = (16.0, 40.0),
) -> _Fruit:
    lab: Label = (
        label if label is not None else LABELS[int(rng.choice(4, p=[0.2, 0.25, 0.4, 0.15]))]
    )
    d = float(rng.uniform(*diameter_mm))
    length = d * float(rng.uniform(1.05, 1.45))
    if lab == "ripe":
        t_white = float(rng.choice([0.0, rng.uniform(0.0, 0.05)]))
    elif lab == "turning":
        t_white = float(rng.uniform(0.12, 0.45))
    elif lab == "unripe":
        t_white = float(rng.uniform(0.85, 1.01))
    else:
        t_white = float(rng.uniform(0.0, 0.06))
    white = (165.0, 214.0, 196.0) if lab == "unripe" else (186.0, 222.0, 232.0)
    red = (
        float(rng.uniform(28, 50)),
        float(rng.uniform(20, 40)),
        float(rng.uniform(165, 210)),
    )
    n_sep = int(rng.integers(5, 10))
    sepals = tuple(
        (
            float(np.deg2rad(rng.uniform(-100, 100))),
            float(d * rng.uniform(0.25, 0.6)),
            float(d * rng.uniform(0.08, 0.14)),
        )
        for _ in range(n_sep)
    )
    stem = float(rng.uniform(4, 14)) if rng.random() < 0.6 else 0.0
    patch = (
        (
            float(rng.uniform(0.3, 0.8)),
            float(rng.uniform(-0.5, 0.5)),
            float(d * rng.uniform(0.12, 0.25)),
        )
        if lab == "defect"
        else None
    )
    return _Fruit(d, length, lab, t_white, white, red, sepals, stem, patch)


def _body_outline_mm(f: _Fruit) -> np.ndarray:
    """Body outline in the fruit frame (u, v) mm."""
    t = _PROFILE_T
    t = np.sort(np.append(t, _T_MAX))
    u = t * f.length_mm
    hw = _profile(t) * f.diameter_mm / 2
    right = np.stack([u, hw], 1)
    left = np.stack([u[::-1], -hw[::-1]], 1)
    return np.concatenate([right, left])


def _calyx_polys_mm(f: _Fruit) -> list[np.ndarray]:
    polys = []
    s = np.linspace(0, 1, 24)
    for ang, length, width in f.sepals:
        d = np.array([-np.cos(ang), np.sin(ang)])  # 0 = pointing backwards (away from tip)
        n = np.array([-d[1], d[0]])
        half = width / 2 * np.sin(np.pi * s) ** 0.7
        base = np.array([0.4, 0.0])
        side_a = base + np.outer(s * length, d) + np.outer(half, n)
        side_b = base + np.outer(s[::-1] * length, d) - np.outer(half[::-1], n)
        polys.append(np.concatenate([side_a, side_b]))
    hub = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    r = f.diameter_mm * 0.11
    polys.append(np.stack([0.5 + r * np.cos(hub), r * np.sin(hub)], 1))
    if f.stem_mm > 0:
        polys.append(np.array([[0, -1.1], [-f.stem_mm, -0.9], [-f.stem_mm, 0.9], [0, 1.1]]))
    return polys


def _draw_fruit(
    img: np.ndarray,
    f: _Fruit,
    center_px: tuple[float, float],
    angle: float,
    mm_per_px: float,
    rng: np.random.Generator,
) -> tuple[tuple[float, float], float, bool]:
    """Draw one fruit whose body midpoint lies at ``center_px``; returns truth bits."""
    r = rot(angle)
    mid = np.array([f.length_mm / 2, 0.0])
    c = np.asarray(center_px, np.float64)

    def to_img(pts_mm: np.ndarray) -> np.ndarray:
        return np.asarray((pts_mm - mid) / mm_per_px @ r.T + c)

    body = to_img(_body_outline_mm(f))
    calyx = [to_img(p) for p in _calyx_polys_mm(f)]
    allpts = np.concatenate([body, *calyx])
    x0, y0 = np.floor(allpts.min(0)).astype(int) - 12
    x1, y1 = np.ceil(allpts.max(0)).astype(int) + 12
    h, w = int(y1 - y0), int(x1 - x0)
    # soft shadow first
    sh = poly_alpha([body + rng.uniform(1, 4, 2)], x0, y0, h, w, ss=1)
    sh = cv2.GaussianBlur(sh, (0, 0), max(1.0, 0.08 * f.diameter_mm / mm_per_px))
    darken(img, x0, y0, 0.22 * sh)
    body_a = poly_alpha([body], x0, y0, h, w)
    calyx_a = poly_alpha(calyx, x0, y0, h, w)
    # per-pixel fruit-frame coordinates
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float64)
    rel = np.stack([xx - c[0], yy - c[1]], -1) @ r  # inverse rotation
    u = rel[..., 0] * mm_per_px + f.length_mm / 2
    v = rel[..., 1] * mm_per_px
    t = u / f.length_mm
    hw = np.maximum(_profile(t) * f.diameter_mm / 2, 1e-3)
    red_w = np.clip((t - f.t_white) / 0.04 + 0.5, 0, 1)[..., None]
    red = np.array(f.red_bgr)
    pink = np.array([120.0, 120.0, 235.0])
    white = np.array(f.white_rgb)
    turn = np.clip((t - f.t_white) / 0.12, 0, 1)[..., None]  # pinkish just past the boundary
    coloured = red * turn + pink * (1 - turn)
    col = white * (1 - red_w) + coloured * red_w
    # seeds on a staggered grid
    pitch = 2.3
    row = np.floor(u / pitch)
    su = np.mod(u, pitch) - pitch / 2
    sv = np.mod(v + (row % 2) * pitch / 2, pitch) - pitch / 2
    seed = ((su**2 + sv**2) < 0.33**2)[..., None]
    seed_col = np.where(
        red_w > 0.5, np.array([50.0, 120.0, 190.0]), np.array([120.0, 190.0, 200.0])
    )
    col = np.where(seed, seed_col, col)
    if f.rot_patch is not None:
        pt, pv, pr = f.rot_patch
        d2 = (u - pt * f.length_mm) ** 2 + (v - pv * f.diameter_mm / 2) ** 2
        rw = np.clip(1.3 - np.sqrt(d2) / pr, 0, 1)[..., None]
        col = col * (1 - rw) + np.array([55.0, 70.0, 88.0]) * rw
    shade = 1.0 - 0.32 * np.clip(np.abs(v) / hw, 0, 1) ** 2
    hl = np.exp(-((u - 0.4 * f.length_mm) ** 2 + (v + 0.3 * hw) ** 2) / (0.07 * f.diameter_mm) ** 2)
    col = col * shade[..., None] + 30.0 * hl[..., None]
    composite(img, x0, y0, col.astype(np.float32), body_a)
    # calyx: deep green with darker veins
    green = np.array([38.0, 128.0, 62.0]) * (0.85 + 0.15 * np.sin(u * 3.0))[..., None]
    composite(img, x0, y0, green.astype(np.float32), calyx_a)
    # truth: the visible body (not under the calyx), its centroid and white share
    vis = (body_a > 0.5) & (calyx_a < 0.5)
    inside = vis & (t < f.t_white)
    ys, xs = np.nonzero(body_a > 0.5)
    cx, cy = float(xs.mean() + x0), float(ys.mean() + y0)
    white_fraction = float(inside.sum() / max(int(vis.sum()), 1))
    H, W = img.shape[:2]
    touches = bool(allpts.min() < 1 or allpts[:, 0].max() > W - 2 or allpts[:, 1].max() > H - 2)
    return (cx, cy), white_fraction, touches


def _fruit_radius_px(f: _Fruit, mm_per_px: float) -> float:
    reach = max(s[1] for s in f.sepals) + 1.0
    return float((0.5 * f.length_mm + max(reach, f.stem_mm) + 1) / mm_per_px)


def render_table_photo(
    rng: np.random.Generator,
    *,
    n_fruit: int = 6,
    table: Table | str = "white",
    size: tuple[int, int] = (1280, 960),
    mm_per_px: float | None = None,
    marker: bool = True,
    n_edge: int = 0,
    touching: bool = False,
    labels: list[Label] | None = None,
    diameter_mm: tuple[float, float] = (16.0, 40.0),
) -> RenderedPhoto:
    """A grading-table photo of ``n_fruit`` whole fruit (+ ``n_edge`` cut by the frame edge).

    ``labels`` (cycled) and ``diameter_mm`` (uniform range) shape the whole fruit, e.g. a good
    farmer's crate is ripe and large; the default is a mix made to exercise the grader.
    ``touching=True`` puts the second fruit body-to-body against the first one.
    ``items`` lists every drawn fruit; ``touches_edge`` marks the ones the grader must skip.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; expected one of {TABLES}")
    w, h = size
    mpp = float(mm_per_px if mm_per_px is not None else rng.uniform(0.22, 0.30))
    img = table_image(rng, h, w, table)
    taken: list[tuple[float, float, float]] = []
    corners = None
    if marker:
        half = 56.0 / 2 * np.sqrt(2) * 1.25 / mpp  # paper corners plus a clear margin
        mc = place(rng, half, taken, h, w, margin=4)
        if mc is not None:
            corners = draw_marker(img, mc, float(rng.uniform(0, 2 * np.pi)), mpp)
            taken.append((mc[0], mc[1], half))
    items: list[FruitTruth] = []
    specs: list[tuple[_Fruit, bool]] = []
    for i in range(n_fruit):
        lab = labels[i % len(labels)] if labels else None
        specs.append((_random_fruit(rng, lab, diameter_mm), True))
    specs += [(_random_fruit(rng, None), False) for _ in range(n_edge)]
    prev: tuple[_Fruit, tuple[float, float], float] | None = None
    for k, (f, inside) in enumerate(specs):
        angle = float(rng.uniform(0, 2 * np.pi))
        rad = _fruit_radius_px(f, mpp)
        pos: tuple[float, float] | None
        if touching and k == 1 and prev is not None:
            pf, pc, pa = prev
            angle = pa
            n = rot(pa) @ np.array([0.0, 1.0])
            # equators side by side, bodies just touching at their widest chords
            gap = (pf.diameter_mm + f.diameter_mm) / 2 / mpp
            shift = (
                rot(pa)
                @ np.array(
                    [
                        (_T_MAX * f.length_mm - f.length_mm / 2)
                        - (_T_MAX * pf.length_mm - pf.length_mm / 2),
                        0.0,
                    ]
                )
                / mpp
            )
            cand = np.asarray(pc) + n * gap - shift
            ok = (rad + 4 < cand[0] < w - rad - 4) and (rad + 4 < cand[1] < h - rad - 4)
            pos = (float(cand[0]), float(cand[1])) if ok else None
            if pos is not None:
                taken.append((pos[0], pos[1], rad * 0.2))
        else:
            pos = place(rng, rad, taken, h, w, margin=6, inside=inside)
            if pos is not None:
                taken.append((pos[0], pos[1], rad))
        if pos is None:
            continue
        centre, white, touches = _draw_fruit(img, f, pos, angle, mpp, rng)
        if k == 0:
            prev = (f, pos, angle)
        items.append(
            FruitTruth(
                center_px=centre,
                diameter_mm=f.diameter_mm,
                length_mm=f.length_mm,
                white_fraction=white,
                label=f.label,
                defect=f.label == "defect",
                touches_edge=touches,
                angle_deg=float(np.rad2deg(angle)),
            )
        )
    out = finish(img, light_field(rng, h, w), rng)
    return RenderedPhoto(out, mpp, list(items), str(table), corners)


def render_single_fruit(
    rng: np.random.Generator,
    *,
    label: Label | None = None,
    size_px: int = 96,
    table: Table | str = "white",
) -> RenderedPhoto:
    """A crop of one fruit filling most of the frame, as a singulating lane camera sees it."""
    f = _random_fruit(rng, label)
    span = max(f.length_mm + max(s[1] for s in f.sepals) * 0.6, f.diameter_mm * 1.3)
    mpp = span / (size_px * rng.uniform(0.75, 0.9))
    img = table_image(rng, size_px, size_px, table)  # type: ignore[arg-type]
    angle = float(rng.uniform(0, 2 * np.pi))
    jitter = rng.uniform(-0.04, 0.04, 2) * size_px
    centre, white, _ = _draw_fruit(
        img, f, (size_px / 2 + jitter[0], size_px / 2 + jitter[1]), angle, mpp, rng
    )
    out = finish(img, light_field(rng, size_px, size_px), rng)
    truth = FruitTruth(
        centre,
        f.diameter_mm,
        f.length_mm,
        white,
        f.label,
        f.label == "defect",
        False,
        float(np.rad2deg(angle)),
    )
    return RenderedPhoto(out, float(mpp), [truth], str(table), None)
