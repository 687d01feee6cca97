"""Lots: list and filter, the unpriced ones waiting for review, one lot with its parts and
its cold-room stay."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field, StrictInt
from sqlalchemy import select

from server.coldchain.models import LotColdStay
from server.core.deps import (
    CurrentUser,
    PayoutStaff,
    SessionDep,
    check_cooperative,
    scope_cooperative,
)
from server.core.errors import NotFound
from server.core.params import IsoDate
from server.lots.models import Lot, LotPart
from server.lots.service import price_manually

router = APIRouter(prefix="/api/v1", tags=["lots"])


class PartOut(BaseModel):
    part_no: int
    net_g: int
    unit_fen_per_kg: int
    amount_fen: int
    basis: str
    explanation: str


class LotOut(BaseModel):
    id: uuid.UUID
    station: str
    farmer: str
    cooperative: str
    product: str
    grade: str
    gross_g: int
    tare_g: int
    net_g: int
    captured_at: datetime
    intake_date: date
    status: str
    amount_fen: int | None
    unpriced_reason: str | None
    contract: str | None
    graded_by: dict[str, Any]
    image_hashes: list[str]
    cold_room: str | None
    parts: list[PartOut] = []

    @classmethod
    def of(cls, lot: Lot, parts: list[LotPart] | None = None) -> LotOut:
        return cls(
            id=lot.id,
            station=lot.station_id,
            farmer=lot.farmer_id,
            cooperative=lot.cooperative_id,
            product=lot.product,
            grade=lot.grade,
            gross_g=lot.gross_g,
            tare_g=lot.tare_g,
            net_g=lot.net_g,
            captured_at=lot.captured_at,
            intake_date=lot.intake_date,
            status=lot.status,
            amount_fen=lot.amount_fen,
            unpriced_reason=lot.unpriced_reason,
            contract=lot.contract_id,
            graded_by=lot.graded_by,
            image_hashes=lot.image_hashes,
            cold_room=lot.cold_room,
            parts=[
                PartOut(
                    part_no=p.part_no,
                    net_g=p.net_g,
                    unit_fen_per_kg=p.unit_fen_per_kg,
                    amount_fen=p.amount_fen,
                    basis=p.basis,
                    explanation=p.explanation,
                )
                for p in parts or []
            ],
        )


@router.get("/lots", response_model=list[LotOut])
def list_lots(
    session: SessionDep,
    user: CurrentUser,
    cooperative: str | None = None,
    station: str | None = None,
    farmer: str | None = None,
    status: Literal["priced", "unpriced"] | None = None,
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[LotOut]:
    coop = scope_cooperative(user, cooperative)
    stmt = select(Lot).order_by(Lot.captured_at, Lot.id).limit(limit).offset(offset)
    if coop is not None:
        stmt = stmt.where(Lot.cooperative_id == coop)
    if station is not None:
        stmt = stmt.where(Lot.station_id == station)
    if farmer is not None:
        stmt = stmt.where(Lot.farmer_id == farmer)
    if status is not None:
        stmt = stmt.where(Lot.status == status)
    if date_from is not None:
        stmt = stmt.where(Lot.intake_date >= date_from)
    if date_to is not None:
        stmt = stmt.where(Lot.intake_date <= date_to)
    return [LotOut.of(lot) for lot in session.scalars(stmt)]


@router.get("/lots/unpriced", response_model=list[LotOut])
def unpriced(
    session: SessionDep, user: CurrentUser, cooperative: str | None = None
) -> list[LotOut]:
    """Lots waiting for review: no contract, or no price the rule could use."""
    return list_lots(
        session, user, cooperative=cooperative, status="unpriced", limit=5000, offset=0
    )


@router.get("/lots/{lot_id}", response_model=LotOut)
def get_lot(lot_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> LotOut:
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"批次不存在 / unknown lot {lot_id}")
    check_cooperative(user, lot.cooperative_id)
    parts = list(
        session.scalars(select(LotPart).where(LotPart.lot_id == lot.id).order_by(LotPart.part_no))
    )
    return LotOut.of(lot, parts)


class StayOut(BaseModel):
    lot: uuid.UUID
    station: str
    room: str
    entered_at: datetime
    left_at: datetime
    excursions: int
    minutes_above_max_c: int
    minutes_below_min_c: int
    temp_peak_c: float | None
    mkt_c: float | None
    data_coverage_pct: float
    remaining_shelf_life_h: float | None
    received_at: datetime


@router.get("/lots/{lot_id}/stay", response_model=StayOut)
def get_lot_stay(lot_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> StayOut:
    """The lot's cold-room stay as its station reported it at dispatch (who may see the
    lot may see its stay)."""
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"批次不存在 / unknown lot {lot_id}")
    check_cooperative(user, lot.cooperative_id)
    stay = session.get(LotColdStay, lot_id)
    if stay is None:
        raise NotFound(f"该批次尚无冷库记录 / no cold-room stay stored for lot {lot_id}")
    return StayOut(
        lot=stay.lot_id,
        station=stay.station_id,
        room=stay.room,
        entered_at=stay.entered_at,
        left_at=stay.left_at,
        excursions=stay.excursions,
        minutes_above_max_c=stay.minutes_above_max_c,
        minutes_below_min_c=stay.minutes_below_min_c,
        temp_peak_c=stay.temp_peak_c,
        mkt_c=stay.mkt_c,
        data_coverage_pct=stay.data_coverage_pct,
        remaining_shelf_life_h=stay.remaining_shelf_life_h,
        received_at=stay.received_at,
    )


class ManualPriceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit_fen_per_kg: StrictInt = Field(ge=0, le=10_000_000)
    reason: str = Field(min_length=1, max_length=500)


@router.post("/lots/{lot_id}/price", response_model=LotOut)
def price_lot_manually(
    lot_id: uuid.UUID, body: ManualPriceBody, session: SessionDep, user: PayoutStaff
) -> LotOut:
    """Review: give an unpriced lot its price by hand (reviewers and admins, with a reason)."""
    lot = session.get(Lot, lot_id)
    if lot is None:
        raise NotFound(f"批次不存在 / unknown lot {lot_id}")
    check_cooperative(user, lot.cooperative_id)
    price_manually(
        session=session,
        lot_id=lot_id,
        unit_fen_per_kg=body.unit_fen_per_kg,
        reason=body.reason,
        actor=user.name,
    )
    return get_lot(lot_id, session, user)
