"""The int8 graph: quantised, smaller, close to float32, and its drift checked."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="training code needs the train extra")


def _net_and_photos():  # noqa: ANN202 - test helper
    import torch

    from models.strawberry.net import FruitNet

    torch.manual_seed(0)
    net = FruitNet(width=0.5).eval()
    rng = np.random.default_rng(0)
    # smooth blobs, not white noise: activations in a range photos would give
    base = rng.integers(60, 200, (48, 1, 1, 3))
    grad = np.linspace(0, 50, 64)[None, :, None, None]
    photos = np.clip(base + grad + rng.normal(0, 8, (48, 64, 64, 3)), 0, 255).astype(np.uint8)
    return net, photos


def test_int8_graph_is_smaller_and_close_to_float32(tmp_path) -> None:
    import onnx

    from models.strawberry.export import export_onnx
    from models.strawberry.quantized import calibration_photos, int8_logits, quantize_graph
    from models.strawberry.train import Recipe

    net, photos = _net_and_photos()
    rcp = Recipe(int8=True)
    offsets = [0.0, -0.3, 0.2, 0.1]
    path = tmp_path / "m.onnx"
    export_onnx(net, offsets, path, 64, flip=True)
    f32_size = path.stat().st_size
    calib = calibration_photos(photos, seed=0)
    drift = quantize_graph(net, offsets, path, rcp, calib, check=False)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    assert path.stat().st_size < 0.6 * f32_size  # int8 weights plus per-channel scales
    assert drift["int8_calibration_photos"] == len(calib) == 48
    assert 0 < drift["int8_mean_abs_diff"] < 0.05
    (logp,) = int8_logits(net, [photos[:10]], calib, rcp)
    assert logp.shape == (10, 4)
    np.testing.assert_allclose(np.exp(logp).sum(1), 1.0, atol=1e-3)


def test_int8_drift_beyond_the_limit_is_an_error(tmp_path, monkeypatch) -> None:
    from models.strawberry import quantized
    from models.strawberry.export import export_onnx
    from models.strawberry.train import Recipe

    net, photos = _net_and_photos()
    path = tmp_path / "m.onnx"
    export_onnx(net, [0.0] * 4, path, 64, flip=False)
    monkeypatch.setattr(quantized, "MAX_MEAN_DRIFT", -1.0)
    with pytest.raises(RuntimeError, match="int8"):
        quantized.quantize_graph(net, [0.0] * 4, path, Recipe(flip=False), photos)


def test_calibration_photos_are_a_seeded_sample() -> None:
    from models.strawberry.quantized import CALIBRATION_PHOTOS, calibration_photos

    imgs = np.arange(600)[:, None, None, None].astype(np.uint16) * np.ones((1, 2, 2, 3), np.uint16)
    a, b, c = (calibration_photos(imgs, s) for s in (0, 0, 1))
    assert len(a) == CALIBRATION_PHOTOS
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert len(np.unique(a[:, 0, 0, 0])) == CALIBRATION_PHOTOS  # no photo twice


def test_frozen_feature_branch_stays_float32(tmp_path) -> None:
    """Only the nets are quantised; the frozen-feature defect score keeps float weights."""
    import onnx

    from models.strawberry.export import export_onnx
    from models.strawberry.probe import N_FEATURES, Linear
    from models.strawberry.quantized import quantize_graph
    from models.strawberry.train import Recipe, build_model

    _, photos = _net_and_photos()
    rcp = Recipe(members=("fruitnet",), width=0.5, probe_c=0.2, int8=True)
    model = build_model(rcp).eval()
    model.score.load(Linear(np.full(N_FEATURES, 0.01), -1.0))
    path = tmp_path / "fused.onnx"
    export_onnx(model, [0.0] * 4, path, 64, flip=True)
    quantize_graph(model, [0.0] * 4, path, rcp, photos, check=False)
    graph = onnx.load(str(path)).graph
    made_by = {o: n.op_type for n in graph.node for o in n.output}
    convs = [n for n in graph.node if n.op_type == "Conv"]
    score = [made_by.get(n.input[1]) for n in convs if "/net/score/" in n.name]
    nets = [made_by.get(n.input[1]) for n in convs if "/net/net/" in n.name]
    assert score
    assert all(src != "DequantizeLinear" for src in score)  # float32 weights
    assert nets
    assert all(src == "DequantizeLinear" for src in nets)  # int8 weights
