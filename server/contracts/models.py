"""Purchase contracts: per farmer and product, floor price per grade, premium, quota."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base


class Contract(Base):
    __tablename__ = "contracts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    farmer_id: Mapped[str] = mapped_column(ForeignKey("farmers.id"), index=True)
    product: Mapped[str] = mapped_column(String(16))
    signed_on: Mapped[date] = mapped_column(Date)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date] = mapped_column(Date)
    floor_extra_fen_per_kg: Mapped[int | None] = mapped_column(Integer)
    floor_class_i_fen_per_kg: Mapped[int | None] = mapped_column(Integer)
    floor_class_ii_fen_per_kg: Mapped[int | None] = mapped_column(Integer)
    premium_pct: Mapped[str | None] = mapped_column(String(16))  # exact decimal string
    quota_g: Mapped[int | None] = mapped_column(BigInteger)
    reject_fen_per_kg: Mapped[int] = mapped_column(Integer, default=0)
    # Grams counted toward the quota so far, in order of arrival (updated atomically).
    quota_used_g: Mapped[int] = mapped_column(BigInteger, default=0)
