"""Buyers' orders: created, listed, read and cancelled within the signed-in user's
cooperative (admins: every cooperative). Never commits.

Another cooperative's order or buyer answers "not found", never "forbidden": a reviewer of
one cooperative cannot even learn that another's exists. Reviewers and admins manage
orders; operators work at stations and ship (server/orders/shipping.py).
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.auth.models import User
from server.core.db import utcnow
from server.core.deps import scope_cooperative
from server.core.errors import Forbidden, InvalidState, NotFound
from server.farmers.models import Buyer
from server.orders.models import OPEN_STATUSES, ORDER_STATUSES, Order
from server.orders.schemas import OrderIn
from server.stations.models import Station

MAX_LISTED = 5000


def _require_staff(user: User) -> None:
    if user.role not in ("reviewer", "admin"):
        raise Forbidden("需要审核员或管理员权限 / orders need the reviewer or admin role")


def _in_scope(user: User, cooperative_id: str) -> bool:
    scope = scope_cooperative(user, None)
    return scope is None or scope == cooperative_id


def create_order(*, session: Session, user: User, body: OrderIn) -> Order:
    """A new open order for a buyer of the user's cooperative (audited)."""
    _require_staff(user)
    buyer = session.get(Buyer, body.buyer)
    if buyer is None or not _in_scope(user, buyer.cooperative_id):
        raise NotFound(f"收购商不存在 / unknown buyer {body.buyer!r}")
    order = Order(
        id=uuid.uuid4(),
        cooperative_id=buyer.cooperative_id,
        buyer_id=buyer.id,
        product=body.product.value,
        min_grade=body.min_grade.value,
        quantity_g=body.quantity_g,
        filled_g=0,
        delivery_date=body.delivery_date,
        price_fen_per_kg=body.price_fen_per_kg,
        allow_overfill=body.allow_overfill,
        min_shelf_life_h=body.min_shelf_life_h,
        status="open",
        created_by=user.name,
        created_at=utcnow(),
    )
    session.add(order)
    record(
        session=session,
        actor=user.name,
        action="order_created",
        entity="order",
        entity_id=str(order.id),
        buyer=buyer.id,
        product=order.product,
        quantity_g=order.quantity_g,
    )
    session.flush()
    return order


def list_orders(
    *, session: Session, user: User, status: str | None = None, buyer: str | None = None
) -> list[Order]:
    """The orders the user may see, by delivery date, then creation."""
    _require_staff(user)
    scope = scope_cooperative(user, None)
    stmt = select(Order).order_by(Order.delivery_date, Order.created_at, Order.id)
    if scope is not None:
        stmt = stmt.where(Order.cooperative_id == scope)
    if status is not None:
        if status not in ORDER_STATUSES:
            return []
        stmt = stmt.where(Order.status == status)
    if buyer is not None:
        stmt = stmt.where(Order.buyer_id == buyer)
    return list(session.scalars(stmt.limit(MAX_LISTED)))


def get_order(*, session: Session, user: User, order_id: uuid.UUID) -> Order:
    """One order the user may see (another cooperative's answers "not found")."""
    _require_staff(user)
    order = session.get(Order, order_id)
    if order is None or not _in_scope(user, order.cooperative_id):
        raise NotFound(f"订单不存在 / unknown order {order_id}")
    return order


def cancel_order(*, session: Session, user: User, order_id: uuid.UUID, reason: str) -> Order:
    """Cancel an open or partly filled order; what was shipped stays shipped (audited)."""
    order = get_order(session=session, user=user, order_id=order_id)
    if order.status not in OPEN_STATUSES:
        raise InvalidState(
            f"订单状态为 {order.status}，不能取消 / an order that is {order.status} "
            "cannot be cancelled"
        )
    before = order.status
    order.status = "cancelled"
    order.cancelled_by = user.name
    order.cancelled_at = utcnow()
    order.cancel_reason = reason
    record(
        session=session,
        actor=user.name,
        action="order_cancelled",
        entity="order",
        entity_id=str(order.id),
        reason=reason,
        was=before,
        filled_g=order.filled_g,
    )
    session.flush()
    return order


def set_lot_split(*, session: Session, user: User, station_id: str, allowed: bool) -> Station:
    """Whether the station's pick lists may split a lot (an admin's choice, audited)."""
    if user.role != "admin":
        raise Forbidden("只有管理员可以修改拣货规则 / only an admin can change picking rules")
    station = session.get(Station, station_id)
    if station is None or not _in_scope(user, station.cooperative_id):
        raise NotFound(f"收购站不存在 / unknown station {station_id!r}")
    if station.allow_lot_split != allowed:
        record(
            session=session,
            actor=user.name,
            action="lot_split_set",
            entity="station",
            entity_id=station_id,
            allowed=allowed,
        )
        station.allow_lot_split = allowed
    session.flush()
    return station
