"""Issue 20, point 3: defect recall on our own held-out test of the new source (afzaal
``test``, by source photo), and the healthy fruit the lesion rule and the grader call
defect on the brix-ripeness and Riseholme test splits.

The figures come through the edge grader (shipped ONNX model + lesion rule), see
``models.strawberry.defect_eval``. Bars of the issue that the rule + the current classifier
meet are asserted; the ones they do not meet are ``xfail`` with the measured figure in
the reason (not faked), and what they do reach is held as a floor so it cannot slip.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from models.strawberry.afzaal import AFZAAL_DIR, DISEASES
from tests.photo_data import require_photos

RECALL_BAR = 0.85  # diseased fruit from the new source, overall
DISEASE_BAR = 0.7  # ... and per disease
HEALTHY_BRIX_BAR = 0.03  # healthy brix fruit called defect (classifier or rule)
RISEHOLME_RECALL_BAR, RISEHOLME_PRECISION_BAR = 0.85, 0.6


@pytest.fixture(scope="module")
def figures(data_dir: Path) -> dict[str, Any]:
    from models.strawberry.defect_eval import evaluate

    root = require_photos(f"{AFZAAL_DIR}/labels.csv")
    return evaluate(root)


def test_figures_are_consistent(figures: dict[str, Any]) -> None:
    af = figures["afzaal_test"]
    assert af["n"] == 69
    assert af["n_per_disease"] == {
        "anthracnose_fruit_rot": 10,
        "gray_mold": 32,
        "powdery_mildew_fruit": 27,
    }
    # the grader calls defect what either the rule or the classifier calls defect
    for d in DISEASES:
        got = af["combined"]["per_disease"][d]
        assert got >= max(af["rule"]["per_disease"][d], af["classifier"]["per_disease"][d])
    assert figures["riseholme_test"]["n_healthy"] == 460
    assert figures["brix_test"]["n_healthy"] == 80


def test_lesion_rule_catches_rot_the_classifier_misses(figures: dict[str, Any]) -> None:
    """Floors at what the rule measured when its threshold was set (26% of the test crops;
    it is independent of the classifier, so a retrained model cannot move it)."""
    af = figures["afzaal_test"]
    assert af["rule"]["recall"] >= 0.26
    assert af["rule"]["per_disease"]["gray_mold"] >= 0.31
    assert af["combined"]["recall"] >= af["rule"]["recall"]


def test_healthy_brix_fruit_are_not_called_defect(figures: dict[str, Any]) -> None:
    bx = figures["brix_test"]
    assert bx["rule"]["healthy_called_defect"] <= HEALTHY_BRIX_BAR
    assert bx["combined"]["healthy_called_defect"] <= HEALTHY_BRIX_BAR


def test_healthy_riseholme_false_alarms_stay_low(figures: dict[str, Any]) -> None:
    rh = figures["riseholme_test"]["rule"]
    assert rh["unripe_called_defect"] <= 0.03
    assert rh["ripe_called_defect"] <= 0.03
    assert rh["occluded_called_defect"] <= 0.05


def test_riseholme_defect_recall(figures: dict[str, Any]) -> None:
    rh = figures["riseholme_test"]["combined"]["defect"]
    assert rh["recall"] >= RISEHOLME_RECALL_BAR


@pytest.mark.xfail(
    reason="not met by rule + classifier 1.4.0: Riseholme defect precision 0.52 combined "
    "(classifier alone 0.69; with 1.3.1 0.56): the rule's false alarms on healthy Riseholme "
    "fruit; its threshold is to be re-chosen with 1.4.0 in view",
    strict=False,
)
def test_riseholme_defect_precision_bar(figures: dict[str, Any]) -> None:
    assert figures["riseholme_test"]["combined"]["defect"]["precision"] >= RISEHOLME_PRECISION_BAR


def test_new_source_recall_bars(figures: dict[str, Any]) -> None:
    """1.4.0 with the rule: 0.97 of the 69 held-out diseased crops (1.3.1 with it: 0.36)."""
    af = figures["afzaal_test"]["combined"]
    assert af["recall"] >= RECALL_BAR
    for d in DISEASES:
        assert af["per_disease"][d] >= DISEASE_BAR, d
