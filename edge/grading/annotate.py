"""Draw grading results on a photo: outlines, sizes, grades, the marker."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from edge.grading.marker import Marker

GRADE_BGR = {
    "extra": (60, 180, 60),
    "class_i": (200, 160, 40),
    "class_ii": (0, 170, 255),
    "reject": (40, 40, 230),
}


def _text(
    img: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int], scale: float
) -> None:
    thick = max(1, int(round(scale * 2)))
    cv2.putText(
        img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick + 2, cv2.LINE_AA
    )
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, colour, thick, cv2.LINE_AA)


def _header(img: np.ndarray, res: dict[str, Any], scale: float) -> None:
    lot = res.get("lot_grade") or "-"
    mm = res.get("mm_per_px")
    line = f"lot: {lot}  n={len(res.get('items', []))}  " + (
        f"{mm:.4f} mm/px" if mm else "no marker"
    )
    _text(img, line, (8, int(30 * scale) + 4), GRADE_BGR.get(lot, (0, 0, 0)), scale)


def _scale(img: np.ndarray) -> float:
    return max(0.4, float(max(img.shape[:2])) / 1600)


def draw_marker(img: np.ndarray, marker: Marker | None) -> None:
    """Outline the scale marker."""
    if marker is not None:
        cv2.polylines(img, [np.round(marker.corners).astype(np.int32)], True, (255, 0, 255), 2)


LESION_BGR = (255, 0, 255)  # rot and mould, outlined or tinted in magenta


def _tint(img: np.ndarray, mask: np.ndarray) -> None:
    """Blend the lesion colour over ``mask`` (bool, image size), in place."""
    if mask.any():
        img[mask] = (0.45 * img[mask] + 0.55 * np.array(LESION_BGR)).astype(np.uint8)


def _unpad(square_mask: np.ndarray, h: int, w: int) -> np.ndarray:
    """A mask on the classifier's padded square of an h×w crop, back on the crop."""
    side = max(h, w)
    big = cv2.resize(square_mask.astype(np.uint8), (side, side), interpolation=cv2.INTER_NEAREST)
    a = abs(h - w) // 2  # pad_to_square centres the crop
    return big[a : a + h, :w] > 0 if h < w else big[:h, a : a + w] > 0


def draw_fruit(
    image_bgr: np.ndarray,
    res: dict[str, Any],
    contours: list[np.ndarray],
    marker: Marker | None,
    lesions: list[tuple[np.ndarray, ...]] | None = None,
) -> np.ndarray:
    """Fruit outlines coloured by grade, lesion areas outlined in magenta, with diameter,
    white and lesion shares and label."""
    img = image_bgr.copy()
    s = _scale(img)
    draw_marker(img, marker)
    for k, (item, cnt) in enumerate(zip(res["items"], contours, strict=True)):
        col = GRADE_BGR[item["grade"]]
        if lesions is not None and lesions[k]:
            cv2.drawContours(img, list(lesions[k]), -1, LESION_BGR, 1, cv2.LINE_AA)
        cv2.drawContours(img, [cnt], -1, col, 2, cv2.LINE_AA)
        x, y = (int(v) for v in item["center_px"])
        d = item["diameter_mm"]
        size = f"{d:.1f}mm" if d is not None else "?mm"
        _text(img, f"{item['grade']} {item['label']}", (x - 40, y - 8), col, 0.5 * s)
        _text(
            img,
            f"{size} w{item['white_fraction'] * 100:.0f}% les{item.get('lesion_pct', 0):.0f}%",
            (x - 40, y + int(16 * s)),
            col,
            0.5 * s,
        )
    _header(img, res, s)
    return img


def draw_single(
    image_bgr: np.ndarray, res: dict[str, Any], lesion: np.ndarray | None = None
) -> np.ndarray:
    """A single-fruit crop, enlarged so the text fits, with its grade and label; the
    lesion area (a mask on the classifier's padded square of the crop) tinted."""
    img = image_bgr
    if lesion is not None:
        img = img.copy()
        _tint(img, _unpad(lesion, *img.shape[:2]))
    if max(img.shape[:2]) < 320:
        k = 320 / max(img.shape[:2])
        img = cv2.resize(img, None, fx=k, fy=k, interpolation=cv2.INTER_NEAREST)
    img = img.copy()
    item = res["items"][0]
    col = GRADE_BGR[item["grade"]]
    cv2.rectangle(img, (1, 1), (img.shape[1] - 2, img.shape[0] - 2), col, 3)
    _text(img, f"{item['grade']} {item['label']}", (8, 24), col, 0.6)
    _text(img, f"white {item['white_fraction'] * 100:.0f}%", (8, 48), col, 0.6)
    if "lesion_pct" in item:
        _text(img, f"lesion {item['lesion_pct']:.0f}%", (8, 72), col, 0.6)
    return img


def draw_leaves(
    image_bgr: np.ndarray,
    res: dict[str, Any],
    contours: list[np.ndarray],
    axes: list[tuple[tuple[float, float], tuple[float, float]]],
    marker: Marker | None,
) -> np.ndarray:
    """Leaf outlines by grade, the measured blade axis, length × width, defects."""
    img = image_bgr.copy()
    s = _scale(img)
    draw_marker(img, marker)
    for item, cnt, (a, b) in zip(res["items"], contours, axes, strict=True):
        col = GRADE_BGR[item["grade"]]
        cv2.drawContours(img, [cnt], -1, col, 2, cv2.LINE_AA)
        cv2.line(img, (int(a[0]), int(a[1])), (int(b[0]), int(b[1])), (255, 0, 255), 1, cv2.LINE_AA)
        x, y = (int(v) for v in item["center_px"])
        ln, wd = item.get("length_mm"), item.get("width_mm")
        size = f"{ln:.0f}x{wd:.0f}mm" if ln is not None and wd is not None else "size ?"
        _text(img, f"{item['grade']} {size}", (x - 60, y - 8), col, 0.55 * s)
        info = (
            f"holes {len(item['holes'])} tears {item['tears']} "
            f"spot {item['spot_pct']:.1f}% yel {item['yellow_pct']:.1f}%"
        )
        _text(img, info, (x - 60, y + int(18 * s)), col, 0.45 * s)
    _header(img, res, s)
    return img
