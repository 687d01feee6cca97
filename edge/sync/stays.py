"""A closed cold-room stay as the server receives it (:class:`gongfang.wire.LotStay`).

The edge's stay report (``ColdChainMonitor.stay_report``, kept as JSON with the stay) has
more detail than the server stores; this picks the summary: excursion count, minutes
outside the room profile, peak and mean kinetic temperature, remaining shelf life.
"""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from gongfang import wire

log = logging.getLogger(__name__)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _at(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)  # exact to the ms, unlike a float timestamp


def stay_record(
    *, station: str, lot_id: str, room: str, from_ms: int, to_ms: int, report: dict[str, Any]
) -> wire.LotStay | None:
    """The wire body of a closed stay; None (logged) if the report cannot make a valid one.

    A report without data (room not configured, no readings) still makes a record: zero
    minutes outside, no estimates, 0% coverage — the server then knows the lot left.
    """
    try:
        return wire.LotStay(
            lot_id=uuid.UUID(lot_id),
            station=station,
            room=room,
            entered_at=_at(from_ms),
            left_at=_at(max(from_ms, to_ms)),
            excursions=len(report.get("excursions") or ()),
            minutes_above_max_c=int(report.get("minutes_above_max") or 0),
            minutes_below_min_c=int(report.get("minutes_below_min") or 0),
            temp_peak_c=report.get("temp_max_c"),
            mkt_c=report.get("mkt_c"),
            data_coverage_pct=report.get("data_coverage_pct") or 0.0,
            remaining_shelf_life_h=report.get("remaining_shelf_life_h"),
        )
    except (ValidationError, ValueError, TypeError) as exc:
        log.error("冷库停留无法同步 / stay of lot %s cannot be synced: %s", lot_id, exc)
        return None
