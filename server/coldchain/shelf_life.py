"""Remaining shelf life of lots still in a cold room, from the room's synced climate.

A lot's closed stay (sent when it is dispatched) carries the edge's own estimate; a lot
still in its room has none on the server, so it is estimated here the same way (DESIGN,
Q10 table, :func:`gongfang.kinetics.relative_shelf_life`): each minute of the room's
climate since the lot was weighed uses 1 / relative shelf life minutes of the 0 °C shelf
life; a minute without a summary carries the last known mean (the first known one before
any), and a lot with no summary at all since it was weighed has no estimate. The server
does not know the put-away time, so the time before cooling counts at the room's
temperature, as if the lot had gone straight in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongfang.kinetics import SHELF_LIFE_H_AT_0C, relative_shelf_life
from server.coldchain.models import ClimateMinute

MINUTE = timedelta(minutes=1)


def _floor(at: datetime) -> datetime:
    return at.replace(second=0, microsecond=0)


class RoomClock:
    """The 0 °C-equivalent hours one room used, minute by minute from ``start`` to ``end``
    (prefix sums: a lot's share is one subtraction)."""

    def __init__(
        self, start: datetime, end: datetime, minutes: Sequence[tuple[datetime, float]]
    ) -> None:
        self.start = _floor(start)
        n = max(0, int((_floor(end) - self.start) / MINUTE))
        known = {int((_floor(at) - self.start) / MINUTE): t for at, t in minutes}
        known = {i: t for i, t in known.items() if 0 <= i < n}
        carry = known[min(known)] if known else 0.0
        self.used = [0.0] * (n + 1)  # used[i]: hours used in minutes [0, i)
        self.seen = [0] * (n + 1)  # seen[i]: minutes with a summary in [0, i)
        for i in range(n):
            if i in known:
                carry = known[i]
            self.used[i + 1] = self.used[i] + 1 / 60 / relative_shelf_life(carry)
            self.seen[i + 1] = self.seen[i] + (i in known)

    def used_h(self, since: datetime) -> float | None:
        """Hours of 0 °C shelf life used from ``since`` to the end; None without data."""
        n = len(self.used) - 1
        i = min(n, max(0, int((_floor(since) - self.start) / MINUTE)))
        if self.seen[n] == self.seen[i]:
            return None
        return self.used[n] - self.used[i]


def room_clocks(
    *, session: Session, station_id: str, since: dict[str, datetime], now: datetime
) -> dict[str, RoomClock]:
    """One clock per room of the station, from the earliest lot's time in it to ``now``."""
    clocks = {}
    for room, start in since.items():
        rows = session.execute(
            select(ClimateMinute.minute_start, ClimateMinute.temp_mean_c)
            .where(
                ClimateMinute.station_id == station_id,
                ClimateMinute.room == room,
                ClimateMinute.minute_start >= _floor(start),
                ClimateMinute.minute_start < now,
            )
            .order_by(ClimateMinute.minute_start)
        ).all()
        clocks[room] = RoomClock(start, now, [(at, t) for at, t in rows])
    return clocks


def remaining_in_room_h(product: str, used_h: float | None) -> float | None:
    """What is left of the product's 0 °C shelf life after ``used_h`` (never below 0)."""
    base = SHELF_LIFE_H_AT_0C.get(product)
    if base is None or used_h is None:
        return None
    return max(0.0, base - used_h)
