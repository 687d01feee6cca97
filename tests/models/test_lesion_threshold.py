"""The lesion threshold in the grading rules is the one the training-data script picks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from edge.grading.rules import STRAWBERRY_LESION_DEFECT_PCT
from models.strawberry.afzaal import AFZAAL_DIR, afzaal_split
from models.strawberry.dataset import BRIX, RISEHOLME, load_records, split_records
from models.strawberry.lesion_threshold import (
    BRIX_BUDGET,
    RISEHOLME_BUDGET,
    choose,
    healthy,
    lesion_pcts,
    training_sets,
)
from tests.photo_data import require_photos


def test_threshold_is_chosen_on_training_photos(data_dir: Path) -> None:
    root = require_photos(f"{AFZAAL_DIR}/labels.csv")
    sets = training_sets(root)
    held_out = {root / c.file for c in afzaal_split(root)[0]["test"]}
    held_out |= {root / r.file for r in split_records(load_records(root), 0)["test"]}
    assert not held_out & {p for v in sets.values() for p in v}
    figures = {k: lesion_pcts(v) for k, v in sets.items()}
    t = choose(figures)
    assert t == STRAWBERRY_LESION_DEFECT_PCT
    assert np.mean(healthy(figures, BRIX) > t) <= BRIX_BUDGET
    assert np.mean(healthy(figures, RISEHOLME) > t) <= RISEHOLME_BUDGET
    diseased = np.concatenate([v for k, v in figures.items() if k.startswith("afzaal:")])
    assert len(diseased) == 150
    assert np.mean(diseased > t) >= 0.45  # 0.48 when the threshold was set
