"""The ImageNet-initialised backbone: the packaged weights load and still see a strawberry."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from models.strawberry.dataset import read_rgb

IMAGENET_STRAWBERRY = 949


def test_lite0_imagenet_weights_recognise_a_strawberry(data_dir: Path) -> None:
    """Full Lite0 with its ImageNet head on brix photos: class 949 (strawberry) on top.

    A wrong block layout, padding or input scaling would scatter the predictions.
    """
    import cv2
    import torch

    from models.strawberry.lite import MEAN, STD, LiteNet, load_imagenet, weights_file

    net = LiteNet(1000, blocks=16, head=1280)
    state = torch.load(weights_file(), map_location="cpu", weights_only=True)
    renamed = {
        "_conv_head.weight": "head.0.weight",
        "_bn1.weight": "head.1.weight",
        "_bn1.bias": "head.1.bias",
        "_bn1.running_mean": "head.1.running_mean",
        "_bn1.running_var": "head.1.running_var",
        "_fc.weight": "fc.weight",
        "_fc.bias": "fc.bias",
    }
    result = net.load_state_dict(
        {renamed.get(k, k): v for k, v in state.items() if k != "_bn1.num_batches_tracked"},
        strict=False,
    )
    # only the input adapter (identity here) is not in the ImageNet file
    assert sorted(result.missing_keys) == ["in_scale", "in_shift"]
    assert not result.unexpected_keys
    net.eval()
    photos = sorted((data_dir / "strawberry" / "brix-ripeness" / "images").glob("*ripe.png"))
    batch = np.stack([cv2.resize(read_rgb(p), (224, 224)) for p in photos[:8]])
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
    with torch.no_grad():
        top = net(x).argmax(1)
    assert (top == IMAGENET_STRAWBERRY).sum() >= 7
    # the truncated grader net takes every matching tensor of the blocks it keeps
    small = LiteNet(4, blocks=11)
    kept = sum(1 for k in small.state_dict() if k.startswith("_blocks"))
    assert load_imagenet(small) == 6 + kept  # stem conv + its batch norm (5 tensors)
