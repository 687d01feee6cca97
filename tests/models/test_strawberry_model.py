"""The shipped strawberry ONNX model: loadable, consistent with its metadata, accurate."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from models import paths
from models.strawberry import LABELS
from models.strawberry.dataset import files_hash, load_records, split_records
from models.strawberry.evaluate import evaluate_records, load_metadata


def test_model_ships_inside_package_under_5mb() -> None:
    p = paths.model_path("strawberry")
    assert p.is_file()
    assert p.stat().st_size < 5 * 1024 * 1024
    assert paths.model_dir("strawberry").name == "strawberry"
    assert (paths.model_dir("strawberry") / "MODEL_CARD.md").is_file()
    assert (paths.model_dir("strawberry") / "confusion.png").stat().st_size > 1000
    with pytest.raises(ValueError, match="unknown product"):
        paths.model_dir("apple")


def test_metadata_matches_graph() -> None:
    meta = load_metadata()
    assert meta["name"] == "gongfang-strawberry"
    assert meta["labels"] == list(LABELS)
    assert meta["output"] == "probs"
    inp = meta["input"]
    assert (inp["name"], inp["color"], inp["layout"]) == ("input", "RGB", "NCHW")
    assert inp["scale"] == pytest.approx(1 / 255)
    h, w = inp["size"]
    model = onnx.load(str(paths.model_path("strawberry")))
    assert model.opset_import[0].version >= 17
    sess = ort.InferenceSession(
        str(paths.model_path("strawberry")), providers=["CPUExecutionProvider"]
    )
    (i,) = sess.get_inputs()
    (o,) = sess.get_outputs()
    assert i.name == "input"
    assert o.name == "probs"
    assert i.shape[1:] == [3, h, w]
    assert not isinstance(i.shape[0], int)
    assert o.shape[1] == len(LABELS)
    x = np.random.default_rng(0).normal(size=(3, 3, h, w)).astype(np.float32)
    probs = sess.run(["probs"], {"input": x})[0]
    assert probs.shape == (3, 4)
    assert probs.dtype == np.float32
    np.testing.assert_allclose(probs.sum(1), 1.0, atol=1e-5)
    assert json.dumps(meta["test_metrics"])  # metrics recorded


def test_recorded_split_regenerates(data_dir) -> None:
    sp = load_metadata()["split"]
    splits = split_records(load_records(data_dir), sp["seed"])
    assert [r.file for r in splits["test"]] == sp["test_files"]
    for name, recs in splits.items():
        assert files_hash(recs) == sp["sha256"][name]
    groups = {s: {r.group for r in v} for s, v in splits.items()}
    assert not groups["train"] & groups["test"]
    assert not groups["val"] & groups["test"]
    assert not groups["train"] & groups["val"]


@pytest.fixture(scope="module")
def test_metrics(data_dir, classifier):
    """The shipped model's metrics on its recorded test split, recomputed from the photos."""
    test = split_records(load_records(data_dir), classifier.meta["split"]["seed"])["test"]
    return evaluate_records(test, data_dir, classifier)


def test_recorded_test_metrics_are_what_the_model_does(test_metrics, classifier) -> None:
    recorded = classifier.meta["test_metrics"]
    for key in ("riseholme", "brix"):
        assert test_metrics[key]["confusion"] == recorded[key]["confusion"]
    assert test_metrics["defect"] == recorded["defect"]


# Issue 5 acceptance 1 targets: Riseholme and brix balanced accuracy >= 0.93, defect recall
# >= 0.85 at precision >= 0.6. The shipped 1.4.0 meets all four (R 0.939, B 0.956, defect
# 0.88 (22/25) @ 0.69; 1.3.1 missed Riseholme at 0.916 and recall at 0.84): see MODEL_CARD.md
# "Status", and bench/bench_grading_accuracy.py prints PASS/FAIL per target. The floors
# below are the targets themselves now, so a retrained model cannot quietly fall under them.
RISEHOLME_FLOOR = 0.93  # shipped 0.939
DEFECT_RECALL_FLOOR = 0.85  # shipped 0.88 (22/25)


def test_acceptance_brix_balanced_accuracy(test_metrics) -> None:
    assert test_metrics["brix"]["balanced_accuracy"] >= 0.93, test_metrics["brix"]


def test_acceptance_defect_precision(test_metrics) -> None:
    assert test_metrics["defect"]["precision"] >= 0.6, test_metrics["defect"]


def test_no_regression_riseholme_balanced_accuracy(test_metrics) -> None:
    assert test_metrics["riseholme"]["balanced_accuracy"] >= RISEHOLME_FLOOR, test_metrics[
        "riseholme"
    ]


def test_no_regression_defect_recall(test_metrics) -> None:
    assert test_metrics["defect"]["recall"] >= DEFECT_RECALL_FLOOR, test_metrics["defect"]


def test_card_states_the_status_against_the_targets(classifier) -> None:
    card = (paths.model_dir("strawberry") / "MODEL_CARD.md").read_text(encoding="utf-8")
    t = classifier.meta["test_metrics"]
    met = (
        t["riseholme"]["balanced_accuracy"] >= 0.93
        and t["brix"]["balanced_accuracy"] >= 0.93
        and t["defect"]["recall"] >= 0.85
        and t["defect"]["precision"] >= 0.6
    )
    assert ("does NOT meet the targets" in card) is not met
    assert classifier.meta["version"] in card
