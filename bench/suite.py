"""Run every benchmark, then write bench/results.json and the Markdown table.

``bench/run`` (or ``python -m bench.suite``) runs each benchmark in its own process with
sizes chosen so the whole suite finishes in under ten minutes on a 2-core station box,
keeps each one's full JSON in bench/results.json, and writes bench/RESULTS.md: one row
per headline figure with its target and met / not met, and the machine it ran on. The
README's table between its ``bench:`` markers is replaced by the same table.

A benchmark that fails or times out is a row saying so; the others still run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import figures
from bench.figures import Extractor, Figure

ROOT = Path(__file__).resolve().parents[1]
MARK_START, MARK_END = "<!-- bench:start -->", "<!-- bench:end -->"


@dataclass(frozen=True)
class Bench:
    """One benchmark: its module, the arguments the suite runs it with, how to read it."""

    name: str
    module: str
    args: tuple[str, ...]
    timeout_s: int
    extract: Extractor


# Sizes: the full targets' workloads where they fit (1M-lot payout run, 10k-lot review
# page), fewer repetitions than each benchmark's own default so the suite stays < 10 min.
BENCHES = (
    Bench("grading", "bench.bench_grading", ("--rounds", "3"), 180, figures.grading),
    Bench(
        "grading_accuracy",
        "bench.bench_grading_accuracy",
        ("--fruit-photos", "30", "--leaf-photos", "24", "--touching-photos", "15"),
        240,
        figures.grading_accuracy,
    ),
    Bench("edge_footprint", "bench.bench_edge_footprint", ("--runs", "2"), 180, figures.footprint),
    Bench("edge_latency", "bench.bench_edge_latency", ("--crates", "120"), 180, figures.latency),
    Bench(
        "edge_climate",
        "bench.bench_edge_climate",
        ("--n", "20000", "--reps", "1"),
        240,
        figures.climate,
    ),
    Bench(
        "console_page",
        "bench.bench_console_page",
        ("--reps", "20", "--paint-reps", "3"),
        180,
        figures.console,
    ),
    Bench("review_page", "bench.bench_review_page", ("--reps", "30"), 300, figures.review),
    Bench(
        "server",
        "bench.bench_server",
        ("--batches", "10", "--only", "postgresql"),
        420,
        figures.server,
    ),
    Bench("decoders", "bench.firmware_bridge.bench_decoders", (), 120, figures.decoders),
    Bench("fefo", "bench.bench_fefo", (), 120, figures.fefo),
)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    except OSError:
        mem_kb = 0
    return {
        "cpu": model or platform.processor(),
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def last_json(text: str) -> dict[str, Any] | None:
    """The last JSON object a benchmark printed (some print progress lines first)."""
    start = text.find("{")
    while start != -1:
        try:
            doc = json.loads(text[start:])
        except json.JSONDecodeError:
            start = text.find("\n{", start + 1)
            start = start + 1 if start != -1 else -1
            continue
        return doc if isinstance(doc, dict) else None
    return None


def run_one(b: Bench, python: str) -> tuple[dict[str, Any], list[Figure]]:
    """Run one benchmark; its record for results.json and its rows."""
    t0 = time.perf_counter()
    record: dict[str, Any] = {"module": b.module, "args": list(b.args)}
    try:
        proc = subprocess.run(
            [python, "-m", b.module, *b.args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=b.timeout_s,
            check=False,
        )
    except subprocess.TimeoutExpired:
        record.update(status=f"timed out after {b.timeout_s} s", wall_s=b.timeout_s)
        return record, [Figure(b.name, "(timed out)", None, "", "", False)]
    record["wall_s"] = round(time.perf_counter() - t0, 1)
    doc = last_json(proc.stdout)
    if proc.returncode != 0 or doc is None:
        lines = (proc.stderr or proc.stdout).strip().splitlines() or ["no output"]
        record.update(status=f"failed (exit {proc.returncode})", error=lines[-20:])
        return record, [Figure(b.name, f"(failed: {lines[-1][:100]})", None, "", "", False)]
    record.update(status="ok", output=doc)
    return record, b.extract(doc)


def _cell(f: Figure) -> str:
    if f.value is None:
        return "missing" if f.met is None else "—"
    v = f"{f.value:,.3f}".rstrip("0").rstrip(".") if f.value % 1 else f"{f.value:,.0f}"
    return f"{v} {f.unit}".strip()


def table(rows: list[Figure], meta: dict[str, Any]) -> str:
    """The Markdown table with its machine line."""
    m = meta["machine"]
    met = sum(f.met is True for f in rows)
    lines = [
        f"Measured {meta['finished_at'][:16].replace('T', ' ')} UTC on {m['cpu']} "
        f"({m['cpus']} cores, {m['memory_gb']} GB, {m['os']}, Python {m['python']}); "
        f"suite {meta['wall_s']:.0f} s; **{met} of {len(rows)} targets met**. "
        "Run `bench/run` to measure again.",
        "",
        "| benchmark | figure | value | target | met | baseline (same run) |",
        "|---|---|---|---|---|---|",
    ]
    for f in rows:
        mark = {True: "✅ met", False: "❌ not met", None: "?"}[f.met]
        lines.append(
            f"| {f.bench} | {f.name} | {_cell(f)} | {f.target} {f.unit if f.target else ''}"
            f" | {mark} | {f.baseline} |".replace("  |", " |")
        )
    return "\n".join(lines) + "\n"


def put_in_readme(readme: Path, text: str) -> bool:
    """Replace the README's table between the markers; False if it has no markers."""
    body = readme.read_text(encoding="utf-8")
    if MARK_START not in body or MARK_END not in body:
        return False
    head, rest = body.split(MARK_START, 1)
    _, tail = rest.split(MARK_END, 1)
    readme.write_text(f"{head}{MARK_START}\n{text}{MARK_END}{tail}", encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--only",
        action="append",
        choices=[b.name for b in BENCHES],
        help="run just these (repeatable); the files are still rewritten",
    )
    ap.add_argument("--out", type=Path, default=ROOT / "bench")
    ap.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    args = ap.parse_args(argv)
    chosen = [b for b in BENCHES if not args.only or b.name in args.only]
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    meta: dict[str, Any] = {"started_at": started.isoformat(), "machine": machine()}
    records: dict[str, Any] = {}
    rows: list[Figure] = []
    for i, b in enumerate(chosen, 1):
        print(f"[{i}/{len(chosen)}] {b.name} …", end=" ", file=sys.stderr, flush=True)
        record, got = run_one(b, sys.executable)
        records[b.name] = record
        rows += got
        met = sum(f.met is True for f in got)
        print(
            f"{record.get('wall_s', '?')} s, {met}/{len(got)} met, {record['status']}",
            file=sys.stderr,
            flush=True,
        )
    meta.update(finished_at=datetime.now(UTC).isoformat(), wall_s=time.perf_counter() - t0)
    args.out.mkdir(parents=True, exist_ok=True)
    doc = {**meta, "figures": [f.as_dict() for f in rows], "benchmarks": records}
    (args.out / "results.json").write_text(
        json.dumps(doc, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    md = table(rows, meta)
    (args.out / "RESULTS.md").write_text("# Benchmark results\n\n" + md, encoding="utf-8")
    if not args.no_readme:
        put_in_readme(ROOT / "README.md", md)
    print(md)
    return 0 if all(f.met is not False for f in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
