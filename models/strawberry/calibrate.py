"""The operating point: per-class logit offsets chosen on out-of-fold logits."""

from __future__ import annotations

import numpy as np

from models.strawberry.dataset import BRIX, RISEHOLME
from models.strawberry.recipe import DEFECT


def calibrate(
    logits: np.ndarray, y: np.ndarray, src: np.ndarray, step: float = 0.25
) -> tuple[list[float], float]:
    """Per-class logit offsets (unripe fixed at 0) maximising the calibration objective.

    A grid of ``step`` over [-2, 2] per class, then a grid of ``step / 5`` around the best;
    a tiny L1 term prefers small offsets. Returns the offsets and the objective reached.
    """
    lab = y >= 0

    def search(centre: np.ndarray, half: float, st: float) -> tuple[float, list[float]]:
        axis = np.arange(-half, half + 1e-9, st)
        best: tuple[float, list[float]] = (-1e9, [0.0] * 4)
        for a in centre[1] + axis:
            for b in centre[2] + axis:
                for c in centre[3] + axis:
                    off = np.array([0.0, a, b, c])
                    pred = (logits + off).argmax(1)
                    s = _objective(pred, y, src, lab) - 0.01 * float(np.abs(off).sum())
                    if s > best[0]:
                        best = (s, [float(round(v, 4)) for v in off])
        return best

    _, coarse = search(np.zeros(4), 2.0, step)
    _, fine = search(np.array(coarse), step, step / 5)
    return fine, _objective((logits + np.array(fine)).argmax(1), y, src, lab)


def _objective(pred: np.ndarray, y: np.ndarray, src: np.ndarray, lab: np.ndarray) -> float:
    """Sum of both balanced accuracies, with defect recall ≥ 0.9 and precision ≥ 0.7 as
    soft constraints."""
    total = 0.0
    for s, classes in ((RISEHOLME, (0, 2, 3)), (BRIX, (0, 1, 2))):
        sel = lab & (src == s)
        total += float(np.mean([(pred[sel & (y == k)] == k).mean() for k in classes]))
    tp = float(((pred == DEFECT) & (y == DEFECT)).sum())
    rec = tp / max(1.0, float((y == DEFECT).sum()))
    prec = tp / max(1.0, float(((pred == DEFECT) & lab).sum()))
    return total + 2 * min(0.0, rec - 0.9) + 2 * min(0.0, prec - 0.7)


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits."""
    e = np.exp(z - z.max(1, keepdims=True))
    out: np.ndarray = e / e.sum(1, keepdims=True)
    return out
