"""The grading API the edge calls: ``load_grader(product).grade_image(frame)``.

OpenCV + onnxruntime only (never torch): the station box does not carry the training stack.
The result shape and the shared reading of photos are in :mod:`edge.grading.base`; this
module holds the strawberry grader and picks the grader per product.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import cv2
import numpy as np

from edge.grading import rules
from edge.grading.base import Grader, as_bgr, crop_square
from edge.grading.errors import GradingError
from edge.grading.marker import find_marker
from edge.grading.onnx_model import OnnxClassifier
from gongfang import wire


class StrawberryGrader(Grader):
    """Strawberries: fruit found by ``strawberry.scan``, labelled by the ONNX classifier."""

    product = wire.Product.STRAWBERRY
    crop_margin = 0.1

    def _grade_singles(self, images_bgr: list[np.ndarray]) -> list[dict[str, Any]] | None:
        from edge.grading.lesion import border_colours, crop_lesions
        from edge.grading.strawberry import single_white_fractions, small_crops

        # one resize per crop, no colour copy: the classifier's BGR square serves the
        # white and lesion figures too, and the blob maker swaps to RGB on the way
        squares = self.classifier.squares(images_bgr)
        probs = self.classifier.run(self.classifier.normalise(squares, bgr=True))
        lab, hsv = small_crops(squares)
        bg = border_colours(lab)
        whites = single_white_fractions(lab, hsv, bg)
        lesions = crop_lesions(lab, hsv, bg).pct
        return [
            self._single_result(img, row, white, les)
            for img, white, les, row in zip(images_bgr, whites, lesions, probs, strict=True)
        ]

    def _single_result(
        self, img: np.ndarray, row: np.ndarray, white: float, lesion_pct: float
    ) -> dict[str, Any]:
        model_label, probs = self._probs(row)
        white, les = round(white, 4), round(lesion_pct, 1)
        label = rules.strawberry_label(model_label, les)
        grade = rules.strawberry_fruit_grade(
            label=label, white_fraction=white, diameter_mm=None, lesion_pct=les
        )
        h, w = img.shape[:2]
        item = {
            "label": label,
            "probs": probs,
            "grade": grade.value,
            "center_px": [round(w / 2, 1), round(h / 2, 1)],
            "diameter_mm": None,
            "white_fraction": white,
            "lesion_pct": les,
        }
        lot = rules.strawberry_lot_grade([grade], defects=int(label == "defect"))
        return self._envelope(None, [item], lot, ["single", "size_unknown"])

    def _single_lesion(self, image_bgr: np.ndarray) -> np.ndarray:
        """The lesion mask of a single-fruit crop, on its padded classifier square."""
        from edge.grading.lesion import crop_lesions
        from edge.grading.strawberry import small_crops

        found = crop_lesions(*small_crops(self.classifier.squares([image_bgr])))
        return np.asarray(found.lesion[0])

    def _annotated(
        self, image_bgr: np.ndarray, *, single: bool, draw: bool = False
    ) -> tuple[dict[str, Any], np.ndarray | None]:
        from edge.grading import annotate

        if single:
            singles = self._grade_singles([image_bgr])
            if singles is None:  # pragma: no cover - strawberries always batch singles
                raise GradingError("single-fruit grading unavailable")
            res = singles[0]
            if not draw:
                return res, None
            return res, annotate.draw_single(image_bgr, res, self._single_lesion(image_bgr))
        res, drawn, _ = self._table(image_bgr, draw=draw)
        return res, drawn

    def table_crops(self, image_bgr: np.ndarray) -> tuple[dict[str, Any], list[np.ndarray]]:
        """Grade a table photo and return, in item order, the square RGB crop of each fruit
        that the classifier saw (for labelling station photos)."""
        res, _, crops = self._table(as_bgr(image_bgr), draw=False)
        return res, crops

    def _table(
        self, image_bgr: np.ndarray, *, draw: bool
    ) -> tuple[dict[str, Any], np.ndarray | None, list[np.ndarray]]:
        from edge.grading import annotate
        from edge.grading.strawberry import scan

        marker = find_marker(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY))
        found = scan(image_bgr, marker)
        crops = [crop_square(image_bgr, f.bbox, self.crop_margin) for f in found.fruit]
        probs = self.classifier.predict(crops)
        items: list[dict[str, Any]] = []
        grades: list[rules.Grade] = []
        defects = 0
        for f, row in zip(found.fruit, probs, strict=True):
            model_label, p = self._probs(row)
            white, les = round(f.white_fraction, 4), round(f.lesion_pct, 1)
            label = rules.strawberry_label(model_label, les)
            diam = None if marker is None else round(f.diameter_px * marker.mm_per_px, 1)
            grade = rules.strawberry_fruit_grade(
                label=label, white_fraction=white, diameter_mm=diam, lesion_pct=les
            )
            grades.append(grade)
            defects += label == "defect"
            items.append(
                {
                    "label": label,
                    "probs": p,
                    "grade": grade.value,
                    "center_px": [round(f.center_px[0], 1), round(f.center_px[1], 1)],
                    "diameter_mm": diam,
                    "white_fraction": white,
                    "lesion_pct": les,
                }
            )
        flags: list[str] = []
        if marker is None:
            flags += ["marker_missing", "size_unknown"]
        if found.excluded_edge:
            flags.append(f"edge_excluded:{found.excluded_edge}")
        if found.excluded_marker:
            flags.append(f"marker_excluded:{found.excluded_marker}")
        if found.split:
            flags.append(f"touching_split:{found.split}")
        lot = rules.strawberry_lot_grade(grades, defects=defects)
        res = self._envelope(marker, items, lot, flags)
        drawn = None
        if draw:
            drawn = annotate.draw_fruit(
                image_bgr,
                res,
                [f.contour for f in found.fruit],
                marker,
                [f.lesion_outlines for f in found.fruit],
            )
        return res, drawn, crops


@cache
def _load(product: wire.Product) -> Grader:
    if product is wire.Product.STRAWBERRY:
        return StrawberryGrader(OnnxClassifier.from_package("strawberry"))
    from edge.grading.leaf_api import LeafGrader
    from models.ruoye.patches import RULE

    return LeafGrader(OnnxClassifier.from_package("ruoye", expect_resize=RULE))


def load_grader(product: wire.Product | str) -> Grader:
    """The grader for ``product``, loaded once per process (raises ``ModelUnavailable``)."""
    return _load(wire.Product(product))
