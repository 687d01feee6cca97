"""A station replays an old batch: its box is restored from a backup taken before the
day's lots were synced, so it sends them all again, one of them altered.

What it proves: the server takes a replay as what it is: the unchanged lots are
acknowledged as duplicates (they leave the edge's outbox, nothing is stored twice), the
altered one (same lot id, other content) is refused as a conflict and parked on the edge
for a person, never overwriting the stored lot; the server's lots, amounts and daily
aggregates are exactly what they were before the replay, and the totals reconcile.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

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
STATION = "st-replay"
N = 40


def server_state(server: PricedServer) -> tuple[Any, ...]:
    """Every stored lot (id, weights, grade, amount, content hash) and aggregate row."""
    from sqlalchemy import select

    from server.aggregates.models import DailyAggregate
    from server.core.db import make_engine, session_factory
    from server.lots.models import Lot

    engine = make_engine(server.db_url)
    try:
        with session_factory(engine)() as s:
            lots = s.execute(
                select(Lot.id, Lot.gross_g, Lot.grade, Lot.amount_fen, Lot.content_hash).order_by(
                    Lot.id
                )
            ).all()
            aggs = s.execute(
                select(
                    DailyAggregate.day,
                    DailyAggregate.grade,
                    DailyAggregate.lots,
                    DailyAggregate.net_g,
                    DailyAggregate.amount_fen,
                ).order_by(DailyAggregate.day, DailyAggregate.grade)
            ).all()
            return tuple(map(tuple, lots)), tuple(map(tuple, aggs))
    finally:
        engine.dispose()


def test_a_replayed_batch_changes_nothing(mosquitto, tmp_path: Path) -> None:
    server = PricedServer(tmp_path, station=STATION, farmers=["F001"], in_process=True)
    data, backup = tmp_path / "edge", tmp_path / "backup"
    settings = edge_settings(data, station=STATION, mqtt_url=mosquitto.url, server=server)
    t0 = time.monotonic()
    node = EdgeNode(settings).start()  # the server is not up yet: the lots wait
    crates = Crates(node, start_ms=int(time.time() * 1000) - 3600_000, gap_ms=60_000)
    for k in range(N):
        crates.weigh(gross_of(k))
    node.stop()
    shutil.copytree(data, backup)  # yesterday's backup of the box: all N still to send

    server.start()
    try:
        node = EdgeNode(settings).start()
        wait_for(lambda: node.store.depth()["total"] == 0, 60, "first sync")
        node.stop()
        before = server_state(server)
        assert len(before[0]) == N

        # The box is restored from the backup, and one queued lot differs from what the
        # server holds (same id, the grade changed).
        shutil.rmtree(data)
        shutil.copytree(backup, data)
        db = sqlite3.connect(data / "edge.db")
        with db:
            seq, body = db.execute(
                "SELECT seq, body FROM outbox WHERE kind = 'lot' ORDER BY seq LIMIT 1 OFFSET 7"
            ).fetchone()
            doc = json.loads(body)
            doc["grade"] = "extra"
            db.execute("UPDATE outbox SET body = ? WHERE seq = ?", (json.dumps(doc), seq))
        db.close()
        node = EdgeNode(settings).start()
        assert node.store.depth()["lot"] == N
        wait_for(lambda: node.store.depth()["total"] == 0, 60, "the replay answered")
        depth, sync = node.store.depth(), node.status()["sync"]
        [parked] = node.store.parked()
        node.stop()
        after = server_state(server)
    finally:
        server.stop()
    assert depth["parked"] == 1, "the altered lot is parked for a person"
    assert parked["result"] == "conflict"
    assert parked["item_id"] == doc["id"]
    assert sync["parked_total"] == 1
    assert after == before, "the replay changed what the server holds"
    assert integrity(data / "edge.db") == "ok"
    lots = edge_lots(data / "edge.db")
    assert doc["id"] in lots
    figures = reconcile(server, lots)
    print(  # noqa: T201
        f"replay: {N} lots sent again, {N - 1} duplicates, 1 conflict parked ({parked['message']}),"
        f" {figures}, {time.monotonic() - t0:.1f}s"
    )
