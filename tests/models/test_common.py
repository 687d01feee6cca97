"""Preprocessing and metrics shared by training, evaluation and run time."""

from __future__ import annotations

import numpy as np
import pytest

from models.common import metrics
from models.common.preprocess import normalise, pad_to_square, square_resize, to_input


def test_pad_to_square_replicates_edges_centred() -> None:
    img = np.zeros((4, 8, 3), np.uint8)
    img[0] = 10
    img[-1] = 200
    sq = pad_to_square(img)
    assert sq.shape == (8, 8, 3)
    assert (sq[:2] == 10).all()
    assert (sq[-2:] == 200).all()
    assert pad_to_square(sq) is sq
    tall = pad_to_square(np.zeros((9, 4, 3), np.uint8))
    assert tall.shape == (9, 9, 3)


def test_square_resize_and_normalise() -> None:
    img = np.full((63, 66, 3), 255, np.uint8)
    assert square_resize(img, 64).shape == (64, 64, 3)
    assert square_resize(np.zeros((20, 30, 3), np.uint8), 64).shape == (64, 64, 3)
    x = normalise(np.full((2, 4, 4, 3), 255, np.uint8), [0.5, 0.5, 0.5], [0.25, 0.25, 0.25])
    assert x.shape == (2, 3, 4, 4)
    assert x.dtype == np.float32
    np.testing.assert_allclose(x, 2.0)
    assert to_input([], 64, [0, 0, 0], [1, 1, 1]).shape == (0, 3, 64, 64)


def test_metrics() -> None:
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([0, 1, 1, 1, 2, 0])
    cm = metrics.confusion(y, p, 3)
    assert cm.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert metrics.balanced_accuracy(cm, [0, 1, 2]) == pytest.approx((0.5 + 1 + 0.5) / 3)
    assert metrics.recall_precision(cm, 1) == pytest.approx((1.0, 2 / 3))
    s = metrics.summary(cm, ["a", "b", "c"], [0, 2])
    assert s["balanced_accuracy"] == 0.5
    assert s["per_class"]["c"]["support"] == 2
