"""Temperature kinetics: daily MKT of raw samples; the MKT, the Q10 shelf-life table and
the shelf life used live in :mod:`gongfang.kinetics` (the server computes them too).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from gongfang.kinetics import (
    DH_OVER_R_K,
    KELVIN,
    SHELF_LIFE_TABLE,
    mean_kinetic_temperature,
    relative_shelf_life,
    shelf_life_used_h,
)

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


def daily_mkt(samples: Iterable[tuple[int, float]]) -> dict[date, float]:
    """MKT per Asia/Shanghai calendar day of ``(ts_ms, temp_c)`` samples."""
    by_day: dict[date, list[float]] = defaultdict(list)
    for ts_ms, temp in samples:
        day = datetime.fromtimestamp(ts_ms / 1000, UTC).astimezone(SHANGHAI).date()
        by_day[day].append(temp)
    return {day: mean_kinetic_temperature(temps) for day, temps in sorted(by_day.items())}
