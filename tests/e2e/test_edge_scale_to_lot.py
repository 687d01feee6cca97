"""Acceptance 1: a simulated scale stream through a real Mosquitto and a real EdgeNode makes
exactly one lot per crate; a never-settling stream makes none."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from edge.app import EdgeNode
from gongfang import wire
from gongfang.settings import EdgeLane, EdgeSettings
from tests.e2e.helpers import TestClient, synthetic_frame, wait_for
from tests.e2e.scale_stream import ScaleStream

STATION = "st-a1"


def _publish(client: TestClient, topic: str, samples) -> None:
    for s in samples:
        client.publish(
            topic, {"ts_ms": s.ts_ms, "gross_g": s.gross_g, "seq": s.seq, "status": "ok"}
        )


def test_one_lot_per_crate_and_none_when_never_settling(mosquitto, tmp_path: Path) -> None:
    settings = EdgeSettings.load(
        station=STATION,
        mqtt_url=mosquitto.url,
        data_dir=tmp_path,
        http_port=0,
        receipts_enabled=False,
        stable_window_ms=300,
        lanes=[
            EdgeLane(id="lane1", tare_g=500, cold_room="room1"),
            EdgeLane(id="lane2", tare_g=500),
        ],
    )
    topics = wire.Topics(STATION)
    node = EdgeNode(settings).start()
    client = TestClient(mosquitto.url, subscribe=[topics.edge_lot])
    assert node.http_url is not None
    http = httpx.Client(base_url=node.http_url, timeout=5)
    try:
        assert node.wait_connected(10)

        def lane(name: str) -> dict[str, Any]:
            doc: dict[str, Any] = http.get("/api/status").json()["lanes"][name]
            return doc

        client.publish(topics.scanner_code("lane1"), {"ts_ms": 1, "code": "F001"}, qos=1)
        wait_for(lambda: lane("lane1")["farmer"])
        stream1 = ScaleStream(start_ms=1_760_000_000_000, seed=1)
        stream2 = ScaleStream(start_ms=1_760_000_000_000, seed=2)
        crates = [8000, 12500, 6400, 15020]
        lots = []
        for gross in crates:
            _publish(client, topics.scale_reading("lane1"), stream1.empty(300))
            _publish(client, topics.scale_reading("lane1"), stream1.crate(gross, settle_ms=1200))
            pending = wait_for(lambda: lane("lane1")["pending"])
            assert len(pending) == 1
            r = http.post(
                "/api/lanes/lane1/override",
                json={"grade": "class_i", "reason": "目测一级", "operator": "王芳"},
            )
            assert r.status_code == 200, r.text
            lots.append(r.json())
        # A scale that never settles (60 s of swinging), then one marker crate on it: the
        # marker must be the only pending lot there, so the swinging made none.
        _publish(client, topics.scale_reading("lane2"), stream2.never_settling(9000, 60_000))
        assert lane("lane2")["pending"] == []
        _publish(client, topics.scale_reading("lane2"), stream2.empty(300))
        _publish(client, topics.scale_reading("lane2"), stream2.crate(9000, settle_ms=1200))
        pending2 = wait_for(lambda: lane("lane2")["pending"])
        assert len(pending2) == 1
        assert abs(pending2[0]["gross_g"] - 9000) <= 10

        published = client.take(len(crates))
        assert [p["id"] for _, p in published] == [lot["id"] for lot in lots]
        for gross, lot in zip(crates, lots, strict=True):
            assert (
                abs(lot["gross_g"] - gross) <= 10
            )  # settled weight ± noise and zero tracking, not the overshoot
            assert lot["net_g"] == lot["gross_g"] - 500
            assert lot["graded_by"] == {
                "kind": "operator",
                "model_name": None,
                "model_version": None,
                "operator": "王芳",
                "reason": "目测一级",
            }
        status = http.get("/api/status").json()
        assert status["lanes"]["lane1"]["lots"] == len(crates)
        assert status["lanes"]["lane1"]["pending"] == []
        assert status["counters"]["crates_settled"] == len(crates) + 1
        assert status["outbox"]["lot"] == len(crates)  # no server configured: all kept
        assert len({lot["id"] for lot in lots}) == len(crates)
    finally:
        http.close()
        client.close()
        node.stop()


def test_unattended_lane_makes_one_graded_lot_per_crate(mosquitto, tmp_path: Path) -> None:
    """auto_confirm (simulator/demo): scan, frame and crate over MQTT → one lot per crate,
    graded by the shipped ONNX model (not the placeholder) from the lane's rendered frame."""
    settings = EdgeSettings.load(
        station="st-a1b",
        mqtt_url=mosquitto.url,
        data_dir=tmp_path,
        http_enabled=False,
        receipts_enabled=False,
        auto_confirm=True,
        stable_window_ms=300,
        lanes=[EdgeLane(id="lane1", tare_g=500, cold_room="room1")],
    )
    topics = wire.Topics("st-a1b")
    node = EdgeNode(settings).start()
    client = TestClient(mosquitto.url, subscribe=[topics.edge_lot])
    try:
        assert node.wait_connected(10)
        client.publish(topics.scanner_code("lane1"), {"ts_ms": 1, "code": "F042"}, qos=1)
        stream = ScaleStream(start_ms=1_760_000_000_000, seed=5)
        crates = [7000, 9100, 5600]
        for i, gross in enumerate(crates):
            _publish(client, topics.scale_reading("lane1"), stream.empty(300))
            crate = list(stream.crate(gross, settle_ms=1200))
            _publish(client, topics.scale_reading("lane1"), crate[:6])  # set down
            # The lane camera photographs the crate on the scale (each crate its own photo).
            client.publish(topics.camera_frame("lane1"), synthetic_frame(i), qos=1)
            _publish(client, topics.scale_reading("lane1"), crate[6:])
        # Swinging load, then nothing: no further lot may appear after the three.
        _publish(client, topics.scale_reading("lane1"), stream.never_settling(9000, 20_000))
        tail = list(stream.empty(500))
        _publish(client, topics.scale_reading("lane1"), tail)
        lots = [doc for _, doc in client.take(len(crates), timeout_s=20)]
        # Every reading handled (the last one shows as the lane's weight) before counting.
        wait_for(lambda: node.status()["lanes"]["lane1"]["weight_ts_ms"] == tail[-1].ts_ms)
        assert [abs(doc["gross_g"] - g) <= 10 for doc, g in zip(lots, crates, strict=True)] == [
            True
        ] * 3
        assert all(doc["farmer"] == "F042" and doc["graded_by"]["kind"] == "model" for doc in lots)
        assert all(len(doc["image_hashes"]) == 1 for doc in lots)
        assert len({doc["image_hashes"][0] for doc in lots}) == len(crates)
        assert {doc["graded_by"]["model_name"] for doc in lots} == {"gongfang-strawberry"}
        status = node.status()
        assert status["counters"]["crates_settled"] == len(crates)
        assert status["lanes"]["lane1"]["lots"] == len(crates)
        assert client.messages.empty()
    finally:
        client.close()
        node.stop()
