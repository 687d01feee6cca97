"""The renderers the simulator reuses: deterministic per seed, truth consistent, JPEG out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models.render.common import RenderedPhoto
from models.render.ruoye import LeafTruth, render_leaf_photo
from models.render.strawberry import FruitTruth, render_single_fruit, render_table_photo


def test_same_seed_same_photo() -> None:
    a = render_table_photo(np.random.default_rng(42), table="steel")
    b = render_table_photo(np.random.default_rng(42), table="steel")
    assert np.array_equal(a.image_bgr, b.image_bgr)
    assert a.items == b.items
    c = render_table_photo(np.random.default_rng(43), table="steel")
    assert not np.array_equal(a.image_bgr, c.image_bgr)


def test_photo_contracts() -> None:
    photo = render_table_photo(np.random.default_rng(1), n_fruit=6, table="wood", n_edge=1)
    assert isinstance(photo, RenderedPhoto)
    assert photo.image_bgr.shape == (960, 1280, 3)
    assert photo.image_bgr.dtype == np.uint8
    assert all(isinstance(t, FruitTruth) for t in photo.items)
    assert 0.2 < photo.mm_per_px < 0.31
    jpg = photo.jpeg(80)
    assert jpg[:2] == b"\xff\xd8"
    back = cv2.imdecode(np.frombuffer(jpg, np.uint8), cv2.IMREAD_COLOR)
    assert back is not None
    assert back.shape == photo.image_bgr.shape
    with pytest.raises(AttributeError):
        photo.mm_per_px = 1.0  # type: ignore[misc]
    single = render_single_fruit(np.random.default_rng(2), label="turning")
    assert single.image_bgr.shape == (96, 96, 3)
    assert single.items[0].label == "turning"
    assert 0.0 < single.items[0].white_fraction < 1.0
    leaves = render_leaf_photo(np.random.default_rng(3), n_leaves=3)
    assert all(isinstance(t, LeafTruth) for t in leaves.items)
    for t in leaves.items:
        assert 200 <= t.length_mm <= 460
        assert 40 <= t.width_mm <= 108
    assert set(leaves.extra) == {"leaf", "spot", "yellow", "hole"}
    with pytest.raises(ValueError, match="unknown table"):
        render_table_photo(np.random.default_rng(0), table="marble")
