"""Export a trained net to ONNX, check it against torch, evaluate once on test, write the files.

Files written to ``out_dir``: model.onnx, metadata.json, MODEL_CARD.md, confusion.png.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from models.common.onnx_export import OPSET, export_probs
from models.common.preprocess import RESIZE_RULE
from models.strawberry import LABELS
from models.strawberry.dataset import Record, files_hash, read_rgb
from models.strawberry.evaluate import (
    Classifier,
    brix_called_defect,
    defect_recall_by_group,
    score,
)
from models.strawberry.recipe import Recipe

if TYPE_CHECKING:
    from torch import nn

NAME = "gongfang-strawberry"
VERSION = "1.4.0"

TRAINING_DATA = [
    {
        "name": "Riseholme-2021",
        "path": "strawberry/riseholme-2021",
        "source": "https://github.com/ctyeong/Riseholme-2021",
        "use": "ripe, unripe, anomalous (= defect); occluded as 'not defect' only",
        "licence": "no licence file; research use",
        "cite": [
            "T. Choi, O. Would, A. Salazar-Gomez, G. Cielniak, 'Self-supervised Representation "
            "Learning for Reliable Robotic Monitoring of Fruit Anomalies', ICRA 2022",
            "'Channel Randomisation: Self-Supervised Representation Learning for Reliable "
            "Visual Anomaly Detection in Specialty Crops', Computers and Electronics in "
            "Agriculture, 2024",
        ],
    },
    {
        "name": "brix-ripeness (Strawberry-Detection)",
        "path": "strawberry/brix-ripeness",
        "source": "https://github.com/roxysoyo/Strawberry-Detection",
        "use": "unripe, partripe (= turning), ripe; split by fruit",
        "licence": "no licence file; research use",
    },
]


AFZAAL_DATA = {
    "name": "afzaal-2021-defects",
    "path": "strawberry/afzaal-2021-defects",
    "source": (
        "U. Afzaal, B. Bhattarai, Y. R. Pandeya, J. Lee, 'An Instance Segmentation Model for "
        "Strawberry Diseases Based on Mask R-CNN', Sensors 21(19) 6565, 2021 (its Strawberry "
        "Disease Detection Dataset), cropped per fruit"
    ),
    "use": (
        "anthracnose fruit rot, gray mould, powdery mildew (fruit) = defect; the train pool "
        "of models.strawberry.afzaal's split by source photo (its test side only scored)"
    ),
    "licence": "as the dataset publishes it; research use",
}


def afzaal_summary(data_dir: Path) -> dict[str, Any]:
    """The afzaal split: rule, crops and photos per side and disease, hashes, test files."""
    from models.strawberry.afzaal import DISEASES, afzaal_split

    split, hashes = afzaal_split(data_dir)
    return {
        "rule": (
            "models.strawberry.afzaal.split_crops: source photos per disease sorted, shuffled "
            "with random.Random(0), round(30%) to test; crops follow their photo"
        ),
        "counts": {
            s: {d: sum(c.disease == d for c in v) for d in DISEASES} for s, v in split.items()
        },
        "photos": {s: len({c.source_image for c in v}) for s, v in split.items()},
        "sha256": hashes,
        "test_files": [c.file for c in split["test"]],
    }


def afzaal_test(clf: Classifier, data_dir: Path) -> dict[str, Any]:
    """The classifier's defect recall on the afzaal test crops, overall and per disease."""
    from models.strawberry.afzaal import load_crops, split_crops

    test = split_crops(load_crops(data_dir))["test"]
    probs = clf.predict([read_rgb(data_dir / c.file) for c in test])
    return defect_recall_by_group(probs, np.array([c.disease for c in test]))


def export_onnx(
    net: nn.Module,
    offsets: list[float],
    path: Path,
    size: int,
    flip: bool = True,
) -> float:
    """Write the deployed graph ([flip TTA] + offsets + softmax); returns max |ORT − torch|."""
    from models.strawberry.net import Deployed

    diff = export_probs(Deployed(net, offsets, flip), path, size, 5)
    # float32 differs from torch only by rounding
    if diff > 1e-4:
        raise RuntimeError(f"ONNX output differs from torch by {diff:g}")
    return diff


def split_summary(splits: dict[str, list[Record]], seed: int) -> dict[str, Any]:
    """Counts per split and set/label, the rule, and the exact test file list."""

    def counts(recs: list[Record]) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in recs:
            key = f"{r.source}/{'occluded' if r.label < 0 else LABELS[r.label]}"
            out[key] = out.get(key, 0) + 1
        return dict(sorted(out.items()))

    return {
        "seed": seed,
        "rule": (
            "models.strawberry.dataset.split_records(load_records(DATA), seed): groups = brix "
            "'fruit' column (Riseholme: one crop per group), strata = (set, label), groups "
            "sorted then shuffled with random.Random(seed) per stratum; per stratum "
            "round(20%) test, round(20%) validation, rest train"
        ),
        "counts": {s: counts(v) for s, v in splits.items()},
        "sha256": {s: files_hash(v) for s, v in splits.items()},
        "test_files": [r.file for r in splits["test"]],
    }


def export_all(
    *,
    net: nn.Module,
    offsets: list[float],
    out_dir: Path,
    data_dir: Path,
    splits: dict[str, list[Record]],
    seed: int,
    recipe: Recipe,
    info: dict[str, Any],
    final: bool = True,
) -> dict[str, Any]:
    """Write model.onnx + metadata.json, evaluate on test once, write the card and PNG.

    ``final=False`` (experiments) writes model.onnx and metadata.json only and scores
    nothing (the net trained on train+validation; its honest figures are the out-of-fold
    ones in ``training``), so trying recipes never looks at the test split.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "model.onnx"
    checks: dict[str, Any] = {
        "onnx_max_abs_diff": export_onnx(net, offsets, path, recipe.size, recipe.flip)
    }
    meta: dict[str, Any] = {
        "name": NAME,
        "version": VERSION,
        "labels": list(LABELS),
        "input": {
            "name": "input",
            "size": [recipe.size, recipe.size],
            "color": "RGB",
            "layout": "NCHW",
            "scale": 1 / 255,
            "mean": list(recipe.mean),
            "std": list(recipe.std),
            "resize": RESIZE_RULE,
            "crop_hint": "one fruit with calyx, about 10-20% margin on each side",
        },
        "output": "probs",
        "output_shape": ["N", len(LABELS)],
        "calibration": {
            "logit_offsets": [round(o, 4) for o in offsets],
            "applied": (
                "inside the graph (probs = softmax(mean of the logits over the nets "
                f"{list(recipe.members)}"
                + (" and the horizontal flip" if recipe.flip else "")
                + " + offsets))"
            ),
            "chosen_on": (
                f"out-of-fold logits of a {recipe.folds}-fold cross-validation over "
                "train+validation (test untouched)"
            ),
        },
        "opset": OPSET,
        "training_data": TRAINING_DATA + ([AFZAAL_DATA] if recipe.afzaal_share > 0 else []),
        "split": split_summary(splits, seed),
        "recipe": {k: v for k, v in dataclasses.asdict(recipe).items() if k != "extra"}
        | recipe.extra,
        "training": {k: v for k, v in info.items() if k != "history"} | checks,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if recipe.afzaal_share > 0:
        meta["afzaal_split"] = afzaal_summary(data_dir)
    meta_path = out_dir / "metadata.json"
    meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    if not final:
        return meta
    clf = Classifier(out_dir)
    recs = splits["test"]
    probs = clf.predict([read_rgb(data_dir / r.file) for r in recs])
    y = np.array([r.label for r in recs], np.int64)
    src = np.array([r.source for r in recs])
    m = score(y, probs, src)
    meta["test_metrics"] = m
    m["brix_called_defect"] = brix_called_defect(probs, y, src)
    if recipe.afzaal_share > 0:
        meta["test_metrics_afzaal"] = afzaal_test(clf, data_dir)
    meta_path.write_text(json.dumps(meta, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    plot_confusion(m, out_dir / "confusion.png")
    (out_dir / "MODEL_CARD.md").write_text(
        model_card(meta, info.get("history", [])), encoding="utf-8"
    )
    return meta


def plot_confusion(m: dict[str, Any], path: Path) -> None:
    """Confusion matrices (Riseholme test, brix test) as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    for ax, key in zip(axes, ("riseholme", "brix"), strict=True):
        cm = np.array(m[key]["confusion"])
        ax.imshow(cm, cmap="Blues")
        for i in range(cm.shape[0]):
            for j in range(cm.shape[1]):
                ax.text(
                    j,
                    i,
                    str(cm[i, j]),
                    ha="center",
                    va="center",
                    color="white" if cm[i, j] > cm.max() / 2 else "black",
                )
        ax.set_xticks(range(len(LABELS)), LABELS)
        ax.set_yticks(range(len(LABELS)), LABELS)
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        ax.set_title(f"{key} test, balanced acc {m[key]['balanced_accuracy']:.3f}")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def model_card(meta: dict[str, Any], history: list[dict[str, float]]) -> str:
    """MODEL_CARD.md text from the metadata."""
    from models.strawberry.card import render

    return render(meta, history)
