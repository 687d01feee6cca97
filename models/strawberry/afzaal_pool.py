"""The afzaal train pool as training records: diseased crops as ``defect``, by source photo.

afzaal.py (the loader and the fixed train/test split) knows the crops; this module turns the
``train`` side into records of the training pool and deals them into folds so that the
crops of one source photo stay in one fold, each disease spread over all folds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.strawberry.afzaal import DefectCrop, load_crops, split_crops
from models.strawberry.dataset import AFZAAL, Record, kfold
from models.strawberry.recipe import DEFECT


def afzaal_folds(data_dir: Path, k: int, seed: int) -> list[list[Record]]:
    """The afzaal ``train`` crops in ``k`` folds, grouped by source photo, stratified by
    disease (the test side is never read here)."""
    crops = split_crops(load_crops(data_dir))["train"]
    # kfold stratifies by (source, label): the disease stands in for the source here
    by_disease = kfold([_record(c, c.disease) for c in crops], k, seed)
    return [[Record(r.file, AFZAAL, DEFECT, r.group) for r in fold] for fold in by_disease]


def _record(c: DefectCrop, source: str = AFZAAL) -> Record:
    return Record(c.file, source, DEFECT, f"afzaal:{c.source_image}")


def disease_of(file: str) -> str:
    """The disease of an afzaal crop from its path (``…/afzaal-2021-defects/<disease>/…``)."""
    return Path(file).parent.name


def diseases(recs: list[Record]) -> np.ndarray:
    """Per record: the afzaal disease, or "" for the other sets' photos."""
    return np.array([disease_of(r.file) if r.source == AFZAAL else "" for r in recs])
