"""Per-room daily mean kinetic temperature from the synced climate minutes.

Each room's day (Asia/Shanghai) is summarised from its minute means: the MKT
(:func:`gongfang.kinetics.mean_kinetic_temperature`, DESIGN.md "Cold chain"), the lowest
and highest reading, and how many of the day's 1,440 minutes had data.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongfang.kinetics import mean_kinetic_temperature
from server.coldchain.models import ClimateMinute
from server.pricing.service import SHANGHAI, shanghai_day_start

MINUTES_PER_DAY = 1440


@dataclass(frozen=True, slots=True)
class RoomDay:
    station_id: str
    room: str
    day: date
    mkt_c: float
    temp_min_c: float
    temp_max_c: float
    rh_mean_pct: float
    minutes: int

    @property
    def coverage_pct(self) -> int:
        return self.minutes * 100 // MINUTES_PER_DAY


def daily_mkt(
    *, session: Session, station_ids: Sequence[str], first_day: date, last_day: date
) -> list[RoomDay]:
    """Every (station, room, day) with climate data in the range, by station, room, day."""
    if not station_ids:
        return []
    m = ClimateMinute
    stmt = (
        select(m.station_id, m.room, m.minute_start, m.temp_mean_c, m.temp_min_c, m.temp_max_c,
               m.rh_mean_pct)
        .where(
            m.station_id.in_(list(station_ids)),
            m.minute_start >= shanghai_day_start(first_day),
            m.minute_start < shanghai_day_start(last_day + timedelta(days=1)),
        )
        .execution_options(yield_per=5000)
    )  # fmt: skip
    temps: dict[tuple[str, str, date], list[float]] = defaultdict(list)
    lows: dict[tuple[str, str, date], float] = {}
    highs: dict[tuple[str, str, date], float] = {}
    rh: dict[tuple[str, str, date], float] = defaultdict(float)
    for station, room, minute, mean, low, high, rh_mean in session.execute(stmt):
        key = (station, room, minute.astimezone(SHANGHAI).date())
        temps[key].append(mean)
        lows[key] = min(low, lows.get(key, low))
        highs[key] = max(high, highs.get(key, high))
        rh[key] += rh_mean
    return [
        RoomDay(
            station_id=k[0],
            room=k[1],
            day=k[2],
            mkt_c=mean_kinetic_temperature(v),
            temp_min_c=lows[k],
            temp_max_c=highs[k],
            rh_mean_pct=rh[k] / len(v),
            minutes=len(v),
        )
        for k, v in sorted(temps.items())
    ]
