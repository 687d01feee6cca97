"""A weighed crate waiting for the operator survives the edge process being killed.

The real ``gongfang edge`` process on a real Mosquitto: a crate settles (no camera, so no
model grade), the farmer is picked, the process is SIGKILLed and started again; the
pending lot is back with its UUID, weights and farmer, the crate still on the scale does
not become a second lot, and the operator's grade stores exactly that lot.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gongfang import wire
from gongfang.embedded_broker import free_port
from tests.e2e.helpers import TestClient, wait_for
from tests.services import Mosquitto

STATION, LANE, GROSS_G, TARE_G = "st-pend", "lane1", 6200, 500


class EdgeProcess:
    """``gongfang edge`` in a subprocess, on a fixed data dir and HTTP port."""

    def __init__(self, tmp_path: Path, mqtt_url: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = tmp_path / "edge.toml"
        config.write_text(
            "[edge]\nreceipts_enabled = false\nstable_window_ms = 300\n"
            f'[[edge.lanes]]\nid = "{LANE}"\nproduct = "strawberry"\ntare_g = {TARE_G}\n',
            encoding="utf-8",
        )
        self.args = [
            sys.executable,
            "-m",
            "gongfang.cli",
            "edge",
            "--station",
            STATION,
            "--mqtt",
            mqtt_url,
            "--server",
            "http://127.0.0.1:9",  # nothing listens: lots stay in the outbox
            "--api-key",
            "k",
            "--data-dir",
            str(tmp_path / "data"),
            "--http-port",
            str(self.port),
            "--config",
            str(config),
            "--no-auto-confirm",
        ]
        self.env = {**os.environ, "GONGFANG_HOME": str(tmp_path)}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> dict[str, Any]:
        self.proc = subprocess.Popen(  # noqa: S603 - our own CLI
            self.args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env
        )
        status: dict[str, Any] = wait_for(
            lambda: (s := self.status()) and s["mqtt"]["connected"] and s,
            timeout_s=30,
            poll_s=0.05,
        )
        return status

    def status(self) -> dict[str, Any] | None:
        try:
            r = httpx.get(f"{self.url}/api/status", timeout=2)
        except httpx.HTTPError:
            return None
        return r.json() if r.status_code == 200 else None

    def post(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, timeout=5)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)
        self.proc.wait(20)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


@pytest.fixture
def edge(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[EdgeProcess]:
    proc = EdgeProcess(tmp_path, mosquitto.url)
    yield proc
    proc.close()


def _pending(status: dict[str, Any]) -> list[dict[str, Any]]:
    return list(status["lanes"][LANE]["pending"])


def test_pending_lot_survives_sigkill_and_is_confirmed_once(
    edge: EdgeProcess, mosquitto: Mosquitto, tmp_path: Path
) -> None:
    scale = TestClient(mosquitto.url)
    topic = wire.Topics(STATION).scale_reading(LANE)
    ts, seq = int(time.time() * 1000), 0

    def reading(gross_g: int) -> None:
        nonlocal ts, seq
        scale.publish(topic, {"ts_ms": ts, "gross_g": gross_g, "seq": seq})
        ts, seq = ts + 100, seq + 1

    try:
        edge.start()
        for frac in (0.2, 0.6, 1.05, 0.98):  # the crate goes on and settles
            reading(int(GROSS_G * frac))
        for _ in range(8):
            reading(GROSS_G)
        first = wait_for(lambda: _pending(edge.status() or {"lanes": {LANE: {"pending": []}}}))
        assert len(first) == 1
        assert first[0]["waiting_for"] == "farmer"
        r = edge.post(f"/api/lanes/{LANE}/farmer", {"farmer": "F001", "operator": "王"})
        assert r.status_code == 200, r.text
        lot_id = first[0]["lot_id"]

        edge.kill()  # power cut: no clean shutdown
        status = edge.start()
        restored = _pending(status)
        assert [p["lot_id"] for p in restored] == [lot_id]
        assert restored[0]["gross_g"] == GROSS_G
        assert restored[0]["net_g"] == GROSS_G - TARE_G
        assert restored[0]["farmer"] == "F001"
        assert restored[0]["captured_at"] == first[0]["captured_at"]
        assert restored[0]["restored"] is True
        assert restored[0]["waiting_for"] == "override"  # no photo of it in this process
        assert status["counters"]["pending_restored"] == 1

        # The crate is still on the scale after the restart: no second lot from it.
        for _ in range(10):
            reading(GROSS_G)
        wait_for(lambda: (edge.status() or {})["lanes"][LANE]["weight_ts_ms"] == ts - 100)
        assert [p["lot_id"] for p in _pending(edge.status() or {})] == [lot_id]

        r = edge.post(
            f"/api/lanes/{LANE}/override",
            {"grade": "class_i", "reason": "人工目检 visual check", "operator": "王"},
        )
        assert r.status_code == 200, r.text
        lot = r.json()
        assert lot["id"] == lot_id
        assert (lot["gross_g"], lot["tare_g"], lot["net_g"]) == (
            GROSS_G,
            TARE_G,
            GROSS_G - TARE_G,
        )
        assert lot["farmer"] == "F001"
        assert _pending(edge.status() or {}) == []

        # Crate off, the next one on: a new lot as usual.
        for _ in range(4):
            reading(0)
        for _ in range(8):
            reading(4100)
        second = wait_for(lambda: _pending(edge.status() or {}))
        assert second[0]["lot_id"] != lot_id
        assert second[0]["gross_g"] == 4100
        edge.kill(signal.SIGTERM)
    finally:
        scale.close()
    db = sqlite3.connect(tmp_path / "data" / "edge.db")
    try:
        assert db.execute("SELECT id FROM lots").fetchall() == [(lot_id,)]
        pending = db.execute("SELECT lot_id FROM pending_lots").fetchall()
        assert pending == [(second[0]["lot_id"],)]  # kept for the next start
    finally:
        db.close()
