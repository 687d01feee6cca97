"""Grade tables and lot tolerances of DESIGN.md "Grading": pure functions over plain values.

Measured values are graded as reported (callers round them first), so a printed result
always agrees with its grade. ``None`` for a size means "unknown" (no marker in the photo):
the size criteria are then skipped and the caller flags the result.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from gongfang.wire import Grade

ORDER: tuple[Grade, ...] = (Grade.EXTRA, Grade.CLASS_I, Grade.CLASS_II, Grade.REJECT)
_RANK = {g: i for i, g in enumerate(ORDER)}

# strawberry per fruit (UNECE FFV-35 / NY/T 1789 / USDA §51.3115, as DESIGN.md states them)
STRAWBERRY_EXTRA_WHITE = Fraction(2, 100)
STRAWBERRY_CLASS_I_WHITE = Fraction(1, 10)
STRAWBERRY_CLASS_II_WHITE = Fraction(1, 5)
STRAWBERRY_EXTRA_MIN_MM = 25
STRAWBERRY_MIN_MM = 18
# above this lesion_pct (rot or mould, % of the fruit's surface, edge.grading.lesion) a
# fruit is ``defect`` whatever the classifier says; chosen on training photos only by
# ``python -m models.strawberry.lesion_threshold`` (its reasoning: models/strawberry/LESION.md)
STRAWBERRY_LESION_DEFECT_PCT = 15.5


def _le(x: float, limit: Fraction) -> bool:
    """x ≤ limit, x taken as the decimal it prints as (the float 0.02 is not exactly 2/100)."""
    if x != x:  # NaN is never within a limit
        return False
    f = float(limit)
    if abs(x - f) > 1e-9:  # clear of the limit: plain floats decide (fast path)
        return x < f
    return Fraction(repr(float(x))) <= limit


def strawberry_label(model_label: str, lesion_pct: float) -> str:
    """The fruit's label: the classifier's, or ``defect`` when the measured lesion share
    is above :data:`STRAWBERRY_LESION_DEFECT_PCT` (rot the model did not see)."""
    return "defect" if lesion_pct > STRAWBERRY_LESION_DEFECT_PCT else model_label


def strawberry_fruit_grade(
    *, label: str, white_fraction: float, diameter_mm: float | None, lesion_pct: float = 0.0
) -> Grade:
    """One fruit's grade from the model label, white fraction (0..1), diameter and lesion
    share (0..100; above the threshold the fruit is a defect)."""
    if strawberry_label(label, lesion_pct) == "defect":
        return Grade.REJECT

    def size_ok(minimum: float) -> bool:
        return diameter_mm is None or diameter_mm >= minimum

    w = float(white_fraction)
    if label == "ripe" and _le(w, STRAWBERRY_EXTRA_WHITE) and size_ok(STRAWBERRY_EXTRA_MIN_MM):
        return Grade.EXTRA
    if (
        label in ("ripe", "turning")
        and _le(w, STRAWBERRY_CLASS_I_WHITE)
        and size_ok(STRAWBERRY_MIN_MM)
    ):
        return Grade.CLASS_I
    if _le(w, STRAWBERRY_CLASS_II_WHITE) and size_ok(STRAWBERRY_MIN_MM):
        return Grade.CLASS_II
    return Grade.REJECT


@dataclass(frozen=True)
class LeafTable:
    """One row per grade of DESIGN.md's 箬叶 table (a buyer's contract may carry its own)."""

    min_length_mm: float
    min_width_mm: float
    max_holes: int
    max_hole_mm2: float
    tears_allowed: bool
    max_spot_yellow_pct: float


LEAF_TABLE: dict[Grade, LeafTable] = {
    Grade.EXTRA: LeafTable(380, 90, 0, 0, False, 2),
    Grade.CLASS_I: LeafTable(320, 75, 0, 0, False, 5),
    Grade.CLASS_II: LeafTable(250, 60, 1, 20, False, 10),
}


def leaf_grade(
    *,
    length_mm: float | None,
    width_mm: float | None,
    hole_areas_mm2: Sequence[float | None],
    tears: int,
    spot_pct: float,
    yellow_pct: float,
    table: dict[Grade, LeafTable] | None = None,
) -> Grade:
    """One leaf's grade. A hole of unknown area (no marker) is judged by the count alone."""
    rows = LEAF_TABLE if table is None else table
    spots = spot_pct + yellow_pct
    for grade in (Grade.EXTRA, Grade.CLASS_I, Grade.CLASS_II):
        row = rows[grade]
        if length_mm is not None and length_mm < row.min_length_mm:
            continue
        if width_mm is not None and width_mm < row.min_width_mm:
            continue
        if len(hole_areas_mm2) > row.max_holes:
            continue
        if any(a is not None and a > row.max_hole_mm2 for a in hole_areas_mm2):
            continue
        if tears > 0 and not row.tears_allowed:
            continue
        if spots > row.max_spot_yellow_pct:
            continue
        return grade
    return Grade.REJECT


def _share_at_least(count: int, total: int, pct: int) -> bool:
    """count / total ≥ pct % in integers."""
    return 100 * count >= pct * total


def lot_grade(
    grades: Iterable[Grade],
    *,
    extra_pct: int,
    lower_pct: int,
    defects: int = 0,
    max_defect_pct: int | None = None,
) -> Grade | None:
    """A lot's grade from its sampled items by the tolerance rule; ``None`` for no items.

    - extra if ≥ ``extra_pct`` % are extra and the rest class_i;
    - class_i if ≥ ``lower_pct`` % are class_i or better and the rest class_ii;
    - class_ii if ≥ ``lower_pct`` % are class_ii or better (and, when ``max_defect_pct``
      is given, at most that share are defects);
    - else reject.
    """
    gs = list(grades)
    n = len(gs)
    if n == 0:
        return None
    worst = max(_RANK[g] for g in gs)
    at_most = [sum(1 for g in gs if _RANK[g] <= r) for r in range(4)]
    if _share_at_least(at_most[0], n, extra_pct) and worst <= _RANK[Grade.CLASS_I]:
        return Grade.EXTRA
    if _share_at_least(at_most[1], n, lower_pct) and worst <= _RANK[Grade.CLASS_II]:
        return Grade.CLASS_I
    defect_ok = max_defect_pct is None or 100 * defects <= max_defect_pct * n
    if _share_at_least(at_most[2], n, lower_pct) and defect_ok:
        return Grade.CLASS_II
    return Grade.REJECT


def strawberry_lot_grade(grades: Iterable[Grade], *, defects: int) -> Grade | None:
    """UNECE tolerances: extra 95 %, then 90 % one class lower; class_ii ≤ 2 % defects."""
    return lot_grade(grades, extra_pct=95, lower_pct=90, defects=defects, max_defect_pct=2)


def leaf_lot_grade(grades: Iterable[Grade]) -> Grade | None:
    """箬叶 bag or bundle: the same rule with 10 % one class lower at every grade."""
    return lot_grade(grades, extra_pct=90, lower_pct=90)
