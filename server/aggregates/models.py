"""Daily intake per station × product × grade × Asia/Shanghai date, kept on ingest."""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base


class DailyAggregate(Base):
    __tablename__ = "daily_aggregates"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    station_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product: Mapped[str] = mapped_column(String(16), primary_key=True)
    grade: Mapped[str] = mapped_column(String(16), primary_key=True)
    lots: Mapped[int] = mapped_column(Integer, default=0)
    net_g: Mapped[int] = mapped_column(BigInteger, default=0)
    unpriced_lots: Mapped[int] = mapped_column(Integer, default=0)
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)  # priced lots only
