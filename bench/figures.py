"""What each benchmark's JSON means: the figures worth a row in the table, with targets.

Every benchmark prints its own JSON document (its docstring says what and against which
baseline); this module picks from each the headline figures, its target and whether it is
met. A key a benchmark no longer prints shows up as a row with no value ("missing"), not
as an error, so the table says what broke.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Figure:
    """One row of the results table."""

    bench: str
    name: str
    value: float | None
    unit: str
    target: str
    met: bool | None
    baseline: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "bench": self.bench,
            "figure": self.name,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "met": self.met,
            "baseline": self.baseline,
        }


def dig(doc: Any, path: str) -> Any:
    """``doc["a"]["b"][0]`` for ``"a.b.0"``; None where the path runs out."""
    cur = doc
    for part in path.split("."):
        if isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        elif isinstance(cur, dict) and part in cur:
            cur = cur[part]
        else:
            return None
    return cur


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def at_most(bench: str, name: str, v: Any, limit: float, unit: str, base: str = "") -> Figure:
    x = _num(v)
    return Figure(bench, name, x, unit, f"≤ {limit:g}", None if x is None else x <= limit, base)


def at_least(bench: str, name: str, v: Any, floor: float, unit: str, base: str = "") -> Figure:
    x = _num(v)
    return Figure(bench, name, x, unit, f"≥ {floor:g}", None if x is None else x >= floor, base)


def _ratio(v: Any, what: str) -> str:
    x = _num(v)
    return "" if x is None else f"{x:g}× {what}"


def grading(d: dict[str, Any]) -> list[Figure]:
    b = "grading"
    raw = _num(d.get("raw_infer_fruit_per_s"))
    base = "" if raw is None else f"raw ONNX {raw:g} fruit/s"
    return [
        at_least(b, "pipeline", d.get("pipeline_fruit_per_s"), 400, "fruit/s", base),
        at_least(b, "pipeline ÷ raw inference", d.get("ratio_pipeline_to_raw"), 0.6, "", base),
        at_most(b, "6-fruit table photo, median", dig(d, "table_photo_ms.median"), 150, "ms"),
    ]


def grading_accuracy(d: dict[str, Any]) -> list[Figure]:
    b = "grading_accuracy"
    out = [
        at_most(b, "fruit diameter, max error", dig(d, "fruit_diameter_mm.all.max_abs"), 1, "mm"),
        at_most(b, "leaf length, max error", dig(d, "leaf_length_mm.all.max_abs"), 2, "mm"),
        at_most(b, "leaf width, max error", dig(d, "leaf_width_mm.all.max_abs"), 2, "mm"),
    ]
    targets = dig(d, "classifier_targets.targets") or {}
    for key, row in targets.items():
        floor = float(str(row.get("target", ">= 0")).split()[-1])
        out.append(at_least(b, f"classifier {key} (test split)", row.get("value"), floor, ""))
    return out


def footprint(d: dict[str, Any]) -> list[Figure]:
    b = "edge_footprint"
    onnx = _num(d.get("baseline_numpy_cv2_onnxruntime_rss_mb"))
    base = "" if onnx is None else f"numpy+cv2+onnxruntime {onnx:g} MB"
    return [
        at_most(b, "edge RSS, graders loaded (steady)", d.get("edge_rss_mb"), 200, "MB", base),
        at_most(b, "edge RSS peak", d.get("edge_peak_rss_mb_max"), 200, "MB", base),
        at_most(b, "edge ready with graders", d.get("edge_ready_with_graders_s"), 5, "s"),
    ]


def latency(d: dict[str, Any]) -> list[Figure]:
    base = _ratio(d.get("ratio_p99_vs_baseline"), "bare SQLite insert+commit")
    return [
        at_most(
            "edge_latency",
            "stable weight → lot stored, p99",
            dig(d, "latency_ms.p99"),
            50,
            "ms",
            base,
        ),
    ]


def climate(d: dict[str, Any]) -> list[Figure]:
    b = "edge_climate"
    lost = _num(d.get("lost"))
    return [
        at_least(
            b,
            "edge ÷ mosquitto_sub rate, worst phase",
            d.get("ratio_worst_phase_any_protocol"),
            0.4,
            "",
            "mosquitto_sub, same run",
        ),
        Figure(b, "readings lost", lost, "", "0", None if lost is None else lost == 0),
    ]


def console(d: dict[str, Any]) -> list[Figure]:
    raw = _num(dig(d, "baseline_raw_today_queries.p95_ms"))
    base = "" if raw is None else f"raw SQLite {raw:g} ms"
    return [
        at_most(
            "console_page", "console page p95, worst page", d.get("worst_p95_ms"), 200, "ms", base
        )
    ]


def review(d: dict[str, Any]) -> list[Figure]:
    out = []
    for db in ("sqlite", "postgresql"):
        if db in d:
            base = _ratio(dig(d, f"{db}.ratio_p95_page_to_raw"), "raw lines query")
            out.append(
                at_most(
                    "review_page",
                    f"review page p95, 10k-lot run ({db})",
                    dig(d, f"{db}.review_page.p95_ms"),
                    200,
                    "ms",
                    base,
                )
            )
    return out


def server(d: dict[str, Any]) -> list[Figure]:
    b = "server"
    out = []
    for db in ("sqlite", "postgresql"):
        if db not in d:
            continue
        lots = dig(d, f"{db}.payout_run.lots")
        run_base = _ratio(dig(d, f"{db}.payout_run.ratio_to_baseline"), "plain GROUP BY")
        out.append(
            at_most(
                b,
                f"payout run, {lots or '?'} lots ({db})",
                dig(d, f"{db}.payout_run.run_s"),
                15,
                "s",
                run_base,
            )
        )
        out.append(
            at_most(
                b,
                f"90-day aggregate query ({db})",
                dig(d, f"{db}.aggregate_query_90d.all_stations_totals_ms"),
                50,
                "ms",
                _ratio(
                    dig(d, f"{db}.aggregate_query_90d.ratio_totals_to_recount"), "recount from lots"
                ),
            )
        )
        if db == "postgresql":
            raw = dig(d, f"{db}.ingestion.baseline_raw_insert_lots_per_s")
            out.append(
                at_least(
                    b,
                    "sync ingestion, uvicorn 2 workers (postgresql)",
                    dig(d, f"{db}.ingestion.uvicorn.1.lots_per_s"),
                    5000,
                    "lots/s",
                    f"raw INSERT {raw} lots/s" if raw else "",
                )
            )
    return out


def decoders(d: dict[str, Any]) -> list[Figure]:
    return [
        at_least(
            "decoders",
            f"{name} frames on a noisy stream",
            row.get("frames_per_s"),
            10_000,
            "frames/s",
            _ratio(row.get("ratio_vs_baseline"), "bare split"),
        )
        for name, row in d.items()
        if isinstance(row, dict)
    ]


def fefo(d: dict[str, Any]) -> list[Figure]:
    """FEFO allocation, 10,000 lines over 1,000,000 lots; the sort per line extrapolated."""
    base = _num(d.get("baseline_s"))
    note = "" if base is None else f"sort per line {base:g} s"
    if note and d.get("baseline_extrapolated"):
        note += f" (extrapolated from {d.get('baseline_lines_timed')} lines)"
    rows = [
        at_most("fefo", "allocate 10k lines over 1M lots", d.get("fast_s"), 10, "s", note),
        at_least("fefo", "speed-up over a sort per line", d.get("ratio_baseline_to_fast"), 100,
                 "×"),
    ]  # fmt: skip
    agrees = d.get("baseline_agrees")
    met = agrees if isinstance(agrees, bool) else None
    rows.append(Figure("fefo", "fills equal the plain sort's", None, "", "same", met))
    return rows


Extractor = Callable[[dict[str, Any]], list[Figure]]
