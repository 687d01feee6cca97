"""Cold-chain alarms and per-minute climate, per station room."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from server.coldchain.service import alarms_for, climate_for
from server.core.deps import CurrentUser, SessionDep, check_cooperative, scope_cooperative
from server.core.errors import Invalid, NotFound
from server.core.params import IsoAwareDatetime
from server.stations.models import Station

router = APIRouter(prefix="/api/v1/coldchain", tags=["coldchain"])


class AlarmOut(BaseModel):
    id: uuid.UUID
    station: str
    room: str
    rule: str
    severity: str
    started_at: datetime
    updated_at: datetime
    cleared_at: datetime | None
    peak_value: float | None
    message: str
    acked_by: str | None = None
    acked_at: datetime | None = None


class ClimateOut(BaseModel):
    minute_start: datetime
    samples: int
    temp_min_c: float
    temp_mean_c: float
    temp_max_c: float
    rh_mean_pct: float


@router.get("/alarms", response_model=list[AlarmOut])
def alarms(
    session: SessionDep,
    user: CurrentUser,
    station: str | None = None,
    room: str | None = None,
    active: bool | None = None,
) -> list[AlarmOut]:
    coop = scope_cooperative(user, None)
    stmt = select(Station.id)
    if coop is not None:
        stmt = stmt.where(Station.cooperative_id == coop)
    stations = list(session.scalars(stmt))
    if station is not None:
        stations = [s for s in stations if s == station]
    return [
        AlarmOut(
            id=a.id,
            station=a.station_id,
            room=a.room,
            rule=a.rule,
            severity=a.severity,
            started_at=a.started_at,
            updated_at=a.updated_at,
            cleared_at=a.cleared_at,
            peak_value=a.peak_value,
            message=a.message,
            acked_by=a.acked_by,
            acked_at=a.acked_at,
        )
        for a in alarms_for(session=session, station_ids=stations, room=room, active=active)
    ]


@router.get(
    "/climate",
    response_model=list[ClimateOut],
    responses={404: {"description": "unknown station"}},
)
def climate(
    session: SessionDep,
    user: CurrentUser,
    station: str,
    room: str,
    start: IsoAwareDatetime,
    end: IsoAwareDatetime,
) -> list[ClimateOut]:
    """Per-minute climate of one room between ``start`` and ``end`` (aware ISO times)."""
    st = session.get(Station, station)
    if st is None:
        raise NotFound(f"收购站不存在 / unknown station {station!r}")
    check_cooperative(user, st.cooperative_id)
    if end <= start:
        raise Invalid("结束时间须晚于开始时间 / end must be after start")
    return [
        ClimateOut(
            minute_start=m.minute_start,
            samples=m.samples,
            temp_min_c=m.temp_min_c,
            temp_mean_c=m.temp_mean_c,
            temp_max_c=m.temp_max_c,
            rh_mean_pct=m.rh_mean_pct,
        )
        for m in climate_for(session=session, station_id=station, room=room, start=start, end=end)
    ]
