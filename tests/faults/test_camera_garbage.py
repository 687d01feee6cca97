"""Corrupt and truncated JPEGs on the camera topic, through a real Mosquitto, graded by
the real ONNX grader.

What it proves: a frame that cannot be graded is counted (grading errors) and logged
(once per cause, with the lane), the node keeps running (link up, no handler error), and
the crate it was meant for is not lost and not guessed: it waits for the operator's grade
or a good photo of the same crate, whichever comes first, while the crates around it
are stored as usual. Everything reaches the server once and the totals reconcile.
"""

from __future__ import annotations

import logging
import random
import time
from pathlib import Path

import numpy as np
import pytest

from edge.app import EdgeNode
from gongfang import wire
from models.render.strawberry import render_table_photo
from tests.e2e.helpers import TestClient
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
STATION = "st-camera"
BURST = 150


def good_photo(seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    photo = render_table_photo(rng, n_fruit=5, labels=["ripe"], diameter_mm=(30.0, 40.0))
    return bytes(photo.jpeg(85))


def undecodable(rng: random.Random, whole: bytes) -> bytes:
    """A frame no JPEG decoder makes an image of."""
    return rng.choice(
        [
            rng.randbytes(rng.randrange(1, 20_000)),  # noise
            b"\xff\xd8\xff" + b"\x00" * rng.randrange(10, 5000),  # a header, then nothing
            b"\xff\xd8\xff\xe0" + rng.randbytes(rng.randrange(10, 5000)),  # header + noise
            whole[: rng.randrange(2, 300)],  # cut off inside the headers
            b"\x89PNG\r\n\x1a\n" + rng.randbytes(100),  # not a JPEG at all
        ]
    )


def test_bad_camera_frames_leave_the_crate_waiting(
    mosquitto, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="edge.station.grading_port")
    rng = random.Random(16_5)
    server = PricedServer(tmp_path, station=STATION, farmers=["F001"], in_process=True).start()
    node = EdgeNode(
        edge_settings(
            tmp_path / "edge",
            station=STATION,
            mqtt_url=mosquitto.url,
            server=server,
            auto_confirm=True,
        )
    )
    node.start()
    assert node.preload_graders() == {"strawberry": "model"}
    db_path = node.store.path
    topic = wire.Topics(STATION).camera_frame(LANE)
    camera = TestClient(mosquitto.url)
    t0 = time.monotonic()
    try:
        assert node.wait_connected(15)
        crates = Crates(node, start_ms=int(time.time() * 1000))
        lane = lambda: node.status()["lanes"][LANE]  # noqa: E731
        errors = lambda: node.status()["grading"]["errors"]  # noqa: E731

        # A: a good photo, the lot is stored at once.
        crates.load(gross_of(0))
        camera.publish(topic, good_photo(1), qos=1)
        wait_for(lambda: lane()["lots"] == 1, 60, "crate A graded and stored")
        crates.unload()

        # B: only broken photos of it: it waits, saying why, for the operator.
        crates.load(gross_of(1))
        whole = good_photo(2)
        for _ in range(4):
            camera.publish(topic, undecodable(rng, whole), qos=1)
        wait_for(lambda: errors() >= 1 and lane()["pending"][0]["grading_error"], 60, "B")
        [b] = lane()["pending"]
        assert b["waiting_for"] == "override"
        crates.unload()

        # Between crates, a burst of garbage and half-sent frames on the camera topic.
        for i in range(BURST):
            frame = undecodable(rng, whole) if i % 5 else whole[: len(whole) * i // BURST]
            camera.publish(topic, frame, qos=1)
        wait_for(lambda: node.status()["lanes"][LANE]["frame_ms"], 10, "frames received")

        # C: a broken photo, then a good one of the same crate: the good one grades it.
        crates.load(gross_of(2))
        camera.publish(topic, undecodable(rng, whole), qos=1)
        camera.publish(topic, good_photo(3), qos=1)
        wait_for(lambda: lane()["lots"] == 2, 60, "crate C graded by its good photo")
        crates.unload()
        assert [p["lot_id"] for p in lane()["pending"]] == [b["lot_id"]]

        # The operator grades B by hand.
        lot_b = node.station.override(
            LANE, grade=wire.Grade.CLASS_II, reason="照片损坏，人工分级", operator="王芳"
        )
        assert str(lot_b.id) == b["lot_id"]
        wait_for(lambda: node.store.depth()["total"] == 0, 30, "synced")
        status = node.status()
    finally:
        camera.close()
        node.stop()
        server.stop()
    assert status["mqtt"]["connected"]
    assert status["node_counters"]["handler_errors"] == 0
    assert status["grading"]["errors"] >= 2
    assert status["lanes"][LANE]["pending"] == []
    logged = [r for r in caplog.records if "照片无法分级" in r.getMessage()]
    assert logged, "the bad frames were logged"
    assert all(LANE in r.getMessage() for r in logged)
    assert len(logged) < BURST // 10, "logged once per cause, not once per frame"
    assert integrity(db_path) == "ok"
    lots = edge_lots(db_path)
    assert sorted(lots.values()) == [gross_of(0), gross_of(1), gross_of(2)]
    figures = reconcile(server, lots)
    print(  # noqa: T201
        f"camera garbage: {BURST + 6} bad frames, grading {status['grading']},"
        f" {len(logged)} log lines, {figures}, {time.monotonic() - t0:.1f}s"
    )
