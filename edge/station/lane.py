"""One lane's state and the crate epochs that match camera frames to crates (pure: no
I/O, no lock; :class:`edge.station.workflow.Station` calls these under its lock).

A lane counts crate epochs: +1 when a crate goes on the scale and +1 when it comes off.
Every received frame is noted with the epoch it was taken in, every pending lot with the
epoch it settled in, so a photo grades only the crate it shows, never the previous
crate's or the next one's.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import TypedDict

from edge.station.grading_port import Grading
from edge.station.pending import Farmer, PendingLot
from edge.weighing.detector import StableWeightDetector
from gongfang import wire
from gongfang.settings import EdgeLane

FRAME_EPOCHS_KEPT = 16
LATE_FRAME_MS = 10_000  # a frame this soon after the crate came off still shows that crate


class LastLotView(TypedDict):
    """The lane's last stored lot, as its status shows it."""

    lot_id: str
    farmer: str
    net_g: int
    grade: str
    graded_by: str
    placeholder_grader: bool


@dataclass(slots=True)
class LaneState:
    cfg: EdgeLane
    product: wire.Product
    tare_g: int
    detector: StableWeightDetector
    farmer: Farmer | None = None
    operator: str | None = None
    weight_g: int | None = None
    weight_ts_ms: int | None = None
    weight_status: str | None = None
    frame_sha: str | None = None
    frame_ms: int | None = None
    grading: Grading | None = None
    # Crate epochs: +1 when a crate goes on the scale and +1 when it comes off, so frames
    # (sha → epoch, the last few) are matched to the crate they show.
    loaded: bool = False
    epoch: int = 0
    off_ms: int = 0  # when the last crate came off (edge clock)
    frame_epochs: dict[str, int] = field(default_factory=dict)
    pending: deque[PendingLot] = field(default_factory=deque)
    last_lot: LastLotView | None = None
    lots: int = 0


def track_crate(lane: LaneState, reading: wire.ScaleReading, now_ms: int) -> None:
    """Count crates on and off the scale (the epochs that match frames to crates);
    ``now_ms`` is the edge clock, kept as the time the crate came off."""
    if reading.status != "ok":
        return
    cfg = lane.detector.config
    net = reading.gross_g - lane.detector.zero_offset_g
    if not lane.loaded and net >= cfg.min_load_g:
        lane.loaded, lane.epoch = True, lane.epoch + 1
    elif lane.loaded and abs(net) <= cfg.zero_band_g:
        lane.loaded, lane.epoch = False, lane.epoch + 1
        lane.off_ms = now_ms


def note_frame(lane: LaneState, sha256: str, received_ms: int) -> None:
    """The lane's newest frame: remember the crate epoch it shows."""
    lane.frame_sha, lane.frame_ms = sha256, received_ms
    epoch = lane.epoch
    if (
        not lane.loaded
        and received_ms - lane.off_ms <= LATE_FRAME_MS
        and any(p.epoch == epoch - 1 and p.grading is None for p in lane.pending)
    ):
        # The photo was taken on the scale but arrived just after the crate came
        # off (a big QoS 1 message overtaken by small readings): it is that crate's.
        epoch -= 1
    lane.frame_epochs[sha256] = epoch
    while len(lane.frame_epochs) > FRAME_EPOCHS_KEPT:
        del lane.frame_epochs[next(iter(lane.frame_epochs))]


def current_grading(lane: LaneState) -> Grading | None:
    """The grading of the newest frame if that frame shows the crate on the scale now
    (what a crate settling at this moment takes)."""
    g = lane.grading
    if (
        g
        and g.frame_sha256 == lane.frame_sha
        and lane.frame_epochs.get(lane.frame_sha) == lane.epoch
    ):
        return g
    return None


def take_grading(lane: LaneState, grading: Grading) -> list[PendingLot] | None:
    """A frame was graded: the pending lots of the crate it shows take it; returns them
    (None: a frame too old to remember, no crate waits for it)."""
    if grading.frame_sha256 == lane.frame_sha:
        lane.grading = grading  # the newest photo's grade, for a crate that settles next
    # Each photo grades the crate it shows (by epoch), even when a newer photo (of the
    # next crate) came in while it was being graded.
    epoch = lane.frame_epochs.get(grading.frame_sha256)
    if epoch is None:
        return None
    changed = []
    for p in lane.pending:
        # A good photo of the crate also replaces one that could not be graded.
        if p.epoch == epoch and (p.grading is None or p.grading.error is not None):
            p.grading = grading
            changed.append(p)
    return changed


def take_farmer(lane: LaneState, farmer: Farmer) -> list[PendingLot]:
    """The farmer for the lane's next lots, and for those weighed before anyone was
    picked; returns the pending lots that took it."""
    lane.farmer = farmer
    changed = []
    for p in lane.pending:
        if p.farmer is None:  # crates weighed before anyone was picked
            p.farmer = farmer
            changed.append(p)
    return changed


def restore(lane: LaneState, pending: PendingLot) -> None:
    """A pending lot brought back after a restart: the lane waits for its crate (still on
    the scale) to leave before it settles the next one."""
    lane.pending.append(pending)
    lane.detector.hold()
    lane.loaded = True


def find_pending(lane: LaneState, lot_id: str | None) -> PendingLot | None:
    """The lane's oldest pending lot, or the one with ``lot_id``; None if there is none."""
    if lot_id is None:
        return lane.pending[0] if lane.pending else None
    return next((p for p in lane.pending if str(p.lot_id) == lot_id), None)
