"""Train the 箬叶 surface-defect patch model on project-made renders and export it.

No public photo set of Indocalamus leaves exists, so the data are leaf photos drawn by
``models.render.ruoye`` (random sizes, tables, light, spots, yellowing, holes, tears) with
per-pixel truth. Needs the ``train`` extra (torch). ``gongfang train ruoye`` calls
:func:`train`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from models.common.onnx_export import export_probs
from models.render.ruoye import render_leaf_photo
from models.ruoye import LABELS
from models.ruoye.patches import MEAN, PATCH_PX, RULE, STD, cut, grid, resample, to_input

if TYPE_CHECKING:
    from torch import nn

NAME = "gongfang-ruoye-defects"
VERSION = "1.0.0"
TRAIN_PHOTOS = 40
VAL_PHOTOS = 12


def _label(hole: float, spot: float, yellow: float) -> int | None:
    """Patch label from the share of each truth mask in it; ``None`` if ambiguous."""
    if hole >= 0.05:
        return 3
    if spot >= 0.03:
        return 1
    if yellow >= 0.15:
        return 2
    if hole < 0.005 and spot < 0.005 and yellow < 0.005:
        return 0
    return None


def photo_patches(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Patches and labels of one rendered photo (the grid the station uses)."""
    rng = np.random.default_rng(seed)
    table = ("white", "wood", "steel")[seed % 3]
    kinds = [str(k) for k in rng.choice(["clean", "spot", "yellow", "hole", "tear"], 3)]
    photo = render_leaf_photo(rng, n_leaves=3, table=table, kinds=kinds)
    rgb = resample(cv2.cvtColor(photo.image_bgr, cv2.COLOR_BGR2RGB), photo.mm_per_px)
    masks = {k: resample(v.astype(np.float32), photo.mm_per_px) for k, v in photo.extra.items()}
    leaf = (masks["leaf"] > 0.5).astype(np.uint8) * 255
    cnts, _ = cv2.findContours(leaf, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    filled = np.zeros_like(leaf)
    cv2.drawContours(filled, cnts, -1, 255, cv2.FILLED)
    corners = grid(filled)
    xs, ys = [], []
    patches = cut(rgb, corners)
    for (x, y), p in zip(corners, patches, strict=True):
        sl = (slice(y, y + PATCH_PX), slice(x, x + PATCH_PX))
        lab = _label(
            float(masks["hole"][sl].mean()),
            float(masks["spot"][sl].mean()),
            float(masks["yellow"][sl].mean()),
        )
        if lab is not None:
            xs.append(p)
            ys.append(lab)
    if not xs:
        return np.zeros((0, PATCH_PX, PATCH_PX, 3), np.uint8), np.zeros(0, np.int64)
    return np.stack(xs), np.asarray(ys, np.int64)


def dataset(
    seeds: range, rng: np.random.Generator, *, balance: bool
) -> tuple[np.ndarray, np.ndarray]:
    """All patches of the photos rendered with ``seeds``; clean ones thinned when balancing."""
    parts = [photo_patches(s) for s in seeds]
    x = np.concatenate([p[0] for p in parts])
    y = np.concatenate([p[1] for p in parts])
    if balance:
        counts = np.bincount(y, minlength=len(LABELS))
        cap = int(max(counts[1:].max(), 200) * 5)
        keep = np.ones(len(y), bool)
        clean = np.nonzero(y == 0)[0]
        if len(clean) > cap:
            keep[rng.choice(clean, len(clean) - cap, replace=False)] = False
        x, y = x[keep], y[keep]
    return x, y


def build_net() -> nn.Module:
    """A small CNN for 16×16 patches (about 15 k weights)."""
    from torch import nn

    def block(cin: int, cout: int) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    return nn.Sequential(
        *block(3, 16),
        *block(16, 16),
        nn.MaxPool2d(2),
        *block(16, 32),
        nn.MaxPool2d(2),
        *block(32, 32),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(32, len(LABELS)),
    )


def _augment(x: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Random right-angle turns and flips (a patch has no up) and light level."""
    k = int(rng.integers(4))
    x = np.rot90(x, k, axes=(1, 2))
    if rng.random() < 0.5:
        x = x[:, :, ::-1]
    gain = rng.uniform(0.75, 1.12, (len(x), 1, 1, 1))
    return np.clip(x.astype(np.float32) * gain, 0, 255).astype(np.uint8)


def confusion(y: np.ndarray, pred: np.ndarray) -> list[list[int]]:
    """Rows: truth, columns: prediction, in LABELS order."""
    n = len(LABELS)
    m = np.zeros((n, n), np.int64)
    np.add.at(m, (y, pred), 1)
    return [[int(v) for v in row] for row in m]


def export(net: nn.Module, path: Path) -> float:
    """ONNX with softmax inside (output ``probs``); returns max |ORT − torch|."""
    from torch import nn

    return export_probs(nn.Sequential(net, nn.Softmax(dim=1)), path, PATCH_PX, n_check=7)


def train(
    *,
    seed: int = 0,
    out_dir: Path | None = None,
    progress: bool | Callable[[int, int, str], None] = True,
    epochs: int = 8,
) -> dict[str, Any]:
    """Render, train, export: writes model.onnx, metadata.json, MODEL_CARD.md and
    confusion.png to ``out_dir`` (default: the package folder) and returns the metadata.

    ``progress``: ``True`` draws a bar on the terminal, a callable gets
    ``(done, total, message)`` after every step, ``False`` is quiet."""
    import torch
    from torch import nn

    t0 = time.monotonic()
    out = Path(out_dir) if out_dir is not None else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    base = 10_000 * (seed + 1)
    train_seeds = range(base, base + TRAIN_PHOTOS)
    val_seeds = range(base + 5_000, base + 5_000 + VAL_PHOTOS)  # photos never trained on
    x_tr, y_tr = dataset(train_seeds, rng, balance=True)
    x_va, y_va = dataset(val_seeds, rng, balance=False)
    net = build_net()
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * int(np.ceil(len(y_tr) / 256))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    weights = torch.tensor(
        len(y_tr) / np.maximum(np.bincount(y_tr, minlength=len(LABELS)), 1) / len(LABELS),
        dtype=torch.float32,
    ).clamp(max=5.0)
    loss_fn = nn.CrossEntropyLoss(weight=weights)
    bar = None
    report = progress if callable(progress) else None
    if progress is True:
        from rich.progress import Progress

        bar = Progress(transient=False)
        bar.start()
        task = bar.add_task("训练 training ruoye", total=steps)
    for _epoch in range(epochs):
        net.train()
        order = rng.permutation(len(y_tr))
        for i in range(0, len(order), 256):
            idx = order[i : i + 256]
            xb = torch.from_numpy(to_input(_augment(x_tr[idx], rng)))
            yb = torch.from_numpy(y_tr[idx])
            opt.zero_grad()
            loss = loss_fn(net(xb), yb)
            loss.backward()
            opt.step()
            sched.step()
            if bar is not None:
                bar.advance(task)
            if report is not None:
                report(int(sched.last_epoch), steps, "训练 training ruoye")
    if bar is not None:
        bar.stop()
    net.eval()
    with torch.no_grad():
        pred = np.concatenate(
            [
                net(torch.from_numpy(to_input(x_va[i : i + 2048]))).argmax(1).numpy()
                for i in range(0, len(y_va), 2048)
            ]
        )
    cm = confusion(y_va, pred)
    recall = {lab: round(cm[i][i] / max(sum(cm[i]), 1), 4) for i, lab in enumerate(LABELS)}
    precision = {
        lab: round(cm[i][i] / max(sum(r[i] for r in cm), 1), 4) for i, lab in enumerate(LABELS)
    }
    balanced = round(float(np.mean(list(recall.values()))), 4)
    diff = export(net, out / "model.onnx")
    meta: dict[str, Any] = {
        "name": NAME,
        "version": VERSION,
        "labels": list(LABELS),
        "input": {
            "name": "input",
            "size": [PATCH_PX, PATCH_PX],
            "color": "RGB",
            "scale": "1/255",
            "mean": list(MEAN),
            "std": list(STD),
            "resize": RULE,
        },
        "output": {"name": "probs", "applied": "softmax inside the graph"},
        "training_data": {
            "source": "project-made renders (models.render.ruoye); no public 箬叶 photo set exists",
            "train_photos": TRAIN_PHOTOS,
            "val_photos": VAL_PHOTOS,
            "seeds": {
                "train": [train_seeds.start, train_seeds.stop],
                "val": [val_seeds.start, val_seeds.stop],
            },
            "patches": {
                "train": np.bincount(y_tr, minlength=4).tolist(),
                "val": np.bincount(y_va, minlength=4).tolist(),
            },
            "label_rule": (
                "hole ≥ 5% of the patch, else spot ≥ 3%, else yellow ≥ 15%, "
                "else clean if all < 0.5%; others dropped"
            ),
        },
        "test_metrics": {
            "split": "validation renders (other seeds, never trained on)",
            "balanced_accuracy": balanced,
            "recall": recall,
            "precision": precision,
            "confusion": cm,
        },
        "onnx_max_abs_diff": diff,
        "seed": seed,
        "epochs": epochs,
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "train_seconds": round(time.monotonic() - t0, 1),
    }
    (out / "metadata.json").write_text(
        json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    confusion_png(meta, out / "confusion.png")
    (out / "MODEL_CARD.md").write_text(card(meta), encoding="utf-8")
    return meta


def confusion_png(meta: dict[str, Any], path: Path) -> None:
    """The validation confusion matrix as a PNG (matplotlib, from the ``train`` extra)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(meta["test_metrics"]["confusion"], np.float64)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(4.6, 4))
    ax.imshow(norm, cmap="Greens", vmin=0, vmax=1)
    ax.set_xticks(range(len(LABELS)), LABELS)
    ax.set_yticks(range(len(LABELS)), LABELS)
    ax.set_xlabel("predicted")
    ax.set_ylabel("truth (validation renders)")
    for i in range(len(LABELS)):
        for j in range(len(LABELS)):
            ax.text(j, i, f"{int(cm[i, j])}", ha="center", va="center", fontsize=8)
    ax.set_title(f"{meta['name']} {meta['version']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def card(meta: dict[str, Any]) -> str:
    """MODEL_CARD.md from the metadata."""
    m = meta["test_metrics"]
    rows = "\n".join(
        f"| {lab} | " + " | ".join(str(v) for v in row) + " |"
        for lab, row in zip(LABELS, m["confusion"], strict=True)
    )
    return f"""# {meta["name"]} {meta["version"]} — 箬叶 surface-defect patch model

**Trained on project-made renders only.** No public photo set of Indocalamus (箬叶) leaves
exists, so every training and validation image is drawn by `models/render/ruoye.py` (OpenCV
+ numpy): lanceolate leaves 200–460 × 40–108 mm with a petiole, veins, brown spots,
yellowing, holes and tears, on white plastic, light wood and stainless steel tables under
uneven light, with sensor noise. Nothing was downloaded.

## What it does
Classifies {meta["input"]["size"][0]}×{meta["input"]["size"][1]} px RGB patches (8 × 8 mm of leaf at
0.5 mm/px) as `clean`, `spot`, `yellow` or `hole` (holes and tears: the table seen through
the blade). The station (`edge/grading/leaf_api.py`) cuts the blade of each measured leaf into
patches (rule: {meta["input"]["resize"]}), runs them in one batch and reports the share of
patches per class as the leaf's `probs`; the leaf's `label` is the defect class with the most
patches (at least 2), else `clean`.

The grade itself follows DESIGN.md's table from *measured* geometry and colour areas
(length, width, holes in mm², tears, spot and yellowing % of area); the model's label is
reported beside them and a disagreement is flagged.

## Data and split
- Train: {meta["training_data"]["train_photos"]} rendered photos, patches per class
  (clean/spot/yellow/hole): {meta["training_data"]["patches"]["train"]} (clean thinned to 5×
  the largest defect class).
- Validation (reported below): {meta["training_data"]["val_photos"]} further photos from
  other seeds, never trained on: {meta["training_data"]["patches"]["val"]}.
- Label rule: {meta["training_data"]["label_rule"]}.

## Metrics on the validation renders
Balanced accuracy {m["balanced_accuracy"]}; recall {m["recall"]}; precision {m["precision"]}.

Confusion (rows truth, columns prediction: clean, spot, yellow, hole; also `confusion.png`):

| truth | clean | spot | yellow | hole |
|---|---|---|---|---|
{rows}

## Known limits
- Renders are not photos: real leaves have gloss, curl, dust, water drops, insect damage of
  other shapes and lighting the renderer does not draw. Expect lower accuracy on real
  photos; collect and label real station photos before relying on the label.
- Patches are 8 mm and lie wholly inside the blade (so table in a patch means a hole): the
  outer 4 mm of the margin is not seen by the model; tears and margin damage are found by
  the geometry only. Spots smaller than about 1 mm are missed.
- Reproduce: `gongfang train ruoye --seed {meta["seed"]}` (needs the `train` extra).
"""
