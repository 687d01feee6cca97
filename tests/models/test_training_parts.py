"""The numpy parts of training: table mask, augmentation, sampling plan, calibration.

(Training itself never runs in the test suite.)
"""

from __future__ import annotations

import cv2
import numpy as np

from models.strawberry.arrays import Arrays, draw_plan
from models.strawberry.augment import WORK, augment, table_mask
from models.strawberry.calibrate import calibrate
from models.strawberry.dataset import BRIX, OCCLUDED, RISEHOLME, Record, kfold
from models.strawberry.recipe import Recipe


def _table_fruit() -> tuple[np.ndarray, np.ndarray]:
    img = np.full((WORK, WORK, 3), 235, np.uint8)
    truth = np.zeros((WORK, WORK), np.uint8)
    cv2.ellipse(truth, (40, 42), (20, 26), 15, 0, 360, 1, -1)
    img[truth > 0] = (200, 30, 40)
    img[38:41, 38:41] = (240, 230, 200)  # a pale seed inside the fruit
    return img, truth


def test_table_mask_finds_the_fruit() -> None:
    img, truth = _table_fruit()
    m = table_mask(img) > 0.5
    iou = (m & (truth > 0)).sum() / (m | (truth > 0)).sum()
    assert iou > 0.9
    assert m[39, 39]  # hole filled


def test_augment_views_are_model_sized_and_vary() -> None:
    rng = np.random.default_rng(1)
    img, _ = _table_fruit()
    mask = table_mask(img)
    donor = np.full((WORK, WORK, 3), (40, 120, 40), np.uint8)
    views = [augment(img, mask if i % 2 else None, donor, 64, rng, p_swap=0.5) for i in range(8)]
    for v in views:
        assert v.shape == (64, 64, 3)
        assert v.dtype == np.uint8
    assert len({v.tobytes() for v in views}) == 8


def test_draw_plan_balances_strata() -> None:
    labels = np.array([0] * 900 + [3] * 10 + [OCCLUDED] * 50 + [1] * 40)
    sources = np.array([RISEHOLME] * 960 + [BRIX] * 40)
    arr = Arrays(np.zeros((1000, 1, 1, 3), np.uint8), labels, sources, [None] * 1000)
    plan = draw_plan(arr, 20000, np.random.default_rng(0), defect_share=0.2)
    drawn = labels[plan]
    total = 0.17 + 0.2 + 0.10 + 0.15  # the strata present here
    assert abs((drawn == 3).mean() - 0.2 / total) < 0.02
    assert abs((drawn == 0).mean() - 0.17 / total) < 0.02


def test_calibrate_offsets_undo_a_bias() -> None:
    rng = np.random.default_rng(0)
    y = np.repeat([0, 2, 3, 0, 1, 2], 30)
    src = np.array([RISEHOLME] * 90 + [BRIX] * 90)
    logits = np.eye(4)[y] * 2 + rng.normal(0, 0.3, (180, 4))
    logits[:, 3] -= 2.5  # defect under-called
    offsets, obj = calibrate(logits, y, src, step=0.5)
    assert offsets[0] == 0.0
    assert offsets[3] >= 1.0
    assert obj > 1.9


def test_kfold_keeps_fruit_together_and_balances_strata() -> None:
    recs = [Record(f"rh/{i:04d}.png", RISEHOLME, 3 if i < 30 else 0, f"rh:{i}") for i in range(300)]
    # brix: two photos per fruit
    recs += [Record(f"bx/{i:03d}{s}.png", BRIX, i % 3, f"bx:{i}") for i in range(60) for s in "ab"]
    folds = kfold(recs, 3, seed=1)
    assert kfold(recs, 3, seed=1) == folds
    assert sorted(r.file for f in folds for r in f) == sorted(r.file for r in recs)
    owner = {r.group: k for k, f in enumerate(folds) for r in f}
    assert all(owner[r.group] == k for k, f in enumerate(folds) for r in f)
    for f in folds:
        assert sum(r.label == 3 for r in f) == 10
        assert sum(r.source == BRIX for r in f) == 40
    assert kfold(recs, 3, seed=2) != folds


def test_train_member_runs_one_tiny_epoch() -> None:
    """The training loop end to end on a few synthetic crops (seconds, not a real model)."""
    import torch

    from models.strawberry.members import logits as _logits
    from models.strawberry.members import train_member as _train_member

    rng = np.random.default_rng(0)
    img, _ = _table_fruit()
    images = np.stack([img] * 4 + [rng.integers(0, 255, (WORK, WORK, 3), np.uint8)] * 4)
    labels = np.array([1, 2, 0, 1, 3, 0, OCCLUDED, 2])
    sources = np.array([BRIX] * 4 + [RISEHOLME] * 4)
    masks = [table_mask(img)] * 4 + [None] * 4
    rcp = Recipe(epochs=1, draws_per_epoch=16, batch=8, width=0.5)
    seen: list[str] = []
    net, info = _train_member(
        rcp, Arrays(images, labels, sources, masks), 0, lambda d, t, m: seen.append(m)
    )
    assert info["epochs"] == 1
    assert len(seen) == 1
    assert not net.training
    z = _logits(net, images[:, :64, :64], rcp)
    assert z.shape == (8, 4)
    assert torch.isfinite(torch.from_numpy(z)).all()
    # same seed and thread count → the very same weights (what reproduction relies on)
    again, _ = _train_member(rcp, Arrays(images, labels, sources, masks), 0, lambda d, t, m: None)
    for (k, a), b in zip(net.state_dict().items(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b), k


def test_exports_write_graphs_that_match_torch(tmp_path) -> None:
    """Both products' deployed graphs (strawberry: flip TTA + offsets; 箬叶: softmax)."""
    import onnx

    from models.ruoye.patches import PATCH_PX
    from models.ruoye.train import build_net, export
    from models.strawberry.export import export_onnx
    from models.strawberry.net import FruitNet

    diff = export_onnx(FruitNet(width=0.5), [0.0, 0.1, 0.0, -0.1], tmp_path / "s.onnx", 64)
    assert diff < 1e-4
    assert export(build_net(), tmp_path / "r.onnx") < 1e-4
    for name, size in (("s.onnx", 64), ("r.onnx", PATCH_PX)):
        graph = onnx.load(str(tmp_path / name))
        assert graph.opset_import[0].version == 17
        dims = graph.graph.input[0].type.tensor_type.shape.dim
        assert [d.dim_value for d in dims[1:]] == [3, size, size]


def test_flip_switch_in_graph_and_logits(tmp_path) -> None:
    """With flip a crop and its mirror get the same answer; without, a lopsided net's differ."""
    import onnxruntime as ort
    import torch
    from torch import nn

    from models.strawberry.export import export_onnx
    from models.strawberry.members import logits as _logits

    class Lopsided(nn.Module):
        """Logits from left-half minus right-half brightness: a mirror swaps them."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            d = 5 * (x[..., :32].mean((1, 2, 3)) - x[..., 32:].mean((1, 2, 3)))
            return torch.stack([d, -d, 0 * d, 0 * d], 1)

    images = _tiny_arrays(0).images[:, :64, :64].copy()
    images[:, :, :20] //= 2  # darker on the left
    x = np.ascontiguousarray((images.transpose(0, 3, 1, 2) / 255.0 - 0.45) / 0.25, np.float32)
    gap = {}
    for flip in (True, False):
        path = tmp_path / f"{flip}.onnx"
        export_onnx(Lopsided(), [0.0] * 4, path, 64, flip=flip)
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        a, b = (sess.run(["probs"], {"input": v})[0] for v in (x, x[..., ::-1].copy()))
        gap[flip] = float(np.abs(a - b).max())
    assert gap[True] < 1e-5
    assert gap[False] > 0.1
    # out-of-fold logits follow the recipe's switch the same way
    assert np.abs(_logits(Lopsided(), images, Recipe())[:, :2]).max() < 1e-5
    assert np.abs(_logits(Lopsided(), images, Recipe(flip=False))[:, :2]).min() > 0.1


def _tiny_arrays(seed: int) -> Arrays:
    """Eight crops: four brix table fruit, four random field crops (one occluded)."""
    rng = np.random.default_rng(seed)
    img, _ = _table_fruit()
    images = np.stack([img] * 4 + [rng.integers(0, 255, (WORK, WORK, 3), np.uint8)] * 4)
    return Arrays(
        images,
        np.array([1, 2, 0, 1, 3, 0, OCCLUDED, 2]),
        np.array([BRIX] * 4 + [RISEHOLME] * 4),
        [table_mask(img)] * 4 + [None] * 4,
    )


def test_two_member_recipe_trains_an_ensemble() -> None:
    """The shipped recipe's shape: a from-scratch net and an ImageNet-initialised Lite0."""
    import torch

    from models.strawberry.lite import LiteNet
    from models.strawberry.members import build_model
    from models.strawberry.members import logits as _logits
    from models.strawberry.members import train_model as _train_model
    from models.strawberry.net import Ensemble

    arrays = _tiny_arrays(0)
    images = arrays.images
    rcp = Recipe(epochs=1, draws_per_epoch=16, batch=8, width=0.5, blocks=4)
    assert rcp.members == ("fruitnet", "lite0")
    seen: list[str] = []
    net, info = _train_model(rcp, arrays, 0, lambda d, t, m: seen.append(m))
    assert isinstance(net, Ensemble)
    assert isinstance(net.nets[1], LiteNet)
    assert [m["net"] for m in info["members"]] == ["fruitnet", "lite0"]
    assert seen[0].startswith("fruitnet")
    assert seen[1].startswith("lite0")
    z = _logits(net, images[:, :64, :64], rcp)
    assert z.shape == (8, 4)
    assert torch.isfinite(torch.from_numpy(z)).all()
    # a checkpoint's state loads back into the model the recipe describes
    build_model(rcp).load_state_dict(net.state_dict())


def test_card_describes_the_nets_and_the_mirror_image() -> None:
    """The card's net paragraph follows the recipe: the shipped pair with the mirror image,
    repeated members, none."""
    import dataclasses

    from models.strawberry.card import _nets

    shipped = dataclasses.asdict(Recipe())
    text = _nets(shipped, 64)
    assert "2 nets" in text
    assert "mirror image" in text
    three = shipped | {"members": ["fruitnet", "lite0", "lite0"], "flip": False}
    text = _nets(three, 64)
    assert "3 nets" in text
    assert "(3) the same Lite0 net again, from another seed" in text
    assert "no mirror-image averaging" in text
