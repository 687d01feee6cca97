"""The afzaal diseased crops in training: folds by source photo, draw share, calibration term,
strong colour jitter. (Training itself never runs in the test suite.)"""

from __future__ import annotations

import numpy as np

from models.strawberry.afzaal import AFZAAL_DIR, load_crops, split_crops
from models.strawberry.afzaal_pool import afzaal_folds, disease_of, diseases
from models.strawberry.arrays import Arrays, draw_plan
from models.strawberry.augment import WORK, augment
from models.strawberry.calibrate import calibrate
from models.strawberry.dataset import AFZAAL, BRIX, RISEHOLME, Record
from tests.photo_data import require_photos


def test_afzaal_folds_keep_each_source_photo_in_one_fold() -> None:
    data = require_photos(f"{AFZAAL_DIR}/labels.csv")
    folds = afzaal_folds(data, 3, seed=1)
    train = split_crops(load_crops(data))["train"]
    assert sorted(r.file for f in folds for r in f) == sorted(c.file for c in train)
    owner = {r.group: k for k, f in enumerate(folds) for r in f}
    assert all(owner[r.group] == k for k, f in enumerate(folds) for r in f)
    assert all(r.source == AFZAAL and r.label == 3 for f in folds for r in f)
    for f in folds:  # every disease in every fold
        assert {disease_of(r.file) for r in f} == {c.disease for c in train}


def test_draw_plan_gives_the_afzaal_stratum_its_share() -> None:
    labels = np.array([0] * 800 + [3] * 100 + [3] * 100)
    sources = np.array([RISEHOLME] * 900 + [AFZAAL] * 100)
    arr = Arrays(np.zeros((1000, 1, 1, 3), np.uint8), labels, sources, [None] * 1000)
    plan = draw_plan(arr, 20000, np.random.default_rng(0), 0.2, afzaal_share=0.2)
    assert abs((sources[plan] == AFZAAL).mean() - 0.2 / (0.17 + 0.2 + 0.2)) < 0.02
    assert not (sources[draw_plan(arr, 2000, np.random.default_rng(0), 0.2)] == AFZAAL).any()


def test_calibration_sees_the_afzaal_defects() -> None:
    """Under-called afzaal defects raise the defect offset; the other sets' terms unchanged."""
    rng = np.random.default_rng(0)
    y = np.repeat([0, 2, 3, 0, 1, 2, 3], 30)
    src = np.array([RISEHOLME] * 90 + [BRIX] * 90 + [AFZAAL] * 30)
    logits = np.eye(4)[y] * 2 + rng.normal(0, 0.3, (210, 4))
    logits[180:, 3] -= 2.2  # the new source's defects look healthy to the nets
    logits[180:, 2] += 1.0
    dis = np.array([""] * 180 + ["gray_mold"] * 15 + ["powdery_mildew_fruit"] * 15)
    without, _ = calibrate(logits[:180], y[:180], src[:180], step=0.5)
    with_afz, obj = calibrate(logits, y, src, step=0.5, disease=dis)
    assert with_afz[3] > without[3]
    assert ((logits[180:] + with_afz).argmax(1) == 3).mean() >= 0.9
    assert obj > 2.5


def test_strong_colour_jitter_varies_views_and_keeps_the_default_draws() -> None:
    img = np.full((WORK, WORK, 3), (180, 40, 50), np.uint8)
    donor = np.full((WORK, WORK, 3), (40, 120, 40), np.uint8)

    def views(p_strong: float | None) -> list[np.ndarray]:
        rng = np.random.default_rng(3)
        if p_strong is None:  # the call of a recipe without the switch
            return [augment(img, None, donor, 64, rng, 0.4) for _ in range(6)]
        return [augment(img, None, donor, 64, rng, 0.4, p_strong) for _ in range(6)]

    plain = views(0.0)
    assert all(np.array_equal(a, b) for a, b in zip(plain, views(None), strict=True))
    strong = views(1.0)
    assert all(v.shape == (64, 64, 3) and v.dtype == np.uint8 for v in strong)
    spread = np.std([v.reshape(-1, 3).mean(0) for v in strong], axis=0)
    assert spread.max() > np.std([v.reshape(-1, 3).mean(0) for v in plain], axis=0).max()


def test_diseases_names_the_afzaal_rows_only() -> None:
    recs = [
        Record(f"{AFZAAL_DIR}/gray_mold/gray_mold1_0.png", AFZAAL, 3, "afzaal:gray_mold1"),
        Record("strawberry/riseholme-2021/ripe/1.png", RISEHOLME, 2, "rh:ripe/1"),
    ]
    assert list(diseases(recs)) == ["gray_mold", ""]


def test_card_of_an_afzaal_model_has_its_sections() -> None:
    """A model trained with the afzaal crops gets their data, split, recipe, test and
    issue 20 status on its card (the shipped 1.4.0 is one); a model without them renders
    without them."""
    import json

    from models import paths
    from models.strawberry.card import render

    meta = json.loads((paths.model_dir("strawberry") / "metadata.json").read_text())
    assert "## Status against issue 20" in render(meta, [])
    for key in ("afzaal_split", "test_metrics_afzaal"):
        meta.pop(key, None)
    meta["recipe"] |= {"afzaal_share": 0.0, "strong_colour": 0.0}
    for key in ("oof_afzaal", "oof_afzaal_on_tables", "oof_afzaal_no_offsets",
                "oof_brix_called_defect"):
        meta["training"].pop(key, None)
    assert "afzaal" not in render(meta, []).split("## What was tried")[0]
    recall = {
        "recall": 0.9,
        "n": 69,
        "per_disease": {"gray_mold": {"recall": 0.9, "n": 32}},
    }
    meta["recipe"] |= {"afzaal_share": 0.12, "strong_colour": 0.5}
    meta["training"] |= {
        "oof_afzaal": recall,
        "oof_afzaal_on_tables": recall,
        "oof_afzaal_no_offsets": recall,
        "oof_brix_called_defect": 0.01,
    }
    meta["afzaal_split"] = {
        "rule": "by source photo",
        "counts": {"train": {"gray_mold": 78}, "test": {"gray_mold": 32}},
        "photos": {"train": 50, "test": 20},
    }
    meta["test_metrics_afzaal"] = recall
    text = render(meta, [])
    for part in (
        "**afzaal-2021-defects**",
        "| test (20 photos) | gray mould 32 |",
        "drawn as `defect` with share",
        "gray mould 0.90 of 32",
        "## Status against issue 20",
    ):
        assert part in text, part
