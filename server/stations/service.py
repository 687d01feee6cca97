"""Stations and their API keys: random, shown once, stored as a sha256 digest."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.core.db import utcnow
from server.core.errors import NotFound
from server.stations.models import Station


def hash_key(key: str) -> str:
    # Keys are 256-bit random tokens: a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_station_key(session: Session, *, station_id: str, actor: str = "system") -> str:
    """Issue (or rotate) the station's API key and return it; only its hash is stored."""
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound(f"收购站不存在 / unknown station {station_id!r}")
    key = secrets.token_urlsafe(32)
    station.api_key_hash = hash_key(key)
    station.key_issued_at = utcnow()
    record(
        session, actor=actor, action="station_key_issued", entity="station", entity_id=station_id
    )
    session.flush()
    return key


def station_for_key(session: Session, key: str) -> Station | None:
    if not key:
        return None
    return session.scalars(select(Station).where(Station.api_key_hash == hash_key(key))).first()
