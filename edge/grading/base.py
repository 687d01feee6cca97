"""What every grader shares: reading a photo safely, the result envelope, and the
:class:`Grader` base the strawberry and leaf graders build on (``edge.grading.api`` picks one).

Every result follows issue 5's JSON shape::

    {"path"?, "marker", "mm_per_px", "lot_grade", "model": {"name", "version"},
     "items": [{"label", "probs", "grade", "center_px", "diameter_mm", "white_fraction",
                ...strawberries: "lesion_pct" (rot or mould, % of the fruit; above the
                rules' threshold ``label`` is "defect" while ``probs`` stay the model's),
                ...leaves: "length_mm", "width_mm", "holes", "spot_pct", "yellow_pct"}],
     "flags": [...]}

and a photo that cannot be read gives ``{"path"?, "error": {"code", "message"}}`` instead of
raising. ``lot_grade`` is ``null`` when no item was found (flag ``no_items``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from edge.grading import rules
from edge.grading.errors import GradingError, ImageUnreadable
from edge.grading.marker import Marker
from edge.grading.onnx_model import OnnxClassifier
from gongfang import wire

log = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 64 * 1024 * 1024
MIN_SIDE_PX = 16


def error_result(code: str, message: str) -> dict[str, Any]:
    """The ``error`` object of an image that could not be graded."""
    return {"error": {"code": code, "message": message}}


def decode(data: bytes) -> np.ndarray:
    """JPEG/PNG/… bytes to a BGR image; raises :class:`ImageUnreadable`."""
    if not data:
        raise ImageUnreadable("空文件 empty file")
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageUnreadable(f"文件过大 file too large ({len(data)} bytes)")
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    except cv2.error as exc:
        raise ImageUnreadable(f"图像无法解码 image cannot be decoded: {exc}") from exc
    if img is None:
        raise ImageUnreadable("图像无法解码 not a readable image")
    if min(img.shape[:2]) < MIN_SIDE_PX:
        raise ImageUnreadable(f"图像太小 image too small: {img.shape[1]}×{img.shape[0]} px")
    return img


def as_bgr(image: np.ndarray) -> np.ndarray:
    """A frame as 3-channel uint8 BGR (grey and BGRA frames are converted)."""
    img = np.asarray(image)
    if img.dtype != np.uint8:
        raise ImageUnreadable(f"图像须为 uint8 image must be uint8, got {img.dtype}")
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(img, cv2.COLOR_BGRA2BGR)
    elif img.ndim == 3 and img.shape[2] == 1:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ImageUnreadable(f"图像形状不对 unexpected image shape {img.shape}")
    if min(img.shape[:2]) < MIN_SIDE_PX:
        raise ImageUnreadable(f"图像太小 image too small: {img.shape[1]}×{img.shape[0]} px")
    return img


def _failed(exc: Exception) -> dict[str, Any]:
    """A grading bug must not stop the station: log it, answer with an error object."""
    log.exception("grading failed")
    return error_result("grading_failed", f"分级失败 grading failed: {type(exc).__name__}: {exc}")


def crop_square(
    image_bgr: np.ndarray, bbox: tuple[int, int, int, int], margin: float
) -> np.ndarray:
    """A square RGB crop around ``bbox`` with ``margin`` (share of its side) on every side."""
    x, y, w, h = bbox
    side = int(round(max(w, h) * (1 + 2 * margin)))
    cx, cy = x + w / 2, y + h / 2
    x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
    H, W = image_bgr.shape[:2]
    pad = max(0, -x0, -y0, x0 + side - W, y0 + side - H)
    src = image_bgr
    if pad:
        src = cv2.copyMakeBorder(image_bgr, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    crop = src[y0 + pad : y0 + pad + side, x0 + pad : x0 + pad + side]
    return cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)


class Grader:
    """Grades photos of one product; see the module doc for the result shape."""

    product: wire.Product
    model_name: str
    model_version: str

    def __init__(self, classifier: OnnxClassifier) -> None:
        self.classifier = classifier
        self.labels = classifier.info.labels
        self.model_name = classifier.info.name
        self.model_version = classifier.info.version

    # -- the public surface -------------------------------------------------------------
    def grade_image(self, image_bgr: np.ndarray, *, single: bool = False) -> dict[str, Any]:
        """Grade one decoded BGR frame."""
        return self.grade_images([image_bgr], single=single)[0]

    def grade_images(
        self, images_bgr: Sequence[np.ndarray], *, single: bool = False
    ) -> list[dict[str, Any]]:
        """Grade several frames; single-fruit crops that arrive together share one ONNX run.
        A frame that cannot be graded gets an ``error`` object; nothing raises."""
        out: list[dict[str, Any]] = [{} for _ in images_bgr]
        good: list[int] = []
        imgs: list[np.ndarray] = []
        for i, img in enumerate(images_bgr):
            try:
                imgs.append(as_bgr(img))
                good.append(i)
            except GradingError as exc:
                out[i] = error_result(exc.code, str(exc))
        batch: list[dict[str, Any]] | None = None
        if single and imgs:
            try:
                batch = self._grade_singles(imgs)
            except Exception:  # fall back to one by one, which isolates the bad one
                batch = None
        for k, (i, img) in enumerate(zip(good, imgs, strict=True)):
            if batch is not None:
                out[i] = batch[k]
                continue
            try:
                out[i] = self._annotated(img, single=single)[0]
            except Exception as exc:  # see _failed
                out[i] = _failed(exc)
        return out

    def _grade_singles(self, images_bgr: list[np.ndarray]) -> list[dict[str, Any]] | None:
        """Batched single-item grading, where the product has one (else ``None``)."""
        return None

    def grade_jpeg(self, data: bytes, *, single: bool = False) -> dict[str, Any]:
        """Decode JPEG (or PNG…) bytes and grade; undecodable bytes give an ``error`` object."""
        return self.grade_jpegs([data], single=single)[0]

    def grade_jpegs(self, datas: Sequence[bytes], *, single: bool = False) -> list[dict[str, Any]]:
        """Decode and grade several frames at once (see :meth:`grade_images`)."""
        out: list[dict[str, Any] | None] = [None] * len(datas)
        good: list[int] = []
        imgs: list[np.ndarray] = []
        for i, data in enumerate(datas):
            try:
                imgs.append(decode(data))
                good.append(i)
            except GradingError as exc:
                out[i] = error_result(exc.code, str(exc))
        for i, res in zip(good, self.grade_images(imgs, single=single), strict=True):
            out[i] = res
        return [r if r is not None else error_result("internal", "") for r in out]

    def grade_path(self, path: Path, *, single: bool = False) -> dict[str, Any]:
        """Read and grade one file; an unreadable file gives an ``error`` object."""
        res, _ = self.grade_path_annotated(path, single=single, annotate=False)
        return res

    def grade_path_annotated(
        self, path: Path, *, single: bool = False, annotate: bool = True
    ) -> tuple[dict[str, Any], np.ndarray | None]:
        """Grade one file and, with ``annotate``, draw the result on the photo."""
        p = Path(path)
        try:
            img = decode(p.read_bytes())
        except OSError as exc:
            return {"path": str(p), **error_result("unreadable_file", f"文件无法读取 {exc}")}, None
        except GradingError as exc:
            return {"path": str(p), **error_result(exc.code, str(exc))}, None
        try:
            res, drawn = self._annotated(as_bgr(img), single=single, draw=annotate)
        except Exception as exc:  # see _failed
            return {"path": str(p), **_failed(exc)}, None
        return {"path": str(p), **res}, drawn

    def grade_image_annotated(
        self, image_bgr: np.ndarray, *, single: bool = False
    ) -> tuple[dict[str, Any], np.ndarray]:
        """Grade a frame and return it with outlines, sizes and grades drawn."""
        try:
            res, drawn = self._annotated(as_bgr(image_bgr), single=single, draw=True)
        except Exception as exc:  # see _failed
            return _failed(exc), np.asarray(image_bgr)
        return res, drawn if drawn is not None else np.asarray(image_bgr)

    # -- product specifics ----------------------------------------------------------------
    def _annotated(
        self, image_bgr: np.ndarray, *, single: bool, draw: bool = False
    ) -> tuple[dict[str, Any], np.ndarray | None]:
        raise NotImplementedError

    def _envelope(
        self,
        marker: Marker | None,
        items: list[dict[str, Any]],
        lot: rules.Grade | None,
        flags: list[str],
    ) -> dict[str, Any]:
        if not items:
            flags.append("no_items")
        return {
            "marker": marker is not None,
            "mm_per_px": None if marker is None else round(marker.mm_per_px, 5),
            "lot_grade": None if lot is None else lot.value,
            "model": {"name": self.model_name, "version": self.model_version},
            "items": items,
            "flags": flags,
        }

    def _probs(self, row: np.ndarray) -> tuple[str, dict[str, float]]:
        probs = {lab: round(float(p), 4) for lab, p in zip(self.labels, row, strict=True)}
        return self.labels[int(np.argmax(row))], probs
