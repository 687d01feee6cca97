"""A photo kept by the server (by its SHA-256) and which lots it belongs to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base, UTCDateTime


class Photo(Base):
    """One stored JPEG; the bytes live on disk under ``photos_dir`` by this hash."""

    __tablename__ = "photos"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    station_id: Mapped[str] = mapped_column(ForeignKey("stations.id"))  # who sent it first
    size_bytes: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LotPhoto(Base):
    """A lot ↔ photo link, made when a station uploads a photo its lot names in
    ``image_hashes`` (the lot's cooperative may then see it)."""

    __tablename__ = "lot_photos"

    lot_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lots.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(ForeignKey("photos.sha256"), primary_key=True, index=True)
