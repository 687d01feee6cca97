"""Crates that waited for confirmation when the edge stopped, brought back to their lanes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, MutableMapping

from edge.outbox.store import EdgeStore
from edge.station import lane as lanes
from edge.station.lane import LaneState
from edge.station.pending import pending_from_doc

log = logging.getLogger("edge.station.workflow")  # the station's log, as before the move


def restore_pending(
    store: EdgeStore, lane_states: Mapping[str, LaneState], counters: MutableMapping[str, int]
) -> None:
    """Put every stored pending crate back on its lane; one that cannot be read (or whose
    lane is gone) stays in the database untouched and is counted."""
    for lot_id, lane_id, doc in store.pending_lots():
        lane = lane_states.get(lane_id)
        try:
            if lane is None:
                raise KeyError(f"lane {lane_id!r} is not configured")
            pending = pending_from_doc(lot_id, doc)
        except (KeyError, TypeError, ValueError) as exc:
            # Kept in the database untouched: a person (or a corrected configuration)
            # can still deal with it.
            counters["pending_not_restored"] += 1
            log.warning(
                "待确认批次无法恢复 / pending lot %s on lane %s not restored: %s",
                lot_id,
                lane_id,
                exc,
            )
            continue
        lanes.restore(lane, pending)
        counters["pending_restored"] += 1
    if counters["pending_restored"]:
        log.info(
            "已恢复 %d 个待确认批次 / %d pending lots restored for confirmation",
            counters["pending_restored"],
            counters["pending_restored"],
        )
