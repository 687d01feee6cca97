"""``gongfang grade``: JSON per image, errors as objects, exit codes, annotation."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from typer.testing import CliRunner

from gongfang.cli import app
from models.render.ruoye import render_leaf_photo
from models.render.strawberry import render_single_fruit, render_table_photo


def _objects(text: str) -> list[dict]:
    dec = json.JSONDecoder()
    out, i = [], 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        obj, i = dec.raw_decode(text, i)
        out.append(obj)
    return out


def test_grade_folder_with_a_bad_file(tmp_path: Path) -> None:
    photos = tmp_path / "in"
    photos.mkdir()
    (photos / "a.jpg").write_bytes(render_table_photo(np.random.default_rng(1), n_fruit=3).jpeg())
    (photos / "b.jpg").write_bytes(b"this is no jpeg")
    ann = tmp_path / "ann"
    res = CliRunner().invoke(
        app, ["grade", "--product", "strawberry", "--annotate", str(ann), str(photos)]
    )
    assert res.exit_code == 0, res.output
    objs = _objects(res.stdout)
    assert [Path(o["path"]).name for o in objs] == ["a.jpg", "b.jpg"]
    assert len(objs[0]["items"]) == 3
    assert objs[0]["marker"] is True
    assert objs[1]["error"]["code"] == "unreadable_image"
    drawn = cv2.imread(str(ann / "a.annotated.png"))
    assert drawn is not None
    assert drawn.shape[:2] == (960, 1280)


def test_jsonl_single_and_leaves(tmp_path: Path) -> None:
    for i in range(3):
        crop = render_single_fruit(np.random.default_rng(i)).image_bgr
        cv2.imwrite(str(tmp_path / f"f{i}.png"), crop)
    res = CliRunner().invoke(
        app, ["grade", "-p", "strawberry", "--single", "--jsonl", str(tmp_path)]
    )
    assert res.exit_code == 0, res.output
    lines = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    assert len(lines) == 3
    assert all(len(o["items"]) == 1 for o in lines)
    leaf = tmp_path / "leaf.jpg"
    leaves = render_leaf_photo(np.random.default_rng(3), n_leaves=2)
    leaf.write_bytes(leaves.jpeg())
    res = CliRunner().invoke(app, ["grade", "-p", "ruoye", "--jsonl", str(leaf)])
    assert res.exit_code == 0, res.output
    (obj,) = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
    assert len(obj["items"]) == len(leaves.items) >= 1
    assert obj["items"][0]["length_mm"] > 150


def test_nothing_readable_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "x.jpg"
    bad.write_bytes(b"\x00\x01")
    res = CliRunner().invoke(
        app, ["grade", "-p", "strawberry", str(bad), str(tmp_path / "nope.jpg")]
    )
    assert res.exit_code == 2
    assert len(_objects(res.stdout)) == 2
    res = CliRunner().invoke(app, ["grade", "-p", "mango", str(bad)])
    assert res.exit_code == 2
