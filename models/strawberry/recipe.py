"""The training recipe of the strawberry classifier and the constants its parts share.

``Recipe()`` is the recipe of the shipped model; training, export and the card read it from
here, so none of them imports another for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from models.strawberry import LABELS

SIZE = 64
MEAN = (0.5, 0.45, 0.4)
STD = (0.25, 0.25, 0.25)
DEFECT = LABELS.index("defect")


@dataclass
class Recipe:
    """Hyper-parameters of one run (recorded in metadata.json)."""

    epochs: int = 30
    draws_per_epoch: int = 2048
    batch: int = 64
    lr: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.1
    ema: float = 0.99
    p_swap: float = 0.4
    width: float = 1.0
    defect_share: float = 0.2
    folds: int = 3
    stem_stride: int = 2
    # nets averaged in the shipped graph: "fruitnet" (from scratch) and/or "lite0"
    # (EfficientNet-Lite0 blocks initialised from ImageNet, fine-tuned at ``lite_lr``)
    members: tuple[str, ...] = ("fruitnet", "lite0")
    blocks: int = 11
    head: int = 320
    lite_lr: float = 1e-3
    # average each crop with its mirror image (out-of-fold logits and the shipped graph)
    flip: bool = True
    # draw share of the afzaal-2021 diseased crops (their train pool, as ``defect``); 0 leaves
    # them out of training and calibration
    afzaal_share: float = 0.12
    # probability that a view gets the strong colour jitter (augment.photometric)
    strong_colour: float = 0.5
    size: int = SIZE
    mean: tuple[float, ...] = MEAN
    std: tuple[float, ...] = STD
    extra: dict[str, Any] = field(default_factory=dict)
