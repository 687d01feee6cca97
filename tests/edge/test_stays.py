"""A lot's cold-room stay: closed at dispatch, queued in the same commit, synced as its own
kind (``LotStay``) and removed from the outbox only when the server acknowledged it.

The server here is the REAL central server app (uvicorn in a thread, SQLite file); the
stand-in server, which predates stays, shows an unacknowledged stay staying queued.
"""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import select

from edge.errors import StoreError
from edge.outbox.store import EdgeStore
from edge.sync.loop import SyncConfig, SyncLoop
from edge.sync.stays import stay_record
from gongfang import wire
from gongfang.embedded_broker import free_port
from gongfang.settings import ServerSettings
from tests.e2e.standin_server import StandinServer, StandinState
from tests.edge.lot_factory import BASE, make_lot

H = 3_600_000
FROM_MS = wire.utc_ms(BASE)
REPORT: dict[str, Any] = {
    "excursions": [{"rule": "temp_high"}, {"rule": "door_open"}],
    "minutes_above_max": 25,
    "minutes_below_min": 0,
    "temp_max_c": 5.5,
    "mkt_c": 1.84,
    "data_coverage_pct": 97.5,
    "remaining_shelf_life_h": 120.5,
}


def _stay(lot: wire.LotRecord, report: dict[str, Any] | None = None) -> wire.LotStay:
    rec = stay_record(
        station=lot.station,
        lot_id=str(lot.id),
        room=lot.cold_room or "room1",
        from_ms=FROM_MS,
        to_ms=FROM_MS + 48 * H,
        report=REPORT if report is None else report,
    )
    assert rec is not None
    return rec


def _record_and_close(store: EdgeStore, lot: wire.LotRecord, rec: wire.LotStay) -> None:
    assert store.record_lot(lot, lane="lane1")
    assert store.close_stay(str(lot.id), FROM_MS + 48 * H, {"kept": "locally"}, rec)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeStore]:
    s = EdgeStore(tmp_path / "edge.db")
    yield s
    s.close()


# ---------------------------------------------------------------- the store


def test_stay_record_from_report() -> None:
    lot = make_lot(1)
    rec = _stay(lot)
    assert rec.lot_id == lot.id
    assert (rec.station, rec.room) == ("st1", "room1")
    assert rec.entered_at == BASE
    assert wire.utc_ms(rec.left_at) == FROM_MS + 48 * H
    assert (rec.excursions, rec.minutes_above_max_c, rec.minutes_below_min_c) == (2, 25, 0)
    assert (rec.temp_peak_c, rec.mkt_c, rec.remaining_shelf_life_h) == (5.5, 1.84, 120.5)
    # a room without readings (or no monitor): a record with no estimates, 0 % coverage
    blank = _stay(lot, {})
    assert (blank.mkt_c, blank.temp_peak_c, blank.remaining_shelf_life_h) == (None, None, None)
    assert (blank.excursions, blank.data_coverage_pct) == (0, 0.0)
    # a report that cannot make a valid record: None (logged), not an exception
    assert (
        stay_record(station="st1", lot_id="not-a-uuid", room="room1", from_ms=0, to_ms=1, report={})
        is None
    )


def test_closing_a_stay_queues_it_once(store: EdgeStore) -> None:
    lot = make_lot(1)
    rec = _stay(lot)
    _record_and_close(store, lot, rec)
    entries = store.next_batch(10)
    assert [(e.kind, e.item_id) for e in entries] == [("lot", str(lot.id)), ("stay", str(lot.id))]
    assert wire.LotStay.model_validate_json(entries[1].body) == rec
    assert store.depth()["stay"] == 1
    # closed already: nothing changes, nothing queued again
    assert store.close_stay(str(lot.id), FROM_MS + 50 * H, {}, rec) is False
    assert store.depth()["stay"] == 1
    room, _, to_ms, report = store.stay(str(lot.id)) or ("", 0, None, None)
    assert (room, to_ms, report) == ("room1", FROM_MS + 48 * H, {"kept": "locally"})
    # unknown lot
    assert store.close_stay(str(uuid.uuid4()), FROM_MS, {}, rec) is False


def test_stay_closed_and_queued_in_one_transaction(tmp_path: Path) -> None:
    """If the outbox entry cannot be written, the stay is not closed either."""
    path = tmp_path / "edge.db"
    store = EdgeStore(path)
    try:
        lot = make_lot(1)
        assert store.record_lot(lot, lane="lane1")
        with sqlite3.connect(path) as db:
            db.execute(
                "CREATE TRIGGER full_disk BEFORE INSERT ON outbox WHEN NEW.kind = 'stay'"
                " BEGIN SELECT RAISE(ABORT, 'disk full'); END"
            )
        with pytest.raises(StoreError, match="disk full"):
            store.close_stay(str(lot.id), FROM_MS + H, {"x": 1}, _stay(lot))
        stay = store.stay(str(lot.id))
        assert stay is not None
        assert stay[2] is None  # still open
        assert store.depth()["stay"] == 0
        with sqlite3.connect(path) as db:
            db.execute("DROP TRIGGER full_disk")
        assert store.close_stay(str(lot.id), FROM_MS + H, {"x": 1}, _stay(lot))
        assert store.depth()["stay"] == 1
    finally:
        store.close()


def test_outbox_from_before_stays_is_widened(tmp_path: Path) -> None:
    """An edge database made before stays (outbox CHECK without 'stay') keeps its queue,
    its seq numbers (parked entries are keyed by seq) and then takes stays."""
    path = tmp_path / "edge.db"
    with sqlite3.connect(path) as db:
        db.executescript(
            """
            CREATE TABLE outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL CHECK (kind IN ('lot', 'alarm', 'climate')),
                item_id TEXT NOT NULL,
                body TEXT NOT NULL,
                created_ms INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0
            );
            CREATE INDEX outbox_item ON outbox (kind, item_id);
            INSERT INTO outbox (seq, kind, item_id, body, created_ms, attempts)
                VALUES (5, 'climate', 'room1@0', '{}', 1, 3), (12, 'lot', 'x', '{}', 2, 0);
            DELETE FROM outbox WHERE seq = 12;
            INSERT INTO outbox (seq, kind, item_id, body, created_ms)
                VALUES (9, 'alarm', 'a', '{}', 3);
            """
        )
    store = EdgeStore(path)
    try:
        assert [(e.seq, e.kind) for e in store.next_batch(10)] == [(5, "climate"), (9, "alarm")]
        lot = make_lot(1)
        _record_and_close(store, lot, _stay(lot))
        seqs = [(e.seq, e.kind) for e in store.next_batch(10)]
        assert seqs[:2] == [(5, "climate"), (9, "alarm")]
        assert [k for _, k in seqs[2:]] == ["lot", "stay"]
        assert all(s > 12 for s, _ in seqs[2:])  # the sequence did not restart below 12
    finally:
        store.close()
    again = EdgeStore(path)  # reopening does not rebuild (or lose) anything
    try:
        assert again.depth()["total"] == 4
    finally:
        again.close()


# ---------------------------------------------------------------- sync to the real server

KEY_STATION = "st1"


class _Server:
    """``server.main.create_app`` on a loopback port in a thread, over a SQLite file."""

    def __init__(self, workdir: Path) -> None:
        from server.core.db import session_scope
        from server.importer import import_bundle
        from server.main import create_app
        from server.stations.service import issue_station_key

        self.app = create_app(
            ServerSettings.load(
                database_url=f"sqlite:///{workdir / 'server.db'}",
                secret_key="test-secret-key-0123456789abcdef",
            )
        )
        with session_scope(self.app.state.sessions) as session:
            import_bundle(
                session=session,
                doc={
                    "cooperatives": [{"id": "coop1", "name": "建德草莓合作社"}],
                    "stations": [{"id": KEY_STATION, "cooperative": "coop1", "name": "一号站"}],
                    "farmers": [{"id": "F001", "name": "农户", "cooperative": "coop1"}],
                },
            )
            self.key = issue_station_key(session=session, station_id=KEY_STATION)
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stays(self) -> list[Any]:
        from server.coldchain.models import LotColdStay

        with self.app.state.sessions() as session:
            return list(session.scalars(select(LotColdStay)))

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.app.state.engine.dispose()


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Server]:
    srv = _Server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


def _loop(store: EdgeStore, url: str, key: str) -> SyncLoop:
    cfg = SyncConfig(server_url=url, api_key=key, station=KEY_STATION, timeout_s=5)
    return SyncLoop(store=store, config=cfg)


def test_stay_synced_acknowledged_and_removed(tmp_path: Path, real_server: _Server) -> None:
    lot = make_lot(1)
    rec = _stay(lot)
    first = EdgeStore(tmp_path / "a.db")
    loop = _loop(first, real_server.url, real_server.key)
    try:
        _record_and_close(first, lot, rec)
        assert loop.run_once() is False
        assert first.depth()["total"] == 0
        assert first.depth()["parked"] == 0
        assert loop.state()["sent_total"] == 2
    finally:
        loop.stop()
        first.close()
    [row] = [s for s in real_server.stays() if s.lot_id == lot.id]
    assert (row.station_id, row.room, row.excursions) == ("st1", "room1", 2)
    assert (row.minutes_above_max_c, row.mkt_c, row.remaining_shelf_life_h) == (25, 1.84, 120.5)
    assert row.left_at == rec.left_at
    assert row.content_hash == rec.content_hash()

    # Killed after the server stored it, before the ack removed it: sent again, acknowledged
    # as a duplicate, removed; still one stay on the server.
    again = EdgeStore(tmp_path / "b.db")
    loop = _loop(again, real_server.url, real_server.key)
    try:
        _record_and_close(again, lot, rec)
        loop.run_once()
        assert again.depth()["total"] == 0
        assert again.depth()["parked"] == 0
    finally:
        loop.stop()
        again.close()
    assert len([s for s in real_server.stays() if s.lot_id == lot.id]) == 1

    # Other content under the same lot id: parked as a conflict, the stored one kept.
    other = EdgeStore(tmp_path / "c.db")
    loop = _loop(other, real_server.url, real_server.key)
    try:
        _record_and_close(other, lot, _stay(lot, REPORT | {"minutes_above_max": 99}))
        loop.run_once()
        assert other.depth()["total"] == 0
        [parked] = other.parked()
        assert (parked["kind"], parked["result"]) == ("stay", "conflict")
    finally:
        loop.stop()
        other.close()
    [row] = [s for s in real_server.stays() if s.lot_id == lot.id]
    assert row.minutes_above_max_c == 25


def test_stay_of_a_refused_lot_is_parked(store: EdgeStore, real_server: _Server) -> None:
    """The lot's farmer is unknown to the server: the lot and then its stay are parked as
    invalid (with the server's reason), never retried in a loop."""
    lot = make_lot(2, farmer="F404")
    _record_and_close(store, lot, _stay(lot))
    loop = _loop(store, real_server.url, real_server.key)
    try:
        loop.run_once()
    finally:
        loop.stop()
    parked = {p["kind"]: p for p in store.parked()}
    assert parked["lot"]["result"] == "invalid"
    assert parked["stay"]["result"] == "invalid"
    assert "unknown lot" in parked["stay"]["message"]
    assert store.depth()["total"] == 0


def test_unacknowledged_stay_stays_queued(store: EdgeStore) -> None:
    """The stand-in server acknowledges lots but knows nothing of stays: the lot leaves
    the outbox, the stay stays (its attempts counted) until a server acknowledges it."""
    srv = StandinServer(StandinState(api_key="k", station="st1", farmers={"F001"})).start()
    try:
        lot = make_lot(3)
        _record_and_close(store, lot, _stay(lot))
        loop = _loop(store, srv.url, "k")
        try:
            loop.run_once()
            loop.run_once()
        finally:
            loop.stop()
        assert str(lot.id) in srv.state.lots
        [left] = store.next_batch(10)
        assert (left.kind, left.item_id) == ("stay", str(lot.id))
        assert loop.state()["unacked_total"] == 2
    finally:
        srv.stop()
