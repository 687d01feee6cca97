"""The afzaal-2021-defects split: grouped by source photo, 30% per disease held out, fixed."""

from __future__ import annotations

from pathlib import Path

import pytest

from models.strawberry.afzaal import (
    AFZAAL_DIR,
    DISEASES,
    DefectCrop,
    afzaal_split,
    load_crops,
    split_crops,
)
from tests.photo_data import require_photos

#: the split as first committed; a change here means every recorded figure moved
TEST_SHA256 = "0889e8283ec57b98342f7eb4d10ae295836f7420c2a45efd6a2b231577cf8bbf"
TRAIN_SHA256 = "989c0606a5aab1f1759b3d4dfa579452ad9d6cd5bc633a90b16ed731795c749d"
COUNTS = {
    "train": {"anthracnose_fruit_rot": 29, "gray_mold": 78, "powdery_mildew_fruit": 43},
    "test": {"anthracnose_fruit_rot": 10, "gray_mold": 32, "powdery_mildew_fruit": 27},
}


@pytest.fixture(scope="module")
def afzaal_root() -> Path:
    return require_photos(f"{AFZAAL_DIR}/labels.csv")


def test_split_is_grouped_stratified_and_fixed(afzaal_root: Path) -> None:
    crops = load_crops(afzaal_root)
    assert len(crops) == 219
    assert all((afzaal_root / c.file).is_file() for c in crops)
    split, hashes = afzaal_split(afzaal_root)
    train_src = {c.source_image for c in split["train"]}
    test_src = {c.source_image for c in split["test"]}
    assert not train_src & test_src
    assert len(split["train"]) + len(split["test"]) == len(crops)
    for side, want in COUNTS.items():
        assert {d: sum(c.disease == d for c in split[side]) for d in DISEASES} == want
    for d in DISEASES:  # 30% of each disease's photos, rounded
        photos = {c.source_image for c in crops if c.disease == d}
        held = {c.source_image for c in split["test"] if c.disease == d}
        assert len(held) == round(0.3 * len(photos))
    assert hashes == {"train": TRAIN_SHA256, "test": TEST_SHA256}


def test_split_is_deterministic_without_photos() -> None:
    crops = [
        DefectCrop(f"x/{d}{i}_{j}.png", d, f"{d}{i}")
        for d in DISEASES
        for i in range(10)
        for j in range(i % 3 + 1)
    ]
    a, b = split_crops(crops), split_crops(list(reversed(crops)))
    assert a == b
    for d in DISEASES:
        assert len({c.source_image for c in a["test"] if c.disease == d}) == 3
    assert not {c.source_image for c in a["test"]} & {c.source_image for c in a["train"]}
