"""Cold-chain alarms, per-minute climate summaries and lots' cold-room stays from the edges."""

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
    acked_by: Mapped[str | None] = mapped_column(String(100))  # on the station console
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


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


class LotColdStay(Base):
    """A lot's closed stay in a cold room, as the edge summarised it at dispatch.

    Immutable like the lot: stored once by lot id, a different copy is a conflict.
    """

    __tablename__ = "lot_stays"

    lot_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lots.id"), primary_key=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"))
    room: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    left_at: Mapped[datetime] = mapped_column(UTCDateTime())
    excursions: Mapped[int] = mapped_column(Integer)
    minutes_above_max_c: Mapped[int] = mapped_column(Integer)
    minutes_below_min_c: Mapped[int] = mapped_column(Integer)
    temp_peak_c: Mapped[float | None] = mapped_column(Float)
    mkt_c: Mapped[float | None] = mapped_column(Float)
    data_coverage_pct: Mapped[float] = mapped_column(Float)
    remaining_shelf_life_h: Mapped[float | None] = mapped_column(Float)
    content_hash: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
