"""A compact MobileNetV2-style classifier for 64×64 fruit crops (torch; training only)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn


def as_input(images: np.ndarray, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """uint8 NHWC RGB images at the model size → the normalised NCHW float tensor (torch's
    own arithmetic, the order the out-of-fold logits were always computed in)."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def _cbr(cin: int, cout: int, k: int = 3, s: int = 1, groups: int = 1) -> list[nn.Module]:
    return [
        nn.Conv2d(cin, cout, k, s, k // 2, groups=groups, bias=False),
        nn.BatchNorm2d(cout),
        nn.ReLU6(inplace=True),
    ]


class InvertedResidual(nn.Module):
    """Expand 1×1, depthwise 3×3, project 1×1 (linear), with a skip when shapes match."""

    def __init__(self, cin: int, cout: int, stride: int, expand: int) -> None:
        super().__init__()
        mid = cin * expand
        layers: list[nn.Module] = []
        if expand != 1:
            layers += _cbr(cin, mid, 1)
        layers += _cbr(mid, mid, 3, stride, groups=mid)
        layers += [nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*layers)
        self.skip = stride == 1 and cin == cout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.body(x)
        return x + y if self.skip else y


# (expand, channels, repeats, first stride): 64 → 32 (stem) → 32 → 16 → 8 → 4
STAGES = ((1, 16, 1, 1), (4, 24, 2, 2), (4, 40, 2, 2), (4, 80, 3, 2), (4, 112, 2, 1))


class FruitNet(nn.Module):
    """Stem, inverted-residual stages, 1×1 head, global average pool, dropout, linear."""

    def __init__(
        self, n_classes: int = 4, width: float = 1.0, head: int = 320, stem_stride: int = 2
    ) -> None:
        super().__init__()
        c = int(24 * width)
        # stem_stride 1 keeps one full-resolution layer (small spots) and moves the
        # first down-sampling into the first depthwise stage instead.
        layers: list[nn.Module] = _cbr(3, c, 3, stem_stride)
        stages = list(STAGES)
        if stem_stride == 1:
            t0, c0, n0, _ = stages[0]
            stages[0] = (t0, c0, n0, 2)
        for t, ch, n, s in stages:
            out = int(ch * width)
            for i in range(n):
                layers.append(InvertedResidual(c, out, s if i == 0 else 1, t))
                c = out
        layers += _cbr(c, head, 1)
        self.features = nn.Sequential(*layers)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(head, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x).mean(dim=(2, 3))
        out: torch.Tensor = self.fc(self.drop(x))
        return out


class Ensemble(nn.Module):
    """Mean logits of several nets (members trained with different seeds)."""

    def __init__(self, nets: Sequence[nn.Module]) -> None:
        super().__init__()
        self.nets = nn.ModuleList(nets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = torch.stack([n(x) for n in self.nets]).mean(0)
        return out


class Deployed(nn.Module):
    """The exported graph: logits (flip-averaged if ``flip``) + calibrated offsets → softmax."""

    def __init__(self, net: nn.Module, offsets: list[float], flip: bool = True) -> None:
        super().__init__()
        self.net = net
        self.flip = flip
        self.register_buffer("offsets", torch.tensor(offsets, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.flip:
            # one pass over [x; flipped x] costs less than two passes at small batch
            n = x.shape[0]
            z = self.net(torch.cat([x, torch.flip(x, dims=[3])], dim=0))
            logits = 0.5 * (z[:n] + z[n:])
        else:
            logits = self.net(x)
        return torch.softmax(logits + self.offsets, dim=1)
