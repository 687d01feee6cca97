"""The monitor's state as JSON (kept by the edge node across restarts): active and pending
alarms (same ids after a restart), doors, minute buckets and the minute history."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from edge.coldchain.room import Bucket, Room, RuleState
from gongfang import wire

STATE_VERSION = 1


def to_state(
    rooms: Mapping[str, Room], counters: Mapping[str, int], *, include_history: bool = True
) -> dict[str, Any]:
    """See :meth:`edge.coldchain.monitor.ColdChainMonitor.to_state`."""
    docs: dict[str, Any] = {}
    for name, r in rooms.items():
        docs[name] = {
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
            docs[name]["history"] = [[m, round(mean, 3), lo, hi] for m, mean, lo, hi in r.history]
    return {"version": STATE_VERSION, "rooms": docs, "counters": dict(counters)}


def from_state(
    rooms: Mapping[str, Room], counters: dict[str, int], state: Mapping[str, Any]
) -> None:
    """Restore :func:`to_state` output into ``rooms`` and ``counters``; rooms, rules and
    counters no longer configured are dropped."""
    if state.get("version") != STATE_VERSION:
        raise ValueError(f"unknown cold-chain state version {state.get('version')!r}")
    for name, doc in state.get("rooms", {}).items():
        r = rooms.get(name)
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
        r.buckets = {int(m): Bucket(*v) for m, v in doc["buckets"].items()}
        if "history" in doc:  # absent in a state saved without it: keep what we have
            r.history.clear()
            r.history.extend((int(m), mean, lo, hi) for m, mean, lo, hi in doc["history"])
        r.past_alarms.clear()
        r.past_alarms.extend(wire.AlarmRecord.model_validate(a) for a in doc["past_alarms"])
        for rid, sd in doc["rules"].items():
            if rid not in r.rules:
                continue
            r.rules[rid] = RuleState(
                since_ms=sd["since_ms"],
                peak=sd["peak"],
                clear_since_ms=sd["clear_since_ms"],
                published_peak=sd["published_peak"],
                alarm=None if sd["alarm"] is None else wire.AlarmRecord.model_validate(sd["alarm"]),
            )
    for key, value in state.get("counters", {}).items():
        if key in counters:
            counters[key] = int(value)
