"""Train the strawberry classifier from the photo sets and write the shipped files.

``train(seed=0)`` reproduces the shipped model: fixed fruit-grouped split, seeded
augmentation and sampling, a fixed number of epochs, k-fold out-of-fold logits over
train+validation for the logit offsets, then export (export.py) and one evaluation on the
test split.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.common.preprocess import square_resize
from models.strawberry import LABELS
from models.strawberry.augment import (
    WORK,
    augment,
    field_texture,
    paste_on_field,
    paste_on_table,
    table_mask,
)
from models.strawberry.dataset import (
    BRIX,
    OCCLUDED,
    RISEHOLME,
    Record,
    default_data_dir,
    kfold,
    load_records,
    read_rgb,
    split_records,
)
from models.strawberry.evaluate import score
from models.strawberry.recipe import DEFECT, Recipe

Progress = Callable[[int, int, str], None]
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
    """K-fold over train+validation, offsets from the out-of-fold logits, then one net on all.

    The test split is untouched. Each fold's net trains on the other folds for a fixed
    number of epochs and predicts its own fold (flip-averaged if the recipe says so); the
    pooled out-of-fold logits choose the per-class offsets. The shipped net trains the same
    way on all of train+validation and gets those offsets. Returns the metadata written to
    ``out_dir`` (the package folder by default).
    """
    import torch

    torch.set_num_threads(threads)
    rcp = recipe or Recipe()
    if epochs is not None:
        rcp.epochs = epochs
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    out_dir = Path(out_dir) if out_dir is not None else Path(__file__).parent
    t0 = time.monotonic()
    note = progress or (lambda done, total, msg: None)
    runs = rcp.folds + 1
    per_run = rcp.epochs * len(rcp.members)
    total = per_run * runs

    splits = split_records(load_records(data_dir), seed)
    pool = sorted(splits["train"] + splits["val"], key=lambda r: r.file)
    folds = kfold(pool, rcp.folds, seed + 1)
    note(0, total, "decoding photos")
    arr = decode(pool, data_dir, WORK, with_masks=True)
    small = decode(pool, data_dir, rcp.size, with_masks=False).images
    index = {r.file: i for i, r in enumerate(pool)}
    oof = np.zeros((len(pool), len(LABELS)), np.float32)
    swapped = np.zeros_like(oof)
    infos: list[dict[str, Any]] = []
    for k, fold in enumerate(folds):
        held = np.array([index[r.file] for r in fold])
        keep = np.setdiff1d(np.arange(len(pool)), held)

        def fold_note(done: int, _t: int, msg: str, k: int = k) -> None:
            note(k * per_run + done, total, f"fold {k + 1}/{rcp.folds}: {msg}")

        net, info = _train_model(rcp, _subset(arr, keep), seed * 1000 + k, fold_note)
        oof[held] = _logits(net, small[held], rcp)
        swapped[held] = _logits(net, _swap_backgrounds(arr, held, keep, seed + k, rcp), rcp)
        infos.append(info | {"fold": k, "n_train": int(len(keep)), "n_held": int(len(held))})

    def last_note(done: int, _t: int, msg: str) -> None:
        note(rcp.folds * per_run + done, total, f"final net: {msg}")

    net, info = _train_model(rcp, arr, seed * 1000 + rcp.folds, last_note)
    ys, srcs = arr.labels, arr.sources
    note(total, total, "calibrating on out-of-fold logits and exporting")
    offsets, obj = calibrate(oof, ys, srcs)
    val_files = {r.file for r in splits["val"]}
    in_val = np.array([r.file in val_files for r in pool])
    probs = _softmax(oof + np.array(offsets))
    run_info = {
        "train_seconds": round(time.monotonic() - t0, 1),
        "torch_threads": threads,
        "folds": [{k: v for k, v in i.items() if k != "history"} for i in infos],
        "final_net": {k: v for k, v in info.items() if k != "history"},
        "oof_objective_after_offsets": round(obj, 4),
        "oof_metrics": _brief_metrics(score(ys, probs, srcs)),
        "oof_metrics_validation_photos": _brief_metrics(
            score(ys[in_val], probs[in_val], srcs[in_val])
        ),
        "oof_metrics_no_offsets": _brief_metrics(score(ys, _softmax(oof), srcs)),
        "background_check": _background_check(swapped, offsets, ys, srcs),
        "history": info["history"],
    }
    if checkpoint is not None:
        torch.save(
            {
                "state": net.state_dict(),
                "recipe": rcp,
                "seed": seed,
                "offsets": offsets,
                "info": run_info,
                "oof": oof,
            },
            checkpoint,
        )
    return _finish(net, offsets, rcp, seed, data_dir, out_dir, splits, run_info, final)


def _swap_backgrounds(
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


def _background_check(
    swapped: np.ndarray, offsets: list[float], y: np.ndarray, src: np.ndarray
) -> dict[str, Any]:
    """OOF figures with every photo moved to the other set's background (fruit, not scene)."""
    m = score(y, _softmax(swapped + np.array(offsets)), src)
    b = _brief_metrics(m)
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


def _brief_metrics(m: dict[str, Any]) -> dict[str, Any]:
    """The three acceptance figures of a ``score`` result."""
    return {
        "riseholme_balanced_accuracy": m["riseholme"]["balanced_accuracy"],
        "brix_balanced_accuracy": m["brix"]["balanced_accuracy"],
        "defect": m["defect"],
        "riseholme_confusion": m["riseholme"]["confusion"],
        "brix_confusion": m["brix"]["confusion"],
    }


def _subset(a: Arrays, idx: np.ndarray) -> Arrays:
    return Arrays(a.images[idx], a.labels[idx], a.sources[idx], [a.masks[i] for i in idx])


def _logits(net: Any, images: np.ndarray, rcp: Recipe) -> np.ndarray:
    """Logits of ``net`` (flip-averaged if the recipe says so) for uint8 RGB images already
    at the model size."""
    import torch

    from models.strawberry.net import as_input

    x = as_input(images, rcp.mean, rcp.std)
    net.eval()
    with torch.no_grad():
        z = net(x)
        if rcp.flip:
            z = 0.5 * (z + net(torch.flip(x, dims=[3])))
    out: np.ndarray = z.numpy()
    return out


def build_net(rcp: Recipe, arch: str, pretrained: bool) -> Any:
    """One member net; ``lite0`` starts from ImageNet weights when ``pretrained``."""
    if arch == "lite0":
        from models.strawberry.lite import LiteNet, load_imagenet

        lite = LiteNet(len(LABELS), rcp.blocks, rcp.head, rcp.mean, rcp.std)
        if pretrained:
            load_imagenet(lite)
        return lite
    if arch != "fruitnet":
        raise ValueError(f"unknown member net {arch!r}")
    from models.strawberry.net import FruitNet

    return FruitNet(len(LABELS), width=rcp.width, stem_stride=rcp.stem_stride)


def build_model(rcp: Recipe) -> Any:
    """The recipe's (untrained) model: its one net or the ensemble of its members."""
    from models.strawberry.net import Ensemble

    nets = [build_net(rcp, a, pretrained=False) for a in rcp.members]
    return nets[0] if len(nets) == 1 else Ensemble(nets)


def _train_model(rcp: Recipe, tr: Arrays, seed: int, note: Progress) -> tuple[Any, dict[str, Any]]:
    """Train each member in turn (progress counts member epochs); one net or an ensemble."""
    from models.strawberry.net import Ensemble

    nets, infos = [], []
    for j, arch in enumerate(rcp.members):

        def member_note(done: int, _t: int, msg: str, j: int = j, arch: str = arch) -> None:
            note(j * rcp.epochs + done, len(rcp.members) * rcp.epochs, f"{arch}: {msg}")

        # member 0 keeps the seed a single-net recipe used (same weights as before)
        net, info = _train_member(rcp, tr, seed + 100 * j, member_note, arch)
        nets.append(net)
        infos.append(info | {"net": arch})
    if len(nets) == 1:
        return nets[0], infos[0]
    history = [h | {"net": i["net"]} for i in infos for h in i["history"]]
    info = {
        "epochs": rcp.epochs,
        "seconds": round(sum(i["seconds"] for i in infos), 1),
        "members": [{k: v for k, v in i.items() if k != "history"} for i in infos],
    }
    return Ensemble(nets).eval(), info | {"history": history}


def _train_member(
    rcp: Recipe, tr: Arrays, member_seed: int, note: Progress, arch: str = "fruitnet"
) -> tuple[Any, dict[str, Any]]:
    """One net: balanced draws, augmentation, one-cycle LR, EMA weights after the last epoch."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    torch.manual_seed(member_seed)
    rng = np.random.default_rng(member_seed)
    t0 = time.monotonic()
    donors = tr.images[tr.sources == RISEHOLME]
    mean = torch.tensor(rcp.mean).view(1, 3, 1, 1)
    std = torch.tensor(rcp.std).view(1, 3, 1, 1)
    fmt = torch.channels_last  # about a third faster on CPU for this net

    def to_tensor(batch: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2).float() / 255.0
        return ((x - mean) / std).contiguous(memory_format=fmt)

    net = build_net(rcp, arch, pretrained=True)
    net.to(memory_format=fmt)  # in place
    ema = build_net(rcp, arch, pretrained=False)
    ema.load_state_dict(net.state_dict())
    # a pretrained net is fine-tuned gently; one from scratch needs the larger rate
    lr = rcp.lite_lr if arch == "lite0" else rcp.lr
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=rcp.weight_decay)
    steps = rcp.epochs * (rcp.draws_per_epoch // rcp.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.15)
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
            x = to_tensor(views)
            known = y >= 0
            z = net(x)
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
        history.append({"epoch": ep + 1, "loss": float(np.mean(losses))})
        note(ep + 1, rcp.epochs, f"loss {np.mean(losses):.3f}")
    ema.eval()
    info = {"epochs": rcp.epochs, "seconds": round(time.monotonic() - t0, 1)}
    return ema, info | {"history": history}


def _finish(
    net: Any,
    offsets: list[float],
    rcp: Recipe,
    seed: int,
    data_dir: Path,
    out_dir: Path,
    splits: dict[str, list[Record]],
    info: dict[str, Any],
    final: bool,
) -> dict[str, Any]:
    """Export with the offsets and evaluate (the test split once if ``final``)."""
    from models.strawberry.export import export_all

    net.eval()
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
    """Re-export a run saved with ``train(checkpoint=...)`` (same offsets and files)."""
    import torch

    ck = torch.load(checkpoint, weights_only=False)
    rcp: Recipe = ck["recipe"]
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    splits = split_records(load_records(data_dir), ck["seed"])
    net = build_model(rcp)
    net.load_state_dict(ck["state"])
    return _finish(
        net, ck["offsets"], rcp, ck["seed"], data_dir, Path(out_dir), splits, ck["info"], final
    )
