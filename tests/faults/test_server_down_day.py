"""The central server is down for the whole working day, then comes back.

What it proves: the edge goes on weighing offline (300 crates over ten hours of capture
time), says it is offline, keeps every lot in its outbox, and when the server is started
sends them all: the server accepts each once (no duplicate, none refused), the edge's
outbox empties, the lots on both sides match and the totals reconcile.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from edge.app import EdgeNode
from tests.faults.support import (
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
STATION = "st-day"
N = 300
DAY_MS = 10 * 3600 * 1000


def test_a_day_offline_syncs_every_lot_once(mosquitto, tmp_path: Path) -> None:
    server = PricedServer(tmp_path, station=STATION, farmers=["F001"])  # not started: down
    node = EdgeNode(
        edge_settings(tmp_path / "edge", station=STATION, mqtt_url=mosquitto.url, server=server)
    ).start()
    db_path = node.store.path
    t0 = time.monotonic()
    try:
        now_ms = int(time.time() * 1000)
        crates = Crates(node, start_ms=now_ms - DAY_MS, gap_ms=DAY_MS // N)
        for k in range(N):
            crates.weigh(gross_of(k))
        recorded_s = time.monotonic() - t0
        assert node.store.depth()["lot"] == N
        wait_for(lambda: node.status()["sync"]["status"] == "offline", 30, "shown offline")

        server.start()
        t1 = time.monotonic()
        wait_for(lambda: node.store.depth()["total"] == 0, 60, "the day's lots synced")
        synced_s = time.monotonic() - t1
        assert node.status()["sync"]["status"] == "ok"
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
    finally:
        node.stop()
        server.stop()
    results = {
        line.split('result="')[1].split('"')[0]: float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith("gongfang_sync_lots_total{")
    }
    assert results.get("accepted") == N
    assert results.get("duplicate", 0) == 0
    assert integrity(db_path) == "ok"
    lots = edge_lots(db_path)
    assert len(lots) == N
    figures = reconcile(server, lots)
    print(  # noqa: T201
        f"server down a day: {N} lots recorded offline in {recorded_s:.1f}s, synced in"
        f" {synced_s:.1f}s, sync results {results}, {figures}"
    )
