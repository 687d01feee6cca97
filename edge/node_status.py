"""The parts of the edge node's status document (plain JSON types for the console, the
status API and the retained ``edge/status`` message)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from edge.outbox.schema import now_ms
from edge.outbox.store import EdgeStore
from edge.station.grading_port import GradingPort
from edge.sync.loop import SyncLoop

if TYPE_CHECKING:
    from edge.receipts.worker import ReceiptWorker


def sync_state(sync: SyncLoop | None) -> dict[str, Any]:
    return sync.state() if sync else {"status": "disabled"}


def brief_status(store: EdgeStore, sync: SyncLoop | None) -> dict[str, Any]:
    """The small status the node publishes (retained) every few seconds."""
    depth = store.depth()
    state = sync_state(sync)
    return {
        "ts_ms": now_ms(),
        "outbox": depth["total"],
        "parked": depth["parked"],
        "sync": state["status"],
        "last_sync_ms": state.get("last_success_ms"),
    }


def receipts_status(r: ReceiptWorker | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "made": r.made,
        "printed": r.printed,
        "backlog": r.backlog,
        "errors": r.errors,
        "last_error": r.last_error,
    }


def grading_status(g: GradingPort | None) -> dict[str, Any] | None:
    if g is None:
        return None
    return {"graded": g.graded, "errors": g.errors, "dropped": g.dropped}


def latency_status(latencies_ms: Sequence[float]) -> dict[str, Any]:
    """Settle-to-stored time of the recent lots: count, median and 99th percentile."""
    values = list(latencies_ms)
    return {"n": len(values), "p50": percentile(values, 50), "p99": percentile(values, 99)}


def percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return round(ordered[k], 3)


def plain(value: Any) -> Any:
    """Dataclasses / pydantic models / containers → JSON-friendly values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value
