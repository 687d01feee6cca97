"""The operating point: per-class logit offsets chosen on out-of-fold logits.

The objective sums the balanced accuracies of both sets, with Riseholme defect recall and
precision as soft constraints; with afzaal diseased crops in the pool it adds their mean
recall per disease (as a third score with its own soft floor) and holds healthy brix fruit
called defect under 2% (the gate allows 3%).
"""

from __future__ import annotations

import numpy as np

from models.strawberry.dataset import AFZAAL, BRIX, RISEHOLME
from models.strawberry.recipe import DEFECT


def calibrate(
    logits: np.ndarray,
    y: np.ndarray,
    src: np.ndarray,
    step: float = 0.25,
    disease: np.ndarray | None = None,
) -> tuple[list[float], float]:
    """Per-class logit offsets (unripe fixed at 0) maximising the calibration objective.

    A grid of ``step`` over [-2, 2] per class, then a grid of ``step / 5`` around the best;
    a tiny L1 term prefers small offsets. ``disease`` names the disease of each afzaal
    row (ignored elsewhere). Returns the offsets and the objective reached.
    """
    lab = y >= 0
    afz = _afzaal_groups(src, disease)

    def search(centre: np.ndarray, half: float, st: float) -> tuple[float, list[float]]:
        axis = np.arange(-half, half + 1e-9, st)
        best: tuple[float, list[float]] = (-1e9, [0.0] * 4)
        for a in centre[1] + axis:
            for b in centre[2] + axis:
                for c in centre[3] + axis:
                    off = np.array([0.0, a, b, c])
                    pred = (logits + off).argmax(1)
                    s = _objective(pred, y, src, lab, afz) - 0.01 * float(np.abs(off).sum())
                    if s > best[0]:
                        best = (s, [float(round(v, 4)) for v in off])
        return best

    _, coarse = search(np.zeros(4), 2.0, step)
    _, fine = search(np.array(coarse), step, step / 5)
    return fine, _objective((logits + np.array(fine)).argmax(1), y, src, lab, afz)


def _afzaal_groups(src: np.ndarray, disease: np.ndarray | None) -> list[np.ndarray]:
    """Row masks of the afzaal crops, one per disease (none without afzaal rows)."""
    is_afz = src == AFZAAL
    if not is_afz.any():
        return []
    if disease is None:
        return [is_afz]
    return [is_afz & (disease == d) for d in sorted(set(disease[is_afz]))]


def _objective(
    pred: np.ndarray,
    y: np.ndarray,
    src: np.ndarray,
    lab: np.ndarray,
    afz: list[np.ndarray] | None = None,
) -> float:
    """Sum of both balanced accuracies, with defect recall ≥ 0.9 and precision ≥ 0.7 as
    soft constraints (both sets' crops), plus the afzaal terms when ``afz`` has groups."""
    total = 0.0
    for s, classes in ((RISEHOLME, (0, 2, 3)), (BRIX, (0, 1, 2))):
        sel = lab & (src == s)
        total += float(np.mean([(pred[sel & (y == k)] == k).mean() for k in classes]))
    # the afzaal crops are all defects: they would flatter precision, so they count apart
    own = lab & (src != AFZAAL)
    tp = float(((pred == DEFECT) & (y == DEFECT) & own).sum())
    rec = tp / max(1.0, float(((y == DEFECT) & own).sum()))
    prec = tp / max(1.0, float(((pred == DEFECT) & own).sum()))
    total += 2 * min(0.0, rec - 0.9) + 2 * min(0.0, prec - 0.7)
    if afz:
        afz_rec = float(np.mean([(pred[g] == DEFECT).mean() for g in afz]))
        healthy_bx = lab & (src == BRIX)
        called = float((pred[healthy_bx] == DEFECT).mean()) if healthy_bx.any() else 0.0
        total += afz_rec + 2 * min(0.0, afz_rec - 0.9) + 4 * min(0.0, 0.02 - called)
    return total


def softmax(z: np.ndarray) -> np.ndarray:
    """Row-wise softmax of logits."""
    e = np.exp(z - z.max(1, keepdims=True))
    out: np.ndarray = e / e.sum(1, keepdims=True)
    return out
