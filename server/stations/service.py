"""Stations and their API keys: random, shown once, stored as a sha256 digest."""

from __future__ import annotations

import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from server.audit.service import record
from server.core.db import utcnow
from server.core.errors import NotAuthenticated, NotFound
from server.stations.models import Station


def hash_key(key: str) -> str:
    # Keys are 256-bit random tokens: a fast hash is enough (no dictionary to guess from).
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def issue_station_key(*, session: Session, station_id: str, actor: str = "system") -> str:
    """Issue (or rotate) the station's API key and return it; only its hash is stored."""
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound(f"收购站不存在 / unknown station {station_id!r}")
    key = secrets.token_urlsafe(32)
    station.api_key_hash = hash_key(key)
    station.key_issued_at = utcnow()
    station.key_revoked_at = None
    record(
        session=session,
        actor=actor,
        action="station_key_issued",
        entity="station",
        entity_id=station_id,
    )
    session.flush()
    return key


def revoke_station_key(*, session: Session, station_id: str, actor: str = "system") -> Station:
    """Revoke the station's API key: no key works for it until a new one is issued.

    Takes effect at once on every worker: each sync re-checks the key's digest in its own
    transaction (:func:`verify_station_key`), and the directory looks the key up each time.
    """
    station = session.get(Station, station_id)
    if station is None:
        raise NotFound(f"收购站不存在 / unknown station {station_id!r}")
    if station.api_key_hash is None:
        raise NotFound(f"收购站 {station_id} 没有有效密钥 / station {station_id!r} has no key")
    station.api_key_hash = None
    station.key_revoked_at = utcnow()
    record(
        session=session,
        actor=actor,
        action="station_key_revoked",
        entity="station",
        entity_id=station_id,
    )
    session.flush()
    return station


def station_for_key(*, session: Session, key: str) -> Station | None:
    if not key:
        return None
    return session.scalars(select(Station).where(Station.api_key_hash == hash_key(key))).first()


@dataclass(frozen=True, slots=True)
class StationIdentity:
    """Who a verified station key speaks for (plain data, safe to keep across requests)."""

    id: str
    cooperative_id: str
    key_hash: str


class StationKeyCache:
    """Station keys already verified, by their sha256 digest (per process, bounded).

    It saves the key look-up's own database session before a sync body is even read;
    every sync still re-checks the digest inside its transaction
    (:func:`verify_station_key`), so a rotated or revoked key stops working at once on
    every worker.
    """

    def __init__(self, max_entries: int = 10_000) -> None:
        self._by_hash: dict[str, StationIdentity] = {}
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key_hash: str) -> StationIdentity | None:
        return self._by_hash.get(key_hash)

    def put(self, ident: StationIdentity) -> None:
        with self._lock:
            if len(self._by_hash) >= self._max:
                self._by_hash.clear()  # only keys in use come back: simpler than an LRU
            self._by_hash[ident.key_hash] = ident

    def forget(self, key_hash: str) -> None:
        with self._lock:
            self._by_hash.pop(key_hash, None)


_STATIONS = cast(Table, Station.__table__)


def identity_for_key(*, session: Session, key_hash: str) -> StationIdentity | None:
    c = _STATIONS.c
    row = session.execute(select(c.id, c.cooperative_id).where(c.api_key_hash == key_hash)).first()
    return None if row is None else StationIdentity(row[0], row[1], key_hash)


def verify_station_key(*, session: Session, ident: StationIdentity) -> None:
    """Inside the caller's transaction: the key is still the station's current one."""
    c = _STATIONS.c
    still = session.scalar(select(c.id).where(c.id == ident.id, c.api_key_hash == ident.key_hash))
    if still is None:
        raise NotAuthenticated("收购站密钥无效 / unknown station API key")


def set_daily_target(
    *, session: Session, station_id: str,
    target_g: int | None,
    cooperative_id: str | None,
    actor: str,
) -> Station:
    """Set (or clear) a station's daily intake target; ``cooperative_id`` limits which
    stations may be changed (``None``: any, for admins)."""
    station = session.get(Station, station_id)
    if station is None or (cooperative_id is not None and station.cooperative_id != cooperative_id):
        raise NotFound(f"收购站不存在 / unknown station {station_id!r}")
    if station.daily_target_g != target_g:
        record(
            session=session,
            actor=actor,
            action="station_target_set",
            entity="station",
            entity_id=station_id,
            before_g=station.daily_target_g,
            after_g=target_g,
        )
        station.daily_target_g = target_g
    session.flush()
    return station
