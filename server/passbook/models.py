"""Passbook keys: a hash per receipt token, and each farmer's last revocation."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base, UTCDateTime


class PassbookToken(Base):
    """One lot's receipt QR key. Only its SHA-256 is kept: a database dump opens nothing."""

    __tablename__ = "passbook_tokens"

    token_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    lot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lots.id", ondelete="CASCADE"), unique=True
    )
    farmer_id: Mapped[str] = mapped_column(ForeignKey("farmers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class PassbookRevocation(Base):
    """A farmer's last revocation: tokens of lots captured up to then are dead, including
    ones that reach the server later from a station that was offline."""

    __tablename__ = "passbook_revocations"

    farmer_id: Mapped[str] = mapped_column(ForeignKey("farmers.id"), primary_key=True)
    revoked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str] = mapped_column(String(100))
