"""Buyers' orders API (/api/v1/orders): staff manage orders and read pick lists; a station
(its API key) reads its own pick list and records shipments. Scope is the services'."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from fastapi import APIRouter, Response
from pydantic import BaseModel

from server.core.deps import CurrentUser, SessionDep, StationDep
from server.orders import service, shipping
from server.orders.allocate import Pick, StockLot
from server.orders.models import Order, Shipment, ShipmentLot
from server.orders.schemas import CancelIn, LotSplitIn, OrderIn, ShipmentIn

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])


class OrderOut(BaseModel):
    id: uuid.UUID
    cooperative: str
    buyer: str
    product: str
    min_grade: str
    quantity_g: int
    filled_g: int
    delivery_date: date
    price_fen_per_kg: int
    allow_overfill: bool
    min_shelf_life_h: float | None
    status: str
    created_by: str
    created_at: datetime
    cancelled_by: str | None
    cancelled_at: datetime | None
    cancel_reason: str | None

    @classmethod
    def of(cls, o: Order) -> OrderOut:
        return cls(
            id=o.id,
            cooperative=o.cooperative_id,
            buyer=o.buyer_id,
            product=o.product,
            min_grade=o.min_grade,
            quantity_g=o.quantity_g,
            filled_g=o.filled_g,
            delivery_date=o.delivery_date,
            price_fen_per_kg=o.price_fen_per_kg,
            allow_overfill=o.allow_overfill,
            min_shelf_life_h=o.min_shelf_life_h,
            status=o.status,
            created_by=o.created_by,
            created_at=o.created_at,
            cancelled_by=o.cancelled_by,
            cancelled_at=o.cancelled_at,
            cancel_reason=o.cancel_reason,
        )


class PickOut(BaseModel):
    lot_id: uuid.UUID
    grams: int
    whole: bool  # False: part of a split lot (the rest stays in stock)
    grade: str
    remaining_shelf_life_h: float  # now, from the lot's cold-chain record
    captured_at: datetime
    cold_room: str | None

    @classmethod
    def of(cls, pick: Pick, lot: StockLot, room: str | None) -> PickOut:
        return cls(
            lot_id=uuid.UUID(pick.lot_id),
            grams=pick.grams,
            whole=pick.whole,
            grade=lot.grade,
            remaining_shelf_life_h=round(lot.remaining_shelf_life_h, 2),
            captured_at=lot.intake_at,
            cold_room=room,
        )


class PickLineOut(BaseModel):
    order: uuid.UUID
    buyer: str
    product: str
    min_grade: str
    delivery_date: date
    needed_g: int
    picked_g: int
    short_g: int
    picks: list[PickOut]


class PickListOut(BaseModel):
    station: str
    at: datetime
    split_lots: bool
    lots_in_stock: int
    lots_without_record: int  # no cold-chain record: no shelf-life estimate, never picked
    lines: list[PickLineOut]

    @classmethod
    def of(cls, p: shipping.PickList) -> PickListOut:
        return cls(
            station=p.station_id,
            at=p.at,
            split_lots=p.split_lots,
            lots_in_stock=p.lots_in_stock,
            lots_without_record=p.lots_without_record,
            lines=[
                PickLineOut(
                    order=line.order.id,
                    buyer=line.order.buyer_id,
                    product=line.order.product,
                    min_grade=line.order.min_grade,
                    delivery_date=line.order.delivery_date,
                    needed_g=line.fill.quantity_g,
                    picked_g=line.fill.filled_g,
                    short_g=line.fill.short_g,
                    picks=[
                        PickOut.of(pk, p.picked[pk.lot_id], p.rooms[pk.lot_id])
                        for pk in line.fill.picks
                    ],
                )
                for line in p.lines
            ],
        )


class ShipmentLotOut(BaseModel):
    lot_id: uuid.UUID
    net_g: int


class ShipmentOut(BaseModel):
    id: uuid.UUID
    order: uuid.UUID
    station: str
    created_at: datetime
    net_g: int
    lots: list[ShipmentLotOut]

    @classmethod
    def of(cls, s: Shipment, lots: list[ShipmentLot]) -> ShipmentOut:
        return cls(
            id=s.id,
            order=s.order_id,
            station=s.station_id,
            created_at=s.created_at,
            net_g=sum(x.net_g for x in lots),
            lots=[ShipmentLotOut(lot_id=x.lot_id, net_g=x.net_g) for x in lots],
        )


@router.get("", response_model=list[OrderOut])
def list_orders(
    session: SessionDep, user: CurrentUser, status: str | None = None, buyer: str | None = None
) -> list[OrderOut]:
    rows = service.list_orders(session=session, user=user, status=status, buyer=buyer)
    return [OrderOut.of(o) for o in rows]


@router.post(
    "",
    response_model=OrderOut,
    status_code=201,
    responses={404: {"description": "unknown buyer (or another cooperative's)"}},
)
def create_order(body: OrderIn, session: SessionDep, user: CurrentUser) -> OrderOut:
    return OrderOut.of(service.create_order(session=session, user=user, body=body))


@router.get(
    "/pick-list",
    response_model=PickListOut,
    responses={404: {"description": "unknown station (or another cooperative's)"}},
)
def staff_pick_list(station: str, session: SessionDep, user: CurrentUser) -> PickListOut:
    """A station's pick list as its cooperative's staff see it."""
    got = shipping.staff_pick_list(session=session, user=user, station_id=station)
    return PickListOut.of(got)


@router.get("/station/pick-list", response_model=PickListOut)
def station_pick_list(station: StationDep, session: SessionDep) -> PickListOut:
    """The calling station's pick list (X-Api-Key)."""
    return PickListOut.of(shipping.pick_list(session=session, station_id=station.id))


@router.post(
    "/station/shipments",
    response_model=ShipmentOut,
    status_code=201,
    responses={
        200: {
            "model": ShipmentOut,
            "description": "the same shipment again: stored once, answered unchanged",
        },
        404: {"description": "unknown order (or another cooperative's)"},
    },
)
def record_shipment(
    body: ShipmentIn, station: StationDep, session: SessionDep, response: Response
) -> ShipmentOut:
    """Record what left the station (201); the same shipment again answers 200, unchanged."""
    shipment, created = shipping.record_shipment(session=session, station_id=station.id, body=body)
    if not created:
        response.status_code = 200
    lots = shipping.shipments_of(session=session, order_id=shipment.order_id)
    return ShipmentOut.of(shipment, next(ls for s, ls in lots if s.id == shipment.id))


class LotSplitOut(BaseModel):
    station: str
    allow_lot_split: bool


@router.put(
    "/stations/{station_id}/lot-split",
    response_model=LotSplitOut,
    responses={404: {"description": "unknown station"}},
)
def set_lot_split(
    station_id: str, body: LotSplitIn, session: SessionDep, user: CurrentUser
) -> LotSplitOut:
    """May the station's pick lists split a lot to fill an order exactly (admins)?"""
    station = service.set_lot_split(
        session=session, user=user, station_id=station_id, allowed=body.allow_lot_split
    )
    return LotSplitOut(station=station.id, allow_lot_split=station.allow_lot_split)


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: uuid.UUID, session: SessionDep, user: CurrentUser) -> OrderOut:
    return OrderOut.of(service.get_order(session=session, user=user, order_id=order_id))


@router.post("/{order_id}/cancel", response_model=OrderOut)
def cancel_order(
    order_id: uuid.UUID, body: CancelIn, session: SessionDep, user: CurrentUser
) -> OrderOut:
    order = service.cancel_order(session=session, user=user, order_id=order_id, reason=body.reason)
    return OrderOut.of(order)


@router.get("/{order_id}/shipments", response_model=list[ShipmentOut])
def order_shipments(
    order_id: uuid.UUID, session: SessionDep, user: CurrentUser
) -> list[ShipmentOut]:
    rows = shipping.order_shipments(session=session, user=user, order_id=order_id)
    return [ShipmentOut.of(s, lots) for s, lots in rows]
