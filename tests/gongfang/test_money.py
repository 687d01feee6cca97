"""The rounding rule of DESIGN.md, checked on literal edges and by property (no floats)."""

from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongfang.money import (
    amount_fen,
    fen_to_yuan_str,
    grams_to_jin_str,
    grams_to_kg_str,
    round_half_up,
    unit_price_fen_per_kg,
    with_premium,
)


@pytest.mark.parametrize(
    ("net_g", "unit", "expected"),
    [
        (1234, 1235, 1524),  # 1,523.99 → 1,524
        (1500, 333, 500),  # 499.5 → 500 (half up)
        (1000, 1440, 1440),
        (1, 499, 0),  # 0.499 → 0
        (1, 500, 1),  # 0.5 → 1
        (3, 1500, 5),  # 4.5 → 5
        (0, 9999, 0),
        (2_000_000, 12_345, 24_690_000),
    ],
)
def test_amount_fen_edges(net_g: int, unit: int, expected: int) -> None:
    assert amount_fen(net_g, unit) == expected


def test_amount_refuses_floats() -> None:
    with pytest.raises(TypeError):
        amount_fen(1000.0, 100)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        amount_fen(1000, True)
    with pytest.raises(TypeError):
        unit_price_fen_per_kg(14.4)  # type: ignore[arg-type]


@given(st.integers(0, 10**7), st.integers(0, 10**6))
def test_amount_is_nearest_with_halves_up(net_g: int, unit: int) -> None:
    exact = Fraction(net_g * unit, 1000)
    got = amount_fen(net_g, unit)
    assert isinstance(got, int)
    assert exact - Fraction(1, 2) < got <= exact + Fraction(1, 2)
    # A half always goes up, never down.
    if exact - int(exact) == Fraction(1, 2):
        assert got == int(exact) + 1


@given(st.integers(-(10**9), 10**9), st.integers(1, 10**6))
def test_round_half_up_matches_decimal(num: int, den: int) -> None:
    from decimal import ROUND_HALF_UP, localcontext

    with localcontext() as ctx:
        ctx.prec = 50
        # Decimal's ROUND_HALF_UP is half away from zero; ours is half towards +∞.
        expected_pos = (Decimal(abs(num)) / Decimal(den)).quantize(Decimal(1), ROUND_HALF_UP)
    got = round_half_up(Fraction(num, den))
    if num >= 0:
        assert got == int(expected_pos)
    else:
        assert abs(got - Fraction(num, den)) <= Fraction(1, 2)


@given(st.integers(1, 100_000), st.decimals(min_value=0, max_value=100, places=2))
def test_premium_rounds_the_exact_product(market: int, pct: Decimal) -> None:
    exact = Fraction(market) * (1 + Fraction(pct) / 100)
    got = with_premium(market, pct)
    assert exact - Fraction(1, 2) < got <= exact + Fraction(1, 2)


def test_premium_examples() -> None:
    assert with_premium(1200, Decimal("20")) == 1440
    assert with_premium(1001, Decimal("25")) == 1251  # 1251.25
    assert with_premium(1002, Decimal("25")) == 1253  # 1252.5 → 1253


def test_formatting() -> None:
    assert fen_to_yuan_str(1440) == "14.40"
    assert fen_to_yuan_str(-5) == "-0.05"
    assert grams_to_kg_str(1234) == "1.23"
    assert grams_to_kg_str(1235) == "1.24"
    assert grams_to_jin_str(1500) == "3.00"
