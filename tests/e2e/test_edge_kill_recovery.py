"""Acceptance 2: server stopped, 200 lots recorded while the edge process is SIGKILLed at
random moments (recording and syncing, at least 20 kills) and restarted; the server,
started, holds exactly the 200 lots, each once, with the right weights.

Uses the REAL server (``server.main.create_app`` on SQLite in a uvicorn subprocess).
"""

from __future__ import annotations

import os
import queue
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.kill_worker import STATION, TARE_G, gross_of
from tests.e2e.real_server import RealServer

TOTAL = 200
ROOT = Path(__file__).resolve().parents[2]


class Worker:
    def __init__(self, args: list[str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.e2e.kill_worker", *args],
            stdout=subprocess.PIPE,
            cwd=ROOT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:  # closed at EOF, i.e. once the worker is dead
            for raw in self.proc.stdout:
                self.lines.put(raw.decode().strip())

    def wait_line(self, prefix: str, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            if any(x.startswith(prefix) for x in self.seen):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            try:
                self.seen.append(self.lines.get(timeout=left))
            except queue.Empty:
                return False

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def test_sigkill_during_recording_and_syncing_loses_and_duplicates_nothing(
    mosquitto, tmp_path: Path
) -> None:
    rng = random.Random(20261124)
    server = RealServer(tmp_path, station=STATION, farmers=["F001"])
    args = [str(tmp_path / "edge"), mosquitto.url, server.url, server.api_key, str(TOTAL)]
    kills_recording = kills_syncing = 0
    try:
        # Phase 1: server down; kill while recording until every crate is a lot.
        while True:
            w = Worker(args)
            assert w.wait_line("READY", 30), "worker did not start"
            finished = w.wait_line("RECORDED", rng.uniform(0.05, 0.6))
            w.kill()
            kills_recording += 1
            if finished:
                break
            assert kills_recording < 60, "recording makes no progress"
        # Phase 2: server up; kill while syncing.
        server.start()
        while kills_recording + kills_syncing < 22 or kills_syncing < 8:
            w = Worker(args)
            assert w.wait_line("READY", 30)
            w.wait_line("SYNCED", rng.uniform(0.02, 0.3))
            w.kill()
            kills_syncing += 1
        # Final run: let it drain, then a clean stop.
        w = Worker(args)
        assert w.wait_line("SYNCED", 60), "outbox never drained"
        w.proc.send_signal(signal.SIGTERM)
        w.proc.wait(15)
        lots = server.lots()
        metrics = httpx.get(f"{server.url}/metrics", timeout=5).text
    finally:
        server.stop()
    resent = [ln for ln in metrics.splitlines() if ln.startswith("gongfang_sync_lots_total")]
    print(f"kills: {kills_recording} while recording, {kills_syncing} while syncing; {resent}")
    assert kills_recording + kills_syncing >= 20
    assert kills_recording >= 8
    assert kills_syncing >= 8
    assert len(lots) == TOTAL
    assert len({lot_id for lot_id, *_ in lots}) == TOTAL
    assert sorted(g for _, g, _, _ in lots) == sorted(gross_of(k) for k in range(TOTAL))
    assert all(t == TARE_G and n == g - TARE_G for _, g, t, n in lots)
