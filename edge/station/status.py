"""What the status API and the console show of lanes and pending lots (plain JSON types)."""

from __future__ import annotations

from typing import Literal, TypedDict

from edge.station.grading_port import PLACEHOLDER_MODEL, Grading
from edge.station.lane import LaneState, LastLotView
from edge.station.pending import FarmerDoc, PendingLot
from gongfang import wire


class PendingView(TypedDict):
    lot_id: str
    gross_g: int
    tare_g: int
    net_g: int
    captured_at: str  # ISO 8601
    grade: str | None
    grade_zh: str | None
    model: str | None  # "name version"
    grading_error: str | None
    farmer: str | None
    waiting_for: Literal["farmer", "grading", "operator", "override"]
    restored: bool


class LaneView(TypedDict):
    product: str
    tare_g: int
    weight_g: int | None
    weight_ts_ms: int | None
    weight_status: str | None
    settled: bool
    farmer: FarmerDoc | None
    operator: str | None
    frame_ms: int | None
    pending: list[PendingView]
    last_lot: LastLotView | None
    lots: int
    cold_room: str | None


def pending_view(p: PendingLot) -> PendingView:
    """A pending lot, and what it waits for: farmer, grading, operator or an override."""
    g = p.grading
    return {
        "lot_id": str(p.lot_id),
        "gross_g": p.gross_g,
        "tare_g": p.tare_g,
        "net_g": p.gross_g - p.tare_g,
        "captured_at": p.captured_at.isoformat(),
        "grade": g.grade.value if g and g.grade else None,
        "grade_zh": wire.GRADE_ZH[g.grade] if g and g.grade else None,
        "model": f"{g.model_name} {g.model_version}" if g else None,
        "grading_error": g.error if g else None,
        "farmer": p.farmer.id if p.farmer else None,
        "waiting_for": "farmer"
        if p.farmer is None
        else (
            ("override" if p.restored else "grading")
            if g is None
            else ("operator" if g.grade else "override")
        ),
        "restored": p.restored,
    }


def lane_view(s: LaneState) -> LaneView:
    """A lane: its scale, farmer, operator, pending lots and last stored lot."""
    return {
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
        "pending": [pending_view(p) for p in s.pending],
        "last_lot": s.last_lot,
        "lots": s.lots,
        "cold_room": s.cfg.cold_room,
    }


def last_lot_view(record: wire.LotRecord, grading: Grading | None) -> LastLotView:
    """A lane's last stored lot (kept on the lane for its status)."""
    return {
        "lot_id": str(record.id),
        "farmer": record.farmer,
        "net_g": record.net_g,
        "grade": record.grade.value,
        "graded_by": record.graded_by.kind,
        "placeholder_grader": bool(grading and grading.model_name == PLACEHOLDER_MODEL),
    }
