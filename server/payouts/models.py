"""Payout runs, the lots approved runs paid, and adjustments.

A draft is a definition, not a copy: the priced lots of the cooperative dated on or
before its end, received before it was created and not paid by a run approved before it
was created (``server.payouts.service``). Approving it copies exactly those lots into
``paid_lots``, whose primary key is the lot id: the database refuses a lot paid twice.
``paid_lots`` is append-only (triggers in the migration), so approved runs are immutable.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base, UTCDateTime, utcnow

FINAL_STATUSES = ("approved", "exported", "paid")


class PayoutRun(Base):
    __tablename__ = "payout_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cooperative_id: Mapped[str] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    period_from: Mapped[date] = mapped_column(Date)
    period_to: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(100))
    exported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the draft held when it was made; approval refuses a draft that changed since.
    snapshot_lots: Mapped[int] = mapped_column(Integer, default=0)
    snapshot_amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)


class PaidLot(Base):
    """A lot paid by an approved run, with what it paid: once and only once per lot."""

    __tablename__ = "paid_lots"

    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("payout_runs.id"), index=True)
    farmer_id: Mapped[str] = mapped_column(String(64))
    net_g: Mapped[int] = mapped_column(Integer)
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    late: Mapped[bool] = mapped_column(Boolean)
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PayoutAdjustment(Base):
    __tablename__ = "payout_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("payout_runs.id", ondelete="CASCADE"), index=True
    )
    farmer_id: Mapped[str] = mapped_column(ForeignKey("farmers.id"))
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
