"""bench/run: how it reads benchmark output and writes its table."""

from __future__ import annotations

from pathlib import Path

from bench import figures, suite


def test_last_json_skips_progress_lines() -> None:
    text = 'warming up {not json\n{"a": 1}\nnoise\n{"b": {"c": 2}}\n'
    assert suite.last_json('progress 1/3\n{"b": {"c": 2}}\n') == {"b": {"c": 2}}
    assert suite.last_json("no json at all") is None
    assert suite.last_json(text[text.index('{"b"') :]) == {"b": {"c": 2}}


def test_targets_are_judged_each_way() -> None:
    rows = figures.grading(
        {
            "raw_infer_fruit_per_s": 900,
            "pipeline_fruit_per_s": 450,
            "ratio_pipeline_to_raw": 0.5,
            "table_photo_ms": {"median": 151},
        }
    )
    assert [r.met for r in rows] == [True, False, False]
    assert rows[0].baseline == "raw ONNX 900 fruit/s"


def test_missing_keys_are_rows_not_errors() -> None:
    rows = figures.footprint({})
    assert rows
    assert all(r.value is None and r.met is None for r in rows)
    assert figures.dig({"a": [{"b": 3}]}, "a.0.b") == 3
    assert figures.dig({"a": [1]}, "a.5") is None
    # a bool is not a number: True must not read as a figure of 1
    assert figures.at_least("x", "y", True, 1, "").value is None


def test_table_and_readme_markers(tmp_path: Path) -> None:
    rows = figures.latency({"latency_ms": {"p99": 12.5}, "ratio_p99_vs_baseline": 3.1})
    meta = {
        "finished_at": "2026-12-02T01:00:00+00:00",
        "wall_s": 300.0,
        "machine": {
            "cpu": "Test CPU",
            "cpus": 2,
            "memory_gb": 4.0,
            "os": "Linux",
            "python": "3.11",
        },
    }
    md = suite.table(rows, meta)
    assert "| edge_latency | stable weight → lot stored, p99 | 12.5 ms | ≤ 50 ms | ✅ met |" in md
    assert "1 of 1 targets met" in md
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{suite.MARK_START}\nold\n{suite.MARK_END}\nafter\n")
    assert suite.put_in_readme(readme, md)
    body = readme.read_text()
    assert "old" not in body
    assert "12.5 ms" in body
    assert body.endswith("after\n")
    plain = tmp_path / "plain.md"
    plain.write_text("no markers")
    assert not suite.put_in_readme(plain, md)


def test_every_bench_module_exists() -> None:
    root = Path(suite.__file__).resolve().parents[1]
    for b in suite.BENCHES:
        assert (root / (b.module.replace(".", "/") + ".py")).is_file(), b.module
    assert sum(b.timeout_s for b in suite.BENCHES) <= 40 * 60
