"""Metrics of an exported strawberry model on labelled photos (onnxruntime only, no torch)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models import paths
from models.common import metrics
from models.common.preprocess import to_input
from models.strawberry import LABELS
from models.strawberry.dataset import (
    BRIX,
    OCCLUDED,
    RISEHOLME,
    Record,
    read_rgb,
)

DEFECT = LABELS.index("defect")
FOLDER = "folder"
FOLDER_LABELS = {
    "unripe": 0,
    "turning": 1,
    "partripe": 1,
    "ripe": 2,
    "defect": 3,
    "anomalous": 3,
    "occluded": OCCLUDED,
}
CSV_LABELS = {"unripe": 0, "turning": 1, "partripe": 1, "ripe": 2, "defect": 3}


class FolderLayoutError(ValueError):
    """A folder given to ``gongfang evaluate`` has no labelled photos we can read."""


def load_metadata(model_dir: Path | None = None) -> dict[str, Any]:
    """The metadata.json next to the model (shipped one by default)."""
    d = model_dir if model_dir is not None else paths.model_dir("strawberry")
    data: dict[str, Any] = json.loads((d / "metadata.json").read_text(encoding="utf-8"))
    return data


class Classifier:
    """An onnxruntime session plus the preprocessing its metadata describes."""

    def __init__(self, model_dir: Path | None = None, threads: int = 2) -> None:
        import onnxruntime as ort

        d = model_dir if model_dir is not None else paths.model_dir("strawberry")
        self.meta = load_metadata(d)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            str(d / "model.onnx"), opts, providers=["CPUExecutionProvider"]
        )
        inp = self.meta["input"]
        self.size = int(inp["size"][0])
        self.mean, self.std = inp["mean"], inp["std"]

    def predict(self, crops_rgb: Sequence[np.ndarray], batch: int = 256) -> np.ndarray:
        """Class probabilities (N, 4) for RGB crops of any size."""
        out = [np.zeros((0, len(LABELS)), np.float32)]
        for i in range(0, len(crops_rgb), batch):
            x = to_input(crops_rgb[i : i + batch], self.size, self.mean, self.std)
            out.append(self.session.run(["probs"], {"input": x})[0])
        return np.concatenate(out)


def score(y_true: np.ndarray, probs: np.ndarray, source: np.ndarray) -> dict[str, Any]:
    """Acceptance metrics: balanced accuracy per set, defect recall/precision, confusion."""
    y_pred = probs.argmax(1)
    lab = y_true >= 0
    n = len(LABELS)
    cm_all = metrics.confusion(y_true[lab], y_pred[lab], n)
    out: dict[str, Any] = {"n": int(lab.sum()), "labels": list(LABELS)}
    for name, src, classes in (
        ("riseholme", RISEHOLME, (0, 2, 3)),
        ("brix", BRIX, (0, 1, 2)),
    ):
        sel = lab & (source == src)
        if sel.any():
            cm = metrics.confusion(y_true[sel], y_pred[sel], n)
            present = tuple(k for k in classes if cm[k].sum())
            out[name] = metrics.summary(cm, LABELS, present)
    r, p = metrics.recall_precision(cm_all, DEFECT)
    out["defect"] = {
        "recall": round(r, 4),
        "precision": round(p, 4),
        "support": int(cm_all[DEFECT].sum()),
    }
    out["all"] = metrics.summary(cm_all, LABELS, [k for k in range(n) if cm_all[k].sum()])
    occ = y_true == OCCLUDED
    if occ.any():
        out["occluded"] = {
            "n": int(occ.sum()),
            "called_defect_fraction": round(float((y_pred[occ] == DEFECT).mean()), 4),
        }
    return out


def defect_recall_by_group(probs: np.ndarray, groups: np.ndarray) -> dict[str, Any]:
    """Defect recall of crops that are all defects (the afzaal diseased fruit): overall and
    per group (disease), with the counts."""
    called = probs.argmax(1) == DEFECT
    per = {
        str(g): {
            "recall": round(float(called[groups == g].mean()), 4),
            "n": int((groups == g).sum()),
        }
        for g in sorted(set(groups.tolist()))
    }
    return {"recall": round(float(called.mean()), 4) if len(called) else 0.0, "n": len(called)} | {
        "per_disease": per
    }


def brix_called_defect(probs: np.ndarray, y: np.ndarray, source: np.ndarray) -> float:
    """Fraction of the healthy brix table fruit (all of them) that ``probs`` calls defect."""
    sel = (source == BRIX) & (y >= 0)
    return round(float((probs[sel].argmax(1) == DEFECT).mean()), 4) if sel.any() else 0.0


def evaluate_records(
    recs: Sequence[Record], data_dir: Path, clf: Classifier | None = None
) -> dict[str, Any]:
    """Metrics of ``clf`` (the shipped model by default) on ``recs`` under ``data_dir``."""
    clf = clf or Classifier()
    crops = [read_rgb(Path(data_dir) / r.file) for r in recs]
    probs = clf.predict(crops)
    y = np.array([r.label for r in recs], np.int64)
    src = np.array([r.source for r in recs])
    return score(y, probs, src)


def folder_records(folder: Path) -> tuple[list[Record], list[str]]:
    """Labelled photos of ``folder``: a labels.csv (brix layout) or one sub-folder per label.

    Returns the records (``file`` relative to ``folder``) and notes for the user.
    """
    folder = Path(folder)
    notes: list[str] = []
    recs: list[Record] = []
    exts = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}
    csv_path = folder / "labels.csv"
    if csv_path.is_file():
        with csv_path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                name, label = row.get("file", ""), row.get("label", "").strip().lower()
                if label not in CSV_LABELS:
                    notes.append(f"跳过未知标签 skipped unknown label {label!r} ({name})")
                    continue
                p = folder / "images" / name
                if not p.is_file():
                    p = folder / name
                recs.append(
                    Record(p.relative_to(folder).as_posix(), FOLDER, CSV_LABELS[label], name)
                )
        return recs, notes
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        key = sub.name.lower()
        if key not in FOLDER_LABELS:
            notes.append(f"跳过未知文件夹 skipped folder with unknown label: {sub.name}")
            continue
        files = sorted(p for p in sub.iterdir() if p.suffix.lower() in exts)
        if key == "occluded":
            notes.append(
                f"occluded/ ({len(files)}) 不计入准确率，只报告被判为缺陷的比例 "
                "not scored for accuracy; only the fraction called defect is reported"
            )
        for p in files:
            recs.append(
                Record(p.relative_to(folder).as_posix(), FOLDER, FOLDER_LABELS[key], p.stem)
            )
    if not recs:
        # A parent folder (e.g. the shared data root) holds the labelled sets deeper down:
        # name them, so the user can pick one.
        sets = sorted(
            str(p.parent)
            for p in folder.glob("*/*")
            if p.name == "labels.csv" or p.name.lower() in FOLDER_LABELS
        ) + sorted(
            str(p.parent)
            for p in folder.glob("*/*/*")
            if p.name == "labels.csv" or p.name.lower() in FOLDER_LABELS
        )
        hint = f"; try one of: {', '.join(dict.fromkeys(sets))}" if sets else ""
        raise FolderLayoutError(
            f"{folder} 中没有带标签的照片 no labelled photos: expected labels.csv or sub-folders "
            f"named {sorted(FOLDER_LABELS)}{hint}"
        )
    return recs, notes


def evaluate_folder(folder: Path, clf: Classifier | None = None) -> dict[str, Any]:
    """Metrics of the shipped model on a labelled folder, skipping unreadable photos."""
    clf = clf or Classifier()
    recs, notes = folder_records(folder)
    good: list[Record] = []
    crops: list[np.ndarray] = []
    for r in recs:
        try:
            crops.append(read_rgb(Path(folder) / r.file))
            good.append(r)
        except ValueError:
            notes.append(f"跳过无法读取的图像 skipped unreadable image: {r.file}")
    if not good:
        raise FolderLayoutError(f"{folder}: 没有可读的照片 no readable photos")
    probs = clf.predict(crops)
    y = np.array([r.label for r in good], np.int64)
    # A user's folder is one set: "all" holds its balanced accuracy over the labels present.
    src = np.array([r.source for r in good])
    out = score(y, probs, src)
    out["model"] = {"name": clf.meta["name"], "version": clf.meta["version"]}
    out["notes"] = notes
    return out
