"""Market reference prices per cooperative, product, grade and day."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base


class MarketPrice(Base):
    __tablename__ = "market_prices"
    __table_args__ = (UniqueConstraint("cooperative_id", "product", "grade", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cooperative_id: Mapped[str] = mapped_column(ForeignKey("cooperatives.id"))
    product: Mapped[str] = mapped_column(String(16))
    grade: Mapped[str] = mapped_column(String(16))
    day: Mapped[date] = mapped_column(Date)
    fen_per_kg: Mapped[int] = mapped_column(Integer)
