"""Cold-room monitor: alarm rules with duration and hysteresis, sensor silent, door,
minute summaries, stay reports, and state restored after a restart."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pytest

from edge.coldchain import PROFILES, AlarmEvent, AlarmRule, ColdChainMonitor
from edge.coldchain.rules import DEFAULT_RULES, MINUTE_MS
from gongfang import wire

T0 = 1_772_400_000_000  # a whole minute (2026-03-01T21:20:00Z)
STEP_MS = 30_000  # the sensor reports every 30 s


def _monitor() -> ColdChainMonitor:
    return ColdChainMonitor(
        station="st1", rooms={"room1": PROFILES["strawberry"], "room2": PROFILES["ruoye"]}
    )


class Sensor:
    def __init__(self, mon: ColdChainMonitor, room: str = "room1", ts_ms: int = T0) -> None:
        self.mon, self.room, self.ts_ms, self.seq = mon, room, ts_ms, 0

    def feed(self, temps: Iterable[float], rh: float = 92.0) -> list[AlarmEvent]:
        events: list[AlarmEvent] = []
        for t in temps:
            self.seq += 1
            events += self.mon.on_climate(
                self.room, wire.Climate(ts_ms=self.ts_ms, temp_c=t, rh_pct=rh, seq=self.seq)
            )
            self.ts_ms += STEP_MS
        return events

    def minutes(self, minutes: float, temp: float, rh: float = 92.0) -> list[AlarmEvent]:
        return self.feed([temp] * int(minutes * 60_000 / STEP_MS), rh=rh)


def _kinds(events: list[AlarmEvent]) -> list[tuple[str, str]]:
    return [(e.kind, e.record.rule) for e in events]


def test_above_4c_for_25_min_raises_one_major_alarm_and_clears_after_hysteresis() -> None:
    mon = _monitor()
    s = Sensor(mon)
    assert s.minutes(10, 1.5) == []
    # 25 minutes between 4.6 and 5.4 °C: 50 readings, every one above 4 °C.
    warm = [4.6 + 0.8 * ((i * 7) % 11) / 10 for i in range(50)]
    events = s.feed(warm)
    raised = [e for e in events if e.kind == "raised"]
    assert _kinds(raised) == [("raised", "temp_high")]
    alarm = raised[0].record
    assert alarm.severity is wire.Severity.MAJOR
    assert wire.utc_ms(alarm.started_at) == T0 + 10 * MINUTE_MS  # when it went above 4 °C
    # Raised at the first reading 20 minutes after that (not once per reading).
    assert {e.record.id for e in events} == {alarm.id}
    assert [a.id for a in mon.active_alarms()] == [alarm.id]
    assert mon.active_alarms()[0].peak_value == pytest.approx(max(warm))
    # Between the clear threshold (3.5) and 4 °C: still on, however long.
    assert s.minutes(15, 3.8) == []
    # One reading below 3.5 then back to 3.8: clearing starts over.
    assert s.feed([3.0, 3.8]) == []
    # 3.0 °C for 5 min clears it: at the 11th reading (5 min after the first one).
    events = s.minutes(4.5, 3.0)
    assert events == []
    events = s.feed([3.0, 3.0])
    assert _kinds(events) == [("cleared", "temp_high")]
    cleared = events[0].record
    assert cleared.id == alarm.id
    assert cleared.cleared_at is not None
    assert mon.active_alarms() == []
    # A new excursion is a new alarm with a new id.
    events = s.minutes(21, 6.0)
    assert _kinds(events) == [("raised", "temp_high")]
    assert events[0].record.id != alarm.id


def test_critical_and_major_are_separate_alarms_and_peak_updates_are_throttled() -> None:
    mon = _monitor()
    s = Sensor(mon)
    events = s.minutes(11, 9.0)
    assert _kinds(events) == [("raised", "temp_critical")]
    events = s.minutes(10, 9.2)  # worse by 0.2: updated in place, not re-published
    assert _kinds(events) == [("raised", "temp_high")]
    events = s.feed([9.6])  # worse by 0.6 than the last published peak
    assert _kinds(events) == [("updated", "temp_critical")]
    assert events[0].record.peak_value == pytest.approx(9.6)
    assert sorted(a.rule for a in mon.active_alarms()) == ["temp_critical", "temp_high"]
    assert len(mon.active_alarms()) == 2


def test_low_temperature_and_low_humidity() -> None:
    mon = _monitor()
    s = Sensor(mon)
    assert s.minutes(59, -1.0, rh=80.0) == []
    events = s.minutes(2, -1.0, rh=80.0)
    assert sorted(_kinds(events)) == [("raised", "rh_low"), ("raised", "temp_low")]
    by_rule = {e.record.rule: e.record.severity for e in events}
    assert by_rule == {"rh_low": wire.Severity.MINOR, "temp_low": wire.Severity.MAJOR}


def test_short_excursion_does_not_raise() -> None:
    mon = _monitor()
    s = Sensor(mon)
    for _ in range(5):  # 19 minutes above, then one reading below: the clock restarts
        assert s.minutes(19, 6.0) == []
        assert s.feed([2.0]) == []


def test_sensor_silent_raises_and_the_next_reading_clears() -> None:
    mon = _monitor()
    s = Sensor(mon)
    s.minutes(1, 1.0)
    last = s.ts_ms - STEP_MS
    room2 = [e for e in mon.tick(last) if e.record.room == "room2"]
    assert room2 == []  # room2 never reported: watched from this first tick
    assert mon.tick(last + 10 * MINUTE_MS - 1) == []
    events = mon.tick(last + 10 * MINUTE_MS)
    assert sorted((e.kind, e.record.rule, e.record.room) for e in events) == [
        ("raised", "sensor_silent", "room1"),
        ("raised", "sensor_silent", "room2"),
    ]
    assert mon.tick(last + 20 * MINUTE_MS) == []  # active: never raised twice
    assert "传感器 10 分钟无数据" in events[0].record.message
    s.ts_ms = last + 21 * MINUTE_MS
    events = s.feed([1.0])
    assert _kinds(events) == [("cleared", "sensor_silent")]
    assert [a.room for a in mon.active_alarms()] == ["room2"]


def test_door_open_more_than_5_min_is_a_warning_cleared_by_closing() -> None:
    mon = _monitor()
    mon.tick(T0)
    assert mon.on_door("room1", wire.Door(ts_ms=T0, open=True)) == []
    assert mon.on_door("room1", wire.Door(ts_ms=T0 + 60_000, open=True)) == []  # repeated
    assert mon.tick(T0 + 5 * MINUTE_MS - 1) == []
    events = mon.tick(T0 + 5 * MINUTE_MS)
    assert [(e.kind, e.record.rule, e.record.severity) for e in events] == [
        ("raised", "door_open", wire.Severity.WARNING)
    ]
    events = mon.on_door("room1", wire.Door(ts_ms=T0 + 7 * MINUTE_MS, open=False))
    assert _kinds(events) == [("cleared", "door_open")]
    assert mon.snapshot()["room1"].door_open is False


def test_duplicates_and_unknown_rooms_are_ignored() -> None:
    mon = _monitor()
    r = wire.Climate(ts_ms=T0, temp_c=1.0, rh_pct=90, seq=5)
    mon.on_climate("room1", r)
    mon.on_climate("room1", r)
    mon.on_climate("room1", r.model_copy(update={"seq": 4}))
    assert mon.on_climate("nowhere", r) == []
    assert mon.counters["readings"] == 1
    assert mon.counters["duplicates"] == 2
    assert mon.counters["unknown_room"] == 1
    # A sensor that restarted counts from 0 again.
    mon.on_climate("room1", wire.Climate(ts_ms=T0 + 1, temp_c=1.0, rh_pct=90, seq=10_000))
    mon.on_climate("room1", wire.Climate(ts_ms=T0 + 2, temp_c=1.0, rh_pct=90, seq=0))
    assert mon.counters["readings"] == 3


def test_minute_summaries_are_complete_minutes_handed_out_once() -> None:
    mon = _monitor()
    for i, t in enumerate([1.0, 2.0, 3.0, 4.0]):  # two in minute 0, two in minute 1
        mon.on_climate("room1", wire.Climate(ts_ms=T0 + i * 30_000, temp_c=t, rh_pct=90 + i, seq=i))
    assert mon.pop_minute_summaries(T0 + MINUTE_MS - 1) == []
    first = mon.pop_minute_summaries(T0 + MINUTE_MS)
    assert len(first) == 1
    m = first[0]
    assert (m.room, m.samples, m.temp_min_c, m.temp_mean_c, m.temp_max_c, m.rh_mean_pct) == (
        "room1",
        2,
        1.0,
        1.5,
        2.0,
        90.5,
    )
    assert wire.utc_ms(m.minute_start) == T0
    assert mon.pop_minute_summaries(T0 + MINUTE_MS) == []
    # A late reading for the handed-out minute is not summarised twice.
    mon.on_climate("room1", wire.Climate(ts_ms=T0 + 10, temp_c=9.0, rh_pct=90, seq=10))
    second = mon.pop_minute_summaries(T0 + 5 * MINUTE_MS)
    assert [(wire.utc_ms(s.minute_start), s.samples) for s in second] == [(T0 + MINUTE_MS, 2)]
    assert mon.counters["late_for_summary"] == 1


def test_stay_report_excursions_mkt_and_remaining_shelf_life() -> None:
    mon = _monitor()
    s = Sensor(mon)
    s.minutes(60, 0.0)
    s.minutes(60, 10.0)
    mon.pop_minute_summaries(s.ts_ms)
    rep = mon.stay_report("room1", T0, T0 + 120 * MINUTE_MS)
    assert rep.minutes == 120
    assert rep.data_coverage_pct == 100.0
    # MKT of 60 minutes at 0 °C and 60 at 10 °C = MKT(0, 10):
    # e^(−10000/273.15) = 1.2604e-16, e^(−10000/283.15) = 4.5923e-16; mean 2.9264e-16;
    # −ln(mean) = 35.7676 → 10000 / 35.7676 = 279.583 K = 6.433 °C.
    assert rep.mkt_c == pytest.approx(6.43, abs=0.01)
    # 1 h at 0 °C uses 1 h; 1 h at 10 °C uses 1/0.33 h; 7 days = 168 h at 0 °C.
    assert rep.shelf_life_used_h == pytest.approx(1 + 1 / 0.33, abs=0.01)
    assert rep.remaining_shelf_life_h == pytest.approx(168 - 1 - 1 / 0.33, abs=0.01)
    assert (rep.temp_min_c, rep.temp_max_c) == (0.0, 10.0)
    assert rep.minutes_above_max == 60
    assert sorted((e.rule, e.ended_ms) for e in rep.excursions) == [
        ("temp_critical", None),
        ("temp_high", None),
    ]
    # A stay that ended before the warm hour saw no excursion.
    early = mon.stay_report("room1", T0, T0 + 30 * MINUTE_MS)
    assert early.excursions == ()
    assert early.mkt_c == pytest.approx(0.0)
    # No data at all: no estimate rather than a made-up one.
    none = mon.stay_report("room2", T0, T0 + 30 * MINUTE_MS)
    assert (none.mkt_c, none.remaining_shelf_life_h, none.data_coverage_pct) == (None, None, 0.0)
    assert mon.daily_mkt("room1")  # one or two Shanghai days, each with a value


def test_restart_keeps_active_alarms_without_raising_them_again() -> None:
    mon = _monitor()
    s = Sensor(mon)
    raised = s.minutes(21, 6.0)
    assert _kinds(raised) == [("raised", "temp_high")]
    mon.on_door("room1", wire.Door(ts_ms=s.ts_ms, open=True))
    state = json.loads(json.dumps(mon.to_state()))  # must survive JSON

    again = _monitor()
    again.from_state(state)
    assert [a.id for a in again.active_alarms()] == [raised[0].record.id]
    s2 = Sensor(again, ts_ms=s.ts_ms)
    s2.seq = s.seq
    assert s2.minutes(10, 6.0) == []  # still on: no second "raised"
    assert again.snapshot()["room1"].door_open is True
    events = s2.minutes(6, 2.0)
    assert _kinds(events) == [("cleared", "temp_high")]
    assert events[0].record.id == raised[0].record.id
    with pytest.raises(ValueError, match="version"):
        again.from_state({"version": 99})


def test_rules_validate_hysteresis_side() -> None:
    with pytest.raises(ValueError, match="safe side"):
        AlarmRule(
            id="x",
            severity=wire.Severity.MINOR,
            metric="temp_c",
            threshold=4.0,
            clear_threshold=5.0,
            duration_ms=0,
        )
    with pytest.raises(ValueError, match="duplicate"):
        ColdChainMonitor(station="s", rooms={}, rules=[DEFAULT_RULES[0], DEFAULT_RULES[0]])


def test_state_without_history_is_small_and_keeps_the_history_in_place() -> None:
    mon = _monitor()
    s = Sensor(mon)
    s.minutes(120, 1.0)
    mon.pop_minute_summaries(s.ts_ms)
    full, small = mon.to_state(), mon.to_state(include_history=False)
    assert "history" not in small["rooms"]["room1"]
    assert len(full["rooms"]["room1"]["history"]) == 120
    assert len(json.dumps(small)) < len(json.dumps(full)) / 2
    again = _monitor()
    again.from_state(full)
    again.from_state(small)  # a later small save does not wipe the restored history
    rep = again.stay_report("room1", T0, T0 + 120 * MINUTE_MS)
    assert rep.data_coverage_pct == 100.0
    assert rep.mkt_c == pytest.approx(1.0)


def test_unknown_room_stay_report_has_no_data() -> None:
    mon = _monitor()
    rep = mon.stay_report("cellar", T0, T0 + MINUTE_MS)
    assert (rep.mkt_c, rep.remaining_shelf_life_h, rep.excursions) == (None, None, ())
    assert mon.daily_mkt("cellar") == {}
    assert mon.counters["unknown_room"] == 1


def test_silence_and_door_are_timed_on_the_edge_clock_not_the_sensor_clock() -> None:
    """A sensor whose clock runs hours behind (or a fast simulator) reporting every 30 s
    is not silent; it is once its readings stop arriving for 10 minutes."""
    mon = _monitor()
    behind = T0 - 6 * 3600_000
    now = T0
    mon.tick(now)
    for i in range(40):  # 20 minutes of readings, each arriving on time
        ev = mon.on_climate(
            "room1",
            wire.Climate(ts_ms=behind + i * STEP_MS, temp_c=1.0, rh_pct=92.0, seq=i),
            received_ms=now,
        )
        ev += mon.tick(now)
        assert [e for e in ev if e.record.room == "room1"] == []
        now += STEP_MS
    mon.on_climate(
        "room2", wire.Climate(ts_ms=behind, temp_c=10.0, rh_pct=80.0, seq=1), received_ms=now
    )
    mon.on_door("room1", wire.Door(ts_ms=behind, open=True), received_ms=now)
    assert mon.tick(now + 4 * MINUTE_MS) == []  # door open 4 min on the edge clock
    late = mon.tick(now + 10 * MINUTE_MS)
    assert {(e.record.room, e.record.rule) for e in late if e.kind == "raised"} == {
        ("room1", "sensor_silent"),
        ("room2", "sensor_silent"),
        ("room1", "door_open"),
    }
