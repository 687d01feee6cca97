"""Power cut mid-write: a process storing lots through the edge's write path is killed
with SIGKILL at random moments (a dozen times), then a real edge node syncs what is left.

What it proves: after every kill the SQLite file passes ``PRAGMA integrity_check``, every
lot whose commit was reported is there, once, with its outbox entry (the exact JSON of the
lot) and its cold-room stay; no outbox entry or stay without its lot; the crate that was
being written is either a whole lot or not one at all (its pending row is gone with the
commit). Then everything reaches the real server once and the totals reconcile.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from edge.app import EdgeNode
from tests.faults.support import (
    PricedServer,
    edge_lots,
    edge_settings,
    integrity,
    reconcile,
    wait_for,
)

pytestmark = pytest.mark.mosquitto
STATION = "st-power"
KILLS = 10
ROOT = Path(__file__).resolve().parents[2]


def write_until_killed(db: Path, rng: random.Random) -> set[str]:
    """Start the writer, let it commit for a random while, SIGKILL it; the lots it
    reported committed."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.faults.power_cut_worker", str(db), STATION],
        stdout=subprocess.PIPE,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    first = proc.stdout.readline().decode()
    assert first.startswith("READY"), first
    time.sleep(rng.uniform(0.05, 0.3))
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    out = proc.stdout.read().decode().split("\n")
    proc.stdout.close()
    return {line.split()[1] for line in out if line.startswith("C ")}


def check_consistent(db_path: Path, committed: set[str]) -> int:
    """The file after a kill: sound, every reported lot whole, nothing dangling."""
    assert integrity(db_path) == "ok"
    db = sqlite3.connect(db_path)
    try:
        lots = dict(db.execute("SELECT id, record FROM lots").fetchall())
        missing = committed - set(lots)
        assert not missing, f"{len(missing)} committed lots gone after a kill"
        grosses = [json.loads(r)["gross_g"] for r in lots.values()]
        assert len(set(grosses)) == len(grosses), "a crate stored twice"
        outbox = db.execute("SELECT item_id, body FROM outbox WHERE kind = 'lot'").fetchall()
        assert sorted(i for i, _ in outbox) == sorted(lots), "outbox rows ≠ lots"
        assert all(body == lots[i] for i, body in outbox), "an outbox entry ≠ its lot"
        stays = [i for (i,) in db.execute("SELECT lot_id FROM lot_stays")]
        assert sorted(stays) == sorted(lots)
        pending = {i for (i,) in db.execute("SELECT lot_id FROM pending_lots")}
        assert not pending & set(lots), "a stored lot still pending"
        return len(lots)
    finally:
        db.close()


def test_sigkill_inside_writes_leaves_a_sound_outbox(mosquitto, tmp_path: Path) -> None:
    rng = random.Random(20261202)
    data_dir = tmp_path / "edge"
    db_path = data_dir / "edge.db"
    data_dir.mkdir()
    committed: set[str] = set()
    counts = []
    t0 = time.monotonic()
    for _ in range(KILLS):
        committed |= write_until_killed(db_path, rng)
        counts.append(check_consistent(db_path, committed))
    assert counts[-1] > counts[0] > 0, "the writer made progress between kills"

    server = PricedServer(tmp_path, station=STATION, farmers=["F001"], in_process=True).start()
    node = EdgeNode(
        edge_settings(data_dir, station=STATION, mqtt_url=mosquitto.url, server=server)
    ).start()
    try:
        wait_for(lambda: node.store.depth()["total"] == 0, 60, "outbox drained")
    finally:
        node.stop()
        server.stop()
    assert integrity(db_path) == "ok"
    lots = edge_lots(db_path)
    assert committed <= set(lots)
    figures = reconcile(server, lots)
    print(  # noqa: T201
        f"power cut: {KILLS} kills, lots after each {counts}, {len(committed)} reported"
        f" committed, {figures}, {time.monotonic() - t0:.1f}s"
    )
