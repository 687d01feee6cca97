"""Ingestion through a real uvicorn server (its own processes), for bench_server: lots/s
with as many concurrent clients as workers, and the CPU the server and PostgreSQL spent.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.server_fixtures import BATCH, FIELD_KEY, SECRET, lot_bodies


def bench_uvicorn(
    url: str, key: str, n_batches: int, workers: int, raw_lots_per_s: int, db_pid: int | None
) -> dict[str, Any]:
    """Ingestion through a real uvicorn server (own processes), ``workers`` clients at once."""
    import concurrent.futures
    import subprocess

    import httpx

    from gongfang.embedded_broker import free_port

    port = free_port()
    env = dict(
        os.environ,
        GONGFANG_SERVER_DATABASE_URL=url,
        GONGFANG_SERVER_SECRET_KEY=SECRET,
        GONGFANG_SERVER_FIELD_KEY=FIELD_KEY,
        GONGFANG_SERVER_AUTO_MIGRATE="0",
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "server.main:serve_app",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not come up")
            time.sleep(0.2)
        bodies = [
            json.dumps({"station": "s0", "lots": b}).encode()
            for b in lot_bodies(n_batches, datetime(2026, 7, 1, 1, tzinfo=UTC), 4 + workers)
        ]
        headers = {"X-Api-Key": key, "Content-Type": "application/json"}

        def post_all(chunk: list[bytes]) -> None:
            with httpx.Client(base_url=base, timeout=120) as client:
                for body in chunk:
                    res = client.post("/api/v1/sync", content=body, headers=headers)
                    assert res.status_code == 200, res.text
                    assert all(a["result"] == "accepted" for a in res.json()["lots"])

        chunks = [bodies[i::workers] for i in range(workers)]
        cpu0 = _cpu_s(proc.pid), _cpu_s(db_pid)
        t0 = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(workers) as pool:
            list(pool.map(post_all, chunks))
        elapsed = time.perf_counter() - t0
        cpu1 = _cpu_s(proc.pid), _cpu_s(db_pid)
    finally:
        proc.terminate()
        proc.wait(30)
    return {
        "workers": workers,
        "clients": workers,
        "lots": n_batches * BATCH,
        "lots_per_s": round(n_batches * BATCH / elapsed),
        "ratio_to_raw_insert": round(n_batches * BATCH / elapsed / raw_lots_per_s, 3),
        # CPU spent per batch of 500, whatever else runs on the machine:
        "server_cpu_ms_per_batch": round((cpu1[0] - cpu0[0]) / n_batches * 1000, 1),
        "postgres_cpu_ms_per_batch": (
            round((cpu1[1] - cpu0[1]) / n_batches * 1000, 1) if db_pid else None
        ),
    }


def _cpu_s(root_pid: int | None) -> float:
    """User + system CPU seconds of a process and its direct children (Linux /proc)."""
    if not root_pid:
        return 0.0
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # the process just ended
        fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
        if int(stat.parent.name) == root_pid or int(fields[1]) == root_pid:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")
