"""Size accuracy of the grading pipeline on rendered photos with known geometry.

Prints JSON: per table type, the number of objects, max and mean error of fruit diameter
(target ±1 mm), leaf blade length and width (target ±2 mm), on photos decoded from JPEG
(quality 85) with random rotations, uneven light and objects cut by the frame edge (which
must be skipped). Seeds differ from the test suite's.
Also prints ``classifier_targets``: the shipped strawberry classifier on its recorded test
split (the real photos, ``$GONGFANG_DATA`` or ../shared/data) against issue 5 acceptance 1,
with PASS/FAIL per target. Usage:
``python bench/bench_grading_accuracy.py [--fruit-photos 60] [--leaf-photos 45]
[--no-sizes]``.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import cv2
import numpy as np

TABLES = ("white", "wood", "steel")


def _pairs(found, truth, tol):  # noqa: ANN001, ANN202 - bench helper
    left, out, extra = list(truth), [], 0
    for f in found:
        d = [
            np.hypot(f.center_px[0] - t.center_px[0], f.center_px[1] - t.center_px[1]) for t in left
        ]
        j = int(np.argmin(d)) if d else -1
        if j < 0 or d[j] > tol:
            extra += 1
            continue
        out.append((f, left.pop(j)))
    return out, len(left), extra


def _summary(errs: list[float]) -> dict[str, float | int]:
    a = np.asarray(errs)
    if a.size == 0:
        return {"n": 0}
    return {
        "n": int(a.size),
        "max_abs": round(float(np.abs(a).max()), 3),
        "mean": round(float(a.mean()), 3),
        "mean_abs": round(float(np.abs(a).mean()), 3),
    }


# Issue 5 acceptance 1 (figures on the model's own test split).
CLASSIFIER_TARGETS = (
    ("riseholme_balanced_accuracy", 0.93),
    ("brix_balanced_accuracy", 0.93),
    ("defect_recall", 0.85),
    ("defect_precision", 0.6),
)


def classifier_targets() -> dict[str, Any]:
    """The shipped classifier re-scored on its test split, PASS/FAIL per target."""
    from models.strawberry.dataset import default_data_dir, load_records, split_records
    from models.strawberry.evaluate import Classifier, evaluate_records

    clf = Classifier()
    data = default_data_dir()
    test = split_records(load_records(data), clf.meta["split"]["seed"])["test"]
    m = evaluate_records(test, data, clf)
    got = {
        "riseholme_balanced_accuracy": m["riseholme"]["balanced_accuracy"],
        "brix_balanced_accuracy": m["brix"]["balanced_accuracy"],
        "defect_recall": m["defect"]["recall"],
        "defect_precision": m["defect"]["precision"],
    }
    rows = {
        k: {"value": got[k], "target": f">= {t}", "result": "PASS" if got[k] >= t else "FAIL"}
        for k, t in CLASSIFIER_TARGETS
    }
    return {
        "model": {"name": clf.meta["name"], "version": clf.meta["version"]},
        "test_photos": len(test),
        "targets": rows,
        "all_pass": all(r["result"] == "PASS" for r in rows.values()),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--fruit-photos", type=int, default=60)
    ap.add_argument("--leaf-photos", type=int, default=45)
    ap.add_argument("--touching-photos", type=int, default=30)
    ap.add_argument("--no-sizes", action="store_true", help="only the classifier targets")
    args = ap.parse_args()
    if args.no_sizes:
        print(json.dumps({"classifier_targets": classifier_targets()}, indent=2))
        return

    from edge.grading.marker import find_marker
    from edge.grading.ruoye import scan_leaves
    from edge.grading.strawberry import scan
    from models.render.ruoye import render_leaf_photo
    from models.render.strawberry import render_table_photo

    def decode(photo):  # noqa: ANN001, ANN202
        img = np.asarray(cv2.imdecode(np.frombuffer(photo.jpeg(85), np.uint8), cv2.IMREAD_COLOR))
        return img, find_marker(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))

    out: dict[str, dict] = {
        "fruit_diameter_mm": {},
        "fruit_touching_diameter_mm": {},
        "leaf_length_mm": {},
        "leaf_width_mm": {},
        "counts": {},
    }
    miss = extra = 0
    for kind, n_photos, touching in (
        ("fruit_diameter_mm", args.fruit_photos, False),
        ("fruit_touching_diameter_mm", args.touching_photos, True),
    ):
        errs: dict[str, list[float]] = {t: [] for t in TABLES}
        for s in range(n_photos):
            table = TABLES[s % 3]
            photo = render_table_photo(
                np.random.default_rng(50_000 + s), table=table, n_edge=1, touching=touching
            )
            img, m = decode(photo)
            pairs, mi, ex = _pairs(
                scan(img, m).fruit, [t for t in photo.items if not t.touches_edge], 15
            )
            miss, extra = miss + mi, extra + ex
            errs[table] += [f.diameter_px * m.mm_per_px - t.diameter_mm for f, t in pairs]
        out[kind] = {t: _summary(e) for t, e in errs.items()}
        out[kind]["all"] = _summary(sum(errs.values(), []))
    lerr: dict[str, list[float]] = {t: [] for t in TABLES}
    werr: dict[str, list[float]] = {t: [] for t in TABLES}
    tears_ok = holes_ok = n_leaves = 0
    for s in range(args.leaf_photos):
        table = TABLES[s % 3]
        photo = render_leaf_photo(np.random.default_rng(60_000 + s), table=table, n_edge=1)
        img, m = decode(photo)
        pairs, mi, ex = _pairs(
            scan_leaves(img, m).leaves, [t for t in photo.items if not t.touches_edge], 40
        )
        miss, extra = miss + mi, extra + ex
        for f, t in pairs:
            n_leaves += 1
            lerr[table].append(f.length_px * m.mm_per_px - t.length_mm)
            werr[table].append(f.width_px * m.mm_per_px - t.width_mm)
            tears_ok += f.tears == t.tears
            holes_ok += len(f.holes) == len(t.holes_mm2)
    out["leaf_length_mm"] = {t: _summary(e) for t, e in lerr.items()} | {
        "all": _summary(sum(lerr.values(), []))
    }
    out["leaf_width_mm"] = {t: _summary(e) for t, e in werr.items()} | {
        "all": _summary(sum(werr.values(), []))
    }
    out["counts"] = {
        "missed": miss,
        "extra": extra,
        "leaves": n_leaves,
        "tear_count_right": tears_ok,
        "hole_count_right": holes_ok,
    }
    out["classifier_targets"] = classifier_targets()
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
