"""Choose the lesion threshold of the strawberry grading rule on training photos only.

``python -m models.strawberry.lesion_threshold`` measures ``lesion_pct`` (edge.grading.lesion,
through the very path the edge grader takes for a crop without a mask: the classifier's
padded square, then 32 px) on

- the afzaal-2021-defects ``train`` pool (diseased fruit: a fruit above the threshold is caught),
- the ``train`` split (seed 0) of brix-ripeness and Riseholme: healthy fruit must not be caught,

prints the curve and the chosen threshold. The rule: the lowest threshold (the most rot
caught) at which at most :data:`BRIX_BUDGET` of healthy brix fruit and at most
:data:`RISEHOLME_BUDGET` of healthy Riseholme fruit (unripe + ripe) are called defect.
The brix budget sits below the 3% acceptance bar, as a test split scatters around the
training figure; the Riseholme one is tight because every healthy fruit the rule calls
defect costs Riseholme defect precision (bar 0.6; the shipped classifier alone is at 0.68
with 25 defects among 460 healthy test fruit, so 2% is ~9 more false defects).
The held-out ``test`` splits are never read here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from models.strawberry.afzaal import DISEASES, afzaal_split
from models.strawberry.dataset import (
    BRIX,
    RISEHOLME,
    default_data_dir,
    label_name,
    load_records,
    read_rgb,
    split_records,
)

BRIX_BUDGET = 0.02
RISEHOLME_BUDGET = 0.02
GRID = tuple(float(t) for t in np.arange(2.0, 40.01, 0.5))
_BATCH = 64


def model_size() -> int:
    """The classifier's input side (its crops are what the lesion rule measures)."""
    meta = json.loads((Path(__file__).with_name("metadata.json")).read_text(encoding="utf-8"))
    return int(meta["input"]["size"][0])


def lesion_pcts(paths: Iterable[Path], size: int | None = None) -> np.ndarray:
    """``lesion_pct`` of each photo as the edge grades a single-fruit crop."""
    import cv2

    from edge.grading.lesion import crop_lesions
    from edge.grading.strawberry import small_crops
    from models.common.preprocess import square_resize

    side = size or model_size()
    squares = [square_resize(cv2.cvtColor(read_rgb(p), cv2.COLOR_RGB2BGR), side) for p in paths]
    out: list[float] = []
    for i in range(0, len(squares), _BATCH):
        out += crop_lesions(*small_crops(squares[i : i + _BATCH])).pct
    # graded as reported: the JSON carries one decimal
    return np.round(np.asarray(out, np.float64), 1)


def training_sets(data_dir: Path) -> dict[str, list[Path]]:
    """Photo paths per set: ``afzaal:<disease>``, ``brix:<label>``, ``riseholme:<label>``."""
    sets: dict[str, list[Path]] = {}
    split, _ = afzaal_split(data_dir)
    for d in DISEASES:
        sets[f"afzaal:{d}"] = [data_dir / c.file for c in split["train"] if c.disease == d]
    for r in split_records(load_records(data_dir), 0)["train"]:
        sets.setdefault(f"{r.source}:{label_name(r.label)}", []).append(data_dir / r.file)
    return dict(sorted(sets.items()))


def healthy(figures: dict[str, np.ndarray], source: str) -> np.ndarray:
    """Lesion figures of a source's healthy fruit (brix: all; Riseholme: unripe + ripe)."""
    if source == BRIX:
        keys = [k for k in figures if k.startswith(f"{BRIX}:")]
    else:
        keys = [f"{RISEHOLME}:unripe", f"{RISEHOLME}:ripe"]
    return np.concatenate([figures[k] for k in keys])


def choose(figures: dict[str, np.ndarray]) -> float:
    """The lowest grid threshold within both healthy budgets."""
    bx, rh = healthy(figures, BRIX), healthy(figures, RISEHOLME)
    for t in GRID:
        if np.mean(bx > t) <= BRIX_BUDGET and np.mean(rh > t) <= RISEHOLME_BUDGET:
            return t
    return GRID[-1]


def curve_rows(figures: dict[str, np.ndarray], ts: Iterable[float]) -> list[dict[str, float]]:
    """Share of each set above each threshold."""
    bx, rh = healthy(figures, BRIX), healthy(figures, RISEHOLME)
    diseased = np.concatenate([figures[f"afzaal:{d}"] for d in DISEASES])
    rows = []
    for t in ts:
        row = {"threshold": t, "afzaal_all": float(np.mean(diseased > t))}
        row |= {k: float(np.mean(v > t)) for k, v in figures.items()}
        row |= {"brix_healthy": float(np.mean(bx > t)), "riseholme_healthy": float(np.mean(rh > t))}
        rows.append(row)
    return rows


def main() -> None:
    data_dir = default_data_dir()
    sets = training_sets(data_dir)
    figures = {k: lesion_pcts(v) for k, v in sets.items()}
    print("lesion_pct on the training photos (n, median, 90th and 97th percentile):")
    for k, v in figures.items():
        p50, p90, p97 = np.percentile(v, [50, 90, 97])
        print(f"  {k:32s} n={len(v):5d}  {p50:5.1f} {p90:5.1f} {p97:5.1f}")
    t = choose(figures)
    cols = ["afzaal_all", *(f"afzaal:{d}" for d in DISEASES)]
    cols += ["brix_healthy", "riseholme_healthy", "riseholme:occluded", "riseholme:defect"]
    print("\nshare called defect by the rule alone, per threshold:")
    print("  " + " ".join(f"{c.split(':')[-1][:12]:>12s}" for c in ["threshold", *cols]))
    marks = sorted({*GRID[::4], t})
    for row in curve_rows(figures, marks):
        flag = "  <- chosen" if row["threshold"] == t else ""
        print(f"  {row['threshold']:12.1f} " + " ".join(f"{row[c]:12.3f}" for c in cols) + flag)
    print(
        f"\nchosen threshold: lesion_pct > {t:.1f} -> defect: the lowest threshold at which "
        f"healthy brix train fruit called defect <= {BRIX_BUDGET:.0%} and healthy Riseholme "
        f"(unripe+ripe) train fruit <= {RISEHOLME_BUDGET:.0%}."
    )


if __name__ == "__main__":
    main()
