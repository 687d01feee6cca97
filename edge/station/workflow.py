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
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from edge.errors import NoPendingLotError, StoreError, UnknownLaneError, WorkflowError
from edge.outbox.store import EdgeStore
from edge.station.directory import Directory
from edge.station.grading_port import PLACEHOLDER_MODEL, Grading
from edge.weighing.detector import StableWeightDetector, WeighingConfig
from gongfang import wire
from gongfang.settings import EdgeLane, EdgeSettings

log = logging.getLogger(__name__)

AUTO_OPERATOR = "auto"
MAX_OTHER_SCALES = 64


@dataclass(slots=True)
class PendingLot:
    """A settled crate waiting for its grade and the operator's confirmation."""

    lot_id: uuid.UUID
    gross_g: int
    tare_g: int
    captured_at: datetime
    settled_mono: float  # time.perf_counter() when the weight settled (latency figures)
    grading: Grading | None = None
    # The farmer selected when the crate settled: a later scan (the next farmer, while
    # this lot still waits for its grade) must not take it over.
    farmer: Farmer | None = None

    def view(self) -> dict[str, Any]:
        g = self.grading
        return {
            "lot_id": str(self.lot_id),
            "gross_g": self.gross_g,
            "tare_g": self.tare_g,
            "net_g": self.gross_g - self.tare_g,
            "captured_at": self.captured_at.isoformat(),
            "grade": g.grade.value if g and g.grade else None,
            "grade_zh": wire.GRADE_ZH[g.grade] if g and g.grade else None,
            "model": f"{g.model_name} {g.model_version}" if g else None,
            "grading_error": g.error if g else None,
            "farmer": self.farmer.id if self.farmer else None,
            "waiting_for": "farmer"
            if self.farmer is None
            else ("grading" if g is None else ("operator" if g.grade else "override")),
        }


@dataclass(slots=True)
class Farmer:
    id: str
    name: str | None
    verified: bool  # found in the station directory


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
    pending: deque[PendingLot] = field(default_factory=deque)
    last_lot: dict[str, Any] | None = None
    lots: int = 0


def resolve_tare_g(lane: EdgeLane) -> int:
    """The lane's crate tare: its crate type in the tare table, else its default tare."""
    if lane.crate:
        try:
            from edge.weighing import tare

            return int(tare.tare_g(lane.crate))
        except (ImportError, AttributeError, KeyError, ValueError) as exc:
            log.warning(
                "crate type %r not usable (%s); using tare_g=%d", lane.crate, exc, lane.tare_g
            )
    return lane.tare_g


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
        config = WeighingConfig.from_settings(settings)
        self._lanes: dict[str, LaneState] = {
            lane.id: LaneState(
                cfg=lane,
                product=wire.Product(lane.product),
                tare_g=resolve_tare_g(lane),
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
        }

    @property
    def products(self) -> dict[str, wire.Product]:
        return {lane_id: s.product for lane_id, s in self._lanes.items()}

    def pending_count(self, lane: str) -> int:
        with self._lock:
            return len(self._lane(lane).pending)

    def _lane(self, lane: str) -> LaneState:
        state = self._lanes.get(lane)
        if state is None:
            raise UnknownLaneError(lane)
        return state

    # ------------------------------------------------------------ device events

    def on_reading(self, scale: str, reading: wire.ScaleReading) -> PendingLot | None:
        """A scale reading; returns the pending lot if this reading settled a crate."""
        with self._lock:
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
                grading=lane.grading
                if lane.grading and lane.grading.frame_sha256 == lane.frame_sha
                else None,
            )
            lane.pending.append(pending)
            self._advance(scale, lane)
            return pending

    def on_frame_received(self, lane_id: str, sha256: str, received_ms: int) -> bool:
        """Note the lane's newest frame (the caller hands the bytes to the grader)."""
        with self._lock:
            lane = self._lanes.get(lane_id)
            if lane is None:
                self.counters["unknown_lane_events"] += 1
                return False
            lane.frame_sha, lane.frame_ms = sha256, received_ms
            return True

    def on_graded(self, lane_id: str, grading: Grading) -> None:
        """The grader finished a frame: lots waiting for a grade take it."""
        with self._lock:
            lane = self._lanes.get(lane_id)
            if lane is None:
                return
            lane.grading = grading
            if grading.frame_sha256 != lane.frame_sha:
                return  # an older frame: a newer one is being graded for these lots
            for p in lane.pending:
                if p.grading is None:
                    p.grading = grading
            self._advance(lane_id, lane)

    def on_scan(self, lane_id: str, code: str) -> Farmer:
        """A farmer card scanned at a lane."""
        return self.select_farmer(lane_id, code)

    # ------------------------------------------------------------ operator actions

    def select_farmer(self, lane_id: str, code: str, *, operator: str | None = None) -> Farmer:
        """Pick the farmer for the lane's next lots, by id or card code."""
        code = code.strip()
        if not code or len(code) > 64:
            raise WorkflowError("农户编号无效 / farmer id must be 1–64 characters")
        with self._lock:
            lane = self._lane(lane_id)
            hint = self._directory.farmer(code)
            # Offline with no directory (or a farmer added since): the id is taken as typed
            # and flagged unverified; the server answers `invalid` if it does not know it.
            farmer = Farmer(hint.id, hint.name, True) if hint else Farmer(code, None, False)
            lane.farmer = farmer
            for p in lane.pending:
                if p.farmer is None:  # crates weighed before anyone was picked
                    p.farmer = farmer
            if operator:
                lane.operator = operator
            self._advance(lane_id, lane)
            return farmer

    def confirm(
        self, lane_id: str, *, operator: str | None = None, lot_id: str | None = None
    ) -> wire.LotRecord:
        """Accept the model's grade for the lane's oldest (or the given) pending lot."""
        with self._lock:
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
        with self._lock:
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
            lane.pending.remove(pending)
            self.counters["discarded"] += 1
            return str(pending.lot_id)

    # ------------------------------------------------------------ internals

    def _pick(self, lane_id: str, lane: LaneState, lot_id: str | None) -> PendingLot:
        if not lane.pending:
            raise NoPendingLotError(lane_id)
        if lot_id is None:
            return lane.pending[0]
        for p in lane.pending:
            if str(p.lot_id) == lot_id:
                return p
        raise NoPendingLotError(lane_id)

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
        farmer = pending.farmer
        if farmer is None:
            raise WorkflowError("请先选择农户 / pick the farmer first")
        g = pending.grading
        if graded_by is None:
            if g is None:
                raise WorkflowError("该批次还没有分级 / this lot has no grade yet")
            graded_by = wire.GradedBy(
                kind="model", model_name=g.model_name, model_version=g.model_version
            )
        try:
            record = wire.LotRecord(
                id=pending.lot_id,
                station=self._settings.station,
                farmer=farmer.id,
                product=lane.product,
                grade=grade,
                gross_g=pending.gross_g,
                tare_g=pending.tare_g,
                net_g=pending.gross_g - pending.tare_g,
                graded_by=graded_by,
                items=list(g.items) if g else [],
                image_hashes=[g.frame_sha256] if g else [],
                captured_at=pending.captured_at,
                cold_room=lane.cfg.cold_room,
                operator=lane.operator or (AUTO_OPERATOR if self._settings.auto_confirm else None),
            )
        except ValueError as exc:
            raise WorkflowError(f"批次数据无效 / lot is not valid: {exc}") from exc
        try:
            self._store.record_lot(record, lane=lane_id)
        except StoreError:
            self.counters["store_errors"] += 1
            log.exception("lot %s not stored", record.id)
            raise
        self.latencies_ms.append((time.perf_counter() - pending.settled_mono) * 1000)
        lane.pending.remove(pending)
        lane.lots += 1
        self.counters["lots_stored"] += 1
        lane.last_lot = {
            "lot_id": str(record.id),
            "farmer": record.farmer,
            "net_g": record.net_g,
            "grade": record.grade.value,
            "graded_by": record.graded_by.kind,
            "placeholder_grader": bool(g and g.model_name == PLACEHOLDER_MODEL),
        }
        if self._on_lot_stored is not None:
            try:
                self._on_lot_stored(record, lane_id)
            except Exception:  # publishing/receipts must never undo a stored lot
                log.exception("after-store hook failed for lot %s", record.id)
        return record

    # ------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        with self._lock:
            lanes = {}
            for lane_id, s in self._lanes.items():
                lanes[lane_id] = {
                    "product": s.product.value,
                    "tare_g": s.tare_g,
                    "weight_g": s.weight_g,
                    "weight_ts_ms": s.weight_ts_ms,
                    "weight_status": s.weight_status,
                    "farmer": None
                    if s.farmer is None
                    else {"id": s.farmer.id, "name": s.farmer.name, "verified": s.farmer.verified},
                    "operator": s.operator,
                    "frame_ms": s.frame_ms,
                    "pending": [p.view() for p in s.pending],
                    "last_lot": s.last_lot,
                    "lots": s.lots,
                    "cold_room": s.cfg.cold_room,
                }
            return {
                "lanes": lanes,
                "other_scales": dict(self.other_scales),
                "counters": dict(self.counters),
                "auto_confirm": self._settings.auto_confirm,
            }
