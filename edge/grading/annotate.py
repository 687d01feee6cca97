"""Draw grading results on a photo: outlines, sizes, grades, the marker."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from edge.grading.marker import Marker
from gongfang.wire import GRADE_ZH

GRADE_BGR = {
    "extra": (60, 180, 60),
    "class_i": (200, 160, 40),
    "class_ii": (0, 170, 255),
    "reject": (40, 40, 230),
}


# What the operator reads on the photo: Chinese first (the Hershey fonts of cv2.putText
# have no CJK glyphs, so text goes through PIL with the receipts' Noto Sans SC).
FRUIT_ZH = {"unripe": "未熟", "turning": "转色", "ripe": "成熟", "defect": "病残"}
_GRADE_ZH = {g.value: zh for g, zh in GRADE_ZH.items()}


@lru_cache(maxsize=16)
def _font(px: int) -> ImageFont.FreeTypeFont:
    from pylopdf_fonts_zh_cn import sans_path

    return ImageFont.truetype(str(sans_path()), px)


def grade_zh(grade: str) -> str:
    return _GRADE_ZH.get(grade, grade)


def _text(
    img: np.ndarray, text: str, org: tuple[int, int], colour: tuple[int, int, int], scale: float
) -> None:
    """``text`` with its baseline starting at ``org`` (as cv2.putText), in place, with a
    white halo so it reads on any background."""
    px = max(12, int(round(30 * scale)))
    font = _font(px)
    x0, y0, x1, y1 = font.getbbox(text, anchor="ls", stroke_width=2)
    h, w = img.shape[:2]
    left, top = max(0, org[0] + x0), max(0, org[1] + y0)
    right, bottom = min(w, org[0] + x1 + 1), min(h, org[1] + y1 + 1)
    if right <= left or bottom <= top:
        return
    patch = Image.fromarray(np.ascontiguousarray(img[top:bottom, left:right, ::-1]))
    ImageDraw.Draw(patch).text(
        (org[0] - left, org[1] - top),
        text,
        font=font,
        anchor="ls",
        fill=colour[::-1],
        stroke_width=2,
        stroke_fill=(255, 255, 255),
    )
    img[top:bottom, left:right] = np.asarray(patch)[:, :, ::-1]


def _header(img: np.ndarray, res: dict[str, Any], scale: float) -> None:
    lot = res.get("lot_grade") or "-"
    mm = res.get("mm_per_px")
    line = f"批次 {grade_zh(lot)} {lot} · {len(res.get('items', []))} 个 · " + (
        f"{mm:.4f} mm/px" if mm else "未见比例标记 no marker"
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
        label = FRUIT_ZH.get(item["label"], item["label"])
        _text(img, f"{grade_zh(item['grade'])} {label}", (x - 40, y - 8), col, 0.5 * s)
        _text(
            img,
            f"{size} 白{item['white_fraction'] * 100:.0f}% 病斑{item.get('lesion_pct', 0):.0f}%",
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
    label = FRUIT_ZH.get(item["label"], item["label"])
    _text(img, f"{grade_zh(item['grade'])} {label} ({item['label']})", (8, 24), col, 0.6)
    _text(img, f"白色 white {item['white_fraction'] * 100:.0f}%", (8, 48), col, 0.6)
    if "lesion_pct" in item:
        _text(img, f"病斑 lesion {item['lesion_pct']:.0f}%", (8, 72), col, 0.6)
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
        size = f"{ln:.0f}×{wd:.0f}mm" if ln is not None and wd is not None else "尺寸 ?"
        _text(img, f"{grade_zh(item['grade'])} {size}", (x - 60, y - 8), col, 0.55 * s)
        info = (
            f"孔 {len(item['holes'])} 裂 {item['tears']} "
            f"斑 {item['spot_pct']:.1f}% 黄 {item['yellow_pct']:.1f}%"
        )
        _text(img, info, (x - 60, y + int(18 * s)), col, 0.45 * s)
    _header(img, res, s)
    return img
