"""Daily intake aggregates by date range."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel
from sqlalchemy import select

from server.aggregates.service import query, totals
from server.core.deps import CurrentUser, SessionDep, scope_cooperative
from server.core.errors import Invalid
from server.core.params import IsoDate
from server.stations.models import Station

router = APIRouter(prefix="/api/v1", tags=["aggregates"])
MAX_RANGE_DAYS = 400


class AggregateOut(BaseModel):
    day: date
    station: str
    product: str
    grade: str
    lots: int
    net_g: int
    unpriced_lots: int
    amount_fen: int


class AggregatesOut(BaseModel):
    date_from: date
    date_to: date
    rows: list[AggregateOut]
    lots: int
    net_g: int
    amount_fen: int


@router.get("/aggregates/daily", response_model=AggregatesOut)
def daily(
    session: SessionDep,
    user: CurrentUser,
    date_from: IsoDate,
    date_to: IsoDate,
    station: str | None = None,
    cooperative: str | None = None,
    product: str | None = None,
    grade: str | None = None,
) -> AggregatesOut:
    """Per station × product × grade × day: lots, net grams, amount of the priced lots."""
    if date_from > date_to or (date_to - date_from).days > MAX_RANGE_DAYS:
        raise Invalid(
            f"日期范围无效（最多 {MAX_RANGE_DAYS} 天）/ bad date range "
            f"(at most {MAX_RANGE_DAYS} days)"
        )
    coop = scope_cooperative(user, cooperative)
    stations: list[str] | None = None
    if coop is not None:
        stations = list(session.scalars(select(Station.id).where(Station.cooperative_id == coop)))
    if station is not None:
        stations = [station] if stations is None or station in stations else []
    rows = query(
        session=session,
        first_day=date_from,
        last_day=date_to,
        station_ids=stations,
        product=product,
        grade=grade,
    )
    return AggregatesOut(
        date_from=date_from,
        date_to=date_to,
        rows=[AggregateOut(**r.__dict__) for r in rows],
        lots=sum(r.lots for r in rows),
        net_g=sum(r.net_g for r in rows),
        amount_fen=sum(r.amount_fen for r in rows),
    )


class TotalOut(BaseModel):
    station: str
    product: str
    grade: str
    lots: int
    net_g: int
    unpriced_lots: int
    amount_fen: int


@router.get("/aggregates/totals", response_model=list[TotalOut])
def range_totals(
    session: SessionDep,
    user: CurrentUser,
    date_from: IsoDate,
    date_to: IsoDate,
    cooperative: str | None = None,
) -> list[TotalOut]:
    """Totals over a date range per station × product × grade."""
    if date_from > date_to or (date_to - date_from).days > MAX_RANGE_DAYS:
        raise Invalid(
            f"日期范围无效（最多 {MAX_RANGE_DAYS} 天）/ bad date range "
            f"(at most {MAX_RANGE_DAYS} days)"
        )
    coop = scope_cooperative(user, cooperative)
    stations: list[str] | None = None
    if coop is not None:
        stations = list(session.scalars(select(Station.id).where(Station.cooperative_id == coop)))
    rows = totals(session=session, first_day=date_from, last_day=date_to, station_ids=stations)
    return [TotalOut(**r.__dict__) for r in rows]
