"""The sync loop against the contract-faithful stand-in server (real HTTP on loopback)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.errors import ServerUnreachableError, SyncAuthError, SyncError
from edge.outbox.store import EdgeStore
from edge.sync.loop import SyncConfig, SyncLoop, backoff_s, cached_directory
from gongfang import wire
from tests.e2e.standin_server import MALFORMED_FARMER, StandinServer, StandinState
from tests.edge.lot_factory import make_alarm, make_lot, make_summary

KEY = "k-test-0123456789"


@pytest.fixture(scope="module")
def server() -> Iterator[StandinServer]:
    srv = StandinServer(StandinState(api_key=KEY, station="st1", farmers={"F001"})).start()
    yield srv
    srv.stop()


@pytest.fixture
def state(server: StandinServer) -> StandinState:
    s = server.state
    s.lots.clear()
    s.alarms.clear()
    s.fail_with.clear()
    s.climate = 0
    return s


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeStore]:
    s = EdgeStore(tmp_path / "edge.db")
    yield s
    s.close()


def _loop(store: EdgeStore, url: str, key: str = KEY, batch: int = 50) -> SyncLoop:
    cfg = SyncConfig(
        server_url=url,
        api_key=key,
        station="st1",
        batch_size=batch,
        interval_s=0.05,
        max_backoff_s=0.2,
        timeout_s=2,
    )
    return SyncLoop(store=store, config=cfg)


def test_batches_in_order_and_removed_after_ack(store, server, state) -> None:
    lots = [make_lot(i) for i in range(7)]
    for lot in lots:
        store.record_lot(lot, lane="lane1")
    store.record_alarm(make_alarm())
    store.record_climate([make_summary(0)])
    loop = _loop(store, server.url, batch=4)
    # 9 entries in batches of 4: a full batch says more is waiting.
    assert [loop.run_once() for _ in range(3)] == [True, True, False]
    loop.stop()
    assert store.depth()["total"] == 0
    assert set(state.lots) == {str(x.id) for x in lots}
    assert len(state.alarms) == 1
    assert state.climate == 1
    st = loop.state()
    assert st["status"] == "ok"
    assert st["last_success_ms"]
    assert st["sent_total"] == 9
    assert store.get("last_sync_ms") == st["last_success_ms"]


def test_resent_lot_is_a_duplicate_and_leaves(store, server, state) -> None:
    lot = make_lot(1)
    store.record_lot(lot, lane="lane1")
    loop = _loop(store, server.url)
    loop.run_once()
    # Killed before the delete: the same entry goes out again.
    store._db.execute(
        "INSERT INTO outbox (kind, item_id, body, created_ms) VALUES ('lot', ?, ?, 0)",
        (str(lot.id), lot.model_dump_json()),
    )
    loop.run_once()
    loop.stop()
    assert store.depth()["total"] == 0
    assert store.depth()["parked"] == 0
    assert len(state.lots) == 1


def test_conflict_and_invalid_are_parked_not_retried(store, server, state) -> None:
    lot = make_lot(2)
    state.lots[str(lot.id)] = ("other-content", {})
    store.record_lot(lot, lane="lane1")
    store.record_lot(make_lot(3, farmer="F999"), lane="lane1")
    store.record_lot(make_lot(4), lane="lane1")
    loop = _loop(store, server.url)
    loop.run_once()
    before = state.requests
    loop.run_once()  # nothing left to send: parked items are not retried
    loop.stop()
    assert state.requests == before
    depth = store.depth()
    assert depth["total"] == 0
    assert depth["parked"] == 2
    assert sorted(p["result"] for p in store.parked()) == ["conflict", "invalid"]
    assert loop.state()["parked_total"] == 2


def test_422_bisects_to_the_bad_item(store, server, state) -> None:
    lots = [make_lot(i) for i in range(8)]
    bad = make_lot(99, farmer=MALFORMED_FARMER)
    for lot in lots[:5] + [bad] + lots[5:]:
        store.record_lot(lot, lane="lane1")
    loop = _loop(store, server.url)
    loop.run_once()
    loop.stop()
    assert set(state.lots) == {str(x.id) for x in lots}
    [parked] = store.parked()
    assert parked["item_id"] == str(bad.id)
    assert parked["result"] == "invalid"
    assert store.depth()["total"] == 0


def test_auth_failure_keeps_everything(store, server, state) -> None:
    store.record_lot(make_lot(5), lane="lane1")
    loop = _loop(store, server.url, key="wrong-key-000000")
    with pytest.raises(SyncAuthError):
        loop.run_once()
    loop.stop()
    assert store.depth()["lot"] == 1
    assert not state.lots
    assert loop.state()["status"] == "auth_error"


def test_server_error_then_recovery(store, server, state) -> None:
    store.record_lot(make_lot(6), lane="lane1")
    state.fail_with[:] = [503]
    loop = _loop(store, server.url)
    with pytest.raises(SyncError):
        loop.run_once()
    assert store.depth()["lot"] == 1
    assert loop.state()["status"] == "error"
    loop.run_once()
    loop.stop()
    assert store.depth()["lot"] == 0
    assert len(state.lots) == 1


def test_server_down_is_offline(store) -> None:
    from gongfang.embedded_broker import free_port

    store.record_lot(make_lot(7), lane="lane1")
    loop = _loop(store, f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ServerUnreachableError):
        loop.run_once()
    loop.stop()
    assert loop.state()["status"] == "offline"
    assert store.depth()["lot"] == 1


def test_directory_fetched_and_cached(store, server, state) -> None:
    state.directory = wire.StationDirectory(
        station="st1",
        cooperative="c1",
        farmers=[wire.FarmerHint(id="F001", name="张三", card_code="CARD-1")],
    )
    got: list[wire.StationDirectory] = []
    cfg = SyncConfig(server_url=server.url, api_key=KEY, station="st1")
    loop = SyncLoop(store=store, config=cfg, on_directory=got.append)
    loop.run_once()
    loop.stop()
    cached, fetched = cached_directory(store)
    assert cached == state.directory == got[0]
    assert fetched
    state.directory = None


def test_thread_drains_outbox_when_woken(store, server, state) -> None:
    loop = _loop(store, server.url)
    loop.start()
    done = threading.Event()
    lots = [make_lot(i) for i in range(3)]
    for lot in lots:
        store.record_lot(lot, lane="lane1")
    loop.wake()
    for _ in range(200):
        if store.depth()["total"] == 0:
            done.set()
            break
        threading.Event().wait(0.02)
    loop.stop()
    assert done.is_set()
    assert len(state.lots) == 3


@pytest.mark.parametrize("failures", [1, 3, 10, 50])
def test_backoff_is_bounded_and_jittered(failures: int) -> None:
    values = {backoff_s(failures, base_s=1.0, max_s=60.0) for _ in range(20)}
    cap = min(60.0, 2 ** (failures - 1))
    assert all(cap / 2 <= v <= cap for v in values)
    assert len(values) > 1
