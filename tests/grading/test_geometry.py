"""Acceptance 2: sizes on rendered photos with known geometry, marker in view.

Random rotations, uneven light, three table types, JPEG noise; objects cut by the frame
edge must be skipped. Fruit diameter within ±1 mm; leaf length and width within ±2 mm.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from edge.grading.marker import find_marker
from edge.grading.ruoye import scan_leaves
from edge.grading.strawberry import scan
from models.render.ruoye import render_leaf_photo
from models.render.strawberry import render_table_photo
from tests.grading.conftest import decoded, match

TABLES = ("white", "wood", "steel")


def _marker(img: np.ndarray):  # noqa: ANN202 - test helper
    m = find_marker(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
    assert m is not None
    return m


@pytest.mark.parametrize("table", TABLES)
def test_fruit_diameter_within_1mm(table: str) -> None:
    errors, whites = [], []
    for seed in range(4):
        photo = render_table_photo(
            np.random.default_rng(1000 + seed), table=table, n_fruit=6, n_edge=1
        )
        img = decoded(photo.jpeg(85))
        m = _marker(img)
        assert m.mm_per_px == pytest.approx(photo.mm_per_px, rel=2e-3)
        found = scan(img, m)
        inside = [t for t in photo.items if not t.touches_edge]
        # the fruit cut by the frame edge were seen and skipped
        assert found.excluded_edge <= sum(t.touches_edge for t in photo.items)
        assert found.excluded_marker == 0
        for f, t in match(found.fruit, inside):
            errors.append(f.diameter_px * m.mm_per_px - t.diameter_mm)
            whites.append(f.white_fraction - t.white_fraction)
    err = np.abs(errors)
    print(f"{table}: n={len(err)} max={err.max():.3f} mm mean={np.mean(errors):+.3f} mm")
    assert len(err) >= 20
    assert err.max() <= 1.0
    assert np.abs(whites).max() <= 0.08


def test_touching_fruit_are_split() -> None:
    """Two fruit body to body count as two; their diameters stay close (looser: ±1.5 mm)."""
    errors = []
    for seed in range(4):
        photo = render_table_photo(
            np.random.default_rng(2000 + seed), table=TABLES[seed % 3], n_fruit=4, touching=True
        )
        img = decoded(photo.jpeg(85))
        m = _marker(img)
        found = scan(img, m)
        for f, t in match(found.fruit, photo.items):
            errors.append(f.diameter_px * m.mm_per_px - t.diameter_mm)
    assert np.abs(errors).max() <= 1.5


@pytest.mark.parametrize("table", TABLES)
def test_leaf_size_and_defects(table: str) -> None:
    len_err, wid_err = [], []
    for seed in range(3):
        photo = render_leaf_photo(np.random.default_rng(3000 + seed), table=table, n_edge=1)
        img = decoded(photo.jpeg(85))
        m = _marker(img)
        found = scan_leaves(img, m)
        inside = [t for t in photo.items if not t.touches_edge]
        for f, t in match(found.leaves, inside, tol_px=40):
            len_err.append(f.length_px * m.mm_per_px - t.length_mm)
            wid_err.append(f.width_px * m.mm_per_px - t.width_mm)
            assert f.tears == t.tears
            assert len(f.holes) == len(t.holes_mm2)
            for (area, _), want in zip(sorted(f.holes), sorted(t.holes_mm2), strict=True):
                assert area * m.mm_per_px**2 == pytest.approx(want, rel=0.25, abs=2.0)
            assert f.spot_pct == pytest.approx(t.spot_pct, abs=1.0)
            assert f.yellow_pct == pytest.approx(t.yellow_pct, abs=1.0)
    le, we = np.abs(len_err), np.abs(wid_err)
    print(f"{table}: n={len(le)} length max={le.max():.2f} mm, width max={we.max():.2f} mm")
    assert len(le) >= 5
    assert le.max() <= 2.0
    assert we.max() <= 2.0


@pytest.mark.parametrize("kind", ["hole", "tear", "spot", "yellow"])
def test_leaf_defects_of_each_kind(kind: str) -> None:
    photo = render_leaf_photo(np.random.default_rng(4000), table="white", kinds=[kind])
    img = decoded(photo.jpeg(90))
    found = scan_leaves(img, _marker(img))
    for f, t in match(found.leaves, photo.items, tol_px=40):
        assert f.tears == t.tears
        assert len(f.holes) == len(t.holes_mm2)
        assert f.spot_pct == pytest.approx(t.spot_pct, abs=1.0)
        assert f.yellow_pct == pytest.approx(t.yellow_pct, abs=1.0)
