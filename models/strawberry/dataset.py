"""The strawberry photo sets: records, label mapping and the fixed, fruit-grouped split.

numpy + OpenCV only (``gongfang evaluate`` and the tests use it without torch).
"""

from __future__ import annotations

import csv
import hashlib
import os
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from models.strawberry import LABELS

RISEHOLME = "riseholme"
BRIX = "brix"
AFZAAL = "afzaal"  # diseased fruit of afzaal-2021-defects (all ``defect``; afzaal.py)
OCCLUDED = -1  # healthy but partly hidden fruit: "not defect", ripeness unknown

RISEHOLME_DIRS = {"unripe": 0, "ripe": 2, "anomalous": 3, "occluded": OCCLUDED}
BRIX_LABELS = {"unripe": 0, "partripe": 1, "ripe": 2}
SPLITS = ("train", "val", "test")
FRACTIONS = (0.6, 0.2, 0.2)


@dataclass(frozen=True)
class Record:
    """One photo: ``file`` relative to the data dir, label index (-1 = occluded), fruit group."""

    file: str
    source: str
    label: int
    group: str


def default_data_dir() -> Path:
    """``$GONGFANG_DATA`` or ``<repo>/../shared/data`` (where CI mounts the photo sets)."""
    env = os.environ.get("GONGFANG_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / "shared" / "data"


class DataMissingError(FileNotFoundError):
    """The strawberry photo folders are not where they should be."""


def load_records(data_dir: Path) -> list[Record]:
    """All labelled photos of both sets, sorted by file name."""
    root = Path(data_dir) / "strawberry"
    rh, bx = root / "riseholme-2021", root / "brix-ripeness"
    if not rh.is_dir() or not (bx / "labels.csv").is_file():
        raise DataMissingError(
            f"找不到草莓照片 strawberry photos not found under {root} "
            "(expected riseholme-2021/ and brix-ripeness/labels.csv; set GONGFANG_DATA)"
        )
    recs: list[Record] = []
    for folder, label in RISEHOLME_DIRS.items():
        for p in sorted((rh / folder).glob("*.png")):
            rel = p.relative_to(data_dir).as_posix()
            # No fruit identity is published for Riseholme: each crop is its own group.
            recs.append(Record(rel, RISEHOLME, label, f"rh:{folder}/{p.stem}"))
    with (bx / "labels.csv").open(newline="") as fh:
        for row in csv.DictReader(fh):
            rel = (bx / "images" / row["file"]).relative_to(data_dir).as_posix()
            recs.append(Record(rel, BRIX, BRIX_LABELS[row["label"]], f"bx:{row['fruit']}"))
    return sorted(recs, key=lambda r: r.file)


def split_records(recs: list[Record], seed: int) -> dict[str, list[Record]]:
    """Stratified 60/20/20 split by fruit group; same seed, same split (pure Python RNG)."""
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in recs:
        groups[r.group].append(r)
    strata: dict[tuple[str, int], list[str]] = defaultdict(list)
    for g, members in groups.items():
        strata[(members[0].source, members[0].label)].append(g)
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not security
    out: dict[str, list[Record]] = {s: [] for s in SPLITS}
    for key in sorted(strata):
        gs = sorted(strata[key])
        rng.shuffle(gs)
        n = len(gs)
        n_test = round(n * FRACTIONS[2])
        n_val = round(n * FRACTIONS[1])
        parts = {
            "test": gs[:n_test],
            "val": gs[n_test : n_test + n_val],
            "train": gs[n_test + n_val :],
        }
        for s, part in parts.items():
            for g in part:
                out[s].extend(groups[g])
    return {s: sorted(v, key=lambda r: r.file) for s, v in out.items()}


def files_hash(recs: list[Record]) -> str:
    """SHA-256 over the sorted file names (to check a regenerated split)."""
    text = "\n".join(sorted(r.file for r in recs))
    return hashlib.sha256(text.encode()).hexdigest()


def read_rgb(path: Path) -> np.ndarray:
    """Decode one photo to RGB uint8; raises ValueError when unreadable."""
    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"图像无法读取 unreadable image: {path}")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def label_name(label: int) -> str:
    """Label index to name (``occluded`` for -1)."""
    return "occluded" if label == OCCLUDED else LABELS[label]


def kfold(recs: list[Record], k: int, seed: int) -> list[list[Record]]:
    """``k`` folds of ``recs`` by fruit group, stratified by (set, label); pure Python RNG.

    Groups of each stratum are sorted, shuffled with ``random.Random(seed)`` and dealt
    round-robin (the stratum's first fold rotating), so every fold gets its share of each
    stratum and a fruit's photos stay in one fold.
    """
    groups: dict[str, list[Record]] = defaultdict(list)
    for r in recs:
        groups[r.group].append(r)
    strata: dict[tuple[str, int], list[str]] = defaultdict(list)
    for g, members in groups.items():
        strata[(members[0].source, members[0].label)].append(g)
    rng = random.Random(seed)  # noqa: S311 - reproducible folds, not security
    folds: list[list[Record]] = [[] for _ in range(k)]
    start = 0
    for key in sorted(strata):
        gs = sorted(strata[key])
        rng.shuffle(gs)
        for i, g in enumerate(gs):
            folds[(start + i) % k].extend(groups[g])
        start += len(gs)
    return [sorted(f, key=lambda r: r.file) for f in folds]
