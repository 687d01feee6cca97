"""The background check: out-of-fold figures with every photo on the other set's background.

Turning fruit exist only on white and defects only in the field, so a net could learn the
scene; predicting each held-out photo moved onto the other background measures that.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from models.common.preprocess import square_resize
from models.strawberry.arrays import Arrays
from models.strawberry.augment import WORK, field_texture, paste_on_field, paste_on_table
from models.strawberry.calibrate import softmax
from models.strawberry.dataset import RISEHOLME
from models.strawberry.evaluate import score
from models.strawberry.recipe import Recipe


def swap_backgrounds(
    arr: Arrays, held: np.ndarray, keep: np.ndarray, seed: int, rcp: Recipe
) -> np.ndarray:
    """Held-out photos on the other set's background: table fruit on field, field on table.

    Backgrounds come from the fold's training field crops; the result is at the model size.
    """
    rng = np.random.default_rng(10_000 + seed)
    donors = arr.images[keep][arr.sources[keep] == RISEHOLME]
    out = []
    for i in held:
        img, mask = arr.images[i], arr.masks[i]
        if mask is not None:
            bg = field_texture(rng, donors[rng.integers(len(donors))], WORK)
            canvas = paste_on_field(img, mask, bg, rng)
        else:
            canvas = paste_on_table(img, rng)
        out.append(square_resize(np.clip(canvas, 0, 255).astype(np.uint8), rcp.size))
    return np.stack(out)


def background_check(
    swapped: np.ndarray, offsets: list[float], y: np.ndarray, src: np.ndarray
) -> dict[str, Any]:
    """OOF figures with every photo moved to the other set's background (fruit, not scene)."""
    m = score(y, softmax(swapped + np.array(offsets)), src)
    b = brief_metrics(m)
    turning = m["brix"]["per_class"].get("turning", {}).get("recall", 0.0)
    called = np.array(b["brix_confusion"])[:, 3].sum()
    text = (
        "every train+validation photo was also predicted out-of-fold on the other set's "
        "background (brix table fruit cut out onto field crops, field crops onto synthetic "
        f"tables): brix balanced accuracy on field backgrounds {b['brix_balanced_accuracy']:.3f} "
        f"(turning recall {turning:.2f}, {called} brix fruit called defect), Riseholme on "
        f"tables {b['riseholme_balanced_accuracy']:.3f}, defect recall "
        f"{b['defect']['recall']:.2f} @ precision {b['defect']['precision']:.2f}."
    )
    return b | {"text": text}


def brief_metrics(m: dict[str, Any]) -> dict[str, Any]:
    """The three acceptance figures of a ``score`` result."""
    return {
        "riseholme_balanced_accuracy": m["riseholme"]["balanced_accuracy"],
        "brix_balanced_accuracy": m["brix"]["balanced_accuracy"],
        "defect": m["defect"],
        "riseholme_confusion": m["riseholme"]["confusion"],
        "brix_confusion": m["brix"]["confusion"],
    }
