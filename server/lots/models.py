"""Lots as received from the edge, priced once on arrival, and their priced parts."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base, UTCDateTime


class Lot(Base):
    __tablename__ = "lots"
    __table_args__ = (
        Index("ix_lots_coop_status_date", "cooperative_id", "status", "intake_date"),
        Index("ix_lots_station_date", "station_id", "intake_date"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"))
    farmer_id: Mapped[str] = mapped_column(ForeignKey("farmers.id"), index=True)
    # The farmer's cooperative, whichever station weighed the lot (DESIGN.md pricing rule).
    cooperative_id: Mapped[str] = mapped_column(ForeignKey("cooperatives.id"))
    product: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str] = mapped_column(String(16))
    gross_g: Mapped[int] = mapped_column(Integer)
    tare_g: Mapped[int] = mapped_column(Integer)
    net_g: Mapped[int] = mapped_column(Integer)
    graded_by: Mapped[dict[str, Any]] = mapped_column(JSON)
    items: Mapped[list[Any]] = mapped_column(JSON)
    image_hashes: Mapped[list[str]] = mapped_column(JSON)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    intake_date: Mapped[date] = mapped_column(Date)  # Asia/Shanghai date of captured_at
    cold_room: Mapped[str | None] = mapped_column(String(64))
    operator: Mapped[str | None] = mapped_column(String(100))
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    contract_id: Mapped[str | None] = mapped_column(ForeignKey("contracts.id"))
    status: Mapped[str] = mapped_column(String(16))  # priced | unpriced
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    unpriced_reason: Mapped[str | None] = mapped_column(Text)


class LotPart(Base):
    """One priced part of a lot (two when a lot crosses its contract's quota)."""

    __tablename__ = "lot_parts"

    lot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True
    )
    part_no: Mapped[int] = mapped_column(Integer, primary_key=True)
    net_g: Mapped[int] = mapped_column(Integer)
    unit_fen_per_kg: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    basis: Mapped[str] = mapped_column(String(16))  # contract | over_quota | reject
    market_day: Mapped[date | None] = mapped_column(Date)
    explanation: Mapped[str] = mapped_column(Text)
