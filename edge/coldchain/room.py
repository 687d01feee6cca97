"""What the monitor keeps per room (internal to :mod:`edge.coldchain`): the rules' states,
the minute buckets being filled and the minute history behind stay reports."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from edge.coldchain.rules import MINUTE_MS, RoomProfile
from gongfang import wire

HISTORY_MINUTES = 10 * 24 * 60  # minute means kept for stay reports and daily MKT

#: (minute index, mean, min, max) of one minute's temperatures
Minute = tuple[int, float, float, float]


@dataclass
class RuleState:
    since_ms: int | None = None  # condition on since (pending or active)
    peak: float | None = None
    clear_since_ms: int | None = None
    published_peak: float | None = None
    alarm: wire.AlarmRecord | None = None


@dataclass
class Bucket:
    n: int
    temp_sum: float
    temp_min: float
    temp_max: float
    rh_sum: float


@dataclass
class Room:
    profile: RoomProfile
    rules: dict[str, RuleState]
    last_seq: int | None = None
    last_ts: int | None = None
    temp_c: float | None = None
    rh_pct: float | None = None
    watch_since: int | None = None  # first tick, for a sensor that never reported
    # Edge-clock arrival times (``received_ms``): "no reading for 10 min" and "door open
    # for 5 min" are judged on the clock ``tick`` runs on, so a sensor whose own clock is
    # off (or a simulator running fast) does not make them flap.
    last_rx: int | None = None
    door_open: bool | None = None
    door_since: int | None = None
    door_rx: int | None = None
    popped_upto: int | None = None  # minutes before this index were summarised
    buckets: dict[int, Bucket] = field(default_factory=dict)
    history: deque[Minute] = field(default_factory=lambda: deque(maxlen=HISTORY_MINUTES))
    past_alarms: deque[wire.AlarmRecord] = field(default_factory=lambda: deque(maxlen=500))

    def summarise(self, ts: int, temp: float, rh: float) -> bool:
        """Add a reading to its minute's bucket; False if that minute was already handed
        out (the server would get it twice)."""
        minute = ts // MINUTE_MS
        if self.popped_upto is not None and minute < self.popped_upto:
            return False
        b = self.buckets.get(minute)
        if b is None:
            self.buckets[minute] = Bucket(1, temp, temp, temp, rh)
        else:
            b.n += 1
            b.temp_sum += temp
            b.temp_min = min(b.temp_min, temp)
            b.temp_max = max(b.temp_max, temp)
            b.rh_sum += rh
        return True

    def minutes(self) -> list[Minute]:
        """Completed and in-progress minutes: (index, mean, min, max), in order."""
        current = [
            (m, b.temp_sum / b.n, b.temp_min, b.temp_max) for m, b in sorted(self.buckets.items())
        ]
        return [*self.history, *current]

    def alarms(self) -> list[wire.AlarmRecord]:
        """Its cleared alarms (the last few hundred) and its active ones."""
        return [*self.past_alarms, *(st.alarm for st in self.rules.values() if st.alarm)]
