"""Farmers (households selling to a cooperative) and buyers (who take the produce)."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from server.core.db import Base


class Farmer(Base):
    __tablename__ = "farmers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cooperative_id: Mapped[str] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    household: Mapped[str | None] = mapped_column(String(200))
    village: Mapped[str | None] = mapped_column(String(200))
    low_income: Mapped[bool] = mapped_column(Boolean, default=False)
    # Sealed at rest (Fernet ciphertext, server/farmers/sealed.py); the masks are what
    # pages and the API show, so nothing but the bank batch ever decrypts.
    phone_enc: Mapped[str | None] = mapped_column(Text)
    phone_masked: Mapped[str | None] = mapped_column(String(40))
    bank_account_enc: Mapped[str | None] = mapped_column(Text)
    bank_account_masked: Mapped[str | None] = mapped_column(String(40))
    card_code: Mapped[str | None] = mapped_column(String(128), unique=True)


class Buyer(Base):
    __tablename__ = "buyers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    cooperative_id: Mapped[str] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    contact: Mapped[str | None] = mapped_column(String(200))
