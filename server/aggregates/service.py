"""Daily aggregates: kept in the ingesting transaction, queried by range, recounted.

Per station × product × grade × Asia/Shanghai date: lots, net grams, unpriced lots and the
amount of the priced lots. :func:`recount` rebuilds the same figures from the raw lots;
the two must always be equal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from server.aggregates.models import DailyAggregate
from server.core.db import dialect_insert
from server.lots.models import Lot

AggKey = tuple[date, str, str, str]  # day, station, product, grade


@dataclass
class AggregateDelta:
    lots: int = 0
    net_g: int = 0
    unpriced_lots: int = 0
    amount_fen: int = 0

    def add(self, *, net_g: int, amount_fen: int | None) -> None:
        self.lots += 1
        self.net_g += net_g
        if amount_fen is None:
            self.unpriced_lots += 1
        else:
            self.amount_fen += amount_fen


def apply_deltas(*, session: Session, deltas: Mapping[AggKey, AggregateDelta]) -> None:
    """Upsert-add the deltas: one multi-row statement per 500 keys, in key order (so
    concurrent batches lock the rows in the same order and cannot deadlock)."""
    if not deltas:
        return
    ins = dialect_insert(session)
    table = DailyAggregate.__table__
    keys = sorted(deltas)
    for start in range(0, len(keys), 500):  # SQLite: at most 32,766 bound parameters
        rows = [
            {
                "day": k[0],
                "station_id": k[1],
                "product": k[2],
                "grade": k[3],
                "lots": deltas[k].lots,
                "net_g": deltas[k].net_g,
                "unpriced_lots": deltas[k].unpriced_lots,
                "amount_fen": deltas[k].amount_fen,
            }
            for k in keys[start : start + 500]
        ]
        stmt = ins(table).values(rows)
        stmt = stmt.on_conflict_do_update(
            index_elements=["day", "station_id", "product", "grade"],
            set_={
                "lots": table.c.lots + stmt.excluded.lots,
                "net_g": table.c.net_g + stmt.excluded.net_g,
                "unpriced_lots": table.c.unpriced_lots + stmt.excluded.unpriced_lots,
                "amount_fen": table.c.amount_fen + stmt.excluded.amount_fen,
            },
        )
        session.execute(stmt)


@dataclass(frozen=True)
class AggregateRow:
    day: date
    station: str
    product: str
    grade: str
    lots: int
    net_g: int
    unpriced_lots: int
    amount_fen: int


def query(
    *, session: Session, first_day: date,
    last_day: date,
    station_ids: list[str] | None = None,
    product: str | None = None,
    grade: str | None = None,
) -> list[AggregateRow]:
    """Stored daily rows in the range (inclusive), ordered by day, station, product, grade."""
    t = DailyAggregate
    stmt = (
        select(
            t.day, t.station_id, t.product, t.grade, t.lots, t.net_g, t.unpriced_lots, t.amount_fen
        )
        .where(t.day >= first_day, t.day <= last_day)
        .order_by(t.day, t.station_id, t.product, t.grade)
    )
    if station_ids is not None:
        stmt = stmt.where(t.station_id.in_(station_ids))
    if product is not None:
        stmt = stmt.where(t.product == product)
    if grade is not None:
        stmt = stmt.where(t.grade == grade)
    return [AggregateRow(*r) for r in session.execute(stmt)]


@dataclass(frozen=True)
class TotalRow:
    station: str
    product: str
    grade: str
    lots: int
    net_g: int
    unpriced_lots: int
    amount_fen: int


def totals(
    *, session: Session, first_day: date, last_day: date, station_ids: list[str] | None = None
) -> list[TotalRow]:
    """Range totals per station × product × grade, summed in the database."""
    t = DailyAggregate
    stmt = (
        select(
            t.station_id,
            t.product,
            t.grade,
            func.sum(t.lots),
            func.sum(t.net_g),
            func.sum(t.unpriced_lots),
            func.sum(t.amount_fen),
        )
        .where(t.day >= first_day, t.day <= last_day)
        .group_by(t.station_id, t.product, t.grade)
        .order_by(t.station_id, t.product, t.grade)
    )
    if station_ids is not None:
        stmt = stmt.where(t.station_id.in_(station_ids))
    return [
        TotalRow(r[0], r[1], r[2], int(r[3]), int(r[4]), int(r[5]), int(r[6]))
        for r in session.execute(stmt)
    ]


def recount(
    *, session: Session, station_ids: list[str] | None = None
) -> dict[AggKey, AggregateDelta]:
    """The aggregates recomputed from the raw lots."""
    stmt = select(
        Lot.intake_date,
        Lot.station_id,
        Lot.product,
        Lot.grade,
        func.count(),
        func.sum(Lot.net_g),
        func.sum(case((Lot.amount_fen.is_(None), 1), else_=0)),
        func.coalesce(func.sum(Lot.amount_fen), 0),
    ).group_by(Lot.intake_date, Lot.station_id, Lot.product, Lot.grade)
    if station_ids is not None:
        stmt = stmt.where(Lot.station_id.in_(station_ids))
    out: dict[AggKey, AggregateDelta] = {}
    for day, station, product, grade, n, net, unpriced, amount in session.execute(stmt):
        out[(day, station, product, grade)] = AggregateDelta(
            int(n), int(net), int(unpriced), int(amount)
        )
    return out


def stored(
    *, session: Session, station_ids: list[str] | None = None
) -> dict[AggKey, AggregateDelta]:
    """The stored aggregates as the same mapping :func:`recount` returns."""
    stmt = select(DailyAggregate)
    if station_ids is not None:
        stmt = stmt.where(DailyAggregate.station_id.in_(station_ids))
    return {
        (r.day, r.station_id, r.product, r.grade): AggregateDelta(
            r.lots, r.net_g, r.unpriced_lots, r.amount_fen
        )
        for r in session.scalars(stmt)
        if r.lots
    }
