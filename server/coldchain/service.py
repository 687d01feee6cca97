"""Cold-chain records synced from the edges: alarms (upsert by id), climate minutes and
lots' cold-room stays (stored once by lot id)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongfang.wire import AlarmRecord, ClimateSummary, ItemAck, ItemResult, LotStay
from server.coldchain.models import Alarm, ClimateMinute, LotColdStay
from server.core.db import dialect_insert, utcnow
from server.lots.models import Lot


def upsert_alarms(*, session: Session, alarms: Sequence[AlarmRecord]) -> list[ItemAck]:
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
    if rec.acked_by is not None:  # an acknowledgement is never taken back by a later copy
        row.acked_by, row.acked_at = rec.acked_by, rec.acked_at


def _same(row: Alarm, rec: AlarmRecord) -> bool:
    return (
        row.rule == rec.rule
        and row.severity == rec.severity.value
        and row.updated_at == rec.updated_at
        and row.cleared_at == rec.cleared_at
        and row.peak_value == rec.peak_value
        and row.message == rec.message
        and (rec.acked_by is None or (row.acked_by, row.acked_at) == (rec.acked_by, rec.acked_at))
    )


_CLIMATE_VALUES = ("samples", "temp_min_c", "temp_mean_c", "temp_max_c", "rh_mean_pct")


def upsert_climate(*, session: Session, summaries: Sequence[ClimateSummary]) -> int:
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
    *, session: Session, station_ids: Sequence[str],
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
    *, session: Session, station_id: str, room: str, start: datetime, end: datetime
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


def store_stays(*, session: Session, station_id: str, stays: Sequence[LotStay]) -> list[ItemAck]:
    """Store closed stays, idempotent by lot id like lots (call after the batch's lots).

    Same content again → duplicate; other content → conflict (the stored one is kept);
    a lot the server does not hold, another station's lot, or another room than the lot's
    → invalid with the reason.
    """
    ids = list({s.lot_id for s in stays})
    lots = {
        lot_id: (station, room)
        for lot_id, station, room in session.execute(
            select(Lot.id, Lot.station_id, Lot.cold_room).where(Lot.id.in_(ids))
        )
    }
    stored: dict[uuid.UUID, str] = dict(
        session.execute(
            select(LotColdStay.lot_id, LotColdStay.content_hash).where(LotColdStay.lot_id.in_(ids))
        ).all()
    )
    acks: list[ItemAck] = []
    now = utcnow()
    for stay in stays:
        key = str(stay.lot_id)
        digest = stay.content_hash()
        lot = lots.get(stay.lot_id)
        problem = None
        if lot is None:
            problem = f"批次不存在，先同步批次 / unknown lot {key}: the lot must be synced first"
        elif lot[0] != station_id:
            problem = f"批次属于其他收购站 / lot {key} belongs to another station"
        elif lot[1] is not None and lot[1] != stay.room:
            problem = (
                f"冷库与批次记录不符 / stay room {stay.room!r} is not the lot's room {lot[1]!r}"
            )
        if problem is not None:
            acks.append(ItemAck(id=key, result=ItemResult.INVALID, message=problem))
            continue
        known = stored.get(stay.lot_id)
        if known == digest:
            acks.append(ItemAck(id=key, result=ItemResult.DUPLICATE))
        elif known is not None:
            acks.append(
                ItemAck(
                    id=key,
                    result=ItemResult.CONFLICT,
                    message="同一批次已有不同的冷库记录 / another stay is stored for this lot",
                )
            )
        else:
            session.add(
                LotColdStay(
                    lot_id=stay.lot_id,
                    station_id=stay.station,
                    room=stay.room,
                    entered_at=stay.entered_at,
                    left_at=stay.left_at,
                    excursions=stay.excursions,
                    minutes_above_max_c=stay.minutes_above_max_c,
                    minutes_below_min_c=stay.minutes_below_min_c,
                    temp_peak_c=stay.temp_peak_c,
                    mkt_c=stay.mkt_c,
                    data_coverage_pct=stay.data_coverage_pct,
                    remaining_shelf_life_h=stay.remaining_shelf_life_h,
                    content_hash=digest,
                    received_at=now,
                )
            )
            stored[stay.lot_id] = digest
            acks.append(ItemAck(id=key, result=ItemResult.ACCEPTED))
    session.flush()
    return acks
