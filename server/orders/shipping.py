"""A station's stock, its FEFO pick list for the open orders, and shipments recorded
idempotently. Never commits.

Stock: the station's lots (of its cooperative's farmers) with grams not yet shipped.
Remaining shelf life comes from the cold-chain record: a lot still in its room (no closed
stay yet), from the room's synced climate minutes since it was weighed
(:mod:`server.coldchain.shelf_life`); a lot whose stay the edge closed, the stay's
estimate less the hours since it ended at the 0 °C rate (the least it can have aged). A
lot with neither (no room, or no climate data) has no estimate and is never picked
(counted in ``lots_without_record``).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gongfang.kinetics import SHELF_LIFE_H_AT_0C
from server.auth.models import User
from server.coldchain.models import LotColdStay
from server.coldchain.shelf_life import remaining_in_room_h, room_clocks
from server.core.db import utcnow
from server.core.deps import scope_cooperative
from server.core.errors import Conflict, Forbidden, Invalid, InvalidState, NotFound
from server.lots.models import Lot
from server.orders.allocate import GRADE_RANK, LineFill, LineRequest, StockLot, allocate
from server.orders.models import OPEN_STATUSES, Order, Shipment, ShipmentLot
from server.orders.schemas import ShipmentIn
from server.orders.service import get_order
from server.stations.models import Station

#: Every estimate counts each hour since weighing as at least an hour of 0 °C shelf life,
#: so a lot weighed longer ago than the longest one (plus a day's margin for the wait
#: before cooling) has none left: older lots are not read at all.
STOCK_HORIZON = timedelta(hours=max(SHELF_LIFE_H_AT_0C.values()) + 24)


@dataclass(frozen=True, slots=True)
class StockRow:
    lot: StockLot | None  # None: no cold-chain record, never picked
    lot_id: uuid.UUID
    product: str
    grade: str
    available_g: int
    cold_room: str | None  # where the lot was put away (the lot's record)


@dataclass(frozen=True, slots=True)
class PickLine:
    order: Order
    fill: LineFill


@dataclass(frozen=True, slots=True)
class PickList:
    station_id: str
    at: datetime
    split_lots: bool
    lines: list[PickLine]
    lots_in_stock: int
    lots_without_record: int
    picked: dict[str, StockLot]  # the picked lots by id: grade, shelf life, intake
    rooms: dict[str, str | None]  # the picked lots' cold rooms


def _station(session: Session, station_id: str) -> Station:
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound(f"收购站不存在 / unknown station {station_id!r}")
    return station


def station_stock(
    *, session: Session, station_id: str, now: datetime, lot_ids: Sequence[uuid.UUID] | None = None
) -> list[StockRow]:
    """The station's lots with grams left, each with its remaining shelf life now."""
    station = _station(session, station_id)
    shipped = (
        select(ShipmentLot.lot_id, func.sum(ShipmentLot.net_g).label("g"))
        .group_by(ShipmentLot.lot_id)
        .subquery()
    )
    left = Lot.net_g - func.coalesce(shipped.c.g, 0)
    stmt = (
        select(
            Lot.id, Lot.product, Lot.grade, Lot.captured_at, left, Lot.cold_room,
            LotColdStay.remaining_shelf_life_h, LotColdStay.left_at,
        )
        .outerjoin(shipped, shipped.c.lot_id == Lot.id)
        .outerjoin(LotColdStay, LotColdStay.lot_id == Lot.id)
        .where(
            Lot.station_id == station_id,
            Lot.cooperative_id == station.cooperative_id,
            left > 0,
            Lot.captured_at >= now - STOCK_HORIZON,
        )
        .execution_options(yield_per=10_000)
    )  # fmt: skip
    if lot_ids is not None:
        stmt = stmt.where(Lot.id.in_(list(lot_ids)))
    found = session.execute(stmt).all()
    since: dict[str, datetime] = {}
    for _id, _p, _g, captured_at, _a, room, _life, left_at in found:
        if left_at is None and room is not None:
            since[room] = min(since.get(room, captured_at), captured_at)
    clocks = room_clocks(session=session, station_id=station_id, since=since, now=now)
    rows = []
    for lot_id, product, grade, captured_at, avail, room, life_h, left_at in found:
        if left_at is not None:  # the stay is closed: its estimate, aged since
            aged_h = max(0.0, (now - left_at).total_seconds() / 3600)
            left_h = None if life_h is None else life_h - aged_h
        elif room is not None:  # still in its room: the room's climate since weighing
            left_h = remaining_in_room_h(product, clocks[room].used_h(captured_at))
        else:
            left_h = None
        stock = None
        if left_h is not None:
            stock = StockLot(str(lot_id), product, grade, int(avail), left_h, captured_at)
        rows.append(StockRow(stock, lot_id, product, grade, int(avail), room))
    return rows


def staff_pick_list(*, session: Session, user: User, station_id: str) -> PickList:
    """The pick list of a station of the user's cooperative (another's: "not found")."""
    if user.role not in ("reviewer", "admin"):
        raise Forbidden("需要审核员或管理员权限 / pick lists need the reviewer or admin role")
    station = session.get(Station, station_id)
    scope = scope_cooperative(user, None)
    if station is None or (scope is not None and station.cooperative_id != scope):
        raise NotFound(f"收购站不存在 / unknown station {station_id!r}")
    return pick_list(session=session, station_id=station_id)


def order_shipments(
    *, session: Session, user: User, order_id: uuid.UUID
) -> list[tuple[Shipment, list[ShipmentLot]]]:
    """An order's shipments for staff (the order's scope is checked)."""
    get_order(session=session, user=user, order_id=order_id)
    return shipments_of(session=session, order_id=order_id)


def open_orders(*, session: Session, cooperative_id: str) -> list[Order]:
    """Open and partly filled orders, by delivery date, then creation: the fill priority."""
    stmt = (
        select(Order)
        .where(Order.cooperative_id == cooperative_id, Order.status.in_(OPEN_STATUSES))
        .order_by(Order.delivery_date, Order.created_at, Order.id)
    )
    return list(session.scalars(stmt))


def line_of(order: Order) -> LineRequest:
    return LineRequest(
        line_id=str(order.id),
        product=order.product,
        min_grade=order.min_grade,
        quantity_g=max(0, order.quantity_g - order.filled_g),
        allow_overfill=order.allow_overfill,
        min_shelf_life_h=order.min_shelf_life_h,
    )


def pick_list(*, session: Session, station_id: str, now: datetime | None = None) -> PickList:
    """What to pick at the station for every open order of its cooperative (FEFO)."""
    at = now or utcnow()
    station = _station(session, station_id)
    orders = open_orders(session=session, cooperative_id=station.cooperative_id)
    stock = station_stock(session=session, station_id=station_id, now=at)
    lots = {r.lot.lot_id: r.lot for r in stock if r.lot is not None}
    rooms = {str(r.lot_id): r.cold_room for r in stock}
    fills = allocate(
        [line_of(o) for o in orders], list(lots.values()), split_lots=station.allow_lot_split
    )
    return PickList(
        station_id=station_id,
        at=at,
        split_lots=station.allow_lot_split,
        lines=[PickLine(o, f) for o, f in zip(orders, fills, strict=True)],
        lots_in_stock=len(stock),
        lots_without_record=sum(1 for r in stock if r.lot is None),
        picked={p.lot_id: lots[p.lot_id] for f in fills for p in f.picks},
        rooms={p.lot_id: rooms[p.lot_id] for f in fills for p in f.picks},
    )


def _digest(station_id: str, body: ShipmentIn) -> str:
    doc = {
        "station": station_id,
        "order": str(body.order_id),
        "lots": sorted((str(x.lot_id), x.net_g) for x in body.lots),
    }
    return hashlib.sha256(json.dumps(doc, separators=(",", ":")).encode()).hexdigest()


def record_shipment(
    *, session: Session, station_id: str, body: ShipmentIn, now: datetime | None = None
) -> tuple[Shipment, bool]:
    """Store a shipment once by id; ``(shipment, created)``.

    The same id with the same content is the stored shipment (``created`` False): a resend
    never ships twice. The same id with other content is a conflict. A new shipment must
    carry lots of this station still in stock, of the order's product, at least its grade,
    within their shelf life (and the buyer's minimum), and no more than the order still
    needs unless it allows overfill; then the order's filled grams and status move.
    """
    at = now or utcnow()
    digest = _digest(station_id, body)
    station = _station(session, station_id)
    # The order's row lock comes first: a concurrent resend of the same shipment waits
    # here, then finds it stored below (a new statement sees the other's commit).
    order = session.get(Order, body.order_id, with_for_update=True)
    if order is None or order.cooperative_id != station.cooperative_id:
        raise NotFound(f"订单不存在 / unknown order {body.order_id}")
    known = session.get(Shipment, body.id)
    if known is not None:
        if known.content_hash != digest:
            raise Conflict(
                f"同一发货编号已有不同内容 / shipment {body.id} exists with other content"
            )
        return known, False
    if order.status not in OPEN_STATUSES:
        raise InvalidState(f"订单状态为 {order.status}，不能发货 / the order is {order.status}")
    ids = [x.lot_id for x in body.lots]
    if len(set(ids)) != len(ids):
        raise Invalid("同一批次重复出现 / a lot appears twice in the shipment")
    # Lock the lots (in id order: no deadlock between two shipments sharing lots) so two
    # orders' shipments cannot both take the same grams (PostgreSQL; SQLite writes serially).
    session.scalars(select(Lot.id).where(Lot.id.in_(ids)).order_by(Lot.id).with_for_update()).all()
    stock = {r.lot_id: r for r in station_stock(session=session, station_id=station_id,
                                                now=at, lot_ids=ids)}  # fmt: skip
    line = line_of(order)
    for x in body.lots:
        row = stock.get(x.lot_id)
        if row is None:
            raise Invalid(f"批次不在本站库存 / lot {x.lot_id} is not in this station's stock")
        _check_lot(line, row, x.net_g)
    total = sum(x.net_g for x in body.lots)
    if total > line.quantity_g and not order.allow_overfill:
        raise Invalid(
            f"发货 {total} 克超过订单尚需的 {line.quantity_g} 克 / {total} g is more than the "
            f"{line.quantity_g} g the order still needs (it does not allow overfill)"
        )
    shipment = Shipment(
        id=body.id, order_id=order.id, station_id=station_id, created_at=at, content_hash=digest
    )
    session.add(shipment)
    session.flush()
    session.add_all(ShipmentLot(shipment_id=body.id, lot_id=x.lot_id, net_g=x.net_g)
                    for x in body.lots)  # fmt: skip
    order.filled_g += total
    order.status = "filled" if order.filled_g >= order.quantity_g else "partly_filled"
    session.flush()
    return shipment, True


def _check_lot(line: LineRequest, row: StockRow, grams: int) -> None:
    key = str(row.lot_id)
    if row.product != line.product:
        raise Invalid(f"批次 {key} 不是订单的品种 / lot {key} is {row.product}")
    if GRADE_RANK[row.grade] < GRADE_RANK[line.min_grade]:
        raise Invalid(f"批次 {key} 等级低于订单 / lot {key} is below the ordered grade")
    if row.lot is None:
        raise Invalid(f"批次 {key} 没有冷链记录 / lot {key} has no cold-chain record")
    if not line.takes(row.lot):
        raise Invalid(
            f"批次 {key} 剩余货架期不足 / lot {key} has "
            f"{row.lot.remaining_shelf_life_h:.1f} h of shelf life left, too little"
        )
    if grams > row.available_g:
        raise Invalid(
            f"批次 {key} 只剩 {row.available_g} 克 / lot {key} has only {row.available_g} g left"
        )


def shipments_of(
    *, session: Session, order_id: uuid.UUID
) -> list[tuple[Shipment, list[ShipmentLot]]]:
    """An order's shipments with their lots, oldest first (scope checked by the caller)."""
    ships = list(
        session.scalars(
            select(Shipment).where(Shipment.order_id == order_id).order_by(Shipment.created_at)
        )
    )
    lots: dict[uuid.UUID, list[ShipmentLot]] = {s.id: [] for s in ships}
    if ships:
        for sl in session.scalars(
            select(ShipmentLot)
            .where(ShipmentLot.shipment_id.in_(list(lots)))
            .order_by(ShipmentLot.lot_id)
        ):
            lots[sl.shipment_id].append(sl)
    return [(s, lots[s.id]) for s in ships]
