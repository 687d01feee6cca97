"""The numpy parts of training: table mask, augmentation, sampling plan, calibration.

(Training itself never runs in the test suite.)
"""

from __future__ import annotations

import cv2
import numpy as np

from models.strawberry.augment import WORK, augment, table_mask
from models.strawberry.dataset import BRIX, OCCLUDED, RISEHOLME
from models.strawberry.train import Arrays, calibrate, draw_plan


def _table_fruit() -> tuple[np.ndarray, np.ndarray]:
    img = np.full((WORK, WORK, 3), 235, np.uint8)
    truth = np.zeros((WORK, WORK), np.uint8)
    cv2.ellipse(truth, (40, 42), (20, 26), 15, 0, 360, 1, -1)
    img[truth > 0] = (200, 30, 40)
    img[38:41, 38:41] = (240, 230, 200)  # a pale seed inside the fruit
    return img, truth


def test_table_mask_finds_the_fruit() -> None:
    img, truth = _table_fruit()
    m = table_mask(img) > 0.5
    iou = (m & (truth > 0)).sum() / (m | (truth > 0)).sum()
    assert iou > 0.9
    assert m[39, 39]  # hole filled


def test_augment_views_are_model_sized_and_vary() -> None:
    rng = np.random.default_rng(1)
    img, _ = _table_fruit()
    mask = table_mask(img)
    donor = np.full((WORK, WORK, 3), (40, 120, 40), np.uint8)
    views = [augment(img, mask if i % 2 else None, donor, 64, rng, p_swap=0.5) for i in range(8)]
    for v in views:
        assert v.shape == (64, 64, 3)
        assert v.dtype == np.uint8
    assert len({v.tobytes() for v in views}) == 8


def test_draw_plan_balances_strata() -> None:
    labels = np.array([0] * 900 + [3] * 10 + [OCCLUDED] * 50 + [1] * 40)
    sources = np.array([RISEHOLME] * 960 + [BRIX] * 40)
    arr = Arrays(np.zeros((1000, 1, 1, 3), np.uint8), labels, sources, [None] * 1000)
    plan = draw_plan(arr, 20000, np.random.default_rng(0), defect_share=0.2)
    drawn = labels[plan]
    total = 0.17 + 0.2 + 0.10 + 0.15  # the strata present here
    assert abs((drawn == 3).mean() - 0.2 / total) < 0.02
    assert abs((drawn == 0).mean() - 0.17 / total) < 0.02


def test_calibrate_offsets_undo_a_bias() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 2, 3, 0, 1, 2], 30)
    src = np.array([RISEHOLME] * 90 + [BRIX] * 90)
    logits = np.eye(4)[y] * 2 + rng.normal(0, 0.3, (180, 4))
    logits[:, 3] -= 2.5  # defect under-called
    offsets, obj = calibrate(logits, y, src, step=0.5)
    assert offsets[0] == 0.0
    assert offsets[3] >= 1.0
    assert obj > 1.9
