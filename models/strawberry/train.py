"""Train the strawberry classifier from the photo sets and write the shipped files.

``train(seed=0)`` reproduces the shipped model: fixed fruit-grouped split, seeded
augmentation and sampling, early stopping and logit-offset calibration on the validation
split, then export (export.py) and one evaluation on the test split.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from models.common.preprocess import square_resize
from models.strawberry import LABELS
from models.strawberry.augment import WORK, augment, table_mask
from models.strawberry.dataset import (
    BRIX,
    OCCLUDED,
    RISEHOLME,
    Record,
    default_data_dir,
    load_records,
    read_rgb,
    split_records,
)

Progress = Callable[[int, int, str], None]
SIZE = 64
MEAN = (0.5, 0.45, 0.4)
STD = (0.25, 0.25, 0.25)
DEFECT = LABELS.index("defect")

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
class Recipe:
    """Hyper-parameters of one run (recorded in metadata.json)."""

    epochs: int = 20
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
    size: int = SIZE
    mean: tuple[float, ...] = MEAN
    std: tuple[float, ...] = STD
    extra: dict[str, Any] = field(default_factory=dict)


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


def draw_plan(tr: Arrays, n: int, rng: np.random.Generator, defect_share: float) -> np.ndarray:
    """Indices for one epoch, drawn with replacement by stratum share."""
    idx = np.arange(len(tr.labels))
    w = np.zeros(len(idx))
    shares = DRAW_SHARE | {(RISEHOLME, DEFECT): defect_share}
    for (src, lab), share in shares.items():
        sel = (tr.sources == src) & (tr.labels == lab)
        if sel.any():
            w[sel] = share / sel.sum()
    return rng.choice(idx, size=n, replace=True, p=w / w.sum())


def calibrate(
    logits: np.ndarray, y: np.ndarray, src: np.ndarray, step: float = 0.25
) -> tuple[list[float], float]:
    """Per-class logit offsets (unripe fixed at 0) maximising the calibration objective.

    A grid of ``step`` over [-2, 2] per class, then a grid of ``step / 5`` around the best;
    a tiny L1 term prefers small offsets. Returns the offsets and the objective reached.
    """
    lab = y >= 0

    def search(centre: np.ndarray, half: float, st: float) -> tuple[float, list[float]]:
        axis = np.arange(-half, half + 1e-9, st)
        best: tuple[float, list[float]] = (-1e9, [0.0] * 4)
        for a in centre[1] + axis:
            for b in centre[2] + axis:
                for c in centre[3] + axis:
                    off = np.array([0.0, a, b, c])
                    pred = (logits + off).argmax(1)
                    s = _objective(pred, y, src, lab) - 0.01 * float(np.abs(off).sum())
                    if s > best[0]:
                        best = (s, [float(round(v, 4)) for v in off])
        return best

    _, coarse = search(np.zeros(4), 2.0, step)
    _, fine = search(np.array(coarse), step, step / 5)
    return fine, _objective((logits + np.array(fine)).argmax(1), y, src, lab)


def _objective(pred: np.ndarray, y: np.ndarray, src: np.ndarray, lab: np.ndarray) -> float:
    total = 0.0
    for s, classes in ((RISEHOLME, (0, 2, 3)), (BRIX, (0, 1, 2))):
        sel = lab & (src == s)
        total += float(np.mean([(pred[sel & (y == k)] == k).mean() for k in classes]))
    tp = float(((pred == DEFECT) & (y == DEFECT)).sum())
    rec = tp / max(1.0, float((y == DEFECT).sum()))
    prec = tp / max(1.0, float(((pred == DEFECT) & lab).sum()))
    return total + 2 * min(0.0, rec - 0.9) + 2 * min(0.0, prec - 0.7)


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(1, keepdims=True))
    out: np.ndarray = e / e.sum(1, keepdims=True)
    return out


def train(
    seed: int = 0,
    data_dir: Path | None = None,
    out_dir: Path | None = None,
    epochs: int | None = None,
    progress: Progress | None = None,
    recipe: Recipe | None = None,
    final: bool = True,
    checkpoint: Path | None = None,
    threads: int = 2,
) -> dict[str, Any]:
    """Train ``recipe.members`` nets, calibrate, export and evaluate.

    Returns the metadata written to ``out_dir`` (the package folder by default).
    """
    import torch

    from models.strawberry.net import Ensemble

    torch.set_num_threads(threads)
    rcp = recipe or Recipe()
    if epochs is not None:
        rcp.epochs = epochs
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    out_dir = Path(out_dir) if out_dir is not None else Path(__file__).parent
    t0 = time.monotonic()
    note = progress or (lambda done, total, msg: None)

    splits = split_records(load_records(data_dir), seed)
    note(0, rcp.epochs * rcp.members, "decoding photos")
    tr = decode(splits["train"], data_dir, WORK, with_masks=True)
    va = decode(splits["val"], data_dir, rcp.size, with_masks=False)
    nets, infos = [], []
    for k in range(rcp.members):

        def member_note(done: int, total: int, msg: str, k: int = k) -> None:
            note(k * rcp.epochs + done, rcp.members * total, f"net {k + 1}: {msg}")

        net, info = _train_member(rcp, tr, va, seed * 1000 + k, member_note)
        nets.append(net)
        infos.append(info)
    ens = Ensemble(nets).eval()
    info = {
        "members": [{k: v for k, v in i.items() if k != "history"} for i in infos],
        "best_epoch": [i["best_epoch"] for i in infos],
        "train_seconds": round(time.monotonic() - t0, 1),
        "torch_threads": threads,
        "history": [i["history"] for i in infos],
    }
    if checkpoint is not None:
        states = [n.state_dict() for n in nets]
        torch.save({"states": states, "recipe": rcp, "seed": seed, "info": info}, checkpoint)
    note(rcp.epochs * rcp.members, rcp.epochs * rcp.members, "calibrating and exporting")
    return _finish(ens, rcp, seed, data_dir, out_dir, splits, va, info, final)


def _train_member(
    rcp: Recipe, tr: Arrays, va: Arrays, member_seed: int, note: Progress
) -> tuple[Any, dict[str, Any]]:
    """One net: balanced draws, augmentation, EMA weights, epoch chosen on validation."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    from models.strawberry.net import FruitNet

    torch.manual_seed(member_seed)
    rng = np.random.default_rng(member_seed)
    donors = tr.images[tr.sources == RISEHOLME]
    mean = torch.tensor(rcp.mean).view(1, 3, 1, 1)
    std = torch.tensor(rcp.std).view(1, 3, 1, 1)

    def to_tensor(batch: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float() / 255.0
        return (x - mean) / std

    net = FruitNet(len(LABELS), width=rcp.width, stem_stride=rcp.stem_stride)
    ema = FruitNet(len(LABELS), width=rcp.width, stem_stride=rcp.stem_stride)
    ema.load_state_dict(net.state_dict())
    ema.eval()
    opt = torch.optim.AdamW(net.parameters(), lr=rcp.lr, weight_decay=rcp.weight_decay)
    steps = rcp.epochs * (rcp.draws_per_epoch // rcp.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, rcp.lr, total_steps=steps, pct_start=0.15)
    xv = to_tensor(va.images)
    best: dict[str, Any] = {"score": -float("inf"), "epoch": 0}
    history: list[dict[str, float]] = []
    for ep in range(rcp.epochs):
        net.train()
        plan = draw_plan(tr, rcp.draws_per_epoch, rng, rcp.defect_share)
        losses = []
        for i in range(0, len(plan) - rcp.batch + 1, rcp.batch):
            ids = plan[i : i + rcp.batch]
            views = np.stack(
                [
                    augment(
                        tr.images[j],
                        tr.masks[j],
                        donors[rng.integers(len(donors))],
                        rcp.size,
                        rng,
                        rcp.p_swap,
                    )
                    for j in ids
                ]
            )
            y = torch.from_numpy(tr.labels[ids])
            z = net(to_tensor(views))
            known = y >= 0
            loss = torch.zeros(())
            if known.any():
                ce = F.cross_entropy(z[known], y[known], label_smoothing=rcp.label_smoothing)
                loss = loss + ce * known.float().mean()
            if (~known).any():
                # occluded: healthy but ripeness unknown → only "not defect" is asserted
                zo = z[~known]
                healthy = torch.logsumexp(zo[:, :DEFECT], 1) - torch.logsumexp(zo, 1)
                loss = loss - healthy.mean() * (~known).float().mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            with torch.no_grad():
                for pe, pn in zip(ema.parameters(), net.parameters(), strict=True):
                    pe.mul_(rcp.ema).add_(pn.detach(), alpha=1 - rcp.ema)
                for be, bn in zip(ema.buffers(), net.buffers(), strict=True):
                    be.copy_(bn)
            losses.append(float(loss.detach()))
        with torch.no_grad():
            zl = (0.5 * (ema(xv) + ema(torch.flip(xv, dims=[3])))).numpy()
        # choose the epoch by the objective *after* calibration, as it will be shipped
        _, sc = calibrate(zl, va.labels, va.sources, step=0.5)
        history.append({"epoch": ep + 1, "loss": float(np.mean(losses)), "val_score": sc})
        if sc >= best["score"]:
            state = {k: v.clone() for k, v in ema.state_dict().items()}
            best = {"score": sc, "epoch": ep + 1, "state": state}
        msg = f"loss {np.mean(losses):.3f} val {sc:.3f} best {best['score']:.3f}@{best['epoch']}"
        note(ep + 1, rcp.epochs, msg)
    ema.load_state_dict(best["state"])
    info = {"best_epoch": best["epoch"], "val_objective": round(best["score"], 4)}
    return ema, info | {"history": history}


def _finish(
    net: Any,
    rcp: Recipe,
    seed: int,
    data_dir: Path,
    out_dir: Path,
    splits: dict[str, list[Record]],
    va: Arrays,
    info: dict[str, Any],
    final: bool,
) -> dict[str, Any]:
    """Calibrate offsets on validation, export, evaluate (test if ``final``)."""
    import torch

    from models.strawberry.export import export_all

    net.eval()
    x = torch.from_numpy(va.images).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(rcp.mean).view(1, 3, 1, 1)) / torch.tensor(rcp.std).view(1, 3, 1, 1)
    with torch.no_grad():
        logits = (0.5 * (net(x) + net(torch.flip(x, dims=[3])))).numpy()
    offsets, val_obj = calibrate(logits, va.labels, va.sources)
    info = info | {"val_objective_after_offsets": round(val_obj, 4)}
    return export_all(
        net=net,
        offsets=offsets,
        out_dir=out_dir,
        data_dir=data_dir,
        splits=splits,
        seed=seed,
        recipe=rcp,
        info=info,
        final=final,
    )


def export_checkpoint(
    checkpoint: Path, out_dir: Path, data_dir: Path | None = None, final: bool = True
) -> dict[str, Any]:
    """Re-export a run saved with ``train(checkpoint=...)`` (same calibration and files)."""
    import torch

    from models.strawberry.net import Ensemble, FruitNet

    ck = torch.load(checkpoint, weights_only=False)
    rcp: Recipe = ck["recipe"]
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    splits = split_records(load_records(data_dir), ck["seed"])
    va = decode(splits["val"], data_dir, rcp.size, with_masks=False)
    nets = []
    for state in ck.get("states") or [ck["state"]]:
        net = FruitNet(len(LABELS), width=rcp.width, stem_stride=getattr(rcp, "stem_stride", 2))
        net.load_state_dict(state)
        nets.append(net)
    info = {"best_epoch": 0, "val_objective": 0.0, "train_seconds": 0.0} | ck.get("info", {})
    ens = Ensemble(nets).eval()
    return _finish(ens, rcp, ck["seed"], data_dir, Path(out_dir), splits, va, info, final)
