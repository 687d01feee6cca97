"""``ColdChainMonitor``: alarm rules, minute summaries and stay reports for a station's
cold rooms. Pure state machine, no I/O and no clock of its own: climate and door messages
carry their ``ts_ms``, time-based rules run on :meth:`ColdChainMonitor.tick`. Not
thread-safe: the caller serialises calls (one lock around the monitor).

Alarm life (:mod:`edge.coldchain.alarms`): a condition that holds for the rule's duration
raises ONE alarm, updated while it stays on and cleared once the clear condition has held.
The caller persists :meth:`to_state` and restores it with :meth:`from_state`
(:mod:`edge.coldchain.state`), so a restart keeps active alarms (same ids) and does not
raise them again. Stay reports: :mod:`edge.coldchain.stay`.

Readings whose ``seq`` is not newer than the room's last one (MQTT redelivery after a
reconnect) are ignored; a jump back by more than ``SEQ_RESET`` is a restarted sensor.
Readings for a minute whose summary was already handed out are used for alarms but not
summarised again (the server would get that minute twice).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from edge.coldchain import alarms
from edge.coldchain import state as saved
from edge.coldchain.alarms import AlarmEvent, dt
from edge.coldchain.kinetics import daily_mkt
from edge.coldchain.room import Room, RuleState
from edge.coldchain.rules import DEFAULT_RULES, MINUTE_MS, AlarmRule, RoomProfile
from edge.coldchain.stay import UNKNOWN_PROFILE, StayReport, stay_report
from gongfang import wire

log = logging.getLogger(__name__)

SEQ_RESET = 1000


@dataclass(frozen=True)
class RoomState:
    """What the status API shows for a room."""

    room: str
    product: str
    temp_c: float | None
    rh_pct: float | None
    ts_ms: int | None
    door_open: bool | None
    active_alarms: int


class ColdChainMonitor:
    """Alarm rules, minute summaries and stay reports for the rooms of one station."""

    def __init__(
        self,
        *,
        station: str,
        rooms: Mapping[str, RoomProfile],
        rules: Sequence[AlarmRule] | None = None,
    ) -> None:
        self.station = station
        self.rules: tuple[AlarmRule, ...] = tuple(DEFAULT_RULES if rules is None else rules)
        ids = [r.id for r in self.rules]
        if len(set(ids)) != len(ids):
            raise ValueError(f"duplicate rule ids: {ids}")
        self._rooms: dict[str, Room] = {
            name: Room(profile=profile, rules={r.id: RuleState() for r in self.rules})
            for name, profile in rooms.items()
        }
        self.counters: dict[str, int] = {
            "readings": 0,
            "duplicates": 0,
            "late_for_summary": 0,
            "unknown_room": 0,
        }
        self._unknown_logged: set[str] = set()

    # ------------------------------------------------------------ inputs

    def on_climate(
        self, room: str, reading: wire.Climate, received_ms: int | None = None
    ) -> list[AlarmEvent]:
        """One reading; ``received_ms`` is when it arrived on the clock :meth:`tick` is given
        (without it the reading's own ``ts_ms`` stands in)."""
        r = self._room(room)
        if r is None:
            return []
        last = r.last_seq
        if last is not None and last - SEQ_RESET < reading.seq <= last:
            self.counters["duplicates"] += 1
            return []
        self.counters["readings"] += 1
        ts = reading.ts_ms
        r.last_rx = ts if received_ms is None else received_ms
        r.last_seq = reading.seq
        r.last_ts = ts if r.last_ts is None else max(r.last_ts, ts)
        r.temp_c, r.rh_pct = reading.temp_c, reading.rh_pct
        if not r.summarise(ts, reading.temp_c, reading.rh_pct):
            self.counters["late_for_summary"] += 1
        events: list[AlarmEvent] = []
        for rule in self.rules:
            st = r.rules[rule.id]
            if rule.metric == "silence":
                if st.alarm is not None:
                    events.append(alarms.clear_alarm(r, st, ts))
            elif rule.metric == "temp_c":
                events += alarms.evaluate(self.station, room, r, rule, st, reading.temp_c, ts)
            elif rule.metric == "rh_pct":
                events += alarms.evaluate(self.station, room, r, rule, st, reading.rh_pct, ts)
        return events

    def on_door(
        self, room: str, door: wire.Door, received_ms: int | None = None
    ) -> list[AlarmEvent]:
        """Door switch changed; closing clears a door alarm (raising happens in tick).
        ``received_ms`` as in :meth:`on_climate`."""
        r = self._room(room)
        if r is None:
            return []
        events: list[AlarmEvent] = []
        if door.open:
            if not r.door_open:
                r.door_since = door.ts_ms
                r.door_rx = door.ts_ms if received_ms is None else received_ms
            r.door_open = True
            return events
        r.door_open, r.door_since, r.door_rx = False, None, None
        for rule in self.rules:
            st = r.rules[rule.id]
            if rule.metric == "door_open":
                if st.alarm is not None:
                    events.append(alarms.clear_alarm(r, st, door.ts_ms))
                st.since_ms = None
        return events

    def tick(self, now_ms: int) -> list[AlarmEvent]:
        """Time-based rules: sensor silent, door left open."""
        events: list[AlarmEvent] = []
        for name, r in self._rooms.items():
            if r.watch_since is None:
                r.watch_since = now_ms
            for rule in self.rules:
                st = r.rules[rule.id]
                if st.alarm is not None or rule.metric not in ("silence", "door_open"):
                    continue
                if rule.metric == "silence":
                    since = r.last_rx if r.last_rx is not None else r.watch_since
                elif r.door_open and r.door_rx is not None:
                    since = r.door_rx
                else:
                    continue
                if now_ms - since >= rule.duration_ms:
                    st.since_ms = since
                    events.append(
                        alarms.raise_alarm(self.station, name, rule, st, since, now_ms, None)
                    )
        return events

    # ------------------------------------------------------------ outputs

    def active_alarms(self) -> list[wire.AlarmRecord]:
        return [st.alarm for r in self._rooms.values() for st in r.rules.values() if st.alarm]

    def ack(self, alarm_id: str, operator: str, at_ms: int) -> wire.AlarmRecord | None:
        """An operator acknowledged an active alarm: the record carries who and when (its
        later updates too); None if no active alarm has that id."""
        for r in self._rooms.values():
            for st in r.rules.values():
                if st.alarm is not None and str(st.alarm.id) == alarm_id:
                    st.alarm = alarms.acked(st.alarm, operator, at_ms)
                    return st.alarm
        return None

    def snapshot(self) -> dict[str, RoomState]:
        return {
            name: RoomState(
                room=name,
                product=r.profile.product,
                temp_c=r.temp_c,
                rh_pct=r.rh_pct,
                ts_ms=r.last_ts,
                door_open=r.door_open,
                active_alarms=sum(1 for st in r.rules.values() if st.alarm),
            )
            for name, r in self._rooms.items()
        }

    def pop_minute_summaries(self, now_ms: int) -> list[wire.ClimateSummary]:
        """Summaries of the minutes that ended at or before ``now_ms``, each handed out once."""
        out: list[wire.ClimateSummary] = []
        for name, r in self._rooms.items():
            for minute in sorted(m for m in r.buckets if (m + 1) * MINUTE_MS <= now_ms):
                b = r.buckets.pop(minute)
                mean = b.temp_sum / b.n
                out.append(
                    wire.ClimateSummary(
                        station=self.station,
                        room=name,
                        minute_start=dt(minute * MINUTE_MS),
                        samples=b.n,
                        temp_min_c=round(b.temp_min, 2),
                        temp_mean_c=round(mean, 2),
                        temp_max_c=round(b.temp_max, 2),
                        rh_mean_pct=round(b.rh_sum / b.n, 2),
                    )
                )
                r.history.append((minute, mean, b.temp_min, b.temp_max))
                r.popped_upto = max(r.popped_upto or 0, minute + 1)
        return out

    def daily_mkt(self, room: str) -> dict[date, float]:
        """MKT per Asia/Shanghai day over the room's kept minute means."""
        r = self._rooms.get(room)
        if r is None:
            return {}
        return daily_mkt((m * MINUTE_MS, mean) for m, mean, *_ in r.minutes())

    def stay_report(self, room: str, from_ms: int, to_ms: int) -> StayReport:
        """Excursions, MKT and remaining shelf life of a lot in ``room`` over [from, to).

        An unconfigured room gives a report without data (all estimates ``None``)."""
        r = self._rooms.get(room)
        if r is None:
            self._room(room)  # counted and logged once
            r = Room(profile=UNKNOWN_PROFILE, rules={})
        return stay_report(room, r, from_ms, to_ms)

    # ------------------------------------------------------------ persistence

    def to_state(self, *, include_history: bool = True) -> dict[str, Any]:
        """JSON-able state: active and pending alarms, door, minute buckets and (unless
        ``include_history`` is false) the minute history behind stay reports and daily MKT,
        which is about 30 bytes per room-minute (up to ~0.4 MB per room for 10 days):
        save the small state often and the full one every few minutes and at stop."""
        return saved.to_state(self._rooms, self.counters, include_history=include_history)

    def from_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`to_state` output; rooms and rules no longer configured are dropped."""
        saved.from_state(self._rooms, self.counters, state)

    # ------------------------------------------------------------ internals

    def _room(self, room: str) -> Room | None:
        r = self._rooms.get(room)
        if r is None:
            self.counters["unknown_room"] += 1
            if room not in self._unknown_logged and len(self._unknown_logged) < 100:
                self._unknown_logged.add(room)
                log.warning("未配置的冷库，数据忽略 / unconfigured cold room %r ignored", room)
        return r
