"""The int8 graph: quantise the deployed graph and measure what that changes.

An int8 graph answers slightly differently from its float32 source (about 1 % of argmaxes
moved for the strawberry grader), so a recipe that ships int8 also computes its
out-of-fold logits through int8 graphs (``int8_logits``): the offsets and the honest
figures then describe what the station runs.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.common.onnx_export import quantize_int8
from models.common.preprocess import normalise

if TYPE_CHECKING:
    from torch import nn

    from models.strawberry.train import Recipe

CALIBRATION_PHOTOS = 256
# The frozen-feature defect score (probe.py) stays float32: quantised, it moved the
# out-of-fold objective from 1.586 to 1.522, with only the nets int8 it stays at 1.586
# (session 6). Torch names its nodes by module path: Deployed.net → Fused.score.
KEEP_FLOAT = ("/net/score/",)
# an int8 graph further than this from its float32 source is a failed export
MAX_MEAN_DRIFT = 0.02
MIN_AGREEMENT = 0.97


def calibration_photos(images: np.ndarray, seed: int) -> np.ndarray:
    """A seeded sample of training photos (uint8, model size) for the activation ranges."""
    rng = np.random.default_rng(7_000 + seed)
    n = min(CALIBRATION_PHOTOS, len(images))
    return images[np.sort(rng.choice(len(images), n, replace=False))]


def _probs(path: Path, images: np.ndarray, rcp: Recipe) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = normalise(images, rcp.mean, rcp.std)
    out = [sess.run(["probs"], {"input": x[i : i + 256]})[0] for i in range(0, len(x), 256)]
    return np.concatenate(out)


def _torch_probs(net: nn.Module, offsets: list[float], images: np.ndarray, rcp: Recipe) -> Any:
    import torch

    from models.strawberry.net import Deployed

    model = Deployed(net, offsets, rcp.flip).eval()
    with torch.no_grad():
        return model(torch.from_numpy(normalise(images, rcp.mean, rcp.std))).numpy()


def quantize_graph(
    net: nn.Module,
    offsets: list[float],
    path: Path,
    rcp: Recipe,
    calibration: np.ndarray,
    check: bool = True,
) -> dict[str, float]:
    """Quantise the float32 graph at ``path`` (exported from ``net``) in place and return
    its drift from torch on the calibration photos; with ``check``, too much is an error."""
    quantize_int8(path, normalise(calibration, rcp.mean, rcp.std), KEEP_FLOAT)
    got = _probs(path, calibration, rcp)
    ref = _torch_probs(net, offsets, calibration, rcp)
    drift = {
        "int8_mean_abs_diff": round(float(np.abs(got - ref).mean()), 5),
        "int8_max_abs_diff": round(float(np.abs(got - ref).max()), 4),
        "int8_argmax_agreement": round(float((got.argmax(1) == ref.argmax(1)).mean()), 4),
        "int8_calibration_photos": len(calibration),
    }
    agree = drift["int8_argmax_agreement"]
    if check and (drift["int8_mean_abs_diff"] > MAX_MEAN_DRIFT or agree < MIN_AGREEMENT):
        raise RuntimeError(f"int8 graph too far from float32: {drift}")
    return drift


def int8_logits(
    net: nn.Module, batches: list[np.ndarray], calibration: np.ndarray, rcp: Recipe
) -> list[np.ndarray]:
    """Log-probabilities of ``net``'s int8 graph (no offsets) for each batch of images.

    No drift check here: these logits are what the out-of-fold figures measure.
    """
    from models.strawberry.export import export_onnx

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fold.onnx"
        zero = [0.0] * 4
        export_onnx(net, zero, path, rcp.size, rcp.flip)
        quantize_graph(net, zero, path, rcp, calibration, check=False)
        return [np.log(np.clip(_probs(path, b, rcp), 1e-12, 1.0)) for b in batches]
