"""The edge's disk fills up mid-day (a 4 MiB tmpfs as its data folder, filled to the last
byte).

What it proves: a lot that cannot be written for lack of space is not lost and not half
written: the write raises :class:`edge.errors.StoreFullError` with a message that says so
(存储空间已满…), the station's status shows it, the crate stays pending with its UUID;
once space is freed the same crate is stored once, the outbox passes ``PRAGMA
integrity_check`` and everything reaches the server once, the totals reconciling.
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.app import EdgeNode
from edge.errors import StoreFullError
from tests.faults.support import (
    LANE,
    Crates,
    PricedServer,
    edge_lots,
    edge_settings,
    gross_of,
    integrity,
    reconcile,
    wait_for,
)

pytestmark = pytest.mark.mosquitto
STATION = "st-full"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MiB tmpfs (needs root: skipped where mounting is not allowed)."""
    mnt = tmp_path / "disk"
    mnt.mkdir()
    res = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)],
        capture_output=True,
        check=False,
    )
    if res.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {res.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(folder: Path) -> Path:
    """Write a file until the disk refuses another byte."""
    filler = folder / "filler.bin"
    with filler.open("wb", buffering=0) as f:
        for chunk in (1 << 16, 1 << 12, 1 << 9, 1):
            while True:
                try:
                    f.write(b"\0" * chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return filler


def test_disk_full_keeps_the_crate_pending_and_the_outbox_sound(
    mosquitto, small_disk: Path, tmp_path: Path
) -> None:
    server = PricedServer(tmp_path, station=STATION, farmers=["F001"], in_process=True).start()
    node = EdgeNode(
        edge_settings(small_disk / "edge", station=STATION, mqtt_url=mosquitto.url, server=server)
    ).start()
    db_path = node.store.path
    t0 = time.monotonic()
    try:
        crates = Crates(node, start_ms=int(time.time() * 1000))
        k = 0
        for _ in range(10):  # a normal start of the day
            crates.weigh(gross_of(k))
            k += 1
        wait_for(lambda: node.store.depth()["total"] == 0, 30, "first lots synced")

        filler = fill(small_disk)
        # The database may still have room inside pages it already holds (the WAL is
        # reused): weigh on until a write is refused for lack of space.
        refused: StoreFullError | None = None
        for _ in range(200):
            crates.put(gross_of(k))
            k += 1
            try:
                crates.grade()
            except StoreFullError as exc:
                refused = exc
                break
        assert refused is not None, "the full disk never refused a write"
        assert "存储空间已满" in str(refused)
        assert "disk full" in str(refused)
        status = node.status()
        assert status["store_error"] is not None
        assert "存储空间已满" in status["store_error"]
        assert status["counters"]["store_full"] >= 1
        [waiting] = status["lanes"][LANE]["pending"]
        assert waiting["gross_g"] == gross_of(k - 1)
        # Trying again while the disk is still full: refused again, still the same crate.
        with pytest.raises(StoreFullError):
            crates.grade()
        assert [p["lot_id"] for p in node.status()["lanes"][LANE]["pending"]] == [waiting["lot_id"]]
        assert waiting["lot_id"] not in edge_lots(db_path)

        os.unlink(filler)  # the operator frees space and confirms again
        stored = crates.grade()
        assert str(stored.id) == waiting["lot_id"]
        assert node.status()["store_error"] is None
        assert node.status()["lanes"][LANE]["pending"] == []
        for _ in range(5):  # and the day goes on
            crates.weigh(gross_of(k))
            k += 1
        wait_for(lambda: node.store.depth()["total"] == 0, 30, "everything synced")
    finally:
        node.stop()
        server.stop()
    assert integrity(db_path) == "ok"
    lots = edge_lots(db_path)
    assert len(lots) == k, "every crate weighed is one lot"
    figures = reconcile(server, lots)
    print(f"disk full: {figures}, refused: {refused}, {time.monotonic() - t0:.1f}s")  # noqa: T201


def test_store_full_is_told_apart_without_root(tmp_path: Path) -> None:
    """The same refusal where no tmpfs can be mounted: SQLite's own size limit
    (``max_page_count``) answers SQLITE_FULL as a full disk does. The write is refused
    whole (no lot, no outbox row, the pending crate kept), then goes through once the
    limit is lifted, and the file passes ``integrity_check``."""
    from edge.outbox.store import EdgeStore
    from tests.faults.power_cut_worker import lot

    store = EdgeStore(tmp_path / "edge.db")
    try:
        for k in range(3):
            store.record_lot(lot("st-full", k), lane=LANE)
        full = lot("st-full", 3)
        store.save_pending(str(full.id), LANE, {"gross_g": full.gross_g})
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages}")
        with pytest.raises(StoreFullError, match="存储空间已满"):
            store.record_lot(full, lane=LANE)
        assert store.lot_count() == 3
        assert store.depth()["lot"] == 3
        assert [p[0] for p in store.pending_lots()] == [str(full.id)]
        store._db.execute(f"PRAGMA max_page_count = {pages * 100}")
        assert store.record_lot(full, lane=LANE)
        assert store.lot_count() == store.depth()["lot"] == 4
        assert store.pending_lots() == []
    finally:
        store.close()
    assert integrity(tmp_path / "edge.db") == "ok"
