"""Grading throughput: single-fruit crops through the whole pipeline vs raw ONNX inference.

Prints one JSON object. Measured in the same run, with the same model and batch policy:

- ``raw_infer_fruit_per_s``: only ``session.run`` on already-prepared batches of ``--batch``
  crops (the ceiling: no decoding, no preprocessing, no measuring).
- ``pipeline_fruit_per_s``: JPEG bytes → decode → preprocess → one ONNX run per batch →
  white fraction → per-fruit grade → result dicts (``Grader.grade_jpegs(single=True)``),
  i.e. a singulating lane whose crops are batched as they arrive together.
- ``ratio_pipeline_to_raw``: the second over the first.
- ``table_photo_ms``: one 6-fruit 1280×960 table photo (JPEG) end to end: decode, marker,
  table model, segmentation, measurement, one ONNX run for its crops, grade.

Usage: ``python bench/bench_grading.py [--model-dir DIR] [--batch 32] [--crops 512]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np


def _grader(model_dir: Path | None):  # noqa: ANN202 - bench helper
    from edge.grading.api import StrawberryGrader, load_grader
    from edge.grading.onnx_model import OnnxClassifier

    if model_dir is None:
        return load_grader("strawberry")
    return StrawberryGrader(OnnxClassifier.from_dir(model_dir))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--model-dir", type=Path, default=None, help="default: the shipped model")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--crops", type=int, default=512)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--photos", type=int, default=8)
    args = ap.parse_args()

    from models.render.strawberry import render_single_fruit, render_table_photo

    load_before = round(os.getloadavg()[0], 2)  # other work on the box skews every figure
    g = _grader(args.model_dir)
    rng = np.random.default_rng(0)
    crops = [render_single_fruit(rng).jpeg(90) for _ in range(args.crops)]
    batches = [crops[i : i + args.batch] for i in range(0, len(crops), args.batch)]

    # raw: the same crops, prepared once, then only the ONNX runs
    decoded = [
        np.asarray(cv2.imdecode(np.frombuffer(c, np.uint8), cv2.IMREAD_COLOR)) for c in crops
    ]
    prepared = [
        g.classifier.normalise(g.classifier.squares(decoded[i : i + args.batch]), bgr=True)
        for i in range(0, len(decoded), args.batch)
    ]
    for b in prepared[:2]:
        g.classifier.run(b)  # warm-up
    raw_rates, pipe_rates = [], []
    for _ in range(args.rounds):  # interleaved, so both see the same machine load
        t = time.perf_counter()
        for b in prepared:
            g.classifier.run(b)
        raw_rates.append(len(crops) / (time.perf_counter() - t))
        t = time.perf_counter()
        n = 0
        for b in batches:
            res = g.grade_jpegs(b, single=True)
            n += sum(len(r["items"]) for r in res)
        pipe_rates.append(n / (time.perf_counter() - t))
    raw = statistics.median(raw_rates)
    pipe = statistics.median(pipe_rates)

    photos = [
        render_table_photo(
            np.random.default_rng(100 + i), n_fruit=6, table=("white", "wood", "steel")[i % 3]
        ).jpeg(90)
        for i in range(args.photos)
    ]
    g.grade_jpeg(photos[0])  # warm-up
    times, found = [], []
    for p in photos:
        t = time.perf_counter()
        r = g.grade_jpeg(p)
        times.append((time.perf_counter() - t) * 1000)
        found.append(len(r["items"]))

    print(
        json.dumps(
            {
                "model": {"name": g.model_name, "version": g.model_version},
                "machine": {
                    "cpus": os.cpu_count(),
                    "python": platform.python_version(),
                    "load_avg_1m_before": load_before,
                    "load_avg_1m_after": round(os.getloadavg()[0], 2),
                },
                "batch": args.batch,
                "crops": len(crops),
                "crop_px": 96,
                "raw_infer_fruit_per_s": round(raw, 1),
                "pipeline_fruit_per_s": round(pipe, 1),
                "ratio_pipeline_to_raw": round(pipe / raw, 3),
                "target_fruit_per_s": 400,
                "target_ratio": 0.6,
                "meets_targets": bool(pipe >= 400 and pipe / raw >= 0.6),
                "table_photo_ms": {
                    "median": round(statistics.median(times), 1),
                    "max": round(max(times), 1),
                    "photos": len(photos),
                    "size_px": [1280, 960],
                    "fruit_found_per_photo": found,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
