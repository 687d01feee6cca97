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

from edge.logonce import OnceLog
from edge.station.photos import PhotoStore
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
    scale = result.get("mm_per_px")
    if isinstance(scale, int | float) and not isinstance(scale, bool) and scale > 0:
        # kept per item so a lot's photo can be outlined later (the server's passbook)
        items = [{**i, "mm_per_px": scale} for i in items]
    flags = [str(f) for f in result.get("flags") or []]
    if result.get("marker") is False:
        flags.append("no_marker")
    return Grading(sha, received_ms, grade, name, version, items, flags)


MAX_WAITING_FRAMES = 32  # frames queued for grading across lanes (bounded memory)


class GradingPort:
    """Grades lane frames on a worker thread; ``on_graded(lane, grading)`` gets results."""

    def __init__(
        self,
        *,
        products: dict[str, wire.Product],
        on_graded: Callable[[str, Grading], None],
        loader: Callable[[wire.Product], _Grader] = _load_grader,
        photos: PhotoStore | None = None,
    ) -> None:
        self._products = products
        self._photos = photos  # graded frames are kept here (the lots name them by hash)
        self._on_graded = on_graded
        self._loader = loader
        self._graders: dict[wire.Product, _Grader] = {}
        self._load_lock = threading.Lock()  # preload and the worker must not load twice
        self._unavailable: dict[wire.Product, str] = {}  # the condition already logged
        # (lane, crate) -> that crate's newest frame not yet graded, oldest crate first: a
        # newer photo of the same crate replaces a waiting one, another crate's never does.
        self._waiting: dict[tuple[str, object], tuple[bytes, int]] = {}
        self.dropped = 0
        self._cv = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.graded = 0
        self.errors = 0
        self._bad_frames = OnceLog(log)

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
                self._log_unavailable(product, exc)
                out[product.value] = f"error: {exc}"[:300]
                continue
            self._log_available(product)
            out[product.value] = (
                PLACEHOLDER_MODEL if isinstance(grader, _PlaceholderGrader) else "model"
            )
        return out

    def submit(self, lane: str, frame: bytes, received_ms: int, crate: object = None) -> None:
        """Queue a frame of ``crate`` (any key; None: the lane's newest frame wins)."""
        with self._cv:
            key = (lane, crate)
            self._waiting.pop(key, None)
            self._waiting[key] = (frame, received_ms)
            while len(self._waiting) > MAX_WAITING_FRAMES:  # a flood: keep the newest
                del self._waiting[next(iter(self._waiting))]
                self.dropped += 1
            self._cv.notify()

    def grade_now(self, lane: str, frame: bytes, received_ms: int) -> Grading:
        """Grade synchronously (tests, benchmarks, the CLI)."""
        return self._grade(lane, frame, received_ms)

    def _grader(self, product: wire.Product) -> _Grader:
        grader = self._graders.get(product)
        if grader is None:
            with self._load_lock:
                grader = self._graders.get(product)
                if grader is None:
                    grader = self._graders[product] = self._loader(product)
        return grader

    def _log_unavailable(self, product: wire.Product, exc: Exception) -> None:
        """Once per product and cause (every frame of a lane would repeat it), Chinese
        first; the recovery is logged once too (:meth:`_log_available`)."""
        cause = str(exc)[:300]
        if self._unavailable.get(product) == cause:
            log.debug("grader for %s still unavailable: %s", product.value, cause)
            return
        self._unavailable[product] = cause
        log.error(
            "分级模型不可用，请人工分级 / grader for %s unavailable, grade by hand: %s",
            product.value,
            cause,
        )

    def _log_available(self, product: wire.Product) -> None:
        if self._unavailable.pop(product, None) is not None:
            log.info("分级模型已可用 / grader for %s available again", product.value)

    def _grade(self, lane: str, frame: bytes, received_ms: int) -> Grading:
        product = self._products[lane]
        try:
            grader = self._grader(product)
        except Exception as exc:  # model missing or broken: the operator grades by hand
            self._log_unavailable(product, exc)
            self.errors += 1
            sha = hashlib.sha256(frame).hexdigest()
            return Grading(sha, received_ms, None, "unavailable", "-", error=str(exc)[:300])
        self._log_available(product)
        try:
            result = grader.grade_jpeg(frame)
        except Exception as exc:  # a broken frame or model must not stop the station
            log.exception("分级出错 / grading failed on lane %s", lane)
            self.errors += 1
            sha = hashlib.sha256(frame).hexdigest()
            return Grading(sha, received_ms, None, "unknown", "unknown", error=repr(exc)[:300])
        grading = to_grading(frame, received_ms, result)
        if grading.error:
            self.errors += 1
            # Once per lane and cause (a camera sending garbage repeats it every frame);
            # the crate waits for the operator's grade or a good photo.
            self._bad_frames.problem(
                f"frame:{lane}",
                grading.error,
                logging.WARNING,
                "照片无法分级，批次待人工分级或新照片 / lane %s: frame %s not graded: %s",
                lane,
                grading.frame_sha256[:12],
                grading.error,
            )
        else:
            self.graded += 1
            self._bad_frames.resolved(
                f"frame:{lane}", "照片分级已恢复 / lane %s: frames graded again", lane
            )
            if self._photos is not None:
                self._photos.keep(frame, grading.frame_sha256)
        return grading

    def _run(self) -> None:
        while True:
            with self._cv:
                while not self._waiting and not self._stop:
                    self._cv.wait()
                if self._stop:
                    return
                key = next(iter(self._waiting))
                frame, received_ms = self._waiting.pop(key)
                lane = key[0]
            grading = self._grade(lane, frame, received_ms)
            try:
                self._on_graded(lane, grading)
            except Exception:
                log.exception("分级结果处理出错 / on_graded failed for lane %s", lane)
