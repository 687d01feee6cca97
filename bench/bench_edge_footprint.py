"""Memory and start time of an edge process with its graders loaded.

Starts, in a fresh Python process, a full :class:`edge.app.EdgeNode` (MQTT link to a real
Mosquitto, operator HTTP API, sync loop, receipts) with a strawberry and a 箬叶 lane, loads
both graders and grades one frame per lane, then reads VmRSS/VmHWM from /proc. Baseline,
same run: ``python -c pass`` (its peak RSS). Targets: RSS < 200 MB. The camera frame (a
rendered 1280×960 strawberry table photo) is made by this parent process and handed over
as a file, so the renderer's memory is not counted as the edge's.

Run: .venv/bin/python -m bench.bench_edge_footprint
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.e2e.helpers import synthetic_frame
from tests.services import Mosquitto

CHILD = r"""
import json, sys, time, tempfile, pathlib
t0 = time.perf_counter()
from edge.app import EdgeNode
from gongfang.settings import EdgeLane, EdgeSettings
t_import = time.perf_counter() - t0
s = EdgeSettings.load(station="bench-fp", mqtt_url=sys.argv[1],
    data_dir=pathlib.Path(tempfile.mkdtemp()), http_port=0,
    server_url="http://127.0.0.1:9", api_key="bench-key-0000000000",
    lanes=[EdgeLane(id="s1", product="strawberry", tare_g=500),
           EdgeLane(id="r1", product="ruoye", tare_g=300)])
node = EdgeNode(s).start()
node.wait_connected(10)
t_started = time.perf_counter() - t0
loaded = node.preload_graders()
frame = pathlib.Path(sys.argv[2]).read_bytes()  # rendered by the parent, not in here
for lane in ("s1", "r1"):
    node._grading.grade_now(lane, frame, 0)
t_graders = time.perf_counter() - t0
def kb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
out = {"rss_kb": kb("VmRSS:"), "hwm_kb": kb("VmHWM:"), "import_s": t_import,
       "start_s": t_started, "ready_with_graders_s": t_graders,
       "graders": loaded}
node.stop()
print(json.dumps(out))
"""

BASE = r"""
import json
def kb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
print(json.dumps({"rss_kb": kb("VmRSS:"), "hwm_kb": kb("VmHWM:")}))
"""


def run(code: str, *args: str) -> tuple[dict, float]:
    t0 = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        check=True,
    )
    wall = time.perf_counter() - t0
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def main() -> None:
    broker = Mosquitto().start()
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare_wall = time.perf_counter() - t0
        base, _ = run(BASE)
        frame = Path(tempfile.mkdtemp()) / "frame.jpg"
        frame.write_bytes(synthetic_frame())
        edge, edge_wall = run(CHILD, broker.url, str(frame))
    finally:
        broker.stop()
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    real = set(edge["graders"].values()) == {"model"}
    result = {
        "bench": "edge_footprint",
        "edge_rss_mb": mb(edge["rss_kb"]),
        "edge_peak_rss_mb": mb(edge["hwm_kb"]),
        "edge_start_s": round(edge["start_s"], 3),
        "edge_ready_with_graders_s": round(edge["ready_with_graders_s"], 3),
        "edge_import_s": round(edge["import_s"], 3),
        # "model": the real ONNX grader; "placeholder": models not shipped yet.
        "graders": edge["graders"],
        "edge_process_wall_s": round(edge_wall, 3),
        "baseline_python_pass_rss_mb": mb(base["rss_kb"]),
        "baseline_python_pass_wall_s": round(bare_wall, 3),
        "ratio_rss_vs_baseline": round(edge["rss_kb"] / base["rss_kb"], 1),
        "ratio_start_vs_baseline": round(edge["start_s"] / bare_wall, 1),
        "target_rss_mb": 200,
        # Only meaningful with the graders (ONNX sessions) really loaded. Steady: RSS after
        # grading; peak: the high-water mark, reached while a frame is being graded.
        "meets_target_steady": (edge["rss_kb"] / 1024 < 200) if real else None,
        "meets_target_peak": (edge["hwm_kb"] / 1024 < 200) if real else None,
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
