"""The model card's afzaal-2021 parts: the data, its split, the recipe's use of it, its test
figures and the issue 20 status. Each is "" for a model trained without it (the card of
such a model reads as before)."""

from __future__ import annotations

from typing import Any

DISEASE_NAMES = {
    "anthracnose_fruit_rot": "anthracnose fruit rot",
    "gray_mold": "gray mould",
    "powdery_mildew_fruit": "powdery mildew",
}


def _recall(r: dict[str, Any]) -> str:
    per = ", ".join(
        f"{DISEASE_NAMES.get(d, d)} {v['recall']:.2f} of {v['n']}"
        for d, v in r["per_disease"].items()
    )
    return f"{r['recall']:.3f} of {r['n']} ({per})"


def data(meta: dict[str, Any]) -> str:
    """The Data bullet."""
    sp = meta.get("afzaal_split")
    if not sp:
        return ""
    n = {s: sum(c.values()) for s, c in sp["counts"].items()}
    return f"""
- **afzaal-2021-defects** (U. Afzaal, B. Bhattarai, Y. R. Pandeya, J. Lee, "An Instance
  Segmentation Model for Strawberry Diseases Based on Mask R-CNN", Sensors 21(19) 6565,
  2021): crops of diseased fruit (anthracnose fruit rot, gray mould, powdery mildew) cut
  per fruit from greenhouse and hand-held photos; all used as `defect`. Train pool
  {n["train"]} crops of {sp["photos"]["train"]} photos, test {n["test"]} crops of
  {sp["photos"]["test"]} photos (split below). Research use."""


def split(meta: dict[str, Any]) -> str:
    """The afzaal split paragraph and table."""
    sp = meta.get("afzaal_split")
    if not sp:
        return ""
    rows = "\n".join(
        f"| {s} ({sp['photos'][s]} photos) | "
        + ", ".join(f"{DISEASE_NAMES.get(d, d)} {v}" for d, v in c.items())
        + " |"
        for s, c in sp["counts"].items()
    )
    return f"""

afzaal-2021-defects: {sp["rule"]}. In training a photo's crops stay in one fold too.
Its test side is scored once per candidate, like the split above.

| afzaal | crops |
|---|---|
{rows}"""


def recipe(meta: dict[str, Any]) -> str:
    """The recipe bullet on the afzaal crops, the strong jitter and their OOF figures."""
    rc, tr = meta["recipe"], meta["training"]
    if not rc.get("afzaal_share"):
        return ""
    return f"""
- Diseased fruit from a second source: the afzaal train pool is drawn as `defect` with share
  {rc["afzaal_share"]} of each epoch, its photos also serve as field backgrounds for table
  fruit, and {rc.get("strong_colour", 0):.0%} of all views get a strong colour jitter
  (brightness ×0.6–1.4, contrast ±30%, saturation ±35%, white balance ±12%; hue still ±6°),
  standing in for other cameras and light. The offsets' objective adds the afzaal crops'
  mean OOF recall per disease (soft floor 0.9) and holds healthy brix fruit called defect
  under 2%; the afzaal crops count apart from the Riseholme defect recall and precision.
  OOF afzaal recall {_recall(tr["oof_afzaal"])}; shrunk onto tables {
        tr["oof_afzaal_on_tables"]["recall"]:.3f}; without offsets {
        tr["oof_afzaal_no_offsets"]["recall"]:.3f}; healthy brix fruit called defect OOF {
        tr["oof_brix_called_defect"]:.1%}."""


def test(meta: dict[str, Any]) -> str:
    """The afzaal test figures (and healthy brix called defect)."""
    a = meta.get("test_metrics_afzaal")
    if not a:
        return ""
    called = meta["test_metrics"].get("brix_called_defect", 0.0)
    return f"""
- afzaal-2021 test (diseased fruit from photos never trained on), defect recall
  **{_recall(a)}**
- healthy brix test fruit called `defect`: **{called:.1%}**"""


def status(meta: dict[str, Any]) -> str:
    """The issue 20 acceptance section (classifier alone)."""
    a = meta.get("test_metrics_afzaal")
    if not a:
        return ""
    t = meta["test_metrics"]
    checks = [
        ("afzaal recall", a["recall"], 0.85, True),
        *[
            (f"afzaal {DISEASE_NAMES.get(d, d)} recall", v["recall"], 0.7, True)
            for d, v in a["per_disease"].items()
        ],
        ("Riseholme balanced accuracy", t["riseholme"]["balanced_accuracy"], 0.93, True),
        ("defect recall", t["defect"]["recall"], 0.85, True),
        ("defect precision", t["defect"]["precision"], 0.6, True),
        ("brix balanced accuracy", t["brix"]["balanced_accuracy"], 0.93, True),
        ("healthy brix called defect", t.get("brix_called_defect", 0.0), 0.03, False),
    ]
    rows = "; ".join(
        f"{name} {v:.3f} (target {'≥' if up else '≤'} {lim}: "
        f"{'PASS' if (v >= lim if up else v <= lim) else 'FAIL'})"
        for name, v, lim, up in checks
    )
    return f"""

## Status against issue 20 (classifier alone; the lesion rule adds its own defect calls)
{rows}.

At the station this classifier runs next to the lesion rule (a fruit whose measured rot,
dark-lesion or mould share is above the threshold is `defect` whatever the classifier
says): the rule, its threshold and how it was chosen are in LESION.md; the figures of the
two together, on the same test splits, are in the history row of this model's run."""
