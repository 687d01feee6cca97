"""箬叶 grading: leaves measured by ``ruoye.scan_leaves``, surface patches labelled by the
ONNX defect model, graded by DESIGN.md's leaf table and the lot tolerance."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from edge.grading import rules
from edge.grading.base import Grader
from edge.grading.marker import find_marker
from edge.grading.ruoye import NOMINAL_MM_PER_PX, LeafMeasure, scan_leaves
from gongfang import wire
from models.ruoye import patches as P

MIN_PATCHES_FOR_LABEL = 2


def _leaf_patches(rgb: np.ndarray, leaf: LeafMeasure, mm_per_px: float) -> np.ndarray:
    """The patches of one leaf's blade (holes filled so they are seen), at the patch scale."""
    x0, y0, w, h = leaf.roi
    cnts, _ = cv2.findContours(leaf.blade, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(leaf.blade)
    cv2.drawContours(filled, cnts, -1, 255, cv2.FILLED)
    img = P.resample(rgb[y0 : y0 + h, x0 : x0 + w], mm_per_px)
    mask = P.resample(filled, mm_per_px, nearest=True)
    return P.cut(img, P.grid(mask))


class LeafGrader(Grader):
    """箬叶 table photos (``single`` does not apply to leaves and is ignored, flagged)."""

    product = wire.Product.RUOYE

    def _annotated(
        self, image_bgr: np.ndarray, *, single: bool, draw: bool = False
    ) -> tuple[dict[str, Any], np.ndarray | None]:
        from edge.grading import annotate

        marker = find_marker(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY))
        found = scan_leaves(image_bgr, marker)
        mpp = marker.mm_per_px if marker is not None else NOMINAL_MM_PER_PX
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        per_leaf = [_leaf_patches(rgb, lf, mpp) for lf in found.leaves]
        sizes = [len(p) for p in per_leaf]
        probs = (
            self.classifier.run(P.to_input(np.concatenate(per_leaf)))
            if sum(sizes)
            else np.zeros((0, len(self.labels)), np.float32)
        )
        items: list[dict[str, Any]] = []
        grades: list[rules.Grade] = []
        flags: list[str] = []
        start = 0
        for i, (lf, n) in enumerate(zip(found.leaves, sizes, strict=True)):
            pred = probs[start : start + n].argmax(1) if n else np.zeros(0, np.int64)
            start += n
            counts = np.bincount(pred, minlength=len(self.labels))
            share = {
                lab: round(float(c) / max(n, 1), 4)
                for lab, c in zip(self.labels, counts, strict=True)
            }
            defect_counts = counts[1:]
            label = self.labels[0]
            if defect_counts.size and defect_counts.max() >= MIN_PATCHES_FOR_LABEL:
                label = self.labels[1 + int(defect_counts.argmax())]
            k = None if marker is None else marker.mm_per_px
            length = None if k is None else round(lf.length_px * k, 1)
            width = None if k is None else round(lf.width_px * k, 1)
            holes: list[dict[str, Any]] = [
                {
                    "area_mm2": None if k is None else round(a * k * k, 1),
                    "center_px": [round(c[0], 1), round(c[1], 1)],
                }
                for a, c in lf.holes
            ]
            spot, yellow = round(lf.spot_pct, 2), round(lf.yellow_pct, 2)
            grade = rules.leaf_grade(
                length_mm=length,
                width_mm=width,
                hole_areas_mm2=[hl["area_mm2"] for hl in holes],
                tears=lf.tears,
                spot_pct=spot,
                yellow_pct=yellow,
            )
            grades.append(grade)
            measured = {
                "spot": spot >= 0.2,
                "yellow": yellow >= 0.5,
                "hole": bool(holes) or lf.tears > 0,
            }
            if (label != "clean" and not measured.get(label, False)) or (
                label == "clean" and (spot >= 1.0 or yellow >= 2.0 or holes)
            ):
                flags.append(f"model_disagrees:{i}")
            items.append(
                {
                    "label": label,
                    "probs": share,
                    "grade": grade.value,
                    "center_px": [round(lf.center_px[0], 1), round(lf.center_px[1], 1)],
                    "diameter_mm": None,
                    "white_fraction": None,
                    "length_mm": length,
                    "width_mm": width,
                    "petiole_mm": None if k is None else round(lf.petiole_px * k, 1),
                    "holes": holes,
                    "tears": lf.tears,
                    "spot_pct": spot,
                    "yellow_pct": yellow,
                }
            )
        if single:
            flags.append("single_ignored")
        if marker is None:
            flags += ["marker_missing", "size_unknown"]
        if found.excluded_edge:
            flags.append(f"edge_excluded:{found.excluded_edge}")
        if found.excluded_marker:
            flags.append(f"marker_excluded:{found.excluded_marker}")
        res = self._envelope(marker, items, rules.leaf_lot_grade(grades), flags)
        drawn = None
        if draw:
            drawn = annotate.draw_leaves(
                image_bgr,
                res,
                [lf.contour for lf in found.leaves],
                [(lf.base_px, lf.tip_px) for lf in found.leaves],
                marker,
            )
        return res, drawn
