"""Lot photos from the edge to the REAL server: once per photo after its lot, resumed
after a restart without sending anything twice, retried while the server is down,
pruned photos skipped and counted, never in the way of a lot."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edge.errors import ServerUnreachableError
from edge.outbox.store import EdgeStore
from edge.station.photos import PhotoStore
from edge.sync.loop import SyncConfig, SyncLoop
from edge.sync.photos import PhotoUploader
from server.photos.service import photo_path
from tests.e2e.real_server import RealServer
from tests.edge.lot_factory import make_lot
from tests.server.photo_helpers import jpeg, sha

STATION = "st1"


class CountingTransport(httpx.HTTPTransport):
    """Real HTTP, counting the photo PUTs that went out."""

    def __init__(self) -> None:
        super().__init__()
        self.puts: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            self.puts.append(request.url.path.rsplit("/", 1)[-1])
        return super().handle_request(request)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RealServer]:
    srv = RealServer(tmp_path / "srv", station=STATION, farmers=["F001"])
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[EdgeStore]:
    s = EdgeStore(tmp_path / "edge" / "edge.db")
    yield s
    s.close()


def _loop(store: EdgeStore, srv: RealServer, photos: PhotoStore, t: CountingTransport) -> SyncLoop:
    cfg = SyncConfig(
        server_url=srv.url,
        api_key=srv.api_key,
        station=STATION,
        interval_s=0.05,
        max_backoff_s=0.2,
        timeout_s=5,
    )
    return SyncLoop(store=store, config=cfg, photos=photos, transport=t)


def _stats(loop: SyncLoop) -> dict[str, int]:
    stats = loop.photo_stats()
    assert stats is not None
    return stats


def _drain(loop: SyncLoop, limit: int = 50) -> None:
    for _ in range(limit):
        if not loop.run_once():
            return
    raise AssertionError("sync did not settle")


def _on_server(tmp_path: Path, data: bytes) -> bool:
    path = photo_path(root=tmp_path / "srv" / "photos", sha256=sha(data))
    return path.is_file() and path.read_bytes() == data


def test_photos_follow_their_lots_once(tmp_path, server, store) -> None:
    photos = PhotoStore(tmp_path / "edge" / "photos", max_bytes=10**9)
    frames = [jpeg(i) for i in range(5)]
    for f in frames[:4]:
        photos.keep(f)
    # lot 0: two photos; lots 1-2: one each; lot 3 names a photo no longer kept (pruned);
    # lot 4 names none.
    names = [[frames[0], frames[1]], [frames[2]], [frames[3]], [frames[4]], []]
    for i, fs in enumerate(names):
        store.record_lot(make_lot(i, image_hashes=[sha(f) for f in fs]), lane="lane1")
    t = CountingTransport()
    loop = _loop(store, server, photos, t)
    # The first cycle sends the lots and no photo: lots go first.
    loop.run_once()
    assert t.puts == []
    assert store.depth()["total"] == 0
    _drain(loop)
    assert sorted(t.puts) == sorted(sha(f) for f in frames[:4])
    assert all(_on_server(tmp_path, f) for f in frames[:4])
    stats = _stats(loop)
    assert stats == {
        "waiting": 0,
        "uploaded": 4,
        "duplicate": 0,
        "skipped": 1,
        "refused": 0,
        "failed": 0,
        "errors": 0,
    }
    loop.stop()
    # A restart (new loop, same store): nothing is sent again.
    t2 = CountingTransport()
    again = _loop(store, server, photos, t2)
    _drain(again)
    again.stop()
    assert t2.puts == []


def test_restart_mid_queue_sends_only_the_rest(tmp_path, server, store) -> None:
    photos = PhotoStore(tmp_path / "edge" / "photos", max_bytes=10**9)
    frames = [jpeg(10 + i) for i in range(6)]
    for i, f in enumerate(frames):
        photos.keep(f)
        store.record_lot(make_lot(i, image_hashes=[sha(f)]), lane="lane1")
    t = CountingTransport()
    loop = _loop(store, server, photos, t)
    loop.run_once()  # the lots
    loop.run_once()  # four photos (per cycle), then "killed"
    loop.stop()
    assert len(t.puts) == 4
    t2 = CountingTransport()
    again = _loop(store, server, photos, t2)
    _drain(again)
    again.stop()
    assert sorted(t.puts + t2.puts) == sorted(sha(f) for f in frames)
    assert all(_on_server(tmp_path, f) for f in frames)


def test_server_down_photos_wait_and_go_later(tmp_path, server, store) -> None:
    photos = PhotoStore(tmp_path / "edge" / "photos", max_bytes=10**9)
    frame = jpeg(20)
    photos.keep(frame)
    store.record_lot(make_lot(0, image_hashes=[sha(frame)]), lane="lane1")
    t = CountingTransport()
    loop = _loop(store, server, photos, t)
    loop.run_once()  # the lot is accepted, its photo queued
    server.stop()
    assert loop.run_once() is False  # the upload fails: kept, no exception, lots unaffected
    stats = _stats(loop)
    assert stats["waiting"] == 1
    assert stats["failed"] == 1
    # A new lot while the server is down still fails (and stays) as before.
    store.record_lot(make_lot(1), lane="lane1")
    with pytest.raises(ServerUnreachableError):
        loop.run_once()
    server.start()
    _drain_until(loop, lambda: _stats(loop)["waiting"] == 0)
    loop.stop()
    assert _on_server(tmp_path, frame)
    assert store.depth()["total"] == 0
    assert _stats(loop)["uploaded"] == 1


def _drain_until(loop: SyncLoop, done, timeout_s: float = 10.0) -> None:
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            loop.run_once()
        except ServerUnreachableError:
            pass
        if done():
            return
        time.sleep(0.05)
    raise AssertionError("did not happen in time")


def test_refused_photo_is_counted_not_retried(tmp_path, server, store) -> None:
    photos = PhotoStore(tmp_path / "edge" / "photos", max_bytes=10**9)
    frame = jpeg(30)
    digest = sha(frame)
    # The kept file got corrupted on disk: the server recomputes the hash and refuses it.
    photos.keep(frame)
    photos.path(digest).write_bytes(jpeg(31))
    store.record_lot(make_lot(0, image_hashes=[digest]), lane="lane1")
    t = CountingTransport()
    loop = _loop(store, server, photos, t)
    _drain(loop)
    _drain(loop)
    loop.stop()
    assert t.puts == [digest]
    assert _stats(loop)["refused"] == 1
    assert _stats(loop)["waiting"] == 0


def test_lots_synced_before_the_queue_are_backfilled_once(tmp_path, server, store) -> None:
    photos = PhotoStore(tmp_path / "edge" / "photos", max_bytes=10**9)
    frame = jpeg(40)
    photos.keep(frame)
    store.record_lot(make_lot(0, image_hashes=[sha(frame)]), lane="lane1")
    store.record_lot(make_lot(1, image_hashes=[sha(jpeg(41))]), lane="lane1")
    # lot 0 reached the server by an older edge (no photo queue): gone from the outbox
    old = store.next_batch(1)
    store.remove([old[0].seq])
    http = httpx.Client(base_url=server.url, headers={"X-Api-Key": server.api_key})
    uploader = PhotoUploader(db_path=store.path, photos=photos, http=http)
    assert uploader.waiting() == 1  # lot 1 is still in the outbox: not yet
    uploader.close()
    uploader = PhotoUploader(db_path=store.path, photos=photos, http=http)
    assert uploader.waiting() == 1  # backfilled once, not again
    uploader.close()
    http.close()


def test_a_broken_photo_queue_never_holds_up_lots(tmp_path, server, store) -> None:
    import sqlite3

    photos = PhotoStore(tmp_path / "edge" / "photos", max_bytes=10**9)
    frame = jpeg(50)
    photos.keep(frame)
    store.record_lot(make_lot(0, image_hashes=[sha(frame)]), lane="lane1")
    t = CountingTransport()
    loop = _loop(store, server, photos, t)
    with sqlite3.connect(store.path) as db:
        db.execute("DROP TABLE photo_uploads")
    _drain(loop)
    assert store.depth()["total"] == 0  # the lot went anyway
    assert server.lots()
    assert _stats(loop)["errors"] >= 1
    loop.stop()
