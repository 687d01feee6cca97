"""The decoded training photos and the draw plan of an epoch.

Photos are decoded once per run into uint8 arrays (with the table photos' fruit masks for
the background swaps); each epoch then draws crops by fixed shares per (set, label).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from models.common.preprocess import square_resize
from models.strawberry.augment import table_mask
from models.strawberry.dataset import AFZAAL, BRIX, OCCLUDED, RISEHOLME, Record, read_rgb
from models.strawberry.recipe import DEFECT

# Share of each (set, label) stratum in a training epoch: balances classes and sets.
DRAW_SHARE = {
    (RISEHOLME, 0): 0.17,
    (RISEHOLME, 2): 0.14,
    (RISEHOLME, 3): 0.17,
    (RISEHOLME, OCCLUDED): 0.10,
    (BRIX, 0): 0.12,
    (BRIX, 1): 0.15,
    (BRIX, 2): 0.15,
}


@dataclass
class Arrays:
    """Decoded split: images, labels, sources (and table masks for training)."""

    images: np.ndarray
    labels: np.ndarray
    sources: np.ndarray
    masks: list[np.ndarray | None]


def decode(recs: list[Record], data_dir: Path, size: int, with_masks: bool) -> Arrays:
    """Decode ``recs`` once into uint8 arrays (square-padded, resized to ``size``)."""
    imgs = np.stack([square_resize(read_rgb(data_dir / r.file), size) for r in recs])
    masks: list[np.ndarray | None] = [
        table_mask(im) if (with_masks and r.source == BRIX) else None
        for im, r in zip(imgs, recs, strict=True)
    ]
    return Arrays(
        imgs,
        np.array([r.label for r in recs], np.int64),
        np.array([r.source for r in recs]),
        masks,
    )


def subset(a: Arrays, idx: np.ndarray) -> Arrays:
    """The photos at ``idx`` (a fold's training part)."""
    return Arrays(a.images[idx], a.labels[idx], a.sources[idx], [a.masks[i] for i in idx])


def draw_plan(
    tr: Arrays, n: int, rng: np.random.Generator, defect_share: float, afzaal_share: float = 0.0
) -> np.ndarray:
    """Indices for one epoch, drawn with replacement by stratum share."""
    idx = np.arange(len(tr.labels))
    w = np.zeros(len(idx))
    shares = DRAW_SHARE | {(RISEHOLME, DEFECT): defect_share}
    if afzaal_share > 0:
        shares[(AFZAAL, DEFECT)] = afzaal_share
    for (src, lab), share in shares.items():
        sel = (tr.sources == src) & (tr.labels == lab)
        if sel.any():
            w[sel] = share / sel.sum()
    return rng.choice(idx, size=n, replace=True, p=w / w.sum())
