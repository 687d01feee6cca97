"""Kept station photos: content-addressed files within a cap, and their export for labelling."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.outbox.store import EdgeStore
from edge.station.grading_port import GradingPort
from edge.station.photo_export import ExportError, export_for_labelling
from edge.station.photos import PhotoStore
from gongfang import wire
from gongfang.cli import app as cli_app
from tests.e2e.helpers import synthetic_frame
from tests.edge.lot_factory import BASE, make_lot

LABELS = ["unripe", "turning", "ripe", "defect"]


def _blob(i: int, size: int = 400) -> bytes:
    return (f"photo {i} ".encode() * size)[:size]


def test_keep_writes_by_hash_and_prunes_the_least_recently_kept(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path, max_bytes=1000)
    a, b = store.keep(_blob(1)), store.keep(_blob(2))
    assert a == hashlib.sha256(_blob(1)).hexdigest()
    assert store.path(a).read_bytes() == _blob(1)
    assert store.path(a).parent.name == a[:2]
    time.sleep(0.01)
    assert store.keep(_blob(1)) == a  # kept again: now newer than b
    c = store.keep(_blob(3))  # 1200 bytes > 1000: the least recently kept (b) goes
    assert b is not None
    assert c is not None
    assert store.get(b) is None
    assert store.get(a) == _blob(1)
    assert store.get(c) == _blob(3)
    assert store.total_bytes == 800 <= store.max_bytes
    assert (store.kept, store.pruned, store.errors) == (3, 1, 0)
    assert not list(tmp_path.rglob("*.part"))  # no temporary file left behind


def test_a_reopened_store_knows_its_photos_and_their_order(tmp_path: Path) -> None:
    first = PhotoStore(tmp_path, max_bytes=10_000)
    old, new = first.keep(_blob(1)), first.keep(_blob(2))
    assert old is not None
    assert new is not None
    os.utime(first.path(old), (1, 1))  # make the order unambiguous on coarse clocks
    again = PhotoStore(tmp_path, max_bytes=1000)
    assert (len(again), again.total_bytes) == (2, 800)
    again.keep(_blob(3))
    assert again.get(old) is None
    assert again.get(new) == _blob(2)


def test_zero_cap_keeps_nothing_and_disk_trouble_is_counted(tmp_path: Path) -> None:
    assert PhotoStore(tmp_path / "off", max_bytes=0).keep(_blob(1)) is None
    assert not (tmp_path / "off").exists()
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the photo folder should be")
    store = PhotoStore(blocked, max_bytes=10_000)
    assert store.keep(_blob(1)) is None  # logged, counted, not raised
    assert (store.errors, store.kept, len(store)) == (1, 0, 0)


def test_a_photo_deleted_by_hand_is_written_again(tmp_path: Path) -> None:
    store = PhotoStore(tmp_path, max_bytes=10_000)
    sha = store.keep(_blob(1))
    assert sha is not None
    store.path(sha).unlink()
    assert store.keep(_blob(1)) == sha
    assert store.get(sha) == _blob(1)
    assert store.total_bytes == 400


def test_the_grading_port_keeps_graded_frames_and_not_broken_ones(tmp_path: Path) -> None:
    photos = PhotoStore(tmp_path, max_bytes=10**8)
    port = GradingPort(
        products={"lane1": wire.Product.STRAWBERRY}, on_graded=lambda *_: None, photos=photos
    )
    frame = synthetic_frame(7)
    graded = port.grade_now("lane1", frame, 1)
    assert graded.error is None, graded.error
    assert graded.model_name == "gongfang-strawberry"  # the real grader, not the placeholder
    assert photos.get(graded.frame_sha256) == frame
    broken = port.grade_now("lane1", b"\xff\xd8\xff not a jpeg", 2)
    assert broken.error
    assert photos.get(broken.frame_sha256) is None
    assert len(photos) == 1


@pytest.fixture
def station(tmp_path: Path) -> tuple[Path, list[wire.LotRecord], dict[str, bytes]]:
    """A station data dir: three strawberry lots, two with kept photos, one pruned."""
    data = tmp_path / "station"
    photos = PhotoStore(data / "photos", max_bytes=10**8)
    frames = {f"f{i}": synthetic_frame(20 + i) for i in range(3)}
    shas = {k: hashlib.sha256(v).hexdigest() for k, v in frames.items()}
    photos.keep(frames["f0"])
    photos.keep(frames["f1"])  # f2's photo was never kept (pruned)
    store = EdgeStore(data / "edge.db")
    lots = [
        make_lot(i, image_hashes=[shas[f"f{i}"]], captured_at=BASE + timedelta(days=i))
        for i in range(3)
    ]
    for lot in lots:
        assert store.record_lot(lot, lane="lane1")
    store.close()
    return data, lots, frames


def test_export_files_one_crop_per_fruit_by_label_with_a_manifest(station, tmp_path) -> None:
    data, lots, _ = station
    out = tmp_path / "label"
    seen: list[tuple[int, int]] = []
    rep = export_for_labelling(data, out, progress=lambda d, t: seen.append((d, t)))
    assert (rep.lots, rep.photos, rep.missing, rep.unreadable) == (3, 2, 1, 0)
    assert seen[-1] == (3, 3)
    crops = sorted(out.glob("*/*.jpg"))
    assert len(crops) == rep.crops >= 4  # four fruit per rendered photo, some may merge
    assert sum(rep.by_label.values()) == rep.crops
    assert {p.parent.name for p in crops} <= set(LABELS)
    with (out / "manifest.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == rep.crops
    assert {r["lot_id"] for r in rows} == {str(lots[0].id), str(lots[1].id)}
    for r in rows:
        assert (out / r["file"]).is_file()
        assert r["file"].split("/")[0] == r["model_label"]
        p = [float(r[f"p_{x}"]) for x in LABELS]
        assert abs(sum(p) - 1) < 0.01
        assert max(p) == float(r[f"p_{r['model_label']}"])
    # The model's metrics on the folder as it stands (nobody has sorted it yet).
    res = CliRunner().invoke(cli_app, ["evaluate", "strawberry", "--data", str(out), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["all"]["n"] == rep.crops


def test_export_again_keeps_what_people_sorted(station, tmp_path) -> None:
    data, _, _ = station
    out = tmp_path / "label"
    first = export_for_labelling(data, out)
    moved = sorted(out.glob("*/*.jpg"))[0]
    target = out / ("defect" if moved.parent.name != "defect" else "ripe") / moved.name
    moved.rename(target)  # a person's correction
    again = export_for_labelling(data, out)
    assert (again.crops, again.already) == (0, first.crops)
    assert target.is_file()
    assert not moved.exists()
    with (out / "manifest.csv").open(encoding="utf-8") as f:
        assert sum(1 for _ in f) == first.crops + 1  # header + one row per crop, no repeats


def test_export_since_a_date_and_the_cli(station, tmp_path) -> None:
    data, lots, _ = station
    later = lots[1].captured_at.date()
    rep = export_for_labelling(data, tmp_path / "a", since=later)
    assert (rep.lots, rep.photos, rep.missing) == (2, 1, 1)
    res = CliRunner().invoke(
        cli_app,
        ["export-photos", str(tmp_path / "b"), "--data-dir", str(data), "--since", str(later)],
    )
    assert res.exit_code == 0, res.output
    assert "gongfang evaluate strawberry --data" in res.output
    assert len(list((tmp_path / "b").glob("*/*.jpg"))) == rep.crops
    none = CliRunner().invoke(cli_app, ["export-photos", str(tmp_path / "c"), "--data-dir",
                                        str(tmp_path / "nowhere")])  # fmt: skip
    assert none.exit_code == 1
    assert "没有站点数据" in none.output
    with pytest.raises(ExportError, match="只支持草莓"):
        export_for_labelling(data, tmp_path / "d", product=wire.Product.RUOYE)
