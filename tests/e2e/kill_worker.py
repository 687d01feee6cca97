"""The edge process of the SIGKILL test: records crates ``5000 + 37·k`` g (k < total) through
a real :class:`edge.app.EdgeNode` and syncs them; it is killed at random and restarted.

On every start it asks its own store which crates are already lots, and weighs only the
others (a crate whose lot was not committed before the kill is simply weighed again,
as an operator would). Prints ``READY``, then ``RECORDED`` when all crates are lots,
then ``SYNCED`` when the outbox is empty.

Usage: python -m tests.e2e.kill_worker DATA_DIR MQTT_URL SERVER_URL API_KEY TOTAL
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from pathlib import Path

from edge.app import EdgeNode
from edge.mqtt.models import Inbound
from gongfang import wire
from gongfang.settings import EdgeLane, EdgeSettings
from tests.e2e.scale_stream import ScaleStream

STATION, LANE, FARMER, TARE_G = "st-kill", "lane1", "F001", 500


def gross_of(k: int) -> int:
    return 5000 + 37 * k


def main() -> None:
    data_dir, mqtt_url, server_url, api_key, total = sys.argv[1:6]
    # "Server unreachable" warnings are the point of this test: keep stderr to errors.
    logging.basicConfig(level=logging.ERROR)
    settings = EdgeSettings.load(
        station=STATION,
        mqtt_url=mqtt_url,
        server_url=server_url,
        api_key=api_key,
        data_dir=Path(data_dir),
        http_enabled=False,
        receipts_enabled=False,
        lanes=[EdgeLane(id=LANE, tare_g=TARE_G, cold_room="room1")],
        stable_window_ms=300,
        sync_interval_s=0.05,
        sync_batch_size=10,
        sync_max_backoff_s=0.3,
        sync_timeout_s=2.0,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    node = EdgeNode(settings).start()
    done = {lot.gross_g for lot in node.store.all_lots()}
    print("READY", len(done), flush=True)
    station = node.station
    station.select_farmer(LANE, FARMER, operator="tester")
    topic = wire.Topic(wire.TopicKind.SCALE_READING, STATION, LANE)
    # Exact weights (no noise) so the server's lots can be matched to crates exactly.
    stream = ScaleStream(start_ms=int(time.time() * 1000), seed=len(done), zero_noise_g=0)
    for k in range(int(total)):
        if gross_of(k) in done:
            continue
        for s in stream.crate(gross_of(k), settle_ms=500, noise_g=0):
            reading = wire.ScaleReading(ts_ms=s.ts_ms, gross_g=s.gross_g, seq=s.seq)
            node.handle(Inbound(topic=topic, payload=reading, received_ms=s.ts_ms))
            if station.pending_count(LANE):
                # The operator grades by hand here (no camera in this test).
                station.override(
                    LANE, grade=wire.Grade.CLASS_I, reason="kill test", operator="tester"
                )
        time.sleep(0.015)  # pacing (a crate every ~20 ms) so kills land mid-recording
    print("RECORDED", node.store.lot_count(), flush=True)
    while node.store.depth()["total"] > 0:
        time.sleep(0.02)
    print("SYNCED", flush=True)
    stop.wait(600)  # until SIGTERM: then a clean shutdown
    node.stop()


if __name__ == "__main__":
    main()
