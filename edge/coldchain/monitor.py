"""``ColdChainMonitor``: alarm rules, minute summaries and stay reports for a station's
cold rooms. Pure state machine, no I/O and no clock of its own: climate and door messages
carry their ``ts_ms``, time-based rules run on :meth:`ColdChainMonitor.tick`. Not
thread-safe: the caller serialises calls (one lock around the monitor).

Alarm life: a condition that holds for the rule's duration raises ONE alarm (event
"raised"); while it stays on, the same record is kept with a new ``updated_at`` and peak,
and re-published (event "updated") only when the peak worsens by the rule's
``update_step``; once the clear condition has held for ``clear_ms`` it is "cleared".
The caller persists :meth:`to_state` and restores it with :meth:`from_state`, so a restart
keeps active alarms (same ids) and does not raise them again.

Readings whose ``seq`` is not newer than the room's last one (MQTT redelivery after a
reconnect) are ignored; a jump back by more than ``SEQ_RESET`` is a restarted sensor.
Readings for a minute whose summary was already handed out are used for alarms but not
summarised again (the server would get that minute twice).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from edge.coldchain.kinetics import daily_mkt, mean_kinetic_temperature, shelf_life_used_h
from edge.coldchain.rules import DEFAULT_RULES, MINUTE_MS, AlarmRule, RoomProfile
from gongfang import wire

log = logging.getLogger(__name__)

SEQ_RESET = 1000
HISTORY_MINUTES = 10 * 24 * 60  # minute means kept for stay reports and daily MKT
STATE_VERSION = 1
_UNKNOWN_PROFILE = RoomProfile("", 0.0, 0.0, 0.0, 0.0, shelf_life_h_at_0c=0.0)


@dataclass(frozen=True)
class AlarmEvent:
    kind: Literal["raised", "updated", "cleared"]
    record: wire.AlarmRecord


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


@dataclass(frozen=True)
class Excursion:
    rule: str
    severity: str
    started_ms: int
    ended_ms: int | None  # None: still on
    peak_value: float | None
    message: str


@dataclass(frozen=True)
class StayReport:
    """A lot's stay in a room: the climate it saw and the shelf life it has left.

    The estimate assumes the produce was fresh at intake (time from harvest is unknown)
    and counts each minute of the stay at that minute's mean temperature; minutes without
    a reading take the nearest earlier one (the first known one at the start).
    """

    room: str
    product: str
    from_ms: int
    to_ms: int
    minutes: float
    data_coverage_pct: float
    mkt_c: float | None
    temp_min_c: float | None
    temp_max_c: float | None
    minutes_above_max: int
    minutes_below_min: int
    excursions: tuple[Excursion, ...]
    shelf_life_h_at_0c: float
    shelf_life_used_h: float | None
    remaining_shelf_life_h: float | None
    remaining_shelf_life_pct: float | None


@dataclass
class _RuleState:
    since_ms: int | None = None  # condition on since (pending or active)
    peak: float | None = None
    clear_since_ms: int | None = None
    published_peak: float | None = None
    alarm: wire.AlarmRecord | None = None


@dataclass
class _Bucket:
    n: int
    temp_sum: float
    temp_min: float
    temp_max: float
    rh_sum: float


@dataclass
class _Room:
    profile: RoomProfile
    rules: dict[str, _RuleState]
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
    buckets: dict[int, _Bucket] = field(default_factory=dict)
    history: deque[tuple[int, float, float, float]] = field(
        default_factory=lambda: deque(maxlen=HISTORY_MINUTES)
    )  # (minute index, mean, min, max)
    past_alarms: deque[wire.AlarmRecord] = field(default_factory=lambda: deque(maxlen=500))


def _dt(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


def _ms(ts: datetime) -> int:
    return wire.utc_ms(ts)


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
        self._rooms: dict[str, _Room] = {
            name: _Room(profile=profile, rules={r.id: _RuleState() for r in self.rules})
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
        self._summarise(r, ts, reading.temp_c, reading.rh_pct)
        events: list[AlarmEvent] = []
        for rule in self.rules:
            st = r.rules[rule.id]
            if rule.metric == "silence":
                if st.alarm is not None:
                    events.append(self._clear(r, st, ts))
            elif rule.metric == "temp_c":
                events += self._evaluate(room, r, rule, st, reading.temp_c, ts)
            elif rule.metric == "rh_pct":
                events += self._evaluate(room, r, rule, st, reading.rh_pct, ts)
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
                    events.append(self._clear(r, st, door.ts_ms))
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
                    events.append(self._raise(name, rule, st, since, now_ms, None))
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
                    at = _dt(max(at_ms, _ms(st.alarm.started_at)))
                    st.alarm = st.alarm.model_copy(
                        update={
                            "acked_by": operator,
                            "acked_at": at,
                            "updated_at": max(at, st.alarm.updated_at),
                        }
                    )
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
                        minute_start=_dt(minute * MINUTE_MS),
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
        return daily_mkt((m * MINUTE_MS, mean) for m, mean, *_ in self._minutes(r))

    def stay_report(self, room: str, from_ms: int, to_ms: int) -> StayReport:
        """Excursions, MKT and remaining shelf life of a lot in ``room`` over [from, to).

        An unconfigured room gives a report without data (all estimates ``None``)."""
        r = self._rooms.get(room)
        if r is None:
            self._room(room)  # counted and logged once
            r = _Room(profile=_UNKNOWN_PROFILE, rules={})
        p = r.profile
        to_ms = max(to_ms, from_ms)
        first, last = from_ms // MINUTE_MS, max(from_ms, to_ms - 1) // MINUTE_MS
        known = {m: v for m, *v in self._minutes(r) if first <= m <= last}
        means = [v[0] for v in known.values()]
        spells: list[tuple[float, float]] = []
        carry = known[min(known)][0] if known else None
        for m in range(first, last + 1):
            if m in known:
                carry = known[m][0]
            overlap = min(to_ms, (m + 1) * MINUTE_MS) - max(from_ms, m * MINUTE_MS)
            if carry is not None and overlap > 0:
                spells.append((overlap / MINUTE_MS, carry))
        used = shelf_life_used_h(spells) if spells else None
        remaining = None if used is None else max(0.0, p.shelf_life_h_at_0c - used)
        minutes = (to_ms - from_ms) / MINUTE_MS
        return StayReport(
            room=room,
            product=p.product,
            from_ms=from_ms,
            to_ms=to_ms,
            minutes=round(minutes, 2),
            data_coverage_pct=round(100 * len(known) / (last - first + 1), 1),
            mkt_c=round(mean_kinetic_temperature(means), 2) if means else None,
            temp_min_c=min(v[1] for v in known.values()) if known else None,
            temp_max_c=max(v[2] for v in known.values()) if known else None,
            minutes_above_max=sum(1 for v in means if v > p.temp_max_c),
            minutes_below_min=sum(1 for v in means if v < p.temp_min_c),
            excursions=self._excursions(r, from_ms, to_ms),
            shelf_life_h_at_0c=p.shelf_life_h_at_0c,
            shelf_life_used_h=None if used is None else round(used, 2),
            remaining_shelf_life_h=None if remaining is None else round(remaining, 2),
            remaining_shelf_life_pct=None
            if remaining is None
            else round(100 * remaining / p.shelf_life_h_at_0c, 1),
        )

    # ------------------------------------------------------------ persistence

    def to_state(self, *, include_history: bool = True) -> dict[str, Any]:
        """JSON-able state: active and pending alarms, door, minute buckets and (unless
        ``include_history`` is false) the minute history behind stay reports and daily MKT,
        which is about 30 bytes per room-minute (up to ~0.4 MB per room for 10 days):
        save the small state often and the full one every few minutes and at stop."""
        rooms: dict[str, Any] = {}
        for name, r in self._rooms.items():
            rooms[name] = {
                "last_seq": r.last_seq,
                "last_ts": r.last_ts,
                "temp_c": r.temp_c,
                "rh_pct": r.rh_pct,
                "watch_since": r.watch_since,
                "last_rx": r.last_rx,
                "door_open": r.door_open,
                "door_since": r.door_since,
                "door_rx": r.door_rx,
                "popped_upto": r.popped_upto,
                "buckets": {
                    str(m): [b.n, b.temp_sum, b.temp_min, b.temp_max, b.rh_sum]
                    for m, b in r.buckets.items()
                },
                "past_alarms": [a.model_dump(mode="json") for a in r.past_alarms],
                "rules": {
                    rid: {
                        "since_ms": st.since_ms,
                        "peak": st.peak,
                        "clear_since_ms": st.clear_since_ms,
                        "published_peak": st.published_peak,
                        "alarm": None if st.alarm is None else st.alarm.model_dump(mode="json"),
                    }
                    for rid, st in r.rules.items()
                },
            }
            if include_history:
                rooms[name]["history"] = [
                    [m, round(mean, 3), lo, hi] for m, mean, lo, hi in r.history
                ]
        return {"version": STATE_VERSION, "rooms": rooms, "counters": dict(self.counters)}

    def from_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`to_state` output; rooms and rules no longer configured are dropped."""
        if state.get("version") != STATE_VERSION:
            raise ValueError(f"unknown cold-chain state version {state.get('version')!r}")
        for name, doc in state.get("rooms", {}).items():
            r = self._rooms.get(name)
            if r is None:
                continue
            r.last_seq, r.last_ts = doc["last_seq"], doc["last_ts"]
            r.temp_c, r.rh_pct = doc["temp_c"], doc["rh_pct"]
            r.watch_since = doc["watch_since"]
            r.door_open, r.door_since = doc["door_open"], doc["door_since"]
            # states saved before arrival times were kept: the sensor's own times
            r.last_rx = doc.get("last_rx", r.last_ts)
            r.door_rx = doc.get("door_rx", r.door_since)
            r.popped_upto = doc["popped_upto"]
            r.buckets = {int(m): _Bucket(*v) for m, v in doc["buckets"].items()}
            if "history" in doc:  # absent in a state saved without it: keep what we have
                r.history.clear()
                r.history.extend((int(m), mean, lo, hi) for m, mean, lo, hi in doc["history"])
            r.past_alarms.clear()
            r.past_alarms.extend(wire.AlarmRecord.model_validate(a) for a in doc["past_alarms"])
            for rid, sd in doc["rules"].items():
                if rid not in r.rules:
                    continue
                r.rules[rid] = _RuleState(
                    since_ms=sd["since_ms"],
                    peak=sd["peak"],
                    clear_since_ms=sd["clear_since_ms"],
                    published_peak=sd["published_peak"],
                    alarm=None
                    if sd["alarm"] is None
                    else wire.AlarmRecord.model_validate(sd["alarm"]),
                )
        for key, value in state.get("counters", {}).items():
            if key in self.counters:
                self.counters[key] = int(value)

    # ------------------------------------------------------------ internals

    def _room(self, room: str) -> _Room | None:
        r = self._rooms.get(room)
        if r is None:
            self.counters["unknown_room"] += 1
            if room not in self._unknown_logged and len(self._unknown_logged) < 100:
                self._unknown_logged.add(room)
                log.warning("未配置的冷库，数据忽略 / unconfigured cold room %r ignored", room)
        return r

    def _summarise(self, r: _Room, ts: int, temp: float, rh: float) -> None:
        minute = ts // MINUTE_MS
        if r.popped_upto is not None and minute < r.popped_upto:
            self.counters["late_for_summary"] += 1
            return
        b = r.buckets.get(minute)
        if b is None:
            r.buckets[minute] = _Bucket(1, temp, temp, temp, rh)
        else:
            b.n += 1
            b.temp_sum += temp
            b.temp_min = min(b.temp_min, temp)
            b.temp_max = max(b.temp_max, temp)
            b.rh_sum += rh

    def _minutes(self, r: _Room) -> list[tuple[int, float, float, float]]:
        """Completed and in-progress minutes: (index, mean, min, max), in order."""
        current = [
            (m, b.temp_sum / b.n, b.temp_min, b.temp_max) for m, b in sorted(r.buckets.items())
        ]
        return [*r.history, *current]

    def _evaluate(
        self, room: str, r: _Room, rule: AlarmRule, st: _RuleState, value: float, ts: int
    ) -> list[AlarmEvent]:
        if st.alarm is None:
            if not rule.triggered(value):
                st.since_ms = st.peak = None
                return []
            if st.since_ms is None:
                st.since_ms, st.peak = ts, value
            else:
                st.peak = rule.worse(st.peak if st.peak is not None else value, value)
            if ts - st.since_ms >= rule.duration_ms:
                return [self._raise(room, rule, st, st.since_ms, ts, st.peak)]
            return []
        if rule.triggered(value):
            st.clear_since_ms = None
            st.peak = rule.worse(st.peak if st.peak is not None else value, value)
        elif rule.clears(value):
            if st.clear_since_ms is None:
                st.clear_since_ms = ts
            if ts - st.clear_since_ms >= rule.clear_ms:
                return [self._clear(r, st, ts)]
        else:
            st.clear_since_ms = None  # between the thresholds: still on, clearing restarts
        st.alarm = st.alarm.model_copy(
            update={"updated_at": _dt(max(ts, _ms(st.alarm.updated_at))), "peak_value": st.peak}
        )
        published = st.published_peak
        if (
            st.peak is not None
            and published is not None
            and abs(st.peak - published) >= rule.update_step
        ):
            st.published_peak = st.peak
            st.alarm = st.alarm.model_copy(update={"message": rule.message(room, st.peak)})
            return [AlarmEvent("updated", st.alarm)]
        return []

    def _raise(
        self,
        room: str,
        rule: AlarmRule,
        st: _RuleState,
        started_ms: int,
        now_ms: int,
        peak: float | None,
    ) -> AlarmEvent:
        st.alarm = wire.AlarmRecord(
            id=uuid.uuid4(),
            station=self.station,
            room=room,
            rule=rule.id,
            severity=rule.severity,
            started_at=_dt(started_ms),
            updated_at=_dt(max(now_ms, started_ms)),
            peak_value=peak,
            message=rule.message(room, peak),
        )
        st.published_peak = peak
        st.clear_since_ms = None
        log.warning("冷库告警 / cold-room alarm raised: %s", st.alarm.message)
        return AlarmEvent("raised", st.alarm)

    def _clear(self, r: _Room, st: _RuleState, ts: int) -> AlarmEvent:
        assert st.alarm is not None  # noqa: S101 - callers check
        cleared_at = _dt(max(ts, _ms(st.alarm.started_at)))
        record = st.alarm.model_copy(
            update={"cleared_at": cleared_at, "updated_at": max(cleared_at, st.alarm.updated_at)}
        )
        r.past_alarms.append(record)
        st.alarm = None
        st.since_ms = st.peak = st.clear_since_ms = st.published_peak = None
        log.info("冷库告警解除 / cold-room alarm cleared: %s", record.message)
        return AlarmEvent("cleared", record)

    def _excursions(self, r: _Room, from_ms: int, to_ms: int) -> tuple[Excursion, ...]:
        alarms = [*r.past_alarms, *(st.alarm for st in r.rules.values() if st.alarm)]
        out = []
        for a in alarms:
            start = _ms(a.started_at)
            end = None if a.cleared_at is None else _ms(a.cleared_at)
            if start < to_ms and (end is None or end > from_ms):
                out.append(Excursion(a.rule, a.severity.value, start, end, a.peak_value, a.message))
        return tuple(sorted(out, key=lambda e: e.started_ms))
