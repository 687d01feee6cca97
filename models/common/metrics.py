"""Classification metrics over integer labels (numpy only)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n: int) -> np.ndarray:
    """``n`` × ``n`` confusion matrix, rows = true label, columns = predicted."""
    cm = np.zeros((n, n), np.int64)
    np.add.at(cm, (np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)), 1)
    return cm


def recall_precision(cm: np.ndarray, k: int) -> tuple[float, float]:
    """Recall and precision of class ``k`` (precision 0 when never predicted)."""
    tp = float(cm[k, k])
    support, predicted = float(cm[k].sum()), float(cm[:, k].sum())
    return (tp / support if support else 0.0), (tp / predicted if predicted else 0.0)


def balanced_accuracy(cm: np.ndarray, classes: Sequence[int]) -> float:
    """Mean recall over ``classes`` (those with support); other predictions count as wrong."""
    recalls = [cm[k, k] / cm[k].sum() for k in classes if cm[k].sum()]
    return float(np.mean(recalls)) if recalls else 0.0


def summary(cm: np.ndarray, labels: Sequence[str], classes: Sequence[int]) -> dict[str, Any]:
    """Balanced accuracy over ``classes`` plus per-class recall, precision and support."""
    per: dict[str, dict[str, float | int]] = {}
    for k in classes:
        r, p = recall_precision(cm, k)
        per[labels[k]] = {
            "recall": round(r, 4),
            "precision": round(p, 4),
            "support": int(cm[k].sum()),
        }
    return {
        "n": int(cm[list(classes)].sum()),
        "balanced_accuracy": round(balanced_accuracy(cm, classes), 4),
        "per_class": per,
        "confusion": cm.tolist(),
    }
