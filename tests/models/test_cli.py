"""``gongfang evaluate`` on small labelled folders and ``gongfang train`` without torch."""

from __future__ import annotations

import csv
import json
import shutil
import sys

from typer.testing import CliRunner

from gongfang.cli import app
from models.strawberry.dataset import load_records, split_records
from models.strawberry.evaluate import load_metadata

runner = CliRunner()


def _test_records(data_dir):
    seed = load_metadata()["split"]["seed"]
    return split_records(load_records(data_dir), seed)["test"]


def test_evaluate_riseholme_style_folder(tmp_path, data_dir) -> None:
    picked: dict[str, int] = {}
    for r in _test_records(data_dir):
        if r.source != "riseholme":
            continue
        folder = r.file.split("/")[-2]
        if picked.get(folder, 0) >= 6:
            continue
        picked[folder] = picked.get(folder, 0) + 1
        dest = tmp_path / folder
        dest.mkdir(exist_ok=True)
        shutil.copy(data_dir / r.file, dest)
    (tmp_path / "ripe" / "broken.png").write_bytes(b"not an image")
    (tmp_path / "misc").mkdir()
    res = runner.invoke(app, ["evaluate", "strawberry", "--data", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.output)
    assert m["model"]["name"] == "gongfang-strawberry"
    assert m["all"]["n"] == 18  # 6 each of unripe, ripe, anomalous→defect
    assert set(m["all"]["per_class"]) == {"unripe", "ripe", "defect"}
    assert m["occluded"]["n"] == 6
    notes = " ".join(m["notes"])
    assert "broken.png" in notes
    assert "misc" in notes
    assert "occluded" in notes
    assert 0.0 <= m["all"]["balanced_accuracy"] <= 1.0
    # the human-readable form too
    res = runner.invoke(app, ["evaluate", "strawberry", "--data", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert "balanced accuracy" in res.output


def test_evaluate_brix_labels_csv_layout(tmp_path, data_dir) -> None:
    recs = [r for r in _test_records(data_dir) if r.source == "brix"][:12]
    (tmp_path / "images").mkdir()
    with (tmp_path / "labels.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["file", "label", "brix", "acid", "fruit"])
        for r in recs:
            name = r.file.split("/")[-1]
            shutil.copy(data_dir / r.file, tmp_path / "images" / name)
            w.writerow([name, ["unripe", "partripe", "ripe"][r.label], "8", "1", r.group])
    res = runner.invoke(app, ["evaluate", "strawberry", "--data", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    m = json.loads(res.output)
    assert m["all"]["n"] == 12
    assert sum(v["support"] for v in m["all"]["per_class"].values()) == 12


def test_evaluate_rejects_unlabelled_folder(tmp_path) -> None:
    (tmp_path / "photos").mkdir()
    res = runner.invoke(app, ["evaluate", "strawberry", "--data", str(tmp_path)])
    assert res.exit_code == 2
    assert "no labelled photos" in res.output
    res = runner.invoke(app, ["evaluate", "strawberry", "--data", str(tmp_path / "nope")])
    assert res.exit_code == 2
    # A data root holding labelled sets deeper down: the message names them.
    (tmp_path / "strawberry" / "set-a" / "ripe").mkdir(parents=True)
    res = runner.invoke(
        app, ["evaluate", "strawberry", "--data", str(tmp_path)], env={"COLUMNS": "400"}
    )
    assert res.exit_code == 2
    assert "set-a" in res.output.replace("\n", "")


def test_train_without_torch_says_how_to_install(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch → ImportError
    res = runner.invoke(app, ["train", "strawberry", "--epochs", "1"])
    assert res.exit_code == 2
    assert "pip install 'gongfang[train]'" in res.output


def test_train_ruoye_dispatches_to_the_leaf_trainer(monkeypatch, tmp_path) -> None:
    """Only the hand-off is checked (training never runs in the suite)."""
    import types

    calls: list[dict] = []

    def fake_train(**kwargs):
        calls.append(kwargs)
        kwargs["progress"](1, 1, "done")
        return {"name": "gongfang-ruoye", "version": "0.0.0"}

    monkeypatch.setitem(sys.modules, "models.ruoye.train", types.SimpleNamespace(train=fake_train))
    res = runner.invoke(app, ["train", "ruoye", "--seed", "3", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert calls[0]["seed"] == 3
    assert calls[0]["out_dir"] == tmp_path
    assert "gongfang-ruoye" in res.output
