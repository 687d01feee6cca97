"""The lot workflow of each lane: farmer → crate settles → frame graded → confirm → lot.

A lane is one scale, one camera and one scanner sharing an id. The operator picks the
farmer (typed id through the local API, or a card scanned on ``…/scanner/{lane}/code``);
the farmer stays selected for the following crates until another is picked. When a crate
settles (:class:`edge.weighing.detector.StableWeightDetector`) a pending lot is made with
its UUID, weights and capture time, and the lane's latest camera frame's grading attached
(grading runs on its own thread; a lot whose grading is not ready yet waits for it). The
operator confirms the model's grade or overrides it with a reason; with
``auto_confirm`` (no operator: simulator, demo) the model's grade is accepted at once. The
lot and its outbox entry are then written in one transaction.

A pending lot is kept in the edge database from the moment its crate settles (updated
when its grade or farmer arrives, removed in the very transaction that stores the lot),
so a restart brings it back for confirmation with the same UUID. A restored lot is never
graded by a frame taken after the restart (nothing proves the frame shows that crate):
it keeps the grading it had, or waits for the operator's grade. Its lane waits for that
crate to leave the scale before it settles the next one, so the crate still sitting
there after the restart does not become a second lot.

What a stored lot sets off (MQTT publish, receipt, sync wake-up) runs after the lock is
released. The parts: :mod:`edge.station.pending` (the pending lot and its stored
document), :mod:`edge.station.lane` (lane state and crate epochs, pure),
:mod:`edge.station.status` (views), :func:`edge.weighing.tare.lane_tare_g` (the tare).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from edge.errors import (
    NoPendingLotError,
    StoreError,
    StoreFullError,
    UnknownLaneError,
    WorkflowError,
)
from edge.outbox.store import EdgeStore
from edge.station import lane as lanes
from edge.station.directory import Directory
from edge.station.grading_port import Grading
from edge.station.lane import LaneState
from edge.station.pending import Farmer, PendingLot
from edge.station.restore import restore_pending
from edge.station.status import lane_view, last_lot_view
from edge.weighing.detector import StableWeightDetector, WeighingConfig
from edge.weighing.tare import lane_tare_g
from gongfang import wire
from gongfang.settings import EdgeSettings

log = logging.getLogger(__name__)

AUTO_OPERATOR = "auto"
MAX_OTHER_SCALES = 64


class Station:
    """All lanes of one station; thread-safe (MQTT, grading and HTTP threads call in)."""

    def __init__(
        self,
        *,
        settings: EdgeSettings,
        store: EdgeStore,
        directory: Directory,
        on_lot_stored: Callable[[wire.LotRecord, str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._directory = directory
        self._on_lot_stored = on_lot_stored
        self._lock = threading.RLock()
        # Lots stored under the lock whose after-store hook has not run yet (see _locked).
        self._stored: list[tuple[wire.LotRecord, str]] = []
        config = WeighingConfig.from_settings(settings)
        self._lanes: dict[str, LaneState] = {
            lane.id: LaneState(
                cfg=lane,
                product=wire.Product(lane.product),
                tare_g=lane_tare_g(lane),
                detector=StableWeightDetector(lane.id, config),
            )
            for lane in settings.lanes
        }
        self.other_scales: dict[str, dict[str, Any]] = {}  # readings from unconfigured scales
        self.latencies_ms: deque[float] = deque(maxlen=2000)
        self.counters: dict[str, int] = {
            "crates_settled": 0,
            "lots_stored": 0,
            "store_errors": 0,
            "net_not_positive": 0,
            "unknown_scale_readings": 0,
            "unknown_lane_events": 0,
            "discarded": 0,
            "pending_restored": 0,
            "pending_not_restored": 0,
            "pending_save_errors": 0,
            "store_full": 0,
        }
        # The last failed write (disk full, I/O error), shown on the status until a lot is
        # stored again: the operator must see why the crate is still waiting.
        self.store_error: str | None = None
        restore_pending(self._store, self._lanes, self.counters)

    @property
    def products(self) -> dict[str, wire.Product]:
        return {lane_id: s.product for lane_id, s in self._lanes.items()}

    def pending_count(self, lane: str) -> int:
        with self._lock:
            return len(self._lane(lane).pending)

    def pending_lot(self, lane: str, lot_id: str) -> PendingLot | None:
        """One pending lot of a lane (its grading items, for the console's photo)."""
        with self._lock:
            return lanes.find_pending(self._lane(lane), lot_id)

    def _lane(self, lane: str) -> LaneState:
        state = self._lanes.get(lane)
        if state is None:
            raise UnknownLaneError(lane)
        return state

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """The lock around a call that may store lots; the after-store hook (publish,
        receipt, sync wake-up) of each runs once the lock is released, so a slow printer
        queue or MQTT publish never holds up the other threads' lanes."""
        stored: list[tuple[wire.LotRecord, str]] = []
        try:
            with self._lock:
                try:
                    yield
                finally:
                    stored, self._stored = self._stored, []
        finally:
            for record, lane_id in stored:
                self._after_store(record, lane_id)

    # ------------------------------------------------------------ device events

    def on_reading(self, scale: str, reading: wire.ScaleReading) -> PendingLot | None:
        """A scale reading; returns the pending lot if this reading settled a crate."""
        with self._locked():
            lane = self._lanes.get(scale)
            if lane is None:
                self.counters["unknown_scale_readings"] += 1
                # Bounded: a flood of made-up scale ids must not grow memory without end.
                if scale in self.other_scales or len(self.other_scales) < MAX_OTHER_SCALES:
                    self.other_scales[scale] = {"gross_g": reading.gross_g, "ts_ms": reading.ts_ms}
                return None
            lane.weight_g, lane.weight_ts_ms = reading.gross_g, reading.ts_ms
            lane.weight_status = reading.status
            stable = lane.detector.feed(reading)
            lanes.track_crate(lane, reading, int(time.time() * 1000))
            if stable is None:
                return None
            settled = time.perf_counter()
            self.counters["crates_settled"] += 1
            if stable.gross_g - lane.tare_g <= 0:
                self.counters["net_not_positive"] += 1
                log.warning(
                    "净重不为正，未建批次 / lane %s: gross %d g ≤ tare %d g, no lot",
                    scale,
                    stable.gross_g,
                    lane.tare_g,
                )
                return None
            pending = PendingLot(
                lot_id=uuid.uuid4(),  # made before the write: the idempotency key
                gross_g=stable.gross_g,
                tare_g=lane.tare_g,
                captured_at=datetime.fromtimestamp(stable.ts_ms / 1000, UTC),
                settled_mono=settled,
                farmer=lane.farmer,
                grading=lanes.current_grading(lane),
                epoch=lane.epoch,
            )
            lane.pending.append(pending)
            self._advance(scale, lane)
            if pending in lane.pending:  # not stored at once (auto_confirm): keep it on disk
                self._save_pending(scale, pending)
            return pending

    def on_frame_received(self, lane_id: str, sha256: str, received_ms: int) -> bool:
        """Note the lane's newest frame (the caller hands the bytes to the grader)."""
        with self._lock:
            lane = self._lanes.get(lane_id)
            if lane is None:
                self.counters["unknown_lane_events"] += 1
                return False
            lanes.note_frame(lane, sha256, received_ms)
            return True

    def frame_crate(self, lane_id: str, sha256: str) -> int | None:
        """The crate epoch a received frame was matched to (None: unknown)."""
        with self._lock:
            lane = self._lanes.get(lane_id)
            return None if lane is None else lane.frame_epochs.get(sha256)

    def on_graded(self, lane_id: str, grading: Grading) -> None:
        """The grader finished a frame: lots waiting for a grade take it."""
        with self._locked():
            lane = self._lanes.get(lane_id)
            if lane is None:
                return
            changed = lanes.take_grading(lane, grading)
            if changed is None:
                return
            self._advance(lane_id, lane)
            self._save_changed(lane_id, lane, changed)

    def on_scan(self, lane_id: str, code: str) -> Farmer:
        """A farmer card scanned at a lane."""
        return self.select_farmer(lane_id, code)

    # ------------------------------------------------------------ operator actions

    def select_farmer(self, lane_id: str, code: str, *, operator: str | None = None) -> Farmer:
        """Pick the farmer for the lane's next lots, by id or card code."""
        code = code.strip()
        if not code or len(code) > 64:
            raise WorkflowError("农户编号无效 / farmer id must be 1–64 characters")
        with self._locked():
            lane = self._lane(lane_id)
            hint = self._directory.farmer(code)
            # Offline with no directory (or a farmer added since): the id is taken as typed
            # and flagged unverified; the server answers `invalid` if it does not know it.
            farmer = Farmer(hint.id, hint.name, True) if hint else Farmer(code, None, False)
            changed = lanes.take_farmer(lane, farmer)
            if operator:
                lane.operator = operator
            self._advance(lane_id, lane)
            self._save_changed(lane_id, lane, changed)
            return farmer

    def confirm(
        self, lane_id: str, *, operator: str | None = None, lot_id: str | None = None
    ) -> wire.LotRecord:
        """Accept the model's grade for the lane's oldest (or the given) pending lot."""
        with self._locked():
            lane = self._lane(lane_id)
            pending = self._pick(lane_id, lane, lot_id)
            if pending.grading is None or pending.grading.grade is None:
                raise WorkflowError(
                    "该批次没有模型分级，请人工指定等级 / no model grade for this lot: override it"
                )
            if operator:
                lane.operator = operator
            return self._store_lot(lane_id, lane, pending, pending.grading.grade, None)

    def override(
        self,
        lane_id: str,
        *,
        grade: wire.Grade,
        reason: str,
        operator: str,
        lot_id: str | None = None,
    ) -> wire.LotRecord:
        """Store the lot with the operator's grade and reason."""
        if not reason.strip() or not operator.strip():
            raise WorkflowError("改判需要操作员和理由 / an override needs an operator and a reason")
        with self._locked():
            lane = self._lane(lane_id)
            pending = self._pick(lane_id, lane, lot_id)
            lane.operator = operator
            by = wire.GradedBy(kind="operator", operator=operator[:100], reason=reason[:500])
            return self._store_lot(lane_id, lane, pending, grade, by)

    def discard(self, lane_id: str, *, lot_id: str | None = None) -> str:
        """Drop a pending lot (crate taken off and not bought); nothing is stored."""
        with self._lock:
            lane = self._lane(lane_id)
            pending = self._pick(lane_id, lane, lot_id)
            self._store.drop_pending(str(pending.lot_id))  # StoreError: still pending
            lane.pending.remove(pending)
            self.counters["discarded"] += 1
            return str(pending.lot_id)

    # ------------------------------------------------------------ internals

    def _save_pending(self, lane_id: str, pending: PendingLot) -> None:
        try:
            self._store.save_pending(str(pending.lot_id), lane_id, pending.to_doc())
        except StoreError as exc:
            # The lot is still pending in memory and can be confirmed; only a restart
            # before that would lose it. Counted for the status page.
            self.counters["pending_save_errors"] += 1
            self._note_store_error(exc)
            log.exception("待确认批次未写入数据库 / pending lot %s not saved", pending.lot_id)

    def _save_changed(self, lane_id: str, lane: LaneState, changed: list[PendingLot]) -> None:
        """Save the lots that changed and are still pending (not stored by _advance)."""
        for p in changed:
            if p in lane.pending:
                self._save_pending(lane_id, p)

    def _pick(self, lane_id: str, lane: LaneState, lot_id: str | None) -> PendingLot:
        pending = lanes.find_pending(lane, lot_id)
        if pending is None:
            raise NoPendingLotError(lane_id)
        return pending

    def _advance(self, lane_id: str, lane: LaneState) -> None:
        """With auto_confirm, store every pending lot that has a farmer and a model grade."""
        if not self._settings.auto_confirm:
            return
        # A lot the model could not grade waits for a person; it must not hold up the
        # lots behind it on an unattended lane.
        for p in list(lane.pending):
            if p.farmer is None or p.grading is None or p.grading.grade is None:
                continue
            try:
                self._store_lot(lane_id, lane, p, p.grading.grade, None)
            except StoreError:
                return  # kept pending; logged and counted in _store_lot

    def _store_lot(
        self,
        lane_id: str,
        lane: LaneState,
        pending: PendingLot,
        grade: wire.Grade,
        graded_by: wire.GradedBy | None,
    ) -> wire.LotRecord:
        """Write the lot and its outbox entry (one transaction); the caller holds
        :meth:`_locked`, which runs the after-store hook."""
        record = pending.lot_record(
            station=self._settings.station,
            product=lane.product,
            grade=grade,
            graded_by=graded_by,
            cold_room=lane.cfg.cold_room,
            operator=lane.operator or (AUTO_OPERATOR if self._settings.auto_confirm else None),
        )
        try:
            self._store.record_lot(record, lane=lane_id)
        except StoreError as exc:
            self.counters["store_errors"] += 1
            self._note_store_error(exc)
            log.exception("批次未能保存 / lot %s not stored", record.id)
            raise
        self.store_error = None
        if not pending.restored:  # settle-to-stored time means nothing across a restart
            self.latencies_ms.append((time.perf_counter() - pending.settled_mono) * 1000)
        lane.pending.remove(pending)
        lane.lots += 1
        self.counters["lots_stored"] += 1
        lane.last_lot = last_lot_view(record, pending.grading)
        self._stored.append((record, lane_id))
        return record

    def _note_store_error(self, exc: StoreError) -> None:
        self.store_error = str(exc)[:500]
        if isinstance(exc, StoreFullError):
            self.counters["store_full"] += 1

    def _after_store(self, record: wire.LotRecord, lane_id: str) -> None:
        if self._on_lot_stored is None:
            return
        try:
            self._on_lot_stored(record, lane_id)
        except Exception:  # publishing/receipts must never undo a stored lot
            log.exception(
                "批次已保存，后续处理出错 / after-store hook failed for lot %s", record.id
            )

    # ------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "lanes": {lane_id: lane_view(s) for lane_id, s in self._lanes.items()},
                "other_scales": dict(self.other_scales),
                "counters": dict(self.counters),
                "store_error": self.store_error,
                "auto_confirm": self._settings.auto_confirm,
            }
