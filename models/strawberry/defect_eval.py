"""Defect figures of the edge grader on the held-out test splits (issue 20, point 3).

Every photo goes through the edge grader as a single-fruit crop
(``load_grader("strawberry").grade_images(..., single=True)``: the shipped ONNX model and
the lesion rule, exactly as a station grades), and each fruit is read three ways:

- ``rule``: ``lesion_pct`` above :data:`edge.grading.rules.STRAWBERRY_LESION_DEFECT_PCT`;
- ``classifier``: the model's most probable label is ``defect``;
- ``combined``: the grader's label is ``defect`` (either of the two, as the rules grade).

On the afzaal ``test`` split (diseased, all ``defect``): recall overall and per disease.
On the brix-ripeness and Riseholme ``test`` splits (seed 0): the share of healthy fruit
called defect, and Riseholme's defect recall and precision. ``python -m
models.strawberry.defect_eval`` prints them as JSON; tests/models/test_afzaal_defects.py
holds them against the issue's bars.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from models.strawberry.afzaal import DISEASES, afzaal_split
from models.strawberry.dataset import (
    BRIX,
    OCCLUDED,
    RISEHOLME,
    default_data_dir,
    load_records,
    read_rgb,
    split_records,
)

WAYS = ("rule", "classifier", "combined")
_BATCH = 64
_DEFECT = 3  # label index of ``defect``


def grade_crops(paths: list[Path]) -> dict[str, np.ndarray]:
    """Per photo, whether each way calls it defect, and its ``lesion_pct``."""
    import cv2

    from edge.grading.api import load_grader
    from edge.grading.rules import STRAWBERRY_LESION_DEFECT_PCT

    g = load_grader("strawberry")
    items: list[dict[str, Any]] = []
    for i in range(0, len(paths), _BATCH):
        imgs = [cv2.cvtColor(read_rgb(p), cv2.COLOR_RGB2BGR) for p in paths[i : i + _BATCH]]
        items += [r["items"][0] for r in g.grade_images(imgs, single=True)]
    les = np.array([it["lesion_pct"] for it in items], np.float64)
    model = np.array([max(it["probs"], key=it["probs"].get) == "defect" for it in items], bool)
    return {
        "lesion_pct": les,
        "rule": les > STRAWBERRY_LESION_DEFECT_PCT,
        "classifier": model,
        "combined": np.array([it["label"] == "defect" for it in items], bool),
    }


def _share(x: np.ndarray) -> float:
    return round(float(np.mean(x)), 4) if len(x) else 0.0


def _recall_precision(called: np.ndarray, truth: np.ndarray) -> dict[str, float]:
    tp = int((called & truth).sum())
    return {
        "recall": round(tp / max(int(truth.sum()), 1), 4),
        "precision": round(tp / max(int(called.sum()), 1), 4),
    }


def evaluate(data_dir: Path) -> dict[str, Any]:
    """All figures of the module doc, per way, with the counts."""
    split, hashes = afzaal_split(data_dir)
    crops = split["test"]
    af = grade_crops([data_dir / c.file for c in crops])
    disease = np.array([c.disease for c in crops])
    out: dict[str, Any] = {"afzaal_test": {"n": len(crops), "sha256": hashes["test"]}}
    for way in WAYS:
        per = {d: _share(af[way][disease == d]) for d in DISEASES}
        out["afzaal_test"][way] = {"recall": _share(af[way]), "per_disease": per}
    out["afzaal_test"]["n_per_disease"] = {d: int((disease == d).sum()) for d in DISEASES}

    test = split_records(load_records(data_dir), 0)["test"]
    for src in (BRIX, RISEHOLME):
        recs = [r for r in test if r.source == src]
        got = grade_crops([data_dir / r.file for r in recs])
        label = np.array([r.label for r in recs])
        healthy = (label != _DEFECT) & (label != OCCLUDED)
        entry: dict[str, Any] = {"n_healthy": int(healthy.sum())}
        for way in WAYS:
            entry[way] = {"healthy_called_defect": _share(got[way][healthy])}
            if src == RISEHOLME:
                for name, lab in (("unripe", 0), ("ripe", 2), ("occluded", OCCLUDED)):
                    entry[way][f"{name}_called_defect"] = _share(got[way][label == lab])
                known = label != OCCLUDED
                entry[way]["defect"] = _recall_precision(got[way][known], (label == _DEFECT)[known])
        if src == RISEHOLME:
            entry["n_defect"] = int((label == _DEFECT).sum())
            entry["n_occluded"] = int((label == OCCLUDED).sum())
        out[f"{src}_test"] = entry
    return out


def main() -> None:
    print(json.dumps(evaluate(default_data_dir()), indent=1))


if __name__ == "__main__":
    main()
