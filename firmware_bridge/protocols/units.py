"""Weight units a scale may report, converted exactly to integer grams."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from gongfang.money import round_half_up

#: Grams per unit, exact (the pound is 453.59237 g by definition, the ounce 1/16 lb).
GRAMS_PER_UNIT: dict[str, Fraction] = {
    "g": Fraction(1),
    "kg": Fraction(1000),
    "mg": Fraction(1, 1000),
    "t": Fraction(1_000_000),
    "lb": Fraction("453.59237"),
    "oz": Fraction("453.59237") / 16,
    "jin": Fraction(500),
    "斤": Fraction(500),
}


def to_grams(weight: Decimal, unit: str) -> int | None:
    """``weight`` in ``unit`` as integer grams, rounded half-up; ``None`` for an unknown unit."""
    factor = GRAMS_PER_UNIT.get(unit.strip().lower()) or GRAMS_PER_UNIT.get(unit.strip())
    if factor is None:
        return None
    return round_half_up(Fraction(weight) * factor)
