"""Buyers' orders (one product and grade floor each: the order is its own line), the
shipments that fill them and the lots (grams) each shipment carried."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, Float, ForeignKey, Index, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base, UTCDateTime

#: An order's life: open → partly_filled → filled; cancelled from open or partly_filled.
ORDER_STATUSES = ("open", "partly_filled", "filled", "cancelled")
OPEN_STATUSES = ("open", "partly_filled")


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_coop_status", "cooperative_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    cooperative_id: Mapped[str] = mapped_column(ForeignKey("cooperatives.id"))
    buyer_id: Mapped[str] = mapped_column(ForeignKey("buyers.id"), index=True)
    product: Mapped[str] = mapped_column(String(16))
    min_grade: Mapped[str] = mapped_column(String(16))
    quantity_g: Mapped[int] = mapped_column(BigInteger)
    filled_g: Mapped[int] = mapped_column(BigInteger, default=0)  # sum of its shipments
    delivery_date: Mapped[date] = mapped_column(Date)
    price_fen_per_kg: Mapped[int] = mapped_column(Integer)
    allow_overfill: Mapped[bool] = mapped_column(Boolean, default=False)
    min_shelf_life_h: Mapped[float | None] = mapped_column(Float)  # the buyer's minimum
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_by: Mapped[str | None] = mapped_column(String(100))
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(String(500))


class Shipment(Base):
    """What left a station for one order; its id is made where it was recorded (the
    console), so a resend is the same shipment, never a second one."""

    __tablename__ = "shipments"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    order_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("orders.id"), index=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    content_hash: Mapped[str] = mapped_column(String(64))


class ShipmentLot(Base):
    """Grams of one lot in one shipment (a split lot appears in several shipments)."""

    __tablename__ = "shipment_lots"

    shipment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("shipments.id", ondelete="CASCADE"), primary_key=True
    )
    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lots.id"), primary_key=True, index=True)
    net_g: Mapped[int] = mapped_column(BigInteger)
