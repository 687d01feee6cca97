"""Cold-chain records synced from the edges: alarms (upsert by id) and climate minutes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongfang.wire import AlarmRecord, ClimateSummary, ItemAck, ItemResult
from server.coldchain.models import Alarm, ClimateMinute
from server.core.db import dialect_insert


def upsert_alarms(session: Session, *, alarms: Sequence[AlarmRecord]) -> list[ItemAck]:
    """Insert new alarms, update known ones (an alarm re-sent when it clears).

    An older copy of a known alarm (``updated_at`` before the stored one) changes nothing
    and is acknowledged as a duplicate, so out-of-order resends cannot reopen an alarm.
    """
    acks: list[ItemAck] = []
    known = {
        a.id: a for a in session.scalars(select(Alarm).where(Alarm.id.in_([a.id for a in alarms])))
    }
    for rec in alarms:
        row = known.get(rec.id)
        if row is None:
            row = Alarm(id=rec.id, station_id=rec.station, room=rec.room)
            _copy(row, rec)
            session.add(row)
            known[rec.id] = row
            acks.append(ItemAck(id=str(rec.id), result=ItemResult.ACCEPTED))
        elif row.station_id != rec.station or row.room != rec.room:
            acks.append(
                ItemAck(
                    id=str(rec.id),
                    result=ItemResult.CONFLICT,
                    message="同一告警编号属于其他冷库 / alarm id belongs to another room",
                )
            )
        elif rec.updated_at < row.updated_at or _same(row, rec):
            acks.append(ItemAck(id=str(rec.id), result=ItemResult.DUPLICATE))
        else:
            _copy(row, rec)
            acks.append(ItemAck(id=str(rec.id), result=ItemResult.ACCEPTED))
    session.flush()
    return acks


def _copy(row: Alarm, rec: AlarmRecord) -> None:
    row.rule = rec.rule
    row.severity = rec.severity.value
    row.started_at = rec.started_at
    row.updated_at = rec.updated_at
    row.cleared_at = rec.cleared_at
    row.peak_value = rec.peak_value
    row.message = rec.message


def _same(row: Alarm, rec: AlarmRecord) -> bool:
    return (
        row.rule == rec.rule
        and row.severity == rec.severity.value
        and row.updated_at == rec.updated_at
        and row.cleared_at == rec.cleared_at
        and row.peak_value == rec.peak_value
        and row.message == rec.message
    )


_CLIMATE_VALUES = ("samples", "temp_min_c", "temp_mean_c", "temp_max_c", "rh_mean_pct")


def upsert_climate(session: Session, *, summaries: Sequence[ClimateSummary]) -> int:
    """Store per-minute climate summaries (upsert per station/room/minute); count stored."""
    if not summaries:
        return 0
    ins = dialect_insert(session)
    table = ClimateMinute.__table__
    rows = {
        (s.station, s.room, s.minute_start): {
            "station_id": s.station,
            "room": s.room,
            "minute_start": s.minute_start,
            "samples": s.samples,
            "temp_min_c": s.temp_min_c,
            "temp_mean_c": s.temp_mean_c,
            "temp_max_c": s.temp_max_c,
            "rh_mean_pct": s.rh_mean_pct,
        }
        for s in summaries
    }
    stmt = ins(table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["station_id", "room", "minute_start"],
        set_={c: stmt.excluded[c] for c in _CLIMATE_VALUES},
    )
    session.execute(stmt, [rows[k] for k in sorted(rows, key=lambda k: (k[0], k[1], k[2]))])
    return len(rows)


def alarms_for(
    session: Session,
    *,
    station_ids: Sequence[str],
    room: str | None = None,
    active: bool | None = None,
) -> list[Alarm]:
    stmt = select(Alarm).where(Alarm.station_id.in_(station_ids)).order_by(Alarm.started_at.desc())
    if room is not None:
        stmt = stmt.where(Alarm.room == room)
    if active is True:
        stmt = stmt.where(Alarm.cleared_at.is_(None))
    elif active is False:
        stmt = stmt.where(Alarm.cleared_at.is_not(None))
    return list(session.scalars(stmt.limit(1000)))


def climate_for(
    session: Session, *, station_id: str, room: str, start: datetime, end: datetime
) -> list[ClimateMinute]:
    stmt = (
        select(ClimateMinute)
        .where(
            ClimateMinute.station_id == station_id,
            ClimateMinute.room == room,
            ClimateMinute.minute_start >= start,
            ClimateMinute.minute_start < end,
        )
        .order_by(ClimateMinute.minute_start)
        .limit(20000)
    )
    return list(session.scalars(stmt))
