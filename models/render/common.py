"""Shared pieces of the renderers: tables, uneven light, the ArUco marker, anti-aliased shapes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import cv2
import numpy as np

Table = Literal["white", "wood", "steel"]
TABLES: tuple[Table, ...] = ("white", "wood", "steel")
MARKER_SIDE_MM = 40.0  # the black square of ArUco DICT_4X4_50 id 0 (DESIGN.md)
MARKER_PAPER_MM = 56.0  # the white paper it is printed on (8 mm quiet zone each side)
SUPERSAMPLE = 4


@dataclass(frozen=True)
class RenderedPhoto:
    """A rendered photo and its ground truth (``items`` hold per-object truth records)."""

    image_bgr: np.ndarray
    mm_per_px: float
    items: list[Any]
    table: str
    marker_corners_px: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def jpeg(self, quality: int = 90) -> bytes:
        """The photo as JPEG bytes, as a station camera would send it."""
        ok, buf = cv2.imencode(".jpg", self.image_bgr, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
        if not ok:  # pragma: no cover - OpenCV encodes any uint8 BGR image
            raise RuntimeError("JPEG encoding failed")
        return buf.tobytes()


def table_image(rng: np.random.Generator, h: int, w: int, table: Table) -> np.ndarray:
    """A plain table surface as float32 BGR in 0..255 (before lighting)."""
    img = np.empty((h, w, 3), np.float32)
    if table == "white":
        base = np.array([236, 238, 240], np.float32) + rng.uniform(-6, 6, 3)
        img[:] = base
        img += rng.normal(0, 1.5, (h, w, 1)).astype(np.float32)
    elif table == "wood":
        base = np.array([125, 172, 208], np.float32) + rng.uniform(-8, 8, 3)
        img[:] = base
        # grain: streaks along a random direction, a few octaves of smooth noise
        ang = rng.uniform(0, np.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        across = -np.sin(ang) * xx + np.cos(ang) * yy
        along = np.cos(ang) * xx + np.sin(ang) * yy
        grain = np.zeros((h, w), np.float32)
        for period, amp in ((37.0, 6.0), (11.0, 3.0), (5.0, 1.5)):
            phase = rng.uniform(0, 2 * np.pi)
            wobble = 4.0 * np.sin(along / rng.uniform(150, 400) + rng.uniform(0, 6))
            grain += amp * np.sin((across + wobble) * 2 * np.pi / period + phase)
        img += (grain[..., None] * np.array([0.8, 1.0, 0.9], np.float32)).astype(np.float32)
        img += rng.normal(0, 2.0, (h, w, 1)).astype(np.float32)
    else:  # brushed stainless steel: grey with fine streaks and a broad sheen
        base = np.array([176, 178, 180], np.float32) + rng.uniform(-8, 8, 3)
        img[:] = base
        streak = rng.normal(0, 5.0, (1, w)).astype(np.float32)
        streak = np.asarray(cv2.GaussianBlur(streak, (0, 0), 1.2), np.float32)
        img += np.repeat(streak, h, axis=0)[..., None]
        img += rng.normal(0, 2.0, (h, w, 1)).astype(np.float32)
        cy, cx = rng.uniform(0, h), rng.uniform(0, w)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / (0.35 * max(h, w)) ** 2
        img += (22.0 * np.exp(-r2))[..., None]
    return img


def light_field(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Uneven light: a linear ramp plus vignetting, multiplicative, about 0.55..1.05."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    ang = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(ang) * (xx / w - 0.5) + np.sin(ang) * (yy / h - 0.5)) * 2  # -1..1
    strength = rng.uniform(0.05, 0.22)
    r2 = ((xx / w - 0.5) ** 2 + (yy / h - 0.5) ** 2) / 0.5
    vignette = rng.uniform(0.0, 0.18)
    field_ = (1.0 + strength * ramp) * (1.0 - vignette * r2)
    return np.asarray(field_ * rng.uniform(0.88, 1.0), np.float32)


def poly_alpha(
    polys: list[np.ndarray], x0: int, y0: int, h: int, w: int, ss: int = SUPERSAMPLE
) -> np.ndarray:
    """Anti-aliased coverage (0..1 float32) of ``polys`` (image px, float) in an ROI."""
    canvas = np.zeros((h * ss, w * ss), np.uint8)
    pts = [
        np.round((np.asarray(p, np.float64) - [x0 - 0.5, y0 - 0.5]) * ss - 0.5).astype(np.int32)
        for p in polys
    ]
    cv2.fillPoly(canvas, pts, 255)
    return cv2.resize(canvas, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0


def composite(img: np.ndarray, x0: int, y0: int, colour: np.ndarray, alpha: np.ndarray) -> None:
    """Blend ``colour`` (h, w, 3) over ``img`` at (x0, y0) with ``alpha`` (h, w), clipped."""
    h, w = alpha.shape
    H, W = img.shape[:2]
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
    if xa >= xb or ya >= yb:
        return
    a = alpha[ya - y0 : yb - y0, xa - x0 : xb - x0, None]
    c = colour[ya - y0 : yb - y0, xa - x0 : xb - x0]
    roi = img[ya:yb, xa:xb]
    roi *= 1.0 - a
    roi += a * c


def darken(img: np.ndarray, x0: int, y0: int, amount: np.ndarray) -> None:
    """Multiply ``img`` by (1 - amount) in an ROI (soft shadows)."""
    h, w = amount.shape
    H, W = img.shape[:2]
    xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
    if xa >= xb or ya >= yb:
        return
    img[ya:yb, xa:xb] *= 1.0 - amount[ya - y0 : yb - y0, xa - x0 : xb - x0, None]


def rot(theta: float) -> np.ndarray:
    """2×2 rotation matrix."""
    c, s = np.cos(theta), np.sin(theta)
    return np.array([[c, -s], [s, c]])


def draw_marker(
    img: np.ndarray, center: tuple[float, float], angle: float, mm_per_px: float
) -> np.ndarray:
    """Draw ArUco DICT_4X4_50 id 0 on white paper; returns its 4 outer corners (px)."""
    bits = cv2.aruco.generateImageMarker(
        cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50), 0, 6
    )
    cell_px = MARKER_SIDE_MM / 6 / mm_per_px
    r = rot(angle)
    c = np.asarray(center, np.float64)

    def to_img(pts_cells: np.ndarray) -> np.ndarray:
        return np.asarray((pts_cells - 3.0) * cell_px @ r.T + c)

    half_paper = MARKER_PAPER_MM / 2 / mm_per_px
    paper = np.array([[-1, -1], [1, -1], [1, 1], [-1, 1]], np.float64) * half_paper @ r.T + c
    x0, y0 = np.floor(paper.min(0)).astype(int) - 2
    x1, y1 = np.ceil(paper.max(0)).astype(int) + 2
    h, w = y1 - y0, x1 - x0
    paper_a = poly_alpha([paper], x0, y0, h, w)
    composite(img, x0, y0, np.full((h, w, 3), 246.0, np.float32), paper_a)
    cells = []
    for i in range(6):
        for j in range(6):
            if bits[i, j] == 0:
                sq = np.array([[j, i], [j + 1, i], [j + 1, i + 1], [j, i + 1]], np.float64)
                cells.append(to_img(sq))
    black_a = poly_alpha(cells, x0, y0, h, w)
    composite(img, x0, y0, np.full((h, w, 3), 22.0, np.float32), black_a)
    return to_img(np.array([[0, 0], [6, 0], [6, 6], [0, 6]], np.float64)).astype(np.float32)


def finish(img: np.ndarray, light: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Apply the light, a little optical blur and sensor noise; return uint8 BGR."""
    out = img * light[..., None]
    out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 0.9))
    out += rng.normal(0, 1.6, out.shape).astype(np.float32)
    return np.asarray(np.clip(out, 0, 255), np.uint8)


def place(
    rng: np.random.Generator,
    radius_px: float,
    taken: list[tuple[float, float, float]],
    h: int,
    w: int,
    *,
    margin: float,
    inside: bool = True,
    tries: int = 400,
) -> tuple[float, float] | None:
    """A centre for a disc of ``radius_px`` clear of ``taken`` discs (x, y, r) by ``margin``.

    ``inside=False`` asks for a disc that crosses the frame edge instead.
    """
    for _ in range(tries):
        if inside:
            x = rng.uniform(radius_px + 12, w - radius_px - 12)  # clear of blur and shadow
            y = rng.uniform(radius_px + 12, h - radius_px - 12)
        else:
            side = rng.integers(4)
            t = rng.uniform(0.1, 0.9)
            off = rng.uniform(-0.1, 0.4) * radius_px  # the body surely crosses the edge
            x, y = [(off, t * h), (w - off, t * h), (t * w, off), (t * w, h - off)][side]
        if all((x - a) ** 2 + (y - b) ** 2 > (radius_px + r + margin) ** 2 for a, b, r in taken):
            return float(x), float(y)
    return None
