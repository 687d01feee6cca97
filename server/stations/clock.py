"""A station's clock against the server's, from each sync request.

The edge stamps every sync request with its own clock (the HTTP ``Date`` header); the
difference to the server's clock is the station's skew. Without that header (an older
edge) only a clock that runs ahead shows, by lots captured in the future. Old
``captured_at`` alone proves nothing: a station offline all day sends a day-old backlog.

A skew beyond :data:`CLOCK_SKEW_LIMIT_S` is flagged, never refused: the lots are stored
and priced as sent (their intake date is what the station says), the skew is logged,
shown on ``/metrics`` (``gongfang_station_clock_skew_seconds``) and written to the audit
log once when it appears, again when it changes by more than the limit, and once when the
clock is right again, so a person can check the dates of that station's lots.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from email.utils import parsedate_to_datetime

from sqlalchemy.orm import Session, sessionmaker

from server.audit.service import record
from server.core.db import session_scope
from server.core.metrics import CLOCK_SKEW

log = logging.getLogger(__name__)

CLOCK_SKEW_LIMIT_S = 600

# station → the skew last written to the audit log (this process); guarded by _LOCK.
_FLAGGED: dict[str, int] = {}
_LOCK = threading.Lock()


def edge_clock(date_header: str | None) -> datetime | None:
    """The instant of an HTTP ``Date`` header; None if absent or not a valid date."""
    if not date_header:
        return None
    try:
        when = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo is not None else None


def clock_skew_s(
    *, received_at: datetime, edge_now: datetime | None, captured: Sequence[datetime]
) -> int | None:
    """The station's clock minus the server's, in seconds (positive: it runs ahead);
    None when this request cannot tell."""
    if edge_now is not None:
        return round((edge_now - received_at).total_seconds())
    latest = max(captured, default=None)
    if latest is not None and (latest - received_at).total_seconds() > CLOCK_SKEW_LIMIT_S:
        return round((latest - received_at).total_seconds())  # at least this far ahead
    return None


def note_clock_skew(
    *,
    sessions: sessionmaker[Session],
    station_id: str,
    skew_s: int,
    limit_s: int = CLOCK_SKEW_LIMIT_S,
) -> bool:
    """Record one measurement; True if it is beyond the limit. Called after the sync's own
    transaction, so a sync retried or rolled back never loses or doubles an audit entry;
    the audit entry, when one is due, is its own short transaction."""
    CLOCK_SKEW.labels(station=station_id).set(skew_s)
    skewed = abs(skew_s) > limit_s
    with _LOCK:
        last = _FLAGGED.get(station_id)
        if skewed and (last is None or abs(skew_s - last) > limit_s):
            _FLAGGED[station_id] = skew_s
            action = "clock_skew"
        elif not skewed and last is not None:
            del _FLAGGED[station_id]
            action = "clock_skew_cleared"
        else:
            return skewed
    if skewed:
        log.warning(
            "收购站 %s 的时钟偏差 %+d 秒，批次照收，请校准时钟 / station %s clock is %+d s off"
            " the server's; lots kept as sent, set its clock",
            station_id,
            skew_s,
            station_id,
            skew_s,
        )
    with session_scope(sessions) as session:
        record(
            session=session,
            actor=f"station:{station_id}",
            action=action,
            entity="station",
            entity_id=station_id,
            skew_s=skew_s,
            limit_s=limit_s,
        )
    return skewed
