"""DESIGN's 1 h cooling rule at the station: a lot not put away into a room 1 h after
intake raises ONE major ``cooling_late`` alarm (at 61 min, not at 59), kept and queued
for the server like the rooms' alarms, never duplicated (restart included), cleared by
the put-away; a lot weighed on a lane with a room is never late; and (Hypothesis) one
alarm exactly when a check finds the lot waiting an hour, whatever the times."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from edge.outbox.store import EdgeStore
from edge.stock.service import COOLING_RULE, StockService, cooling_alarm_id
from gongfang import wire
from tests.edge.lot_factory import BASE, make_lot

MIN = 60_000
INTAKE = wire.utc_ms(BASE)


def _alarms_queued(store: EdgeStore) -> list[wire.AlarmRecord]:
    return [
        wire.AlarmRecord.model_validate_json(e.body)
        for e in store.next_batch(100)
        if e.kind == "alarm"
    ]


def _service(store: EdgeStore, clock: list[int], kinds: list[str]) -> StockService:
    """The service on ``store`` at the time in ``clock[0]``, the alarm events' kinds kept."""
    return StockService(
        store=store,
        station="st1",
        rooms=["room1"],
        clock=lambda: clock[0],
        on_alarms=lambda evs: kinds.extend(e.kind for e in evs),
    )


def test_cooling_alarm_at_61_min_not_59_once_then_cleared_by_put_away(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    store = EdgeStore(path)
    waiting = make_lot(0, cold_room=None)
    store.record_lot(waiting, lane="lane2")
    store.record_lot(make_lot(1), lane="lane1")  # put away in room1 at intake: never late
    clock = [INTAKE]
    published: list[str] = []
    stock = _service(store, clock, published)
    assert stock.check_cooling(INTAKE + 59 * MIN) == []
    assert store.active_alarms() == []
    assert stock.stock()["waiting"][0]["late"] is False

    [raised] = stock.check_cooling(INTAKE + 61 * MIN)
    assert raised.kind == "raised"
    record = raised.record
    assert record.rule == COOLING_RULE
    assert record.severity is wire.Severity.MAJOR
    assert record.room == "lane2"
    assert record.id == cooling_alarm_id("st1", str(waiting.id))
    assert record.started_at == BASE
    assert "未入冷库" in record.message
    assert store.active_alarms() == [record]
    assert _alarms_queued(store) == [record]
    assert published == ["raised"]

    # later ticks and a restart raise nothing more
    assert stock.check_cooling(INTAKE + 90 * MIN) == []
    store.close()
    store = EdgeStore(path)
    stock = StockService(store=store, station="st1", rooms=["room1"], clock=lambda: clock[0])
    assert stock.check_cooling(INTAKE + 120 * MIN) == []
    assert len(_alarms_queued(store)) == 1

    # the put-away clears it (at the put-away), and the clearing replaces the queued state
    clock[0] = INTAKE + 125 * MIN
    stock.put_away(lot_id=str(waiting.id), room="room1", operator="王芳")
    assert store.active_alarms() == []
    [cleared] = _alarms_queued(store)
    assert cleared.id == record.id
    assert cleared.cleared_at is not None
    assert wire.utc_ms(cleared.cleared_at) == INTAKE + 125 * MIN
    assert stock.check_cooling(INTAKE + 200 * MIN) == []
    assert stock.stock()["waiting"] == []
    store.close()


def test_lot_put_away_within_the_hour_raises_nothing(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    lot = make_lot(0, cold_room=None)
    store.record_lot(lot, lane="lane2")
    stock = StockService(
        store=store, station="st1", rooms=["room1"], clock=lambda: INTAKE + 30 * MIN
    )
    stock.put_away(lot_id=str(lot.id), room="room1", operator="王芳")
    assert stock.check_cooling(INTAKE + 24 * 60 * MIN) == []
    assert store.active_alarms() == []
    # its stay (excursions, shelf life) starts in that room at the put-away
    assert store.stay(str(lot.id)) == ("room1", INTAKE + 30 * MIN, None, None)
    store.close()


@settings(max_examples=40, deadline=None)
@given(
    put_at=st.one_of(st.none(), st.integers(0, 180)),
    checks=st.lists(st.integers(0, 240), max_size=8).map(sorted),
)
def test_one_alarm_exactly_when_a_check_finds_the_lot_waiting_an_hour(
    put_at: int | None, checks: list[int]
) -> None:
    """Minutes after intake: the put-away at ``put_at`` (None: never), the tick's checks."""
    with tempfile.TemporaryDirectory() as tmp:
        store = EdgeStore(Path(tmp) / "edge.db")
        lot = make_lot(0, cold_room=None)
        store.record_lot(lot, lane="lane2")
        clock = [INTAKE]
        kinds: list[str] = []
        stock = _service(store, clock, kinds)
        pending_put = put_at
        for t in checks:
            if pending_put is not None and pending_put <= t:  # the put-away comes first
                clock[0] = INTAKE + pending_put * MIN
                stock.put_away(lot_id=str(lot.id), room="room1", operator="王芳")
                pending_put = None
            stock.check_cooling(INTAKE + t * MIN)
        if pending_put is not None:
            clock[0] = INTAKE + pending_put * MIN
            stock.put_away(lot_id=str(lot.id), room="room1", operator="王芳")
        late = any(t >= 60 and (put_at is None or put_at > t) for t in checks)
        assert kinds.count("raised") == int(late)
        assert kinds.count("cleared") == int(late and put_at is not None)
        assert len(store.active_alarms()) == int(late and put_at is None)
        store.close()
