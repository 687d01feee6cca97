"""``POST /api/v1/sync``: one edge batch (lots, alarms, climate, stays) in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from gongfang.wire import (
    AlarmRecord,
    ClimateSummary,
    LotRecord,
    LotStay,
    SyncAck,
    SyncBatch,
)
from server.audit.service import record
from server.coldchain.service import store_stays, upsert_alarms, upsert_climate
from server.core.errors import Forbidden
from server.lots.service import ingest_lots
from server.stations.models import Station
from server.stations.service import StationIdentity


def check_station(*, station: Station | StationIdentity, batch: SyncBatch) -> None:
    """A key speaks for its own station only: the batch and each item must name it."""
    if batch.station != station.id:
        raise Forbidden(
            f"密钥属于收购站 {station.id}，不能提交 {batch.station} 的数据 / this key belongs "
            f"to station {station.id!r}, not {batch.station!r}"
        )
    kinds: tuple[tuple[str, Sequence[LotRecord | AlarmRecord | ClimateSummary | LotStay]], ...] = (
        ("lot", batch.lots),
        ("alarm", batch.alarms),
        ("climate", batch.climate),
        ("stay", batch.stays),
    )
    for kind, items in kinds:
        for item in items:
            if item.station != station.id:
                raise Forbidden(
                    f"{kind} 的收购站 {item.station} 与密钥不符 / a {kind} names station "
                    f"{item.station!r}, the key belongs to {station.id!r}"
                )


def handle_sync(
    *, session: Session, station: Station | StationIdentity,
    batch: SyncBatch,
    market_fallback_days: int = 3,
) -> SyncAck:
    check_station(station=station, batch=batch)
    # Every lot names the key's station (checked above), which the key proves exists;
    # ingest_lots refuses those whose farmer is of another cooperative.
    lots = ingest_lots(
        session=session,
        lots=batch.lots,
        market_fallback_days=market_fallback_days,
        station_cooperatives={station.id: station.cooperative_id},
    )
    alarms = upsert_alarms(session=session, alarms=batch.alarms) if batch.alarms else []
    climate = upsert_climate(session=session, summaries=batch.climate)
    # after the lots: a stay may come in the same batch as its lot
    stays = store_stays(
        session=session, station_id=station.id, stays=batch.stays
    ) if batch.stays else []
    if lots.acks or alarms or stays:
        record(
            session=session,
            actor=f"station:{station.id}",
            action="sync",
            entity="station",
            entity_id=station.id,
            lots={r.value: lots.count(r) for r in {a.result for a in lots.acks}},
            alarms=len(alarms),
            climate=climate,
            stays=len(stays),
        )
    session.flush()
    return SyncAck(lots=lots.acks, alarms=alarms, climate_stored=climate, stays=stays)
