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


FRAME_EPOCHS_KEPT = 16
LATE_FRAME_MS = 10_000  # a frame this soon after the crate came off still shows that crate


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
    # The lane's crate epoch when it settled: only a frame taken while this crate sat on
    # the scale (same epoch) may grade it, never the previous crate's photo.
    epoch: int = 0
    restored: bool = False  # brought back from the database after a restart

    def to_doc(self) -> dict[str, Any]:
        """What the database keeps of it (see :func:`pending_from_doc`)."""
        g, f = self.grading, self.farmer
        return {
            "v": 1,
            "gross_g": self.gross_g,
            "tare_g": self.tare_g,
            "captured_ms": wire.utc_ms(self.captured_at),
            "farmer": None if f is None else {"id": f.id, "name": f.name, "verified": f.verified},
            "grading": None
            if g is None
            else {
                "frame_sha256": g.frame_sha256,
                "received_ms": g.received_ms,
                "grade": None if g.grade is None else g.grade.value,
                "model_name": g.model_name,
                "model_version": g.model_version,
                "items": g.items,
                "flags": g.flags,
                "error": g.error,
            },
        }

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
            else (
                ("override" if self.restored else "grading")
                if g is None
                else ("operator" if g.grade else "override")
            ),
            "restored": self.restored,
        }


def pending_from_doc(lot_id: str, doc: dict[str, Any]) -> PendingLot:
    """A pending lot read back from the database; raises KeyError/TypeError/ValueError
    for a document it cannot trust."""
    g, f = doc.get("grading"), doc.get("farmer")
    grading = None
    if g is not None:
        grading = Grading(
            frame_sha256=str(g["frame_sha256"]),
            received_ms=int(g["received_ms"]),
            grade=None if g.get("grade") is None else wire.Grade(g["grade"]),
            model_name=str(g["model_name"]),
            model_version=str(g["model_version"]),
            items=[i for i in g.get("items") or [] if isinstance(i, dict)],
            flags=[str(x) for x in g.get("flags") or []],
            error=None if g.get("error") is None else str(g["error"]),
        )
    gross_g, tare_g = int(doc["gross_g"]), int(doc["tare_g"])
    if gross_g - tare_g <= 0:
        raise ValueError(f"net weight not positive: {gross_g} - {tare_g}")
    return PendingLot(
        lot_id=uuid.UUID(lot_id),
        gross_g=gross_g,
        tare_g=tare_g,
        captured_at=datetime.fromtimestamp(int(doc["captured_ms"]) / 1000, UTC),
        settled_mono=time.perf_counter(),
        grading=grading,
        farmer=None
        if f is None
        else Farmer(
            str(f["id"]), None if f.get("name") is None else str(f["name"]), bool(f["verified"])
        ),
        epoch=-1,  # matches no frame of this process: see the module doc
        restored=True,
    )


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
    # Crate epochs: +1 when a crate goes on the scale and +1 when it comes off, so frames
    # (sha → epoch, the last few) are matched to the crate they show.
    loaded: bool = False
    epoch: int = 0
    off_ms: int = 0  # when the last crate came off (edge clock)
    frame_epochs: dict[str, int] = field(default_factory=dict)
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
            "pending_restored": 0,
            "pending_not_restored": 0,
            "pending_save_errors": 0,
        }
        self._restore_pending()

    @property
    def products(self) -> dict[str, wire.Product]:
        return {lane_id: s.product for lane_id, s in self._lanes.items()}

    def pending_count(self, lane: str) -> int:
        with self._lock:
            return len(self._lane(lane).pending)

    def pending_lot(self, lane: str, lot_id: str) -> PendingLot | None:
        """One pending lot of a lane (its grading items, for the console's photo)."""
        with self._lock:
            return next((p for p in self._lane(lane).pending if str(p.lot_id) == lot_id), None)

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
            self._track_crate(lane, reading)
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
                if lane.grading
                and lane.grading.frame_sha256 == lane.frame_sha
                and lane.frame_epochs.get(lane.frame_sha) == lane.epoch
                else None,
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
            return True

    def frame_crate(self, lane_id: str, sha256: str) -> int | None:
        """The crate epoch a received frame was matched to (None: unknown)."""
        with self._lock:
            lane = self._lanes.get(lane_id)
            return None if lane is None else lane.frame_epochs.get(sha256)

    def _track_crate(self, lane: LaneState, reading: wire.ScaleReading) -> None:
        """Count crates on and off the scale (the epochs that match frames to crates)."""
        if reading.status != "ok":
            return
        cfg = lane.detector.config
        net = reading.gross_g - lane.detector.zero_offset_g
        if not lane.loaded and net >= cfg.min_load_g:
            lane.loaded, lane.epoch = True, lane.epoch + 1
        elif lane.loaded and abs(net) <= cfg.zero_band_g:
            lane.loaded, lane.epoch = False, lane.epoch + 1
            lane.off_ms = int(time.time() * 1000)

    def on_graded(self, lane_id: str, grading: Grading) -> None:
        """The grader finished a frame: lots waiting for a grade take it."""
        with self._lock:
            lane = self._lanes.get(lane_id)
            if lane is None:
                return
            if grading.frame_sha256 == lane.frame_sha:
                lane.grading = grading  # the newest photo's grade, for a crate that settles next
            # Each photo grades the crate it shows (by epoch), even when a newer photo (of the
            # next crate) came in while it was being graded.
            epoch = lane.frame_epochs.get(grading.frame_sha256)
            if epoch is None:
                return  # a frame too old to remember: no crate waits for it
            changed = []
            for p in lane.pending:
                # A good photo of the crate also replaces one that could not be graded.
                if p.epoch == epoch and (p.grading is None or p.grading.error is not None):
                    p.grading = grading
                    changed.append(p)
            self._advance(lane_id, lane)
            for p in changed:
                if p in lane.pending:
                    self._save_pending(lane_id, p)

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
            changed = []
            for p in lane.pending:
                if p.farmer is None:  # crates weighed before anyone was picked
                    p.farmer = farmer
                    changed.append(p)
            if operator:
                lane.operator = operator
            self._advance(lane_id, lane)
            for p in changed:
                if p in lane.pending:
                    self._save_pending(lane_id, p)
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
            self._store.drop_pending(str(pending.lot_id))  # StoreError: still pending
            lane.pending.remove(pending)
            self.counters["discarded"] += 1
            return str(pending.lot_id)

    # ------------------------------------------------------------ internals

    def _save_pending(self, lane_id: str, pending: PendingLot) -> None:
        try:
            self._store.save_pending(str(pending.lot_id), lane_id, pending.to_doc())
        except StoreError:
            # The lot is still pending in memory and can be confirmed; only a restart
            # before that would lose it. Counted for the status page.
            self.counters["pending_save_errors"] += 1
            log.exception("待确认批次未写入数据库 / pending lot %s not saved", pending.lot_id)

    def _restore_pending(self) -> None:
        """Bring back the crates that were waiting for confirmation when the edge stopped."""
        for lot_id, lane_id, doc in self._store.pending_lots():
            lane = self._lanes.get(lane_id)
            try:
                if lane is None:
                    raise KeyError(f"lane {lane_id!r} is not configured")
                pending = pending_from_doc(lot_id, doc)
            except (KeyError, TypeError, ValueError) as exc:
                # Kept in the database untouched: a person (or a corrected configuration)
                # can still deal with it.
                self.counters["pending_not_restored"] += 1
                log.warning(
                    "待确认批次无法恢复 / pending lot %s on lane %s not restored: %s",
                    lot_id,
                    lane_id,
                    exc,
                )
                continue
            lane.pending.append(pending)
            lane.detector.hold()
            lane.loaded = True
            self.counters["pending_restored"] += 1
        if self.counters["pending_restored"]:
            log.info(
                "已恢复 %d 个待确认批次 / %d pending lots restored for confirmation",
                self.counters["pending_restored"],
                self.counters["pending_restored"],
            )

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
                # made here, offline: the receipt printed now carries the passbook link
                passbook_token=wire.new_passbook_token(),
            )
        except ValueError as exc:
            raise WorkflowError(f"批次数据无效 / lot is not valid: {exc}") from exc
        try:
            self._store.record_lot(record, lane=lane_id)
        except StoreError:
            self.counters["store_errors"] += 1
            log.exception("批次未能保存 / lot %s not stored", record.id)
            raise
        if not pending.restored:  # settle-to-stored time means nothing across a restart
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
                log.exception(
                    "批次已保存，后续处理出错 / after-store hook failed for lot %s", record.id
                )
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
                    # a load settled and still on the platform (the console's "stable")
                    "settled": s.loaded and not s.detector.armed,
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
