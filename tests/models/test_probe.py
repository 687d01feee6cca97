"""The frozen-feature defect score: nested fusion, and the graph that carries it."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("torch", reason="training code needs the train extra")

from models.strawberry.probe import N_FEATURES, Linear, auc, defect_margin, fuse  # noqa: E402


def _synthetic(rng: np.random.Generator, informative: bool) -> dict[str, Any]:
    """Field and table photos over 3 folds; the nets' defect logit is weak, and the
    features carry the defect signal only if ``informative``."""
    n = 600
    labels = rng.choice([0, 2, 3, -1], size=n, p=[0.55, 0.2, 0.15, 0.1])
    labels[:100] = rng.choice([0, 1, 2], size=100)
    sources = np.where(np.arange(n) < 100, "brix", "riseholme")
    is_def = labels == 3
    oof = rng.normal(0, 1, (n, 4))
    oof[:, 3] += 1.0 * is_def  # the nets: defect AUC ≈ 0.75
    feats = rng.normal(0, 1, (n, N_FEATURES))
    if informative:
        feats[:, :20] += 1.5 * is_def[:, None]
    return {
        "oof": oof,
        "swapped": oof + rng.normal(0, 0.1, oof.shape),
        "feats": feats,
        "swapped_feats": feats + rng.normal(0, 0.1, feats.shape),
        "labels": labels,
        "sources": sources,
        "fold_of": np.arange(n) % 3,
    }


def test_fusion_raises_defect_auc_when_the_features_carry_it() -> None:
    d = _synthetic(np.random.default_rng(0), informative=True)
    out = fuse(**d, c=0.2)
    info = out.info
    assert info["field_defect_auc_fused"] > info["field_defect_auc_nets"] + 0.05
    assert min(info["fold_weights"]) > 0
    assert info["weight"] > 0
    # only the defect column moves, in the OOF and the background-swapped logits alike
    np.testing.assert_array_equal(out.oof[:, :3], d["oof"][:, :3])
    np.testing.assert_array_equal(out.swapped[:, :3], d["swapped"][:, :3])
    assert not np.allclose(out.oof[:, 3], d["oof"][:, 3])
    # the final score is one linear map of the raw features
    assert out.score.w.shape == (N_FEATURES,)
    field = (d["sources"] == "riseholme") & (d["labels"] >= 0)
    fused_final = defect_margin(d["oof"], 3) + out.score(d["feats"])
    assert auc(d["labels"][field] == 3, fused_final[field]) > info["field_defect_auc_nets"]


def test_fusion_keeps_noise_out() -> None:
    d = _synthetic(np.random.default_rng(1), informative=False)
    out = fuse(**d, c=0.2)
    assert out.info["weight"] <= 0.5
    assert out.info["field_defect_auc_fused"] > out.info["field_defect_auc_nets"] - 0.05


def test_linear_scaled_is_the_standardised_weighted_score() -> None:
    rng = np.random.default_rng(2)
    lin = Linear(rng.normal(size=8), 0.3)
    x = rng.normal(size=(5, 8))
    np.testing.assert_allclose(lin.scaled(0.5, 2.0, 1.5)(x), 1.5 * (lin(x) - 0.5) / 2.0)


def test_auc_ranks() -> None:
    assert auc(np.array([0, 0, 1, 1]), np.array([0.1, 0.2, 0.3, 0.4])) == 1.0
    assert auc(np.array([1, 0, 1, 0]), np.array([0.1, 0.2, 0.3, 0.4])) == 0.25
    assert auc(np.array([1, 0]), np.array([0.5, 0.5])) == 0.5


def test_fused_graph_adds_the_score_to_the_defect_logit(tmp_path) -> None:
    import onnxruntime as ort
    import torch

    from models.strawberry.export import export_onnx
    from models.strawberry.probe import DefectScore, FrozenFeatures, Fused, features
    from models.strawberry.train import MEAN, STD, Recipe, _logits, build_model

    torch.manual_seed(0)
    rcp = Recipe(members=("fruitnet",), probe_c=0.2, flip=False)
    model = build_model(rcp).eval()
    assert isinstance(model, Fused)
    assert isinstance(model.score, DefectScore)
    frozen = model.score.features
    assert isinstance(frozen, FrozenFeatures)
    rng = np.random.default_rng(3)
    lin = Linear(rng.normal(0, 0.05, N_FEATURES), -0.7)
    model.score.load(lin)
    imgs = rng.integers(0, 256, (6, 64, 64, 3), dtype=np.uint8)
    z_all = _logits(model, imgs, rcp)
    z_net = _logits(model.net, imgs, rcp)
    np.testing.assert_allclose(z_all[:, :3], z_net[:, :3], atol=1e-5)
    np.testing.assert_allclose(
        z_all[:, 3] - z_net[:, 3], lin(features(frozen, imgs, MEAN, STD, flip=False)), atol=1e-4
    )
    # with the mirror-image average, the score is that of the averaged features
    flip = Recipe(members=("fruitnet",), probe_c=0.2)
    np.testing.assert_allclose(
        _logits(model, imgs, flip)[:, 3] - _logits(model.net, imgs, flip)[:, 3],
        lin(features(frozen, imgs, MEAN, STD, flip=True)),
        atol=1e-4,
    )
    # the state round-trips through a fresh model (how a checkpoint is re-exported)
    again = build_model(rcp)
    again.load_state_dict(model.state_dict())
    np.testing.assert_allclose(_logits(again, imgs, rcp), z_all, atol=1e-6)
    # exported with float16 weights, onnxruntime gives the same probabilities
    path = tmp_path / "fused.onnx"
    export_onnx(model, [0.0, -0.5, -0.5, 0.2], path, 64, flip=False, fp16_weights=True)
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = (imgs.astype(np.float32) / 255 - np.array(MEAN, np.float32)) / np.array(STD, np.float32)
    probs = sess.run(["probs"], {"input": x.transpose(0, 3, 1, 2)})[0]
    z = z_all + np.array([0.0, -0.5, -0.5, 0.2])
    ref = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(probs, ref / ref.sum(1, keepdims=True), atol=2e-3)


def test_card_describes_the_defect_score() -> None:
    import dataclasses

    from models.strawberry.card import _nets
    from models.strawberry.train import Recipe

    rc = dataclasses.asdict(Recipe(probe_c=0.2, flip=False))
    text = _nets(rc, 64, {"weight": 1.3})
    assert "frozen" in text
    assert "C 0.2" in text
    assert "weighted by 1.3" in text
    assert "frozen" not in _nets(dataclasses.asdict(Recipe()), 64)
