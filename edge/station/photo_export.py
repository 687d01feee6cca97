"""Station photos out for a labelling pass: one crop per fruit, filed by the model's label.

``export_for_labelling`` reads the station's lots and kept photos (read-only), grades each
photo again with the shipped model, and writes the crop the classifier sees of every fruit
to ``OUT/<label>/<lot>-<photo>-<n>.jpg``, with ``OUT/manifest.csv`` naming lot, farmer,
time and the model's probabilities. People then move each misfiled crop into the folder of
its true label; ``gongfang evaluate strawberry --data OUT`` scores the model on them, and
the folders are training material. A crop already filed under any label is left where
it is, so exporting again never undoes someone's sorting.
"""

from __future__ import annotations

import csv
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import cv2

from edge.outbox.store import EdgeStore
from edge.station.directory import intake_date
from edge.station.photos import PhotoStore
from gongfang import wire

log = logging.getLogger(__name__)

MANIFEST = "manifest.csv"


class ExportError(Exception):
    """The export cannot start (no station data, model unavailable); message in Chinese first."""


@dataclass
class ExportReport:
    lots: int = 0  # lots of the product in the period
    photos: int = 0  # their photos found and graded
    missing: int = 0  # photos named by a lot but not kept (pruned, or kept off)
    unreadable: int = 0  # kept photos that could not be graded
    crops: int = 0  # crops written now
    already: int = 0  # crops already filed (left where they are)
    by_label: dict[str, int] = field(default_factory=dict)


def _filed(out: Path, labels: list[str]) -> dict[str, Path]:
    """Crops already in a label folder, by file name."""
    return {p.name: p for label in labels for p in (out / label).glob("*.jpg")}


def export_for_labelling(
    data_dir: Path,
    out: Path,
    *,
    since: date | None = None,  # the Asia/Shanghai intake date, as on receipts
    product: wire.Product = wire.Product.STRAWBERRY,
    progress: Callable[[int, int], None] | None = None,
) -> ExportReport:
    """Export crops of the station's kept photos under ``data_dir`` into ``out``."""
    from edge.grading.api import StrawberryGrader, load_grader
    from edge.grading.base import decode
    from edge.grading.errors import GradingError

    if product is not wire.Product.STRAWBERRY:
        raise ExportError("目前只支持草莓 / only strawberry photos can be exported for labelling")
    db = Path(data_dir) / "edge.db"
    if not db.is_file():
        raise ExportError(f"没有站点数据 / no station database at {db}")
    try:
        grader = load_grader(product)
    except Exception as exc:
        raise ExportError(f"分级模型不可用 / grader unavailable: {exc}") from exc
    if not isinstance(grader, StrawberryGrader):  # pragma: no cover - load_grader's contract
        raise ExportError(f"不是草莓分级器 / not a strawberry grader: {type(grader).__name__}")
    photos = PhotoStore(Path(data_dir) / "photos", max_bytes=sys.maxsize)
    store = EdgeStore(db)
    try:
        lots = [
            lot
            for lot in store.all_lots()
            if lot.product is product and (since is None or intake_date(lot.captured_at) >= since)
        ]
    finally:
        store.close()
    labels = list(grader.labels)
    model = f"{grader.model_name} {grader.model_version}"
    out.mkdir(parents=True, exist_ok=True)
    for label in labels:
        (out / label).mkdir(exist_ok=True)
    filed = _filed(out, labels)
    report = ExportReport(lots=len(lots), by_label=dict.fromkeys(labels, 0))
    manifest = out / MANIFEST
    new_manifest = not manifest.exists()
    with manifest.open("a", newline="", encoding="utf-8") as f:
        rows = csv.writer(f)
        if new_manifest:
            rows.writerow(
                ["file", "lot_id", "farmer", "captured_at", "photo_sha256", "item",
                 "model_label", *(f"p_{x}" for x in labels), "lot_grade", "model"]
            )  # fmt: skip
        for i, lot in enumerate(lots):
            if progress is not None:
                progress(i, len(lots))
            for sha in lot.image_hashes:
                data = photos.get(sha)
                if data is None:
                    report.missing += 1
                    continue
                try:
                    res, crops = grader.table_crops(decode(data))
                except (GradingError, cv2.error, ValueError) as exc:
                    log.warning("照片无法分级 / photo %s not graded: %s", sha[:12], exc)
                    report.unreadable += 1
                    continue
                report.photos += 1
                for k, (item, crop) in enumerate(zip(res["items"], crops, strict=True)):
                    name = f"{lot.id.hex[:12]}-{sha[:8]}-{k}.jpg"
                    if name in filed:
                        report.already += 1
                        continue
                    label = str(item["label"])
                    path = out / label / name
                    if not cv2.imwrite(str(path), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR)):
                        raise ExportError(f"无法写入 / cannot write {path}")
                    filed[name] = path
                    report.crops += 1
                    report.by_label[label] = report.by_label.get(label, 0) + 1
                    probs = item["probs"]
                    rows.writerow(
                        [f"{label}/{name}", lot.id, lot.farmer, lot.captured_at.isoformat(),
                         sha, k, label, *(probs.get(x, "") for x in labels),
                         lot.grade.value, model]
                    )  # fmt: skip
    if progress is not None:
        progress(len(lots), len(lots))
    return report
