"""The afzaal-2021-defects crops (diseased fruit, all ``defect``) and their fixed split.

The crops come from 151 greenhouse/hand-held photos; crops of one photo share its
``source_image`` and stay on one side of the split. 30% of each disease's source images
are our own held-out ``test`` (looked at for the report only, never tuned on); the rest is
the ``train`` pool that training and threshold choice may use however they like.
numpy + OpenCV only, like dataset.py.
"""

from __future__ import annotations

import csv
import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from models.strawberry.dataset import DataMissingError

AFZAAL_DIR = "strawberry/afzaal-2021-defects"
DISEASES = ("anthracnose_fruit_rot", "gray_mold", "powdery_mildew_fruit")
TEST_FRACTION = 0.3
SPLIT_SEED = 0
AFZAAL_SPLITS = ("train", "test")


@dataclass(frozen=True)
class DefectCrop:
    """One crop: ``file`` relative to the data dir, its disease and its source photo."""

    file: str
    disease: str
    source_image: str


def load_crops(data_dir: Path) -> list[DefectCrop]:
    """All crops of labels.csv, sorted by file name."""
    root = Path(data_dir) / AFZAAL_DIR
    labels = root / "labels.csv"
    if not labels.is_file():
        raise DataMissingError(
            f"找不到病果照片 afzaal defect crops not found under {root} "
            "(expected labels.csv; set GONGFANG_DATA)"
        )
    with labels.open(newline="") as fh:
        crops = [
            DefectCrop(f"{AFZAAL_DIR}/{row['file']}", row["disease"], row["source_image"])
            for row in csv.DictReader(fh)
        ]
    return sorted(crops, key=lambda c: c.file)


def split_crops(
    crops: list[DefectCrop], seed: int = SPLIT_SEED, test_fraction: float = TEST_FRACTION
) -> dict[str, list[DefectCrop]]:
    """``train``/``test`` by source image, stratified by disease; pure Python RNG.

    Each disease's source images are sorted, shuffled with ``random.Random(seed)`` and the
    first ``round(n * test_fraction)`` go to ``test``. A source image's disease is that of
    its first crop (labels.csv has no photo with two diseases).
    """
    groups: dict[str, list[DefectCrop]] = defaultdict(list)
    for c in crops:
        groups[c.source_image].append(c)
    strata: dict[str, list[str]] = defaultdict(list)
    for g, members in groups.items():
        strata[members[0].disease].append(g)
    rng = random.Random(seed)  # noqa: S311 - a reproducible split, not security
    out: dict[str, list[DefectCrop]] = {s: [] for s in AFZAAL_SPLITS}
    for disease in sorted(strata):
        gs = sorted(strata[disease])
        rng.shuffle(gs)
        n_test = round(len(gs) * test_fraction)
        for i, g in enumerate(gs):
            out["test" if i < n_test else "train"].extend(groups[g])
    return {s: sorted(v, key=lambda c: c.file) for s, v in out.items()}


def crops_hash(crops: list[DefectCrop]) -> str:
    """SHA-256 over the sorted file names (to check a regenerated split)."""
    text = "\n".join(sorted(c.file for c in crops))
    return hashlib.sha256(text.encode()).hexdigest()


def afzaal_split(data_dir: Path) -> tuple[dict[str, list[DefectCrop]], dict[str, str]]:
    """The fixed split of the crops under ``data_dir`` and each side's file-list SHA-256."""
    split = split_crops(load_crops(data_dir))
    return split, {s: crops_hash(v) for s, v in split.items()}


def main() -> None:
    """Print the split's counts per disease and hashes (``python -m models.strawberry.afzaal``)."""
    from models.strawberry.dataset import default_data_dir

    split, hashes = afzaal_split(default_data_dir())
    for s in AFZAAL_SPLITS:
        per = {d: sum(c.disease == d for c in split[s]) for d in DISEASES}
        photos = len({c.source_image for c in split[s]})
        print(f"{s}: {len(split[s])} crops from {photos} photos {per} sha256={hashes[s]}")


if __name__ == "__main__":
    main()
