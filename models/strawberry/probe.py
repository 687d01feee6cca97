"""A defect score from frozen ImageNet features, added to the nets' defect logit.

Seven recipes of fine-tuned nets (p1–p7 in the model card) miss the same field defects:
pooling nine of them barely moves the out-of-fold defect AUC. A logistic regression on
pooled features of the *untouched* ImageNet Lite0 errs on other crops, so its score,
weighted and added to the defect logit, carries what the fine-tuned nets lack.

The score is linear in the features, so the scaler, the logistic weights and the fusion
weight fold into one ``Linear(464 → 1)`` inside the exported graph. Training only (torch
and scikit-learn); the edge runs the ONNX graph.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from models.strawberry import LABELS
from models.strawberry.dataset import RISEHOLME
from models.strawberry.lite import LiteNet, load_imagenet
from models.strawberry.net import as_input

# Lite0 blocks whose output is pooled (channels 40, 80, 112; mean and std of each)
TAPS = (3, 7, 10)
N_FEATURES = 2 * (40 + 80 + 112)
DEFECT = LABELS.index("defect")
# fusion weights tried (the score is standardised first)
WEIGHTS = tuple(round(0.1 * i, 1) for i in range(31))


class FrozenFeatures(nn.Module):
    """Lite0 stem + blocks 0–10 with ImageNet weights; mean and std pooled at ``TAPS``."""

    def __init__(
        self, mean: tuple[float, ...], std: tuple[float, ...], pretrained: bool = True
    ) -> None:
        super().__init__()
        self.lite = LiteNet(blocks=max(TAPS) + 1, input_mean=mean, input_std=std)
        if pretrained:
            load_imagenet(self.lite)
        self.eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.lite
        x = x * n.in_scale + n.in_shift
        x = n.act(n._bn0(n._conv_stem(x)))
        pooled = []
        for i, block in enumerate(n._blocks):
            x = block(x)
            if i in TAPS:
                pooled += [x.mean(dim=(2, 3)), x.flatten(2).std(dim=2)]
        return torch.cat(pooled, dim=1)


class DefectScore(nn.Module):
    """Frozen features → one linear score on the defect logit (the other logits get 0)."""

    def __init__(self, features: FrozenFeatures, n_classes: int, defect: int) -> None:
        super().__init__()
        self.features = features
        self.fc = nn.Linear(N_FEATURES, 1)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)
        self.n_classes, self.defect = n_classes, defect

    def load(self, score: Linear) -> None:
        """Set the linear layer to ``score`` (raw features → defect logit term)."""
        with torch.no_grad():
            self.fc.weight.copy_(torch.from_numpy(score.w).float().view(1, -1))
            self.fc.bias.fill_(score.b)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.fc(self.features(x))
        zero = torch.zeros_like(s)
        cols = [s if k == self.defect else zero for k in range(self.n_classes)]
        return torch.cat(cols, dim=1)


class Fused(nn.Module):
    """The nets' logits plus the frozen-feature defect score."""

    def __init__(self, net: nn.Module, score: DefectScore) -> None:
        super().__init__()
        self.net, self.score = net, score

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x) + self.score(x)
        return out


@dataclass
class Linear:
    """A score ``features @ w + b`` (raw features, scaler folded in)."""

    w: np.ndarray
    b: float

    def __call__(self, feats: np.ndarray) -> np.ndarray:
        out: np.ndarray = feats @ self.w + self.b
        return out

    def scaled(self, mu: float, sd: float, weight: float) -> Linear:
        """``weight * (score - mu) / sd`` as one linear map."""
        return Linear(self.w * weight / sd, (self.b - mu) * weight / sd)


def features(
    net: FrozenFeatures,
    images: np.ndarray,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    flip: bool,
    batch: int = 256,
) -> np.ndarray:
    """Pooled features of uint8 RGB images already at the model size; with ``flip`` the
    mean of a crop's and its mirror image's (the score is linear, so this equals the
    graph's average of the two scores)."""
    out = []
    with torch.no_grad():
        for i in range(0, len(images), batch):
            x = as_input(images[i : i + batch], mean, std)
            f = net(x)
            if flip:
                f = 0.5 * (f + net(torch.flip(x, dims=[3])))
            out.append(f.numpy())
    return np.concatenate(out).astype(np.float64)


def fit(feats: np.ndarray, is_defect: np.ndarray, c: float) -> Linear:
    """L2 logistic regression, defect vs the rest (classes balanced), standardised inputs."""
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

    sc = StandardScaler().fit(feats)
    lr = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
    lr.fit(sc.transform(feats), is_defect)
    w = lr.coef_[0] / sc.scale_
    return Linear(w, float(lr.intercept_[0] - (sc.mean_ * w).sum()))


def auc(positive: np.ndarray, score: np.ndarray) -> float:
    """Area under the ROC curve (rank form; ties count half)."""
    from scipy.stats import rankdata  # type: ignore[import-untyped]

    pos = np.asarray(positive, bool)
    r = rankdata(score)
    n1, n0 = int(pos.sum()), int((~pos).sum())
    return float((r[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def defect_margin(logits: np.ndarray, defect: int) -> np.ndarray:
    """Defect logit minus the log-sum-exp of the others (its log-odds)."""
    others = np.delete(logits, defect, axis=1)
    m = others.max(1, keepdims=True)
    out: np.ndarray = logits[:, defect] - (m[:, 0] + np.log(np.exp(others - m).sum(1)))
    return out


def choose_weight(margin: np.ndarray, score: np.ndarray, is_defect: np.ndarray) -> float:
    """The fusion weight (of the standardised score) with the highest defect AUC."""
    return max(WEIGHTS, key=lambda w: auc(is_defect, margin + w * score))


@dataclass
class Fusion:
    """Out-of-fold and background-swapped logits with the score added, and the final score."""

    oof: np.ndarray
    swapped: np.ndarray
    score: Linear
    fold_scores: list[Linear]
    info: dict[str, Any]


def fuse(
    oof: np.ndarray,
    swapped: np.ndarray,
    feats: np.ndarray,
    swapped_feats: np.ndarray,
    labels: np.ndarray,
    sources: np.ndarray,
    fold_of: np.ndarray,
    c: float,
) -> Fusion:
    """Nested fusion: fold k's probe trains on the other folds; its weight is the one with
    the best field defect AUC on those folds' scores from probes trained without fold k."""
    is_def = labels == DEFECT
    field = (sources == RISEHOLME) & (labels >= 0)
    margin = defect_margin(oof, DEFECT)
    out_oof, out_sw = oof.copy(), swapped.copy()
    outer = np.zeros(len(labels))
    fold_weights, fold_scores = [], []
    for k in np.unique(fold_of):
        held, rest = fold_of == k, fold_of != k
        inner = np.zeros(len(labels))
        for j in np.unique(fold_of[rest]):
            hj = fold_of == j
            inner[hj] = fit(feats[rest & ~hj], is_def[rest & ~hj], c)(feats[hj])
        mu, sd = float(inner[rest].mean()), float(inner[rest].std())
        sel = rest & field
        w = choose_weight(margin[sel], (inner[sel] - mu) / sd, is_def[sel])
        raw = fit(feats[rest], is_def[rest], c)
        outer[held] = raw(feats[held])
        lin = raw.scaled(mu, sd, w)
        out_oof[held, DEFECT] += lin(feats[held])
        out_sw[held, DEFECT] += lin(swapped_feats[held])
        fold_weights.append(w)
        fold_scores.append(lin)
    mu, sd = float(outer.mean()), float(outer.std())
    w = choose_weight(margin[field], (outer[field] - mu) / sd, is_def[field])
    final = fit(feats, is_def, c).scaled(mu, sd, w)
    info = {
        "c": c,
        "fold_weights": fold_weights,
        "weight": w,
        "field_defect_auc_nets": round(auc(is_def[field], margin[field]), 4),
        "field_defect_auc_score": round(auc(is_def[field], outer[field]), 4),
        "field_defect_auc_fused": round(
            auc(is_def[field], defect_margin(out_oof, DEFECT)[field]), 4
        ),
    }
    return Fusion(out_oof, out_sw, final, fold_scores, info)
