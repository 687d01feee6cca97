"""Display formats for weights, money and times: exact integers in, strings out.

Weights are integer grams, shown in kg and 斤 (500 g); money is integer fen, shown in 元;
unit prices are fen/kg, shown per kg and per 斤. Decimal arithmetic only: no float ever
touches an amount. Times are shown in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
GRAMS_PER_JIN = 500


def _fixed(value: Decimal, places: int) -> str:
    q = Decimal(1).scaleb(-places)
    return f"{value.quantize(q, rounding=ROUND_HALF_UP):,}"


def kg(grams: int | None, places: int = 2) -> str:
    """``12,345 g`` → ``"12.35 kg"`` (half-up for display; the stored grams stay exact)."""
    if grams is None:
        return "—"
    return f"{_fixed(Decimal(grams) / 1000, places)} kg"


def jin(grams: int | None, places: int = 2) -> str:
    """``12,345 g`` → ``"24.69 斤"``."""
    if grams is None:
        return "—"
    return f"{_fixed(Decimal(grams) / GRAMS_PER_JIN, places)} 斤"


def yuan(fen: int | None) -> str:
    """``-1250`` → ``"-12.50"`` (thousands separated; the unit is the caller's)."""
    if fen is None:
        return "—"
    return _fixed(Decimal(fen) / 100, 2)


def per_kg(fen_per_kg: int | None) -> str:
    """``1440`` → ``"14.40 元/kg"``."""
    if fen_per_kg is None:
        return "—"
    return f"{yuan(fen_per_kg)} 元/kg"


def per_jin(fen_per_kg: int | None) -> str:
    """``1441`` fen/kg → ``"7.205 元/斤"``: half a kilo's price, shown exactly."""
    if fen_per_kg is None:
        return "—"
    value = Decimal(fen_per_kg) / 200
    places = 2 if fen_per_kg % 2 == 0 else 3
    return f"{_fixed(value, places)} 元/斤"


def _as_datetime(value: int | datetime) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(value / 1000, UTC)


def local_dt(value: int | datetime | None, with_seconds: bool = False) -> str:
    """Epoch ms or an aware datetime → ``"2026-12-01 14:05"`` in Asia/Shanghai."""
    if value is None:
        return "—"
    pattern = "%Y-%m-%d %H:%M:%S" if with_seconds else "%Y-%m-%d %H:%M"
    return _as_datetime(value).astimezone(SHANGHAI).strftime(pattern)


def local_date(value: int | datetime | date | None) -> str:
    """The Asia/Shanghai date, ``"2026-12-01"``."""
    if value is None:
        return "—"
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    return _as_datetime(value).astimezone(SHANGHAI).date().isoformat()


def today_local() -> date:
    """Today's date in Asia/Shanghai."""
    return datetime.now(SHANGHAI).date()
