"""Users of the web API: operator, reviewer (one cooperative), admin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base, UTCDateTime, utcnow


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # operator | reviewer | admin
    cooperative_id: Mapped[str | None] = mapped_column(ForeignKey("cooperatives.id"))
    password_hash: Mapped[str] = mapped_column(String(200))
    # Argon2 hash of the station-console PIN (gongfang.pins), handed to the cooperative's
    # stations with their directory; None: this operator signs in on no console.
    pin_hash: Mapped[str | None] = mapped_column(String(200))
    # Set while an admin has disabled the user: no sign-in, and every token is refused.
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Carried in every token; bumped on a password change or when disabled, so the user's
    # earlier tokens (and page cookies) stop working at once on every worker.
    token_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
