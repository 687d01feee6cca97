"""The one door from the lot workflow to the grader: "grade this lane's latest frame".

Graders load ONNX models, so each product's grader is loaded lazily and once. Grading runs
on its own thread (never on the MQTT thread): every incoming frame is graded as it
arrives, only the newest frame per lane waiting, so the result is usually ready when the
crate settles. If ``edge.grading.api`` cannot be imported, a CLEARLY MARKED placeholder
answers instead (model name ``placeholder``) so the workflow still runs.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from gongfang import wire

log = logging.getLogger(__name__)

PLACEHOLDER_MODEL = "placeholder"


class _Grader(Protocol):
    def grade_jpeg(self, data: bytes, *, single: bool = False) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Grading:
    """A frame's grading: either a lot grade with its model, or an error message."""

    frame_sha256: str
    received_ms: int
    grade: wire.Grade | None
    model_name: str
    model_version: str
    items: list[dict[str, Any]] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    error: str | None = None


class _PlaceholderGrader:
    """Stands in until edge.grading and its models land: every decodable frame is class_i,
    model name ``placeholder``, flagged — never mistaken for a real grade."""

    def grade_jpeg(self, data: bytes, *, single: bool = False) -> dict[str, Any]:
        import cv2
        import numpy as np

        buf = np.frombuffer(data, dtype=np.uint8)
        if not buf.size or cv2.imdecode(buf, cv2.IMREAD_REDUCED_GRAYSCALE_8) is None:
            return {
                "error": {"code": "undecodable", "message": "图像无法解码 image cannot be decoded"}
            }
        return {
            "marker": False,
            "mm_per_px": None,
            "lot_grade": wire.Grade.CLASS_I.value,
            "model": {"name": PLACEHOLDER_MODEL, "version": "0"},
            "items": [],
            "flags": ["placeholder_grader"],
        }


def _load_grader(product: wire.Product) -> _Grader:
    """The product's grader; while the grading module or its model is not there yet (the
    models issue ships them), the clearly marked placeholder, with a loud warning."""
    try:
        from edge.grading.api import load_grader

        grader: _Grader = load_grader(product)
    except Exception as exc:  # ImportError, a missing/broken model file…
        log.warning(
            "分级模型不可用，使用占位分级器（等级仅供参考，请人工确认）/ grader for %s unavailable"
            " (%s): using the PLACEHOLDER grader, model name 'placeholder'",
            product.value,
            exc,
        )
        return _PlaceholderGrader()
    return grader


def to_grading(frame: bytes, received_ms: int, result: dict[str, Any]) -> Grading:
    """Turn a grader's JSON answer into a :class:`Grading` (errors kept, never raised)."""
    sha = hashlib.sha256(frame).hexdigest()
    model = result.get("model") or {}
    name = str(model.get("name") or "unknown")[:100]
    version = str(model.get("version") or "unknown")[:50]
    if "error" in result:
        err = result["error"]
        msg = err.get("message") if isinstance(err, dict) else str(err)
        return Grading(sha, received_ms, None, name, version, error=str(msg)[:300])
    try:
        grade = wire.Grade(str(result.get("lot_grade")))
    except ValueError:
        return Grading(sha, received_ms, None, name, version, error="grader gave no lot grade")
    items = [i for i in result.get("items") or [] if isinstance(i, dict)][:500]
    flags = [str(f) for f in result.get("flags") or []]
    if result.get("marker") is False:
        flags.append("no_marker")
    return Grading(sha, received_ms, grade, name, version, items, flags)


class GradingPort:
    """Grades lane frames on a worker thread; ``on_graded(lane, grading)`` gets results."""

    def __init__(
        self,
        *,
        products: dict[str, wire.Product],
        on_graded: Callable[[str, Grading], None],
        loader: Callable[[wire.Product], _Grader] = _load_grader,
    ) -> None:
        self._products = products
        self._on_graded = on_graded
        self._loader = loader
        self._graders: dict[wire.Product, _Grader] = {}
        self._waiting: dict[str, tuple[bytes, int]] = {}  # lane -> newest frame not graded
        self._cv = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.graded = 0
        self.errors = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="edge-grading", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cv:
            self._stop = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None

    def preload(self) -> dict[str, str]:
        """Load every lane's grader now instead of at the first frame.

        Returns product → ``"model"`` (the real grader), ``"placeholder"`` (grading module
        or model not there yet) or the error of a loader that raised.
        """
        out: dict[str, str] = {}
        for product in sorted(set(self._products.values())):
            try:
                grader = self._grader(product)
            except Exception as exc:
                log.error("分级模型无法加载 / grader for %s not loaded: %s", product.value, exc)
                out[product.value] = f"error: {exc}"[:300]
                continue
            out[product.value] = (
                PLACEHOLDER_MODEL if isinstance(grader, _PlaceholderGrader) else "model"
            )
        return out

    def submit(self, lane: str, frame: bytes, received_ms: int) -> None:
        """Queue a lane's newest frame; an older frame still waiting is dropped."""
        with self._cv:
            self._waiting[lane] = (frame, received_ms)
            self._cv.notify()

    def grade_now(self, lane: str, frame: bytes, received_ms: int) -> Grading:
        """Grade synchronously (tests, benchmarks, the CLI)."""
        return self._grade(lane, frame, received_ms)

    def _grader(self, product: wire.Product) -> _Grader:
        grader = self._graders.get(product)
        if grader is None:
            grader = self._graders[product] = self._loader(product)
        return grader

    def _grade(self, lane: str, frame: bytes, received_ms: int) -> Grading:
        product = self._products[lane]
        try:
            grader = self._grader(product)
        except Exception as exc:  # model missing or broken: the operator grades by hand
            log.error("分级模型不可用 / grader for %s unavailable: %s", product.value, exc)
            self.errors += 1
            sha = hashlib.sha256(frame).hexdigest()
            return Grading(sha, received_ms, None, "unavailable", "-", error=str(exc)[:300])
        try:
            result = grader.grade_jpeg(frame)
        except Exception as exc:  # a broken frame or model must not stop the station
            log.exception("grading failed on lane %s", lane)
            self.errors += 1
            sha = hashlib.sha256(frame).hexdigest()
            return Grading(sha, received_ms, None, "unknown", "unknown", error=repr(exc)[:300])
        grading = to_grading(frame, received_ms, result)
        if grading.error:
            self.errors += 1
        else:
            self.graded += 1
        return grading

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._waiting and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                lane, (frame, received_ms) = self._waiting.popitem()
            grading = self._grade(lane, frame, received_ms)
            try:
                self._on_graded(lane, grading)
            except Exception:
                log.exception("on_graded failed for lane %s", lane)
