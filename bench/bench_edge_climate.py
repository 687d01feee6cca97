"""Benchmark: sustained cold-room climate handling by the edge's MQTT link, QoS 1, no loss,
against ``mosquitto_sub`` (Mosquitto's own C client) receiving the same stream in the same
run from the same throwaway Mosquitto broker.

Two phases, both with the edge and mosquitto_sub consuming concurrently:
- ``live``: both subscribed; ``mosquitto_pub`` (one per room) sends N readings at QoS 1
  as fast as the broker takes them; rate = N / (last message handled − first publish).
- ``backlog``: both persistent sessions hold N queued readings (published while both were
  away); both reconnect at once and drain; rate = N / (drained − reconnect). This is the
  consumers' own ceiling, with no publisher in the way.
The edge side is the real handling: :class:`edge.mqtt.MqttLink` (parse, dispatcher thread,
manual PUBACK) feeding :class:`edge.coldchain.ColdChainMonitor` under a lock, as the edge
node does. Every (room, seq) is checked: none may be missing.

The machine is shared, so rates swing with its load: per protocol, one warm-up backlog
is discarded, then each phase runs ``--reps`` times and the median of the per-run ratios
is reported (all runs are listed). CPU time per message (this process for the edge, the
mosquitto_sub process's own rusage) is reported too: it moves much less with the load.

Prints one JSON document; ``ratio`` = edge msgs/s ÷ mosquitto_sub msgs/s (target ≥ 0.40),
the lowest phase median of MQTT 5 (what the edge speaks to Mosquitto); ``pass`` needs every
phase median of both protocols to meet the target and no message lost.

    .venv/bin/python -m bench.bench_edge_climate [--n 50000] [--reps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from edge.coldchain import PROFILES, ColdChainMonitor
from edge.mqtt.client import MqttLink
from edge.mqtt.models import Inbound
from gongfang import wire
from tests.services import Mosquitto

STATION = "bench"
ROOMS = ("room1", "room2", "room3", "room4")
TARGET_RATIO = 0.40
T0_MS = 1_772_400_000_000


class EdgeSide:
    """The edge's handling of climate messages, with loss/duplicate accounting."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.monitor = ColdChainMonitor(
            station=STATION, rooms=dict.fromkeys(ROOMS, PROFILES["strawberry"])
        )
        self.lock = threading.Lock()
        self.seen: set[tuple[str, int]] = set()
        self.duplicates = 0
        self.done = threading.Event()
        self.done_at = 0.0

    def __call__(self, msg: Inbound) -> None:
        if msg.topic.kind is not wire.TopicKind.CLIMATE or msg.topic.ident is None:
            return
        with self.lock:
            self.monitor.on_climate(msg.topic.ident, msg.payload)
        key = (msg.topic.ident, msg.payload.seq)
        if key in self.seen:
            self.duplicates += 1
            return
        self.seen.add(key)
        if len(self.seen) == self.n:
            self.done_at = time.perf_counter()
            self.done.set()


def _payloads(n: int, offset: int) -> list[tuple[str, bytes]]:
    topics = wire.Topics(STATION)
    out = []
    for i in range(n):
        room = ROOMS[i % len(ROOMS)]
        seq = offset + i // len(ROOMS)
        doc = {"ts_ms": T0_MS + seq * 1000, "temp_c": 1.0 + (i % 7) / 10, "rh_pct": 92.0}
        out.append((topics.climate(room), json.dumps({**doc, "seq": seq}).encode()))
    return out


def _publish_all(port: int, msgs: list[tuple[str, bytes]]) -> float:
    """Publish at QoS 1 with one ``mosquitto_pub -l`` per room (fast C publishers, so the
    consumers, not the publisher, set the pace); returns the perf_counter at start."""
    exe = shutil.which("mosquitto_pub") or "mosquitto_pub"
    by_topic: dict[str, list[bytes]] = {}
    for topic, payload in msgs:
        by_topic.setdefault(topic, []).append(payload)
    with tempfile.TemporaryDirectory() as tmp:
        files = []
        for k, (topic, lines) in enumerate(by_topic.items()):
            path = Path(tmp) / f"{k}.txt"
            path.write_bytes(b"\n".join(lines) + b"\n")
            files.append((topic, path))
        started = time.perf_counter()
        procs = []
        for k, (topic, path) in enumerate(files):
            with path.open("rb") as stdin:
                cmd = [exe, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-i", f"bench-pub-{k}"]
                procs.append(subprocess.Popen([*cmd, "-t", topic, "-l"], stdin=stdin))  # noqa: S603
        for proc in procs:
            if proc.wait(300) != 0:
                raise RuntimeError("mosquitto_pub failed")
    return started


def _sub_cmd(
    exe: str, port: int, count: int | None, protocol: str, *, exit_on_suback: bool = False
) -> list[str]:
    version = "5" if protocol == "5" else "311"
    cmd = [exe, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-V", version]
    cmd += ["-c", "-i", f"bench-sub-{version}", "-t", wire.Topics(STATION).climate()]
    if exit_on_suback:
        cmd.append("-E")
    if count is not None:
        cmd += ["-C", str(count)]
    return cmd


def _link(url: str, side: EdgeSide, protocol: str) -> MqttLink:
    return MqttLink(
        url=url,
        station=STATION,
        client_id=f"bench-edge-{protocol}",
        on_message=side,
        protocol="auto" if protocol == "5" else protocol,
    )


def _sessions(broker: Mosquitto, exe: str, protocol: str) -> None:
    """Create both persistent sessions (subscriptions) before anything is published."""
    cmd = _sub_cmd(exe, broker.port, None, protocol, exit_on_suback=True)
    subprocess.run(cmd, check=True)  # noqa: S603 - the Debian mosquitto_sub binary
    link = _link(broker.url, EdgeSide(1), protocol)
    link.start()
    if not link.wait_connected(10):
        raise RuntimeError("edge link did not connect")
    if link.protocol != protocol:
        raise RuntimeError(f"edge link speaks MQTT {link.protocol}, wanted {protocol}")
    link.stop()


def _phase(
    broker: Mosquitto, exe: str, n: int, offset: int, protocol: str, backlog: bool
) -> dict[str, Any]:
    msgs = _payloads(n, offset)
    side = EdgeSide(n)
    if backlog:
        _publish_all(broker.port, msgs)  # both sessions queue them while away
    link = _link(broker.url, side, protocol)
    cpu0 = time.process_time()  # this process: the edge side (the rest only waits)
    t_start = time.perf_counter()
    sub = subprocess.Popen(  # noqa: S603 - the Debian mosquitto_sub binary
        _sub_cmd(exe, broker.port, n, protocol), stdout=subprocess.DEVNULL
    )
    link.start()
    if not backlog:
        if not link.wait_connected(10):
            raise RuntimeError("edge link did not connect")
        t_start = _publish_all(broker.port, msgs)
    sub_done = 0.0
    sub_cpu_s = 0.0

    def wait_sub() -> None:
        nonlocal sub_done, sub_cpu_s
        _, status, usage = os.wait4(sub.pid, 0)  # its own CPU time, not the publishers'
        sub_done = time.perf_counter()
        sub.returncode = os.waitstatus_to_exitcode(status)
        sub_cpu_s = usage.ru_utime + usage.ru_stime

    waiter = threading.Thread(target=wait_sub)
    waiter.start()
    ok = side.done.wait(300)
    edge_cpu_s = time.process_time() - cpu0
    waiter.join(310)
    stats = link.stats()
    link.stop()
    if not ok or sub.returncode != 0:
        raise RuntimeError(f"not all messages arrived (edge {len(side.seen)}/{n})")
    edge_s = side.done_at - t_start
    sub_s = sub_done - t_start
    return {
        "messages": n,
        "edge_msgs_per_s": round(n / edge_s),
        "mosquitto_sub_msgs_per_s": round(n / sub_s),
        "ratio": round(sub_s / edge_s, 3),
        "edge_s": round(edge_s, 3),
        "mosquitto_sub_s": round(sub_s, 3),
        "edge_cpu_us_per_msg": round(edge_cpu_s / n * 1e6, 1),
        "mosquitto_sub_cpu_us_per_msg": round(sub_cpu_s / n * 1e6, 1),
        "edge_lost": n - len(side.seen),
        "edge_duplicates": side.duplicates,
        "edge_bad_payloads": stats.bad_payloads,
        "edge_handler_errors": stats.handler_errors,
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    med = statistics.median
    return {
        "ratio_median": med(r["ratio"] for r in runs),
        "ratios": [r["ratio"] for r in runs],
        "edge_msgs_per_s_median": med(r["edge_msgs_per_s"] for r in runs),
        "mosquitto_sub_msgs_per_s_median": med(r["mosquitto_sub_msgs_per_s"] for r in runs),
        "edge_cpu_us_per_msg_median": med(r["edge_cpu_us_per_msg"] for r in runs),
        "mosquitto_sub_cpu_us_per_msg_median": med(r["mosquitto_sub_cpu_us_per_msg"] for r in runs),
        "lost": sum(r["edge_lost"] for r in runs),
        "duplicates": sum(r["edge_duplicates"] for r in runs),
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--n",
        type=int,
        default=50_000,
        help="messages per phase (≤ 100,000: the broker queue limit)",
    )
    parser.add_argument("--reps", type=int, default=3, help="runs of each phase")
    args = parser.parse_args()
    exe = shutil.which("mosquitto_sub")
    if exe is None:
        sys.exit("mosquitto_sub not found: apt-get install mosquitto-clients")
    results: dict[str, dict[str, Any]] = {}
    load_before = os.getloadavg()[0]
    broker = Mosquitto().start()
    try:
        offset = 0
        for protocol in ("5", "3.1.1"):  # MQTT 5 is what the edge speaks to Mosquitto
            _sessions(broker, exe, protocol)
            warm = max(1000, args.n // 10)  # imports, first connections, caches
            _phase(broker, exe, warm, offset, protocol, backlog=True)
            offset += warm
            runs: dict[str, list[dict[str, Any]]] = {"live": [], "backlog": []}
            for _ in range(args.reps):
                for phase in ("live", "backlog"):
                    runs[phase].append(
                        _phase(broker, exe, args.n, offset, protocol, backlog=phase == "backlog")
                    )
                    offset += args.n
            for phase, phase_runs in runs.items():
                results[f"mqtt{protocol}_{phase}"] = _summary(phase_runs)
    finally:
        broker.close()
    ratio = min(r["ratio_median"] for k, r in results.items() if k.startswith("mqtt5"))
    worst = min(r["ratio_median"] for r in results.values())
    lost = sum(r["lost"] for r in results.values())
    print(  # noqa: T201
        json.dumps(
            {
                "bench": "edge_climate",
                "qos": 1,
                "messages_per_run": args.n,
                "reps": args.reps,
                "load_avg_1min": [round(load_before, 2), round(os.getloadavg()[0], 2)],
                **results,
                "ratio": ratio,
                "ratio_worst_phase_any_protocol": worst,
                "target_ratio": TARGET_RATIO,
                "lost": lost,
                "pass": worst >= TARGET_RATIO and lost == 0,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
