"""Memory and start time of an edge process with its graders loaded.

Starts, in a fresh Python process, a full :class:`edge.app.EdgeNode` (MQTT link to a real
Mosquitto, operator HTTP API, sync loop, receipts) with a strawberry and a 箬叶 lane, loads
both graders and grades one frame per lane, then reads VmRSS/VmHWM from /proc. The camera
frame (a rendered 1280×960 strawberry table photo) is made by this parent process and
handed over as a file, so the renderer's memory is not counted as the edge's. Then the
receipt libraries (PIL, qrcode, escpos), which load with the first receipt, are imported
too, for the steady figure of a station that has made a lot.

Baselines, same run: ``python -c pass`` and a bare process that imports numpy, OpenCV and
onnxruntime (the floor any ONNX grader pays). Target: RSS, peak included, < 200 MB.
``--runs`` fresh processes each; the JSON gives the median and every run.

Run: .venv/bin/python -m bench.bench_edge_footprint [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
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
def kb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1])
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
rss_started = kb("VmRSS:")
loaded = node.preload_graders()
rss_loaded = kb("VmRSS:")
frame = pathlib.Path(sys.argv[2]).read_bytes()  # rendered by the parent, not in here
for lane in ("s1", "r1"):
    node._grading.grade_now(lane, frame, 0)
t_graders = time.perf_counter() - t0
rss_graded = kb("VmRSS:")
import edge.receipts.render, edge.receipts.printer  # what the first receipt loads
out = {"rss_kb": kb("VmRSS:"), "hwm_kb": kb("VmHWM:"), "import_s": t_import,
       "rss_started_kb": rss_started, "rss_loaded_kb": rss_loaded, "rss_graded_kb": rss_graded,
       "start_s": t_started, "ready_with_graders_s": t_graders,
       "graders": loaded}
node.stop()
print(json.dumps(out))
"""

BASE = r"""
import json, sys
if len(sys.argv) > 1:
    import numpy, cv2, onnxruntime
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


def _median(runs: list[dict], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    broker = Mosquitto().start()
    edges: list[dict] = []
    walls: list[float] = []
    try:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare_wall = time.perf_counter() - t0
        base, _ = run(BASE)
        base_ort, _ = run(BASE, "onnx")
        frame = Path(tempfile.mkdtemp()) / "frame.jpg"
        frame.write_bytes(synthetic_frame())
        for _ in range(args.runs):
            edge, edge_wall = run(CHILD, broker.url, str(frame))
            edges.append(edge)
            walls.append(edge_wall)
    finally:
        broker.stop()
    mb = lambda kb: round(kb / 1024, 1)  # noqa: E731
    real = all(set(e["graders"].values()) == {"model"} for e in edges)
    rss, hwm = _median(edges, "rss_kb"), _median(edges, "hwm_kb")
    start_s = _median(edges, "start_s")
    result = {
        "bench": "edge_footprint",
        "runs": args.runs,
        "load_avg_1min": round(os.getloadavg()[0], 2),
        # medians over the runs; MB = MiB
        "edge_rss_started_mb": mb(_median(edges, "rss_started_kb")),
        "edge_rss_graders_loaded_mb": mb(_median(edges, "rss_loaded_kb")),
        "edge_rss_after_grading_mb": mb(_median(edges, "rss_graded_kb")),
        "edge_rss_mb": mb(rss),  # steady, receipt libraries loaded too
        "edge_peak_rss_mb": mb(hwm),  # high-water mark, reached while grading a frame
        "edge_peak_rss_mb_max": mb(max(e["hwm_kb"] for e in edges)),
        "edge_start_s": round(start_s, 3),
        "edge_ready_with_graders_s": round(_median(edges, "ready_with_graders_s"), 3),
        "edge_import_s": round(_median(edges, "import_s"), 3),
        # "model": the real ONNX grader; "placeholder": models not shipped yet.
        "graders": edges[0]["graders"],
        "edge_process_wall_s": round(statistics.median(walls), 3),
        "baseline_python_pass_rss_mb": mb(base["rss_kb"]),
        "baseline_python_pass_wall_s": round(bare_wall, 3),
        "baseline_numpy_cv2_onnxruntime_rss_mb": mb(base_ort["rss_kb"]),
        "ratio_rss_vs_baseline": round(rss / base["rss_kb"], 1),
        "ratio_rss_vs_onnx_baseline": round(rss / base_ort["rss_kb"], 2),
        "ratio_peak_vs_onnx_baseline": round(hwm / base_ort["rss_kb"], 2),
        "ratio_start_vs_baseline": round(start_s / bare_wall, 1),
        "target_rss_mb": 200,
        # Only meaningful with the graders (ONNX sessions) really loaded.
        "meets_target_steady": (rss / 1024 < 200) if real else None,
        "meets_target_peak": (max(e["hwm_kb"] for e in edges) / 1024 < 200) if real else None,
        "per_run": [
            {
                "rss_mb": mb(e["rss_kb"]),
                "peak_mb": mb(e["hwm_kb"]),
                "start_s": round(e["start_s"], 3),
            }
            for e in edges
        ],
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
