"""A lot's cold-room stay as the operator API and console show it, and its close when
the lot is dispatched (the report fixed, kept with the lot and queued for the server)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from edge.coldchain import ColdChainMonitor
from edge.node_status import plain
from edge.outbox.schema import now_ms
from edge.outbox.store import EdgeStore
from edge.sync.stays import stay_record

#: (room, from_ms, to_ms) → the monitor's stay report as plain JSON
ReportOf = Callable[[str, int, int], dict[str, Any]]


def lot_stay(store: EdgeStore, lot_id: str, report_of: ReportOf) -> dict[str, Any] | None:
    """The lot's stay so far (or as closed at dispatch): excursions, shelf life."""
    stay = store.stay(lot_id)
    if stay is None:
        return None
    room, from_ms, to_ms, report = stay
    if to_ms is not None:
        return {"room": room, "from_ms": from_ms, "to_ms": to_ms, "open": False, **report}
    return {
        "room": room,
        "from_ms": from_ms,
        "to_ms": None,
        "open": True,
        **report_of(room, from_ms, now_ms()),
    }


def close_stay(
    store: EdgeStore, lot_id: str, report_of: ReportOf, *, station: str
) -> dict[str, Any] | None:
    """Close the lot's open stay now and queue it (as :class:`gongfang.wire.LotStay`);
    None: no open stay. The caller wakes the sync loop."""
    stay = store.stay(lot_id)
    if stay is None or stay[2] is not None:
        return None
    room, from_ms, _, _ = stay
    to = now_ms()
    report = report_of(room, from_ms, to)
    record = stay_record(
        station=station, lot_id=lot_id, room=room, from_ms=from_ms, to_ms=to, report=report
    )
    # closed and queued for the server in one commit; closed by someone else: no report
    if not store.close_stay(lot_id, to, report, record):
        return None
    return {"room": room, "from_ms": from_ms, "to_ms": to, "open": False, **report}


def room_report(
    monitor: ColdChainMonitor | None, lock: threading.Lock, room: str, from_ms: int, to_ms: int
) -> dict[str, Any]:
    """The room's stay report between two instants, as plain JSON ({} without a monitor)."""
    with lock:
        if monitor is None:
            return {}
        try:
            report = monitor.stay_report(room, from_ms, to_ms)
        except (KeyError, ValueError) as exc:  # a room no longer configured
            return {"error": f"无法计算 / no stay report: {exc}"}
    doc: dict[str, Any] = plain(report)
    return doc
