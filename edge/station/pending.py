"""A settled crate waiting for confirmation (:class:`PendingLot`), the farmer it is weighed
for (:class:`Farmer`), the document the edge database keeps of it, and the lot it becomes.

The document is what brings a pending lot back after a restart (see
:mod:`edge.station.workflow`): :meth:`PendingLot.to_doc` writes it,
:func:`pending_from_doc` reads it back and refuses one it cannot trust.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypedDict

from edge.errors import WorkflowError
from edge.station.grading_port import Grading
from gongfang import wire

DOC_VERSION = 1


class FarmerDoc(TypedDict):
    id: str
    name: str | None
    verified: bool


class GradingDoc(TypedDict):
    frame_sha256: str
    received_ms: int
    grade: str | None
    model_name: str
    model_version: str
    items: list[dict[str, Any]]
    flags: list[str]
    error: str | None


class PendingDoc(TypedDict):
    """A pending lot as the edge database keeps it (``v`` is :data:`DOC_VERSION`)."""

    v: int
    gross_g: int
    tare_g: int
    captured_ms: int
    farmer: FarmerDoc | None
    grading: GradingDoc | None


@dataclass(slots=True)
class Farmer:
    id: str
    name: str | None
    verified: bool  # found in the station directory


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

    def to_doc(self) -> PendingDoc:
        """What the database keeps of it (see :func:`pending_from_doc`)."""
        g, f = self.grading, self.farmer
        return {
            "v": DOC_VERSION,
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

    def lot_record(
        self,
        *,
        station: str,
        product: wire.Product,
        grade: wire.Grade,
        graded_by: wire.GradedBy | None,
        cold_room: str | None,
        operator: str | None,
    ) -> wire.LotRecord:
        """The lot this crate becomes, with ``grade`` (``graded_by`` None: the model's);
        raises :class:`WorkflowError` when it cannot be one yet, or is not valid."""
        farmer = self.farmer
        if farmer is None:
            raise WorkflowError("请先选择农户 / pick the farmer first")
        g = self.grading
        if graded_by is None:
            if g is None:
                raise WorkflowError("该批次还没有分级 / this lot has no grade yet")
            graded_by = wire.GradedBy(
                kind="model", model_name=g.model_name, model_version=g.model_version
            )
        try:
            return wire.LotRecord(
                id=self.lot_id,
                station=station,
                farmer=farmer.id,
                product=product,
                grade=grade,
                gross_g=self.gross_g,
                tare_g=self.tare_g,
                net_g=self.gross_g - self.tare_g,
                graded_by=graded_by,
                items=list(g.items) if g else [],
                image_hashes=[g.frame_sha256] if g else [],
                captured_at=self.captured_at,
                cold_room=cold_room,
                operator=operator,
                # made here, offline: the receipt printed now carries the passbook link
                passbook_token=wire.new_passbook_token(),
            )
        except ValueError as exc:
            raise WorkflowError(f"批次数据无效 / lot is not valid: {exc}") from exc


def pending_from_doc(lot_id: str, doc: dict[str, Any]) -> PendingLot:
    """A pending lot read back from the database (a :class:`PendingDoc`, unchecked: it
    may come from an older version or a damaged row); raises KeyError/TypeError/ValueError
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
        epoch=-1,  # matches no frame of this process: see edge.station.workflow's doc
        restored=True,
    )
