"""Train the strawberry classifier from the photo sets and write the shipped files.

``train(seed=0)`` reproduces the shipped model: fixed fruit-grouped split, seeded
augmentation and sampling, a fixed number of epochs, k-fold out-of-fold logits over
train+validation for the logit offsets, then export (export.py) and one evaluation on the
test split.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from models.strawberry import LABELS
from models.strawberry.afzaal_pool import afzaal_folds, diseases
from models.strawberry.arrays import decode, subset
from models.strawberry.augment import WORK
from models.strawberry.background_check import background_check, brief_metrics, swap_backgrounds
from models.strawberry.calibrate import calibrate, softmax
from models.strawberry.dataset import (
    AFZAAL,
    Record,
    default_data_dir,
    kfold,
    load_records,
    split_records,
)
from models.strawberry.evaluate import brix_called_defect, defect_recall_by_group, score
from models.strawberry.export import export_all
from models.strawberry.members import Progress, build_model, logits, train_model
from models.strawberry.recipe import Recipe


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
    if rcp.afzaal_share > 0:
        # the afzaal train pool joins fold by fold, so the other sets' folds stay as they were
        extra = afzaal_folds(data_dir, rcp.folds, seed + 1)
        folds = [sorted(f + e, key=lambda r: r.file) for f, e in zip(folds, extra, strict=True)]
        pool = sorted(pool + [r for e in extra for r in e], key=lambda r: r.file)
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

        net, info = train_model(rcp, subset(arr, keep), seed * 1000 + k, fold_note)
        oof[held] = logits(net, small[held], rcp)
        swapped[held] = logits(net, swap_backgrounds(arr, held, keep, seed + k, rcp), rcp)
        infos.append(info | {"fold": k, "n_train": int(len(keep)), "n_held": int(len(held))})

    def last_note(done: int, _t: int, msg: str) -> None:
        note(rcp.folds * per_run + done, total, f"final net: {msg}")

    net, info = train_model(rcp, arr, seed * 1000 + rcp.folds, last_note)
    ys, srcs, dis = arr.labels, arr.sources, diseases(pool)
    note(total, total, "calibrating on out-of-fold logits and exporting")
    offsets, obj = calibrate(oof, ys, srcs, disease=dis)
    val_files = {r.file for r in splits["val"]}
    in_val = np.array([r.file in val_files for r in pool])
    probs = softmax(oof + np.array(offsets))
    # the two sets' figures as before; the afzaal crops (all defects) are scored apart
    own = srcs != AFZAAL
    ys, srcs, oof_own, probs_own, swapped_own = (
        ys[own],
        srcs[own],
        oof[own],
        probs[own],
        swapped[own],
    )
    in_val = in_val[own]
    run_info = {
        "train_seconds": round(time.monotonic() - t0, 1),
        "torch_threads": threads,
        "folds": [{k: v for k, v in i.items() if k != "history"} for i in infos],
        "final_net": {k: v for k, v in info.items() if k != "history"},
        "oof_objective_after_offsets": round(obj, 4),
        "oof_metrics": brief_metrics(score(ys, probs_own, srcs)),
        "oof_metrics_validation_photos": brief_metrics(
            score(ys[in_val], probs_own[in_val], srcs[in_val])
        ),
        "oof_metrics_no_offsets": brief_metrics(score(ys, softmax(oof_own), srcs)),
        "background_check": background_check(swapped_own, offsets, ys, srcs),
        "history": info["history"],
    }
    if not own.all():
        afz = ~own
        run_info |= {
            "oof_afzaal": defect_recall_by_group(probs[afz], dis[afz]),
            "oof_afzaal_no_offsets": defect_recall_by_group(softmax(oof[afz]), dis[afz]),
            "oof_afzaal_on_tables": defect_recall_by_group(
                softmax(swapped[afz] + np.array(offsets)), dis[afz]
            ),
            "oof_brix_called_defect": brix_called_defect(probs_own, ys, srcs),
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
