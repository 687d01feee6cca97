"""The edge store: a lot and its outbox entry are one transaction; nothing twice."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.errors import StoreError
from edge.outbox.store import EdgeStore
from tests.edge.lot_factory import make_alarm, make_lot, make_summary


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeStore]:
    s = EdgeStore(tmp_path / "edge.db")
    yield s
    s.close()


def test_lot_and_outbox_entry_written_together(store: EdgeStore) -> None:
    lot = make_lot(1)
    assert store.record_lot(lot, lane="lane1") is True
    assert store.lot_count() == 1
    [entry] = store.next_batch(10)
    assert (entry.kind, entry.item_id) == ("lot", str(lot.id))
    assert entry.doc()["net_g"] == lot.net_g
    stored = store.get_lot(str(lot.id))
    assert stored is not None
    assert stored.record == lot
    assert stored.lane == "lane1"


def test_same_lot_twice_is_stored_once(store: EdgeStore) -> None:
    lot = make_lot(2)
    assert store.record_lot(lot, lane="lane1")
    assert store.record_lot(lot, lane="lane1") is False
    assert store.lot_count() == 1
    assert store.depth()["lot"] == 1


def test_failed_outbox_write_rolls_back_the_lot(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    # A second connection adds a trigger that makes the outbox insert fail half-way.
    other = sqlite3.connect(tmp_path / "edge.db")
    other.execute(
        "CREATE TRIGGER boom BEFORE INSERT ON outbox BEGIN SELECT RAISE(ABORT, 'disk'); END"
    )
    other.commit()
    other.close()
    with pytest.raises(StoreError):
        store.record_lot(make_lot(3), lane="lane1")
    assert store.lot_count() == 0
    assert store.depth()["total"] == 0
    store.close()


def test_durable_settings_and_reopen(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    lot = make_lot(4)
    store.record_lot(lot, lane="lane1")
    assert store._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    store.close()
    again = EdgeStore(tmp_path / "edge.db")
    assert [lot.id] == [x.record.id for x in again.recent_lots()]
    assert again.depth()["lot"] == 1
    again.close()


def test_alarm_states_coalesce_to_the_newest(store: EdgeStore) -> None:
    raised = make_alarm()
    store.record_alarm(raised)
    cleared = make_alarm(alarm_id=raised.id, cleared=True)
    store.record_alarm(cleared)
    entries = store.next_batch(10)
    assert len(entries) == 1
    assert entries[0].doc()["cleared_at"] is not None
    assert store.active_alarms() == []


def test_in_flight_alarm_removed_by_seq_keeps_newer_state(store: EdgeStore) -> None:
    raised = make_alarm()
    store.record_alarm(raised)
    in_flight = store.next_batch(10)
    store.record_alarm(make_alarm(alarm_id=raised.id, cleared=True))
    store.remove([e.seq for e in in_flight])  # the ack of the old state arrives
    [left] = store.next_batch(10)
    assert left.doc()["cleared_at"] is not None


def test_climate_minute_queued_once(store: EdgeStore) -> None:
    store.record_climate([make_summary(0), make_summary(1)])
    store.record_climate([make_summary(1)])
    assert store.depth()["climate"] == 2


def test_park_moves_entry_aside(store: EdgeStore) -> None:
    store.record_lot(make_lot(5), lane="lane1")
    [entry] = store.next_batch(10)
    store.park(entry, result="conflict", message="same id, other content")
    assert store.depth() == {
        "lot": 0,
        "alarm": 0,
        "climate": 0,
        "stay": 0,
        "total": 0,
        "parked": 1,
    }
    assert store.parked()[0]["result"] == "conflict"
    assert store.lot_count() == 1  # the lot itself stays on the station
    assert store.unpark(entry.seq) is True  # a person fixed the cause: send it again
    assert store.depth()["lot"] == 1
    assert store.depth()["parked"] == 0
    assert store.unpark(entry.seq) is False


def test_outbox_order_is_arrival_order(store: EdgeStore) -> None:
    lots = [make_lot(i) for i in range(5)]
    for lot in lots:
        store.record_lot(lot, lane="lane1")
    store.record_alarm(make_alarm())
    batch = store.next_batch(3)
    assert [e.item_id for e in batch] == [str(x.id) for x in lots[:3]]
