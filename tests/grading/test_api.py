"""The edge's grading API on the shipped models: result shape, bad input, no torch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from edge.grading.api import load_grader
from models.render.ruoye import render_leaf_photo
from models.render.strawberry import render_single_fruit, render_table_photo

REPO = Path(__file__).resolve().parents[2]
ITEM_KEYS = {"label", "probs", "grade", "center_px", "diameter_mm", "white_fraction"}
STRAWBERRY_KEYS = ITEM_KEYS | {"lesion_pct"}
LEAF_KEYS = ITEM_KEYS | {"length_mm", "width_mm", "holes", "tears", "spot_pct", "yellow_pct"}
GRADES = {"extra", "class_i", "class_ii", "reject"}


def _check_envelope(res: dict, labels: tuple[str, ...]) -> None:
    assert set(res) >= {"marker", "mm_per_px", "lot_grade", "model", "items", "flags"}
    assert set(res["model"]) == {"name", "version"}
    for item in res["items"]:
        assert item["grade"] in GRADES
        assert item["label"] in labels
        assert set(item["probs"]) == set(labels)
        assert sum(item["probs"].values()) == pytest.approx(1.0, abs=1e-3)
    json.dumps(res)  # plain JSON all the way down


def test_strawberry_table_photo() -> None:
    g = load_grader("strawberry")
    assert load_grader("strawberry") is g  # cached per product
    photo = render_table_photo(np.random.default_rng(5), table="wood", n_fruit=6)
    res = g.grade_jpeg(photo.jpeg())
    _check_envelope(res, g.labels)
    assert res["marker"] is True
    assert res["mm_per_px"] == pytest.approx(photo.mm_per_px, rel=2e-3)
    assert len(res["items"]) == len(photo.items) >= 4  # the renderer may fit fewer than 6
    assert res["lot_grade"] in GRADES
    for item in res["items"]:
        assert set(item) == STRAWBERRY_KEYS
        assert 0.0 <= item["lesion_pct"] <= 100.0
        assert 10 < item["diameter_mm"] < 45


def test_no_marker_means_unknown_size() -> None:
    g = load_grader("strawberry")
    photo = render_table_photo(np.random.default_rng(6), table="white", n_fruit=4, marker=False)
    res = g.grade_image(photo.image_bgr)
    assert res["marker"] is False
    assert res["mm_per_px"] is None
    assert {"marker_missing", "size_unknown"} <= set(res["flags"])
    assert len(res["items"]) == 4
    assert all(item["diameter_mm"] is None for item in res["items"])


def test_single_fruit_crops_batch_like_one_by_one() -> None:
    g = load_grader("strawberry")
    crops = [render_single_fruit(np.random.default_rng(s)).image_bgr for s in range(6)]
    together = g.grade_images(crops, single=True)
    for crop, res in zip(crops, together, strict=True):
        _check_envelope(res, g.labels)
        assert res["items"][0]["diameter_mm"] is None
        assert "single" in res["flags"]
        one = g.grade_image(crop, single=True)
        assert one["items"][0]["label"] == res["items"][0]["label"]
        for lab, p in one["items"][0]["probs"].items():
            assert p == pytest.approx(res["items"][0]["probs"][lab], abs=2e-4)


def test_real_brix_photos_single(photo_root: Path) -> None:
    images = photo_root / "strawberry" / "brix-ripeness" / "images"
    files = sorted(images.glob("*"))[:12]
    assert files, f"no photos under {images}"
    g = load_grader("strawberry")
    for f in files:
        res = g.grade_path(f, single=True)
        assert res["path"] == str(f)
        _check_envelope(res, g.labels)
        assert len(res["items"]) == 1
        assert 0.0 <= res["items"][0]["white_fraction"] <= 1.0


@pytest.mark.parametrize(
    "data",
    [b"", b"not an image at all", b"\xff\xd8\xff\xe0" + b"\x00" * 64, b"GIF89a" + bytes(30)],
)
def test_bad_bytes_give_error_objects(data: bytes) -> None:
    for product in ("strawberry", "ruoye"):
        res = load_grader(product).grade_jpeg(data)
        assert set(res) == {"error"}
        assert res["error"]["code"] == "unreadable_image"


def test_truncated_jpeg_and_missing_file(tmp_path: Path) -> None:
    g = load_grader("strawberry")
    whole = render_table_photo(np.random.default_rng(8), n_fruit=3).jpeg()
    res = g.grade_jpeg(
        whole[: len(whole) // 2]
    )  # a cut-off frame: graded or an error, never raised
    assert "error" in res or "items" in res
    gone = g.grade_path(tmp_path / "missing.jpg")
    assert gone["error"]["code"] == "unreadable_file"
    tiny = tmp_path / "tiny.png"
    cv2.imwrite(str(tiny), np.zeros((4, 4, 3), np.uint8))
    assert g.grade_path(tiny)["error"]["code"] == "unreadable_image"


def test_leaf_photo() -> None:
    g = load_grader("ruoye")
    photo = render_leaf_photo(
        np.random.default_rng(11), table="steel", kinds=["hole", "clean", "spot"]
    )
    res = g.grade_jpeg(photo.jpeg())
    _check_envelope(res, g.labels)
    assert len(res["items"]) == len(photo.items)
    for item in res["items"]:
        assert set(item) >= LEAF_KEYS
    holed = [t for t in photo.items if t.holes_mm2]
    assert any(item["holes"] for item in res["items"]) == bool(holed)
    assert any(item["label"] == "hole" for item in res["items"]) == bool(holed)


def test_shipped_models_small_and_from_package() -> None:
    from importlib.resources import files

    for product in ("strawberry", "ruoye"):
        f = files(f"models.{product}").joinpath("model.onnx")
        assert f.is_file()
        assert len(f.read_bytes()) < 5 * 1024 * 1024
        meta = json.loads(files(f"models.{product}").joinpath("metadata.json").read_text())
        assert load_grader(product).model_version == meta["version"]


_NO_TORCH = """
import importlib.abc, json, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ImportError("torch is not installed on the station")
sys.meta_path.insert(0, Block())
try:
    import torch  # noqa
    print("torch importable"); sys.exit(3)
except ImportError:
    pass
import numpy as np
from edge.grading.api import load_grader
from models.render.strawberry import render_table_photo
from models.render.ruoye import render_leaf_photo
s = load_grader("strawberry").grade_jpeg(render_table_photo(np.random.default_rng(1)).jpeg())
r = load_grader("ruoye").grade_jpeg(render_leaf_photo(np.random.default_rng(1)).jpeg())
print(json.dumps({"s": len(s["items"]), "r": len(r["items"]),
                  "torch": any(m == "torch" or m.startswith("torch.") for m in sys.modules)}))
"""


def test_grades_without_torch() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run(
        [sys.executable, "-c", _NO_TORCH],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr[-2000:] + out.stdout
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["s"] > 0
    assert got["r"] > 0
    assert got["torch"] is False


def test_preprocessing_matches_the_training_code() -> None:
    """The fused run-time normalisation equals models.common.preprocess.to_input."""
    from models.common.preprocess import to_input

    clf = load_grader("strawberry").classifier
    rng = np.random.default_rng(0)
    crops = [
        rng.integers(0, 256, (int(h), int(w), 3), dtype=np.uint8)
        for h, w in [(96, 96), (63, 66), (120, 80)]
    ]
    want = to_input(crops, clf.info.size, clf.info.mean, clf.info.std)
    np.testing.assert_allclose(clf.prepare(crops), want, atol=1e-5)


def test_bgr_blob_equals_rgb_blob() -> None:
    clf = load_grader("strawberry").classifier
    sq = clf.squares([np.random.default_rng(1).integers(0, 256, (80, 70, 3), dtype=np.uint8)])
    rgb = [cv2.cvtColor(s, cv2.COLOR_BGR2RGB) for s in sq]
    np.testing.assert_array_equal(clf.normalise(sq, bgr=True), clf.normalise(rgb))


def test_odd_frames_never_raise() -> None:
    """Grey, BGRA, float and tiny frames: graded or an error object, never an exception."""
    g = load_grader("strawberry")
    photo = render_table_photo(np.random.default_rng(9), n_fruit=3).image_bgr
    grey = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    bgra = cv2.cvtColor(photo, cv2.COLOR_BGR2BGRA)
    res = g.grade_images([grey, bgra, photo.astype(np.float32), photo[:5, :5]], single=False)
    assert "items" in res[0]
    assert len(res[1]["items"]) == len(g.grade_image(photo)["items"])
    assert res[2]["error"]["code"] == "unreadable_image"
    assert res[3]["error"]["code"] == "unreadable_image"
    singles = g.grade_images([grey[:40, :40], photo[:5, :5]], single=True)
    assert len(singles[0]["items"]) == 1
    assert "error" in singles[1]
    leaf = load_grader("ruoye").grade_image(np.zeros((200, 300), np.uint8))
    assert leaf["items"] == []
    assert "no_items" in leaf["flags"]
