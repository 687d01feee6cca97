"""Pending lots (weighed, waiting for the operator) are kept in the edge database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.outbox.store import EdgeStore
from edge.station.workflow import Station
from gongfang import wire
from tests.e2e.scale_stream import ScaleStream
from tests.edge.test_station_workflow import LANE, _grading, _station, _weigh


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeStore]:
    s = EdgeStore(tmp_path / "edge.db")
    yield s
    s.close()


def _settle(station: Station, stream: ScaleStream, gross_g: int) -> list[wire.ScaleReading]:
    """Put a crate on the scale until it settles; returns the readings that take it off."""
    readings = [
        wire.ScaleReading(ts_ms=s.ts_ms, gross_g=s.gross_g, seq=s.seq)
        for s in stream.crate(gross_g, settle_ms=1000)
    ]
    for r in readings[:-7]:
        station.on_reading(LANE, r)
    return readings[-7:]


def _photo(station: Station, grade: wire.Grade = wire.Grade.CLASS_I) -> None:
    """A photo of the crate on the scale, graded."""
    station.on_frame_received(LANE, "a" * 64, 1)
    station.on_graded(LANE, _grading(grade))


def _reopen(tmp_path: Path, store: EdgeStore) -> EdgeStore:
    store.close()
    return EdgeStore(tmp_path / "edge.db")


def test_graded_pending_lot_comes_back_and_is_confirmed_with_its_grade(
    tmp_path: Path, store: EdgeStore
) -> None:
    st = _station(tmp_path, store, [])
    _settle(st, ScaleStream(start_ms=1_700_000_000_000), 8000)
    _photo(st, wire.Grade.EXTRA)  # graded after the settle: the saved row is updated
    st.select_farmer(LANE, "F001")  # and again
    before = st.status()["lanes"][LANE]["pending"][0]
    store = _reopen(tmp_path, store)
    try:
        stored: list = []
        again = _station(tmp_path, store, stored)
        view = again.status()["lanes"][LANE]["pending"][0]
        assert view["lot_id"] == before["lot_id"]
        assert view["restored"] is True
        assert view["waiting_for"] == "operator"
        assert {k: view[k] for k in ("gross_g", "tare_g", "captured_at", "grade", "farmer")} == {
            k: before[k] for k in ("gross_g", "tare_g", "captured_at", "grade", "farmer")
        }
        lot = again.confirm(LANE, operator="王芳")
        assert str(lot.id) == before["lot_id"]
        assert lot.grade is wire.Grade.EXTRA
        assert lot.graded_by.model_version == "1.2"
        assert lot.image_hashes == ["a" * 64]
        assert store.pending_lots() == []  # removed in the lot's own transaction
        assert not again.latencies_ms  # no settle-to-store time across a restart
    finally:
        store.close()


def test_stored_or_discarded_lots_leave_nothing_pending(tmp_path: Path, store: EdgeStore) -> None:
    st = _station(tmp_path, store, [], auto_confirm=True)
    st.select_farmer(LANE, "F001")
    _settle(st, ScaleStream(start_ms=1_700_000_000_000), 7000)
    assert len(store.pending_lots()) == 1  # settled, waiting for its photo
    _photo(st)  # graded: auto-confirmed, stored
    assert store.lot_count() == 1
    assert store.pending_lots() == []
    manual = _station(tmp_path, store, [])
    _settle(manual, ScaleStream(start_ms=1_700_000_100_000), 5000)
    assert len(store.pending_lots()) == 1
    manual.discard(LANE)
    assert store.pending_lots() == []
    assert _station(tmp_path, store, []).pending_count(LANE) == 0


def test_restored_crate_still_on_the_scale_is_not_weighed_twice(
    tmp_path: Path, store: EdgeStore
) -> None:
    stream = ScaleStream(start_ms=1_700_000_000_000)
    removal = _settle(_station(tmp_path, store, []), stream, 6000)
    again = _station(tmp_path, store, [])  # restarted while the crate sits on the scale
    assert again.pending_count(LANE) == 1
    for s in stream.crate(6000, settle_ms=1000):  # readings of a settled load again
        if s.gross_g >= 6000 - 10:
            again.on_reading(LANE, wire.ScaleReading(ts_ms=s.ts_ms, gross_g=s.gross_g, seq=s.seq))
    assert again.pending_count(LANE) == 1
    assert again.counters["crates_settled"] == 0
    for r in removal:  # taken off
        again.on_reading(LANE, r.model_copy(update={"seq": r.seq + 10_000}))
    _weigh(again, 4000, stream)  # the next crate makes its own lot
    assert again.pending_count(LANE) == 2


def test_unrestorable_rows_are_counted_and_kept(tmp_path: Path, store: EdgeStore) -> None:
    store.save_pending("4b0d6c2e-1c1e-4a57-9d44-3e3c1f0e9a11", "gone-lane", {"gross_g": 1})
    store.save_pending("not-a-uuid", LANE, {"gross_g": 900, "tare_g": 500, "captured_ms": 1})
    store.save_pending(
        "5b0d6c2e-1c1e-4a57-9d44-3e3c1f0e9a12", LANE, {"gross_g": 400, "tare_g": 500}
    )
    st: Station = _station(tmp_path, store, [])
    assert st.pending_count(LANE) == 0
    assert st.counters["pending_not_restored"] == 3
    assert len(store.pending_lots()) == 3  # nothing deleted
