"""Cold-chain alarms and per-minute climate summaries synced from the edges."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base, UTCDateTime


class Alarm(Base):
    __tablename__ = "alarms"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"), index=True)
    room: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    peak_value: Mapped[float | None] = mapped_column(Float)
    message: Mapped[str] = mapped_column(String(500))


class ClimateMinute(Base):
    __tablename__ = "climate_minutes"

    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"), primary_key=True)
    room: Mapped[str] = mapped_column(String(64), primary_key=True)
    minute_start: Mapped[datetime] = mapped_column(UTCDateTime(), primary_key=True)
    samples: Mapped[int] = mapped_column(Integer)
    temp_min_c: Mapped[float] = mapped_column(Float)
    temp_mean_c: Mapped[float] = mapped_column(Float)
    temp_max_c: Mapped[float] = mapped_column(Float)
    rh_mean_pct: Mapped[float] = mapped_column(Float)
