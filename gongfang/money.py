"""Money and weight arithmetic: integer fen, integer grams, the rounding rule of DESIGN.md.

Rounding is normative: a unit price is rounded half-up to whole fen/kg; a lot's amount is
``round_half_up(net_g × unit_fen_per_kg / 1000)`` fen; every total is the sum of rounded
lot amounts. Everything here is exact integer or :class:`fractions.Fraction` arithmetic:
no float ever touches money.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

GRAMS_PER_KG = 1000
GRAMS_PER_JIN = 500


def round_half_up(value: Fraction | int) -> int:
    """Round an exact rational to the nearest integer, halves towards +∞.

    Amounts and prices in this system are never negative; for a negative value the rule
    still rounds a half upwards (−2.5 → −2), which keeps the function monotonic.
    """
    frac = Fraction(value)
    # floor(x + 1/2) is half-up for every rational x.
    return (frac.numerator * 2 + frac.denominator) // (frac.denominator * 2)


def amount_fen(net_g: int, unit_fen_per_kg: int) -> int:
    """Amount of a lot (or lot part) in fen: ``round_half_up(net_g × unit / 1000)``."""
    _require_int("net_g", net_g)
    _require_int("unit_fen_per_kg", unit_fen_per_kg)
    return round_half_up(Fraction(net_g * unit_fen_per_kg, GRAMS_PER_KG))


def unit_price_fen_per_kg(value: Fraction | Decimal | int) -> int:
    """Round an exact unit price (fen/kg) half-up to whole fen/kg."""
    if isinstance(value, float):  # guard: a float would already have lost exactness
        raise TypeError("unit price must be exact (int, Fraction or Decimal), not float")
    return round_half_up(Fraction(value))


def with_premium(market_fen_per_kg: int, premium_pct: Decimal | Fraction | int) -> int:
    """Market price × (1 + premium_pct / 100), rounded half-up to whole fen/kg."""
    _require_int("market_fen_per_kg", market_fen_per_kg)
    if isinstance(premium_pct, float):
        raise TypeError("premium_pct must be exact (Decimal, Fraction or int), not float")
    return unit_price_fen_per_kg(Fraction(market_fen_per_kg) * (1 + Fraction(premium_pct) / 100))


def fen_to_yuan_str(fen: int) -> str:
    """Format fen as yuan with two decimals: 1440 → ``"14.40"``, −5 → ``"-0.05"``."""
    _require_int("fen", fen)
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"


def fen_per_kg_to_fen_per_jin(fen_per_kg: int) -> int:
    """Price per 斤 (500 g), half-up, for station displays."""
    return round_half_up(Fraction(fen_per_kg * GRAMS_PER_JIN, GRAMS_PER_KG))


def grams_to_kg_str(grams: int, decimals: int = 2) -> str:
    """Format grams as kilograms with ``decimals`` places, rounded half-up: 1234 → ``"1.23"``."""
    return _scaled_str(grams, GRAMS_PER_KG, decimals)


def grams_to_jin_str(grams: int, decimals: int = 2) -> str:
    """Format grams as 斤 (500 g) with ``decimals`` places, rounded half-up."""
    return _scaled_str(grams, GRAMS_PER_JIN, decimals)


def _scaled_str(value: int, unit: int, decimals: int) -> str:
    _require_int("value", value)
    scale = 10**decimals
    scaled = round_half_up(Fraction(abs(value) * scale, unit))
    whole, part = divmod(scaled, scale)
    sign = "-" if value < 0 and scaled else ""
    return f"{sign}{whole}.{part:0{decimals}d}" if decimals else f"{sign}{whole}"


def _require_int(name: str, value: object) -> None:
    # bool is an int subclass; a True weight is always a bug.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
