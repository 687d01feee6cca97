"""An ONNX classifier with its ``metadata.json``, loaded from the installed package.

onnxruntime only; preprocessing is ``models.common.preprocess`` (numpy + OpenCV), the very
code training used, and the metadata's resize rule is checked against it at load time.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import onnxruntime as ort

from edge.grading.errors import ModelUnavailable
from models.common.preprocess import RESIZE_RULE, square_resize


@dataclass(frozen=True)
class ModelInfo:
    """What ``metadata.json`` says about the model's input and output."""

    name: str
    version: str
    labels: tuple[str, ...]
    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_name: str
    output_name: str


def _output_name(out: Any) -> str:
    """``"output"`` is either the output's name or an object carrying ``name``."""
    if isinstance(out, dict):
        return str(out.get("name", "probs"))
    return str(out) if out else "probs"


def _info(meta: dict[str, Any], *, expect_resize: str | None) -> ModelInfo:
    try:
        inp = meta["input"]
        scale = inp.get("scale", "1/255")
        if scale != "1/255" and abs(float(scale) - 1 / 255) > 1e-9:
            raise ModelUnavailable(
                f"模型输入比例须为 1/255 model input scale must be 1/255: {scale}"
            )
        h, w = (int(v) for v in inp["size"])
        if h != w:
            raise ModelUnavailable(f"模型输入须为正方形 model input must be square, got {h}×{w}")
        if str(inp.get("color", "RGB")).upper() != "RGB":
            raise ModelUnavailable(f"模型输入颜色须为 RGB model input colour must be RGB: {inp}")
        if expect_resize is not None and inp.get("resize") != expect_resize:
            raise ModelUnavailable(
                "模型缩放规则与运行时不一致 model resize rule differs from the run-time one: "
                f"{inp.get('resize')!r}"
            )
        return ModelInfo(
            name=str(meta["name"]),
            version=str(meta["version"]),
            labels=tuple(str(x) for x in meta["labels"]),
            size=h,
            mean=tuple(float(x) for x in inp["mean"]),  # type: ignore[arg-type]
            std=tuple(float(x) for x in inp["std"]),  # type: ignore[arg-type]
            input_name=str(inp.get("name", "input")),
            output_name=_output_name(meta.get("output")),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelUnavailable(f"模型元数据不完整 incomplete model metadata: {exc}") from exc


class OnnxClassifier:
    """Batch classifier: RGB crops of any size in, class probabilities out."""

    def __init__(
        self, model: bytes, metadata: dict[str, Any], *, expect_resize: str | None = RESIZE_RULE
    ) -> None:
        self.info = _info(metadata, expect_resize=expect_resize)
        self.metadata = metadata
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # A station box has two cores shared with the MQTT, sync and HTTP threads: one
        # inference thread is as fast there (no spinning pool fighting the others) and
        # lighter. No memory pattern: it plans and keeps one block per input shape, and
        # every photo brings its own batch size; the arena still reuses its memory.
        opts.intra_op_num_threads = 1
        opts.inter_op_num_threads = 1
        opts.enable_mem_pattern = False
        try:
            self.session = ort.InferenceSession(
                model, sess_options=opts, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise ModelUnavailable(f"模型无法加载 model cannot be loaded: {exc}") from exc
        # (pixel/255 - mean)/std == (pixel - 255·mean) · 1/(255·std): OpenCV's blob maker
        # does that and the HWC→CHW transpose in one C++ pass
        std = np.asarray(self.info.std, np.float64)
        self._blob = cv2.dnn.Image2BlobParams()
        self._blob.scalefactor = (*(1.0 / (255.0 * std)).tolist(), 0.0)
        self._blob.mean = (*(255.0 * np.asarray(self.info.mean, np.float64)).tolist(), 0.0)
        self._blob.size = (self.info.size, self.info.size)
        self._blob.swapRB = False
        self._blob.ddepth = cv2.CV_32F
        self._blob_bgr = cv2.dnn.Image2BlobParams()
        for attr in ("scalefactor", "mean", "size", "ddepth"):
            setattr(self._blob_bgr, attr, getattr(self._blob, attr))
        self._blob_bgr.swapRB = True  # BGR squares straight from the decoder
        n_out = self.session.get_outputs()[0].shape[-1]
        if isinstance(n_out, int) and n_out != len(self.info.labels):
            raise ModelUnavailable(
                f"模型输出与标签数不符 model has {n_out} outputs for {len(self.info.labels)} labels"
            )

    @classmethod
    def from_package(
        cls, product: str, *, expect_resize: str | None = RESIZE_RULE
    ) -> OnnxClassifier:
        """Load ``models/<product>/model.onnx`` + ``metadata.json`` from the installed package."""
        try:
            root = files(f"models.{product}")
            model = root.joinpath("model.onnx").read_bytes()
            meta = json.loads(root.joinpath("metadata.json").read_text(encoding="utf-8"))
        except (ModuleNotFoundError, FileNotFoundError, OSError, ValueError) as exc:
            raise ModelUnavailable(
                f"未找到 {product} 模型 the shipped {product} model is missing: {exc}"
            ) from exc
        return cls(model, meta, expect_resize=expect_resize)

    @classmethod
    def from_dir(cls, path: Path, *, expect_resize: str | None = RESIZE_RULE) -> OnnxClassifier:
        """Load a model.onnx + metadata.json pair from a folder (training and benches)."""
        meta = json.loads((path / "metadata.json").read_text(encoding="utf-8"))
        return cls((path / "model.onnx").read_bytes(), meta, expect_resize=expect_resize)

    def squares(self, crops: Sequence[np.ndarray]) -> list[np.ndarray]:
        """Each crop padded to a square and resized to the model size (metadata's rule)."""
        return [square_resize(c, self.info.size) for c in crops]

    def normalise(self, squares: Sequence[np.ndarray], *, bgr: bool = False) -> np.ndarray:
        """uint8 HWC squares (RGB, or BGR with ``bgr``) to float32 NCHW RGB
        ``(pixel/255 - mean)/std``."""
        size = self.info.size
        if not squares:
            return np.zeros((0, 3, size, size), np.float32)
        params = self._blob_bgr if bgr else self._blob
        return np.asarray(cv2.dnn.blobFromImagesWithParams(list(squares), params), np.float32)

    def prepare(self, crops_rgb: Sequence[np.ndarray]) -> np.ndarray:
        """RGB uint8 crops to the float32 NCHW batch the model takes."""
        return self.normalise(self.squares(crops_rgb))

    def run(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities [N, len(labels)] for a prepared batch."""
        if batch.shape[0] == 0:
            return np.zeros((0, len(self.info.labels)), np.float32)
        out = self.session.run([self.info.output_name], {self.info.input_name: batch})[0]
        return np.asarray(out, np.float32)

    def predict(self, crops_rgb: Sequence[np.ndarray]) -> np.ndarray:
        """Probabilities [N, len(labels)] for RGB crops, all in one run."""
        return self.run(self.prepare(crops_rgb))
