"""Cooperatives and their stations (each station has its own hashed API key)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base, UTCDateTime


class Cooperative(Base):
    __tablename__ = "cooperatives"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Four-eyes is the rule; a one-person office may approve its own runs (audited).
    allow_self_approval: Mapped[bool] = mapped_column(Boolean, default=False)


class Station(Base):
    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cooperative_id: Mapped[str] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # sha256 hex of the key; the key itself is shown once and never stored.
    api_key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    key_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When an admin last revoked the key (api_key_hash is then NULL until a new one is issued).
    key_revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What the station aims to buy per day (the 建德 centre: 14,000 kg); None: no target.
    daily_target_g: Mapped[int | None] = mapped_column(BigInteger)
    # May a pick list take part of a lot to fill an order (DESIGN, stock)? Else whole lots.
    allow_lot_split: Mapped[bool] = mapped_column(Boolean, default=False)
