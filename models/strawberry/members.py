"""The member nets and their training loop: balanced draws, augmentation, EMA weights.

Torch is imported inside the functions, so the numpy parts of training load without it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from models.strawberry import LABELS
from models.strawberry.arrays import Arrays, draw_plan
from models.strawberry.augment import augment
from models.strawberry.dataset import AFZAAL, RISEHOLME
from models.strawberry.recipe import DEFECT, Recipe

Progress = Callable[[int, int, str], None]


def logits(net: Any, images: np.ndarray, rcp: Recipe) -> np.ndarray:
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


def train_model(rcp: Recipe, tr: Arrays, seed: int, note: Progress) -> tuple[Any, dict[str, Any]]:
    """Train each member in turn (progress counts member epochs); one net or an ensemble."""
    from models.strawberry.net import Ensemble

    nets, infos = [], []
    for j, arch in enumerate(rcp.members):

        def member_note(done: int, _t: int, msg: str, j: int = j, arch: str = arch) -> None:
            note(j * rcp.epochs + done, len(rcp.members) * rcp.epochs, f"{arch}: {msg}")

        # member 0 keeps the seed a single-net recipe used (same weights as before)
        net, info = train_member(rcp, tr, seed + 100 * j, member_note, arch)
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


def train_member(
    rcp: Recipe, tr: Arrays, member_seed: int, note: Progress, arch: str = "fruitnet"
) -> tuple[Any, dict[str, Any]]:
    """One net: balanced draws, augmentation, one-cycle LR, EMA weights after the last epoch."""
    import torch
    import torch.nn.functional as F  # noqa: N812

    torch.manual_seed(member_seed)
    rng = np.random.default_rng(member_seed)
    t0 = time.monotonic()
    # field backgrounds for table fruit: Riseholme crops, and the afzaal photos' greenhouse
    # and hand-held surroundings when they are in the pool
    donors = tr.images[(tr.sources == RISEHOLME) | (tr.sources == AFZAAL)]
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
        plan = draw_plan(tr, rcp.draws_per_epoch, rng, rcp.defect_share, rcp.afzaal_share)
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
                        rcp.strong_colour,
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
