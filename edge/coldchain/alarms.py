"""One alarm rule's life in one room (pure: values and times in, events out).

A condition that holds for the rule's duration raises ONE alarm (event "raised"); while
it stays on, the same record is kept with a new ``updated_at`` and peak, and
re-published (event "updated") only when the peak worsens by the rule's
``update_step``; once the clear condition has held for ``clear_ms`` it is "cleared".
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from edge.coldchain.room import Room, RuleState
from edge.coldchain.rules import AlarmRule
from gongfang import wire

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlarmEvent:
    kind: Literal["raised", "updated", "cleared"]
    record: wire.AlarmRecord


def dt(ts_ms: int) -> datetime:
    return datetime.fromtimestamp(ts_ms / 1000, UTC)


def ms(ts: datetime) -> int:
    return wire.utc_ms(ts)


def evaluate(
    station: str, room: str, r: Room, rule: AlarmRule, st: RuleState, value: float, ts: int
) -> list[AlarmEvent]:
    """A reading of the rule's metric at ``ts``: raise, update or clear its alarm."""
    if st.alarm is None:
        if not rule.triggered(value):
            st.since_ms = st.peak = None
            return []
        if st.since_ms is None:
            st.since_ms, st.peak = ts, value
        else:
            st.peak = rule.worse(st.peak if st.peak is not None else value, value)
        if ts - st.since_ms >= rule.duration_ms:
            return [raise_alarm(station, room, rule, st, st.since_ms, ts, st.peak)]
        return []
    if rule.triggered(value):
        st.clear_since_ms = None
        st.peak = rule.worse(st.peak if st.peak is not None else value, value)
    elif rule.clears(value):
        if st.clear_since_ms is None:
            st.clear_since_ms = ts
        if ts - st.clear_since_ms >= rule.clear_ms:
            return [clear_alarm(r, st, ts)]
    else:
        st.clear_since_ms = None  # between the thresholds: still on, clearing restarts
    st.alarm = st.alarm.model_copy(
        update={"updated_at": dt(max(ts, ms(st.alarm.updated_at))), "peak_value": st.peak}
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


def raise_alarm(
    station: str,
    room: str,
    rule: AlarmRule,
    st: RuleState,
    started_ms: int,
    now_ms: int,
    peak: float | None,
) -> AlarmEvent:
    """The rule's condition held long enough: a new alarm record (a new id)."""
    st.alarm = wire.AlarmRecord(
        id=uuid.uuid4(),
        station=station,
        room=room,
        rule=rule.id,
        severity=rule.severity,
        started_at=dt(started_ms),
        updated_at=dt(max(now_ms, started_ms)),
        peak_value=peak,
        message=rule.message(room, peak),
    )
    st.published_peak = peak
    st.clear_since_ms = None
    log.warning("冷库告警 / cold-room alarm raised: %s", st.alarm.message)
    return AlarmEvent("raised", st.alarm)


def clear_alarm(r: Room, st: RuleState, ts: int) -> AlarmEvent:
    """The rule's active alarm ends at ``ts``; the room keeps the record for stay reports."""
    assert st.alarm is not None  # noqa: S101 - callers check
    cleared_at = dt(max(ts, ms(st.alarm.started_at)))
    record = st.alarm.model_copy(
        update={"cleared_at": cleared_at, "updated_at": max(cleared_at, st.alarm.updated_at)}
    )
    r.past_alarms.append(record)
    st.alarm = None
    st.since_ms = st.peak = st.clear_since_ms = st.published_peak = None
    log.info("冷库告警解除 / cold-room alarm cleared: %s", record.message)
    return AlarmEvent("cleared", record)


def acked(alarm: wire.AlarmRecord, operator: str, at_ms: int) -> wire.AlarmRecord:
    """The alarm as acknowledged by ``operator`` at ``at_ms`` (never before it started)."""
    at = dt(max(at_ms, ms(alarm.started_at)))
    return alarm.model_copy(
        update={"acked_by": operator, "acked_at": at, "updated_at": max(at, alarm.updated_at)}
    )
