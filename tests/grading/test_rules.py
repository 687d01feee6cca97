"""DESIGN.md's grade tables and lot tolerances, at every boundary."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.grading import rules
from gongfang.wire import Grade

E, I, II, R = Grade.EXTRA, Grade.CLASS_I, Grade.CLASS_II, Grade.REJECT  # noqa: E741


@pytest.mark.parametrize(
    ("label", "white", "diam", "want"),
    [
        ("ripe", 0.0, 30.0, E),
        ("ripe", 0.02, 25.0, E),  # both limits inclusive
        ("ripe", 0.0201, 25.0, I),
        ("ripe", 0.02, 24.9, I),
        ("ripe", 0.1, 18.0, I),
        ("ripe", 0.1001, 18.0, II),
        ("ripe", 0.1, 17.9, R),
        ("turning", 0.0, 40.0, I),  # turning is never extra
        ("turning", 0.1, 18.0, I),
        ("turning", 0.1001, 30.0, II),
        ("unripe", 0.0, 30.0, II),  # class_ii does not ask for a ripeness label
        ("unripe", 0.2, 18.0, II),
        ("unripe", 0.2001, 18.0, R),
        ("ripe", 0.2001, 40.0, R),
        ("defect", 0.0, 40.0, R),  # any defect rejects
        ("ripe", 0.0, None, E),  # no marker: size unknown, other criteria decide
        ("turning", 0.05, None, I),
        ("unripe", 0.15, None, II),
        ("defect", 0.0, None, R),
        ("ripe", float("nan"), 30.0, R),
    ],
)
def test_strawberry_fruit(label: str, white: float, diam: float | None, want: Grade) -> None:
    got = rules.strawberry_fruit_grade(label=label, white_fraction=white, diameter_mm=diam)
    assert got is want


def _lot(extra: int = 0, i: int = 0, ii: int = 0, r: int = 0) -> list[Grade]:
    return [E] * extra + [I] * i + [II] * ii + [R] * r


@pytest.mark.parametrize(
    ("grades", "defects", "want"),
    [
        (_lot(extra=20), 0, E),
        (_lot(extra=19, i=1), 0, E),  # 95 % extra, rest class_i
        (_lot(extra=18, i=2), 0, I),  # 90 % < 95 %
        (_lot(extra=19, ii=1), 0, I),  # rest must be class_i for extra
        (_lot(extra=19, r=1), 0, II),  # a reject spoils extra and class_i
        (_lot(extra=19, r=1), 1, R),  # 1 defect of 20 = 5 % > 2 %
        (_lot(i=9, ii=1), 0, I),  # 90 % class_i or better
        (_lot(extra=5, i=4, ii=1), 0, I),
        (_lot(i=8, ii=2), 0, II),
        (_lot(i=9, r=1), 0, II),  # rest must be class_ii for class_i
        (_lot(ii=45, r=5), 0, II),  # 90 % class_ii or better
        (_lot(ii=45, r=5), 1, II),  # 1 of 50 = 2 % defects allowed
        (_lot(ii=45, r=5), 2, R),  # 4 % defects
        (_lot(ii=8, r=2), 0, R),
        (_lot(ii=179, r=21), 0, R),  # 89.5 %
        ([], 0, None),
    ],
)
def test_strawberry_lot(grades: list[Grade], defects: int, want: Grade | None) -> None:
    assert rules.strawberry_lot_grade(grades, defects=defects) == want


@pytest.mark.parametrize(
    ("kw", "want"),
    [
        ({}, E),
        ({"length_mm": 379.9}, I),
        ({"width_mm": 89.9}, I),
        ({"spot_pct": 1.0, "yellow_pct": 1.0}, E),  # spots + yellowing together ≤ 2 %
        ({"spot_pct": 1.0, "yellow_pct": 1.01}, I),
        ({"length_mm": 320.0, "width_mm": 75.0, "spot_pct": 5.0}, I),
        ({"length_mm": 319.9}, II),
        ({"width_mm": 74.9}, II),
        ({"yellow_pct": 5.01}, II),
        ({"hole_areas_mm2": [20.0]}, II),  # one small hole: class_ii at best
        ({"hole_areas_mm2": [20.1]}, R),
        ({"hole_areas_mm2": [3.0, 3.0]}, R),
        ({"tears": 1}, R),
        ({"length_mm": 250.0, "width_mm": 60.0, "spot_pct": 10.0}, II),
        ({"length_mm": 249.9}, R),
        ({"width_mm": 59.9}, R),
        ({"spot_pct": 10.01}, R),
        ({"length_mm": None, "width_mm": None}, E),  # no marker: size criteria skipped
        ({"length_mm": None, "width_mm": None, "hole_areas_mm2": [None]}, II),
        ({"length_mm": None, "width_mm": None, "hole_areas_mm2": [None, None]}, R),
    ],
)
def test_leaf(kw: dict[str, object], want: Grade) -> None:
    args: dict[str, object] = {
        "length_mm": 400.0,
        "width_mm": 100.0,
        "hole_areas_mm2": [],
        "tears": 0,
        "spot_pct": 0.0,
        "yellow_pct": 0.0,
    }
    args.update(kw)
    assert rules.leaf_grade(**args) is want  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("grades", "want"),
    [
        (_lot(extra=9, i=1), E),  # leaves: 10 % one class lower at every grade
        (_lot(extra=8, i=2), I),
        (_lot(i=9, ii=1), I),
        (_lot(i=9, r=1), II),
        (_lot(ii=9, r=1), II),
        (_lot(ii=8, r=2), R),
        ([], None),
    ],
)
def test_leaf_lot(grades: list[Grade], want: Grade | None) -> None:
    assert rules.leaf_lot_grade(grades) == want


@given(st.lists(st.sampled_from(list(Grade)), min_size=1, max_size=60), st.integers(0, 3))
def test_lot_never_better_than_its_best_share(grades: list[Grade], defects: int) -> None:
    """The lot grade is one every sampled share supports: ≥ 90 % of items reach it."""
    got = rules.strawberry_lot_grade(grades, defects=min(defects, len(grades)))
    assert got is not None
    rank = rules.ORDER.index(got)
    if got is not R:
        at_least = sum(1 for g in grades if rules.ORDER.index(g) <= rank)
        assert 100 * at_least >= 90 * len(grades)
    if all(g is E for g in grades):
        assert got is E
