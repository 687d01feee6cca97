"""EdgeNode end to end on one box: operator API, receipts, sync, status, WebSocket, CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from edge.app import EdgeNode
from gongfang import wire
from gongfang.embedded_broker import free_port
from gongfang.settings import EdgeLane, EdgeSettings
from tests.e2e.helpers import TestClient, wait_for
from tests.e2e.scale_stream import ScaleStream
from tests.e2e.standin_server import StandinServer, StandinState

STATION = "st-app"
KEY = "k-app-0123456789"
DIRECTORY = wire.StationDirectory(
    station=STATION,
    cooperative="c1",
    farmers=[
        wire.FarmerHint(
            id="F001",
            name="张三",
            card_code="CARD-1",
            contracts=[
                wire.ContractHint(
                    product=wire.Product.STRAWBERRY,
                    valid_from="2000-01-01",
                    valid_to="2099-12-31",
                    floor_fen_per_kg={wire.Grade.CLASS_II: 900},
                    premium_pct="20",
                )
            ],
        )
    ],
)


@pytest.fixture
def server() -> Iterator[StandinServer]:
    state = StandinState(api_key=KEY, station=STATION, farmers={"F001"}, directory=DIRECTORY)
    srv = StandinServer(state).start()
    yield srv
    srv.stop()


@pytest.fixture
def node(mosquitto, server, tmp_path: Path) -> Iterator[EdgeNode]:
    settings = EdgeSettings.load(
        station=STATION,
        mqtt_url=mosquitto.url,
        server_url=server.url,
        api_key=KEY,
        data_dir=tmp_path,
        http_port=0,
        stable_window_ms=300,
        sync_interval_s=0.1,
        printer="dummy",
        lanes=[EdgeLane(id="lane1", tare_g=500, cold_room="room1")],
    )
    n = EdgeNode(settings).start()
    assert n.wait_connected(10)
    yield n
    n.stop()


def test_operator_flow_receipt_sync_and_status(node, server, mosquitto) -> None:
    topics = wire.Topics(STATION)
    http = httpx.Client(base_url=node.http_url, timeout=5)
    client = TestClient(mosquitto.url)
    try:
        wait_for(lambda: node.directory.loaded)  # fetched from the server at start
        r = http.post("/api/lanes/lane1/farmer", json={"farmer": "CARD-1", "operator": "王芳"})
        assert r.json()["farmer"] == {"id": "F001", "name": "张三", "verified": True}
        assert http.post("/api/lanes/lane9/farmer", json={"farmer": "F001"}).status_code == 404
        assert http.post("/api/lanes/lane1/farmer", json={"farmer": ""}).status_code == 422
        assert http.post("/api/lanes/lane1/confirm", json={}).status_code == 409  # nothing yet

        # Garbage on subscribed topics is counted, and the crate after it still works.
        client.publish(topics.scale_reading("lane1"), b"\x00not json")
        client.publish(topics.climate("room1"), b'{"temp_c": "hot"}', qos=1)
        stream = ScaleStream(start_ms=1_760_000_000_000)
        for s in [*stream.empty(300), *stream.crate(10_500, settle_ms=1000)]:
            client.publish(
                topics.scale_reading("lane1"),
                {"ts_ms": s.ts_ms, "gross_g": s.gross_g, "seq": s.seq, "status": "ok"},
            )
        wait_for(lambda: http.get("/api/status").json()["lanes"]["lane1"]["pending"])
        r = http.post("/api/lanes/lane1/confirm", json={"operator": "王芳"})
        assert r.status_code == 409  # no camera frame: no model grade to confirm
        r = http.post(
            "/api/lanes/lane1/override",
            json={"grade": "class_ii", "reason": "无图像，人工定级", "operator": "王芳"},
        )
        assert r.status_code == 200, r.text
        lot = r.json()
        assert lot["farmer"] == "F001"
        assert lot["graded_by"]["kind"] == "operator"

        # Synced: the server holds it, the outbox is empty, the status says when.
        wait_for(lambda: lot["id"] in server.state.lots, timeout_s=10)
        status = wait_for(
            lambda: (
                (s := http.get("/api/status").json())["outbox"]["total"] == 0
                and s["last_successful_sync_ms"]
                and s
            )
        )
        assert status["sync"]["status"] == "ok"
        assert status["parked"] == 0
        assert http.get("/api/parked").json() == []
        assert http.post("/api/parked/999/retry").status_code == 404
        assert status["lanes"]["lane1"]["weight_g"] is not None
        assert "room1" in json.dumps(status["rooms"]) or status["rooms"] == {}
        assert isinstance(status["active_alarms"], list)
        assert status["mqtt"]["connected"] is True
        assert status["mqtt"]["stats"]["bad_payloads"] >= 2  # the garbage, counted

        # The receipt: PNG and PDF, printed on the (dummy) ESC/POS printer.
        wait_for(lambda: http.get("/api/status").json()["receipts"]["made"] == 1)
        png = http.get(f"/api/lots/{lot['id']}/receipt.png")
        assert png.status_code == 200
        assert png.content.startswith(b"\x89PNG")
        assert http.get(f"/api/lots/{lot['id']}/receipt.pdf").content.startswith(b"%PDF")
        assert http.get("/api/status").json()["receipts"]["printed"] == 1
        assert http.get("/api/lots/nope/receipt.png").status_code == 404
        assert [x["id"] for x in http.get("/api/lots").json()] == [lot["id"]]

        with connect(node.http_url.replace("http", "ws") + "/ws/status") as ws:
            doc = json.loads(ws.recv(timeout=5))
        assert doc["station"] == STATION
        assert doc["lanes"]["lane1"]["lots"] == 1
    finally:
        client.close()
        http.close()


def test_cli_runs_until_sigterm_and_stops_cleanly(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "edge.toml"
    config.write_text(
        "[edge]\n"
        'rooms = { leafroom = "ruoye" }\n'
        "[[edge.lanes]]\n"
        'id = "L7"\nproduct = "ruoye"\ncrate = "ruoye_bag"\ncold_room = "leafroom"\n',
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gongfang.cli",
            "edge",
            "--station",
            "st-cli",
            "--mqtt",
            "embedded://",
            "--server",
            "http://127.0.0.1:9",
            "--api-key",
            "k",
            "--data-dir",
            str(tmp_path),
            "--http-port",
            str(port),
            "--config",
            str(config),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "GONGFANG_HOME": str(tmp_path)},
    )
    try:
        status = wait_for(
            lambda: _get(f"http://127.0.0.1:{port}/api/status"), timeout_s=30, poll_s=0.1
        )
        assert status["station"] == "st-cli"  # the option wins over the file
        assert status["lanes"]["L7"]["product"] == "ruoye"
        assert status["lanes"]["L7"]["tare_g"] == 150  # the ruoye_bag crate's tare
        assert list(status["rooms"]) == ["leafroom"]
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out.decode()
    assert "边缘节点已停止" in out.decode()


def test_cli_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "gongfang.cli", "edge", "--config", str(tmp_path / "no.toml")],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert out.returncode == 2
    assert "配置" in out.stderr


def _get(url: str) -> dict | None:
    try:
        r = httpx.get(url, timeout=1)
    except httpx.HTTPError:
        return None
    return r.json() if r.status_code == 200 else None


def test_cold_room_alarm_summaries_stay_and_restart(mosquitto, server, tmp_path: Path) -> None:
    settings = EdgeSettings.load(
        station=STATION,
        mqtt_url=mosquitto.url,
        server_url=server.url,
        api_key=KEY,
        data_dir=tmp_path,
        http_port=0,
        stable_window_ms=300,
        sync_interval_s=0.1,
        receipts_enabled=False,
        lanes=[EdgeLane(id="lane1", tare_g=500, cold_room="room1")],
        rooms={"room1": "strawberry"},
    )
    topics = wire.Topics(STATION)
    minute = 60_000
    now = int(time.time() * 1000)
    base = now - 40 * minute
    node = EdgeNode(settings).start()
    client = TestClient(mosquitto.url, subscribe=[topics.edge_alarm])
    try:
        assert node.wait_connected(10)
        # A lot put into room1 five minutes in, weighed by the operator.
        node.station.select_farmer("lane1", "F001")
        stream = ScaleStream(start_ms=base + 5 * minute)
        for s in stream.crate(9000, settle_ms=1000):
            node.station.on_reading(
                "lane1", wire.ScaleReading(ts_ms=s.ts_ms, gross_g=s.gross_g, seq=s.seq)
            )
        lot = node.station.override("lane1", grade=wire.Grade.CLASS_I, reason="r", operator="o")
        # 10 min at 1.5 °C, then 25 min at 5.5 °C: one major alarm, not one per reading.
        for i in range(71):
            temp = 1.5 if i < 20 else 5.5
            client.publish(
                topics.climate("room1"),
                {"ts_ms": base + i * 30_000, "temp_c": temp, "rh_pct": 92.0, "seq": i},
                qos=1,
            )
        last_ts = base + 70 * 30_000

        def settled() -> list[dict] | None:
            s = node.status()
            done = s["rooms"]["room1"]["ts_ms"] == last_ts
            return s["active_alarms"] if done else None

        # (The live tick may see the old timestamps as a silent sensor for a moment; the
        # next reading clears that. At the end only the temperature alarm is active.)
        [active] = wait_for(settled)
        assert (active["rule"], active["severity"]) == ("temp_high", "major")
        node.tick(now)  # minute summaries of the finished minutes go to the outbox
        wait_for(lambda: active["id"] in server.state.alarms and server.state.climate >= 30)
        wait_for(lambda: node.status()["outbox"]["total"] == 0)
        first_high = None
        while first_high is None:
            [(_, doc)] = client.take(1)
            if doc["rule"] == "temp_high":
                first_high = doc
        assert first_high["event"] == "raised"
        assert first_high["id"] == active["id"]
        assert [a for a in server.state.alarms.values() if a["rule"] == "temp_high"] == [
            server.state.alarms[active["id"]]
        ]  # one alarm, updated, never duplicated
        assert node.status()["rooms"]["room1"]["temp_c"] == 5.5

        stay = node.lot_stay(str(lot.id))
        assert stay is not None
        assert stay["open"] is True
        assert any(e["rule"] == "temp_high" for e in stay["excursions"])
        assert stay["remaining_shelf_life_h"] is not None
        closed = node.dispatch_lot(str(lot.id))
        assert closed is not None
        assert closed["open"] is False
        assert node.dispatch_lot(str(lot.id)) is None  # dispatched once
        # The closed stay is queued for the server as its own kind (the stand-in server
        # predates stays and never acknowledges them, so it stays queued here).
        [queued] = [e for e in node.store.next_batch(1000) if e.kind == "stay"]
        sent = wire.LotStay.model_validate_json(queued.body)
        assert (sent.lot_id, sent.station, sent.room) == (lot.id, STATION, "room1")
        assert sent.excursions == len(closed["excursions"]) >= 1
        assert sent.minutes_above_max_c == closed["minutes_above_max"] > 0
        assert sent.remaining_shelf_life_h == closed["remaining_shelf_life_h"]
        assert sent.mkt_c == closed["mkt_c"]
        assert wire.utc_ms(sent.left_at) == closed["to_ms"]
    finally:
        client.close()
        node.stop()
    # Restarted: the active alarm is still active (state persisted), not raised again.
    again = EdgeNode(settings).start()
    try:
        assert [a["id"] for a in again.status()["active_alarms"]] == [active["id"]]
        stay = again.lot_stay(str(lot.id))
        assert stay is not None
        assert stay["open"] is False
    finally:
        again.stop()


def test_camera_frame_is_graded_and_hashed_into_the_lot(node, mosquitto) -> None:
    """The lane's latest frame goes through the real grading port: a model grade to confirm,
    or (no model shipped yet / nothing found) a grading error shown and an override."""
    import hashlib

    from tests.e2e.helpers import synthetic_frame

    topics = wire.Topics(STATION)
    client = TestClient(mosquitto.url)
    try:
        frame = synthetic_frame(3)
        client.publish(topics.scanner_code("lane1"), {"ts_ms": 1, "code": "CARD-1"}, qos=1)
        # A photo of the empty table before the crate: it must not grade the crate.
        client.publish(topics.camera_frame("lane1"), synthetic_frame(5), qos=1)
        wait_for(lambda: node.status()["grading"]["graded"] + node.status()["grading"]["errors"])
        stream = ScaleStream(start_ms=1_760_000_000_000)
        samples = [*stream.empty(300), *stream.crate(7_300, settle_ms=1000)]
        on_scale, removal = samples[:-7], samples[-7:]  # the crate's last 7: lifted off

        def publish(part: list) -> None:
            for s in part:
                client.publish(
                    topics.scale_reading("lane1"),
                    {"ts_ms": s.ts_ms, "gross_g": s.gross_g, "seq": s.seq, "status": "ok"},
                )

        publish(on_scale)
        wait_for(lambda: node.status()["lanes"]["lane1"]["pending"])
        # The crate settled: it waits for a frame of itself, the earlier one does not count.
        assert node.status()["lanes"]["lane1"]["pending"][0]["waiting_for"] == "grading"
        graded = node.status()["grading"]["graded"]
        client.publish(topics.camera_frame("lane1"), b"\xff\xd8\xff garbage", qos=1)
        client.publish(topics.camera_frame("lane1"), frame, qos=1)
        # The broken photo fails (or is replaced while queued); the good one grades the crate.
        wait_for(lambda: node.status()["grading"]["graded"] > graded)
        publish(removal)
        [pending] = wait_for(
            lambda: [
                p
                for p in node.status()["lanes"]["lane1"]["pending"]
                if p["waiting_for"] != "grading"
            ]
        )
        if pending["grade"] is not None:
            lot = node.station.confirm("lane1", operator="王芳")
            assert lot.graded_by.kind == "model"
            # The graded frame is kept: the lot's photo, for staff and for labelling.
            photo = httpx.get(f"{node.http_url}/api/lots/{lot.id}/photo.jpg", timeout=5)
            assert photo.status_code == 200
            assert photo.headers["content-type"] == "image/jpeg"
            assert photo.content == frame
            assert node.status()["photos"]["photos"] == 2  # the empty table's too
        else:
            assert pending["grading_error"]
            lot = node.station.override(
                "lane1", grade=wire.Grade.CLASS_I, reason="模型不可用", operator="王芳"
            )
        assert lot.image_hashes == [hashlib.sha256(frame).hexdigest()]
        assert lot.farmer == "F001"
        missing = httpx.get(f"{node.http_url}/api/lots/{uuid.uuid4()}/photo.jpg", timeout=5)
        assert missing.status_code == 404
    finally:
        client.close()
