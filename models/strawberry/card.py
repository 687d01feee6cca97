"""MODEL_CARD.md for the strawberry classifier, rendered from its metadata."""

from __future__ import annotations

from typing import Any

from models.strawberry import LABELS


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


# Development runs (R = Riseholme, B = brix balanced accuracy; defect recall @ precision).
# 1.0.0/1.1.0 rows: validation split after calibration on it (epoch also chosen on it, so
# optimistic). 1.2.0 rows: out-of-fold (OOF) over train+validation, offsets applied.
EXPERIMENTS = (
    (
        "A (shipped first, 1.0.0)",
        "30 epochs, p_swap 0.5, free rotation for all crops",
        "R 0.870, B 0.948, defect 0.68 @ 0.63; its test: R 0.874, B 0.919, defect 0.76 @ 0.66",
    ),
    ("B", "60 epochs, EMA 0.995, defect share 0.2", "R 0.832, B 0.938, defect 0.56 @ 0.70"),
    ("C", "width 1.25, p_swap 0.35", "stopped for CPU time"),
    (
        "D",
        "40 epochs, p_swap 0.3, field crops ±20° only, calibrated epoch choice, 2 seeds",
        "2-net ensemble R 0.853, B 0.937, defect 0.60 @ 0.75; "
        "seed 0 alone R 0.863, B 0.949, defect 0.64 @ 0.84 (shipped as 1.1.0; its test: "
        "R 0.832, B 0.896, defect 0.56 @ 0.78)",
    ),
    (
        "E",
        "25 epochs, label smoothing 0.05, wd 2e-3, defect share 0.25, 2 seeds",
        "ensemble R 0.836, B 0.958, defect 0.56 @ 0.70",
    ),
    (
        "r1 (1.2.0 dev)",
        "3-fold OOF over train+val, 20 epochs × 2048 draws, p_swap 0.4, field crops by "
        "quarter turns ±15°, defect share 0.2, stem stride 2",
        "OOF objective 0.929: R 0.834, B 0.927, defect 0.59 @ 0.59 (no offsets: R 0.835, "
        "B 0.924, defect 0.61 @ 0.50); defect AUC 0.917 (**shipped as 1.2.0**, see below)",
    ),
    (
        "r2",
        "r1 with stem stride 1 (full-resolution first layer; measured afterwards: 15–22% "
        "more run-time cost per crop)",
        "OOF objective 0.967: R 0.875, B 0.928, defect 0.83 @ 0.36 (no offsets: R 0.839, "
        "B 0.922, defect 0.62 @ 0.49); defect AUC 0.909",
    ),
    (
        "r3",
        "r2 with 32 epochs",
        "OOF objective 1.152: R 0.840, B 0.928, defect 0.59 @ 0.71 (no offsets: R 0.836, "
        "B 0.922, defect 0.60 @ 0.57); defect AUC 0.907. Highest OOF objective, so exported "
        "first and scored on test (R 0.858, B 0.936, defect 0.68 @ 0.71); then withdrawn "
        "because its graph costs more per crop than 1.1.0's (see below)",
    ),
    (
        "r4",
        "r2 with defect share 0.12 (offsets restore the prior)",
        "OOF objective 0.985: R 0.856, B 0.915, defect 0.68 @ 0.52 (no offsets: R 0.818, "
        "B 0.915, defect 0.54 @ 0.59); defect AUC 0.888",
    ),
)


NARRATIVE = """\
Selection rule: ship the run with the highest OOF objective (the calibration objective
above; settled after r1/r2, before r3/r4 had finished) among those whose ONNX graph costs
no more per crop than 1.1.0's (a hard constraint from the throughput target). r3 (stem
stride 1) had the highest OOF objective and was exported and scored on test first; the
throughput check then showed stem stride 1 costs 15–22% more per crop (onnxruntime, batch
32, same box, interleaved: 976 vs 1143 fruit/s on 1 thread, 536 vs 690 on 2), so r2–r4
are out and r1 (stem stride 2, the 1.1.0 architecture) ships. That switch was forced by
cost, not by r3's test figures (which were better than r1's). r1–r4 differ by less than
the noise of 98 defects anyway.

Why the defect target is out of reach for this recipe: in every 1.2.0 run the out-of-fold
defect-vs-healthy ranking of field crops has an AUC of only 0.89–0.92. With about one
anomalous crop per 20 field crops, no threshold or offset reaches both targets: over the
98 OOF defects, the best precision at recall ≥ 0.85 is 0.16–0.21 and the best recall at
precision ≥ 0.6 is 0.41–0.53. Calibration moves along that curve (r2 took recall 0.83 at
precision 0.36; r3 recall 0.59 at precision 0.71) but cannot lift it. Averaging the OOF
logits of r1–r4 (a 4-recipe ensemble) lifts the AUC only to 0.920, so distilling an
ensemble into one net was not pursued. A from-scratch 64-px CNN on 98 anomalous photos
is the limit here; pretrained image features (none can be downloaded here) or many more
defect photos are the likely way to the target.

Background check (turning fruit exist only on white, defects only in the field): the
OOF predictions were repeated with every photo moved onto the other set's background
(see the recipe section). Brix fruit keep their labels on field backgrounds (balanced
accuracy unchanged, no brix fruit called defect), so ripeness is judged on the fruit.
Riseholme crops shrunk onto a table lose some defect recall, so part of what the net
uses for defects is still the field scene around the fruit; on a grading table, expect
fewer defect calls than on these field numbers."""

TEST_LOOKS = (
    "four times in this project: once each for 1.0.0, 1.1.0, the withdrawn r3 candidate and "
    "1.2.0 (r1), each after its recipe, weights and offsets were fixed; tests and "
    "bench/bench_grading_accuracy.py re-score the shipped model on it but choose nothing"
)


def _fig(m: dict[str, Any]) -> str:
    d = m["defect"]
    return (
        f"R {m['riseholme_balanced_accuracy']:.3f}, B {m['brix_balanced_accuracy']:.3f}, "
        f"defect {d['recall']:.2f} @ {d['precision']:.2f}"
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
horizontal-flip average and the calibrated logit offsets already inside the graph.
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
  unused). No licence file; research use.
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
appear in several crops across splits (a likely optimistic bias for Riseholme numbers).

## Training recipe
- Net: one compact MobileNetV2-style CNN (inverted residuals, depthwise 3×3, BatchNorm,
  ReLU6, width {rc["width"]}), {size}×{size} input, trained from scratch (no pretrained
  weights); the graph averages it over the crop and its mirror image.
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
- AdamW lr {rc["lr"]} one-cycle, weight decay {rc["weight_decay"]}, batch {rc["batch"]},
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
    }; without offsets {_fig(tr["oof_metrics_no_offsets"])}.
- Time: {tr["train_seconds"]:.0f} s wall for {rc["folds"]} fold nets + the final net on
  {tr.get("torch_threads", 2)} torch thread(s) of a shared 2-core machine (other jobs running).
  Reproduce: `gongfang train strawberry --seed {sp["seed"]} --threads {tr.get("torch_threads", 2)}`
  (same thread count → same floating-point order → same weights; checked for 1.2.0: the
  command re-made a byte-identical model.onnx, and these files are its output).

## Test metrics (the split above, evaluated once for this model)
Predicted label = argmax of `probs` over all four labels (a field fruit called `turning`
counts as wrong).

- Riseholme, balanced accuracy over unripe/ripe/defect: **{bal_r:.3f}**
- brix-ripeness, balanced accuracy over unripe/turning/ripe: **{bal_b:.3f}**
- defect recall **{d["recall"]:.3f}** at precision **{d["precision"]:.3f}** (support {d["support"]})

Riseholme test:

{_table(t["riseholme"])}

{_confusion(t["riseholme"])}

brix-ripeness test:

{_table(t["brix"])}

{_confusion(t["brix"])}

![confusion matrices](confusion.png)

## Status against issue 5 acceptance 1
Targets: balanced accuracy ≥ 0.93 on each set, defect recall ≥ 0.85 at precision ≥ 0.6.
This model: {status}.

## What was tried (all choices made on validation or out-of-fold predictions)
R = Riseholme and B = brix balanced accuracy, defect recall @ precision. Rows A–E (versions
1.0.0/1.1.0): the validation split, after offsets fitted on it and the epoch chosen on it
(optimistic). Rows r1–r4 (version 1.2.0): out-of-fold predictions over train+validation
(fixed epochs; offsets fitted on the same OOF logits, so mildly optimistic; the "no
offsets" figures are fully held out). Test figures of A and D were seen only after they
had been shipped.

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
"""
