"""The writer of the power-cut test: stores lots through the edge's own write path
(:class:`edge.outbox.store.EdgeStore`: the crate saved as pending, then the lot, its outbox
entry and its cold-room stay in one transaction) as fast as it can, until it is killed.

Prints ``READY n`` (lots already stored), then ``C <lot id>`` after each commit.

Usage: python -m tests.faults.power_cut_worker DB_PATH STATION
"""

from __future__ import annotations

import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from edge.outbox.store import EdgeStore
from gongfang import wire

# Kept free of the test-side imports (edge.app, the server): it starts a dozen times.
FARMER, LANE, TARE_G = "F001", "lane1", 500
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)


def gross_of(k: int) -> int:
    return 5000 + 37 * k


def lot(station: str, k: int) -> wire.LotRecord:
    gross = gross_of(k)
    return wire.LotRecord(
        id=uuid.uuid4(),
        station=station,
        farmer=FARMER,
        product=wire.Product.STRAWBERRY,
        grade=wire.Grade.CLASS_I,
        gross_g=gross,
        tare_g=TARE_G,
        net_g=gross - TARE_G,
        graded_by=wire.GradedBy(kind="operator", operator="tester", reason="power cut test"),
        # per-fruit results make each write several pages long, so kills land inside them
        items=[{"n": i, "label": "ripe", "diameter_mm": 30 + i % 9} for i in range(60)],
        captured_at=BASE + timedelta(milliseconds=k),
        cold_room="room1",
        operator="tester",
    )


def main() -> None:
    db_path, station = sys.argv[1:3]
    store = EdgeStore(Path(db_path))
    done = {r.gross_g for r in store.all_lots()}
    print("READY", len(done), flush=True)
    k = 0
    while True:
        if gross_of(k) not in done:
            record = lot(station, k)
            store.save_pending(str(record.id), LANE, {"gross_g": record.gross_g})
            store.record_lot(record, lane=LANE)
            print("C", record.id, flush=True)
        k += 1


if __name__ == "__main__":
    main()
