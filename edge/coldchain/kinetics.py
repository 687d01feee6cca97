"""Temperature kinetics: mean kinetic temperature and relative shelf life (DESIGN.md).

The MKT itself lives in :mod:`gongfang.kinetics` (the server computes it too).

MKT: T = (ΔH/R) / −ln(Σ e^(−ΔH/(R·Tᵢ)) / n) in kelvin, with ΔH/R = 10,000 K.
Shelf life relative to 0 °C (Q10 table): 100 / 33 / 13 / 7 / 4 % at 0 / 10 / 20 / 30 / 40 °C,
linearly interpolated and held constant outside 0–40 °C (below 0 °C the produce is not
kept longer by this model; freezing damage is an alarm, not a bonus).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from gongfang.kinetics import DH_OVER_R_K, KELVIN, mean_kinetic_temperature

SHANGHAI = ZoneInfo("Asia/Shanghai")
__all__ = [
    "DH_OVER_R_K",
    "KELVIN",
    "SHELF_LIFE_TABLE",
    "daily_mkt",
    "mean_kinetic_temperature",
    "relative_shelf_life",
    "shelf_life_used_h",
]
#: (°C, shelf life in % of the shelf life at 0 °C)
SHELF_LIFE_TABLE: tuple[tuple[float, float], ...] = (
    (0.0, 100.0),
    (10.0, 33.0),
    (20.0, 13.0),
    (30.0, 7.0),
    (40.0, 4.0),
)


def daily_mkt(samples: Iterable[tuple[int, float]]) -> dict[date, float]:
    """MKT per Asia/Shanghai calendar day of ``(ts_ms, temp_c)`` samples."""
    by_day: dict[date, list[float]] = defaultdict(list)
    for ts_ms, temp in samples:
        day = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(SHANGHAI).date()
        by_day[day].append(temp)
    return {day: mean_kinetic_temperature(temps) for day, temps in sorted(by_day.items())}


def relative_shelf_life(temp_c: float) -> float:
    """Shelf life at ``temp_c`` as a fraction of the shelf life at 0 °C (1.0 … 0.04)."""
    table = SHELF_LIFE_TABLE
    if temp_c <= table[0][0]:
        return table[0][1] / 100
    for (t0, p0), (t1, p1) in zip(table, table[1:], strict=False):
        if temp_c <= t1:
            return (p0 + (p1 - p0) * (temp_c - t0) / (t1 - t0)) / 100
    return table[-1][1] / 100


def shelf_life_used_h(minutes_at: Iterable[tuple[float, float]]) -> float:
    """0 °C-equivalent hours used by ``(minutes, temp_c)`` spells: an hour at 10 °C uses
    1 / 0.33 ≈ 3 hours of the 0 °C shelf life."""
    return math.fsum(m / 60 / relative_shelf_life(t) for m, t in minutes_at)
