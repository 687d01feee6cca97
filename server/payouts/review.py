"""Reads of the payout review pages: run list with totals, a run's lines
(paged, with the farmer's name, household and low-income mark, and the totals of all
lines), a line's lots, the unpriced lots, and one lot with everything a reviewer checks.

``scope`` is the cooperative the viewer is limited to (``None``: an admin, every
cooperative); a run or lot outside it answers the same "not found" as an unknown one.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, literal, select, union_all
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Subquery

from server.coldchain.models import LotColdStay
from server.core.errors import NotFound
from server.farmers.models import Farmer
from server.lots.models import Lot, LotPart
from server.payouts.cells import Figures, Totalled
from server.payouts.models import PaidLot, PayoutAdjustment, PayoutRun
from server.payouts.queries import (
    LotLine,
    get_run,
    line_lots,
    missing_run,
    run_lots,
    runs_for,
    unpriced_filter,
)
from server.photos.models import LotPhoto
from server.stations.models import Cooperative, Station


@dataclass(frozen=True)
class RunRow(Totalled):
    """A run in the list: what it pays (the figures it was made and approved with)."""

    run: PayoutRun
    lots: int
    amount_fen: int
    adjustments_fen: int


@dataclass(frozen=True)
class ReviewLine(Figures):
    farmer_id: str
    name: str
    household: str | None
    low_income: bool


@dataclass(frozen=True)
class Totals(Figures):
    farmers: int


@dataclass(frozen=True)
class RunReview:
    run: PayoutRun
    lines: list[ReviewLine]  # this page's
    totals: Totals  # of every line
    late_lots: int
    unpriced_lots: int
    changed: bool  # a draft whose lots changed since it was made (approval would refuse)


@dataclass(frozen=True)
class FarmerLots:
    run: PayoutRun
    farmer: Farmer
    lots: list[LotLine]  # this page's
    count: int
    line: ReviewLine | None


@dataclass(frozen=True)
class UnpricedLot:
    lot: Lot
    farmer_name: str


@dataclass(frozen=True)
class LotDetail:
    lot: Lot
    farmer: Farmer | None
    station_name: str
    parts: list[LotPart]
    stay: LotColdStay | None
    has_photo: bool
    paid_by_run: int | None


def scoped_run(*, session: Session, run_id: int, scope: str | None) -> PayoutRun:
    """The run, if the viewer's cooperative may see it."""
    run = get_run(session=session, run_id=run_id)
    if scope is not None and run.cooperative_id != scope:
        raise missing_run(run_id)
    return run


def run_rows(*, session: Session, scope: str | None, limit: int = 200) -> list[RunRow]:
    """Newest runs first with their lots, amount and adjustments."""
    runs = runs_for(session=session, cooperative_id=scope, limit=limit)
    ids = [r.id for r in runs]
    adjustments: dict[int, int] = {}
    if ids:
        adjustments = {
            int(run_id): int(total or 0)
            for run_id, total in session.execute(
                select(PayoutAdjustment.run_id, func.sum(PayoutAdjustment.amount_fen))
                .where(PayoutAdjustment.run_id.in_(ids))
                .group_by(PayoutAdjustment.run_id)
            )
        }
    # A draft's snapshot is what it holds (approval refuses it otherwise); an approved
    # run paid exactly its snapshot.
    return [
        RunRow(r, r.snapshot_lots, r.snapshot_amount_fen, adjustments.get(r.id, 0)) for r in runs
    ]


def _line_sums(run: PayoutRun) -> Subquery:
    """(farmer_id, lots, net_g, amount_fen, adjustments_fen, late) per line of the run: its
    lots and its adjustments together, so a farmer with only an adjustment has a line."""
    rl = run_lots(run)
    zero = literal(0)
    rows = union_all(
        select(
            rl.c.farmer_id.label("farmer_id"),
            literal(1).label("lots"),
            rl.c.net_g.label("net_g"),
            rl.c.amount_fen.label("amount_fen"),
            zero.label("adjustments_fen"),
            case((rl.c.late, 1), else_=0).label("late"),
        ),
        select(
            PayoutAdjustment.farmer_id, zero, zero, zero, PayoutAdjustment.amount_fen, zero
        ).where(PayoutAdjustment.run_id == run.id),
    ).subquery("line_rows")
    return (
        select(
            rows.c.farmer_id,
            func.sum(rows.c.lots).label("lots"),
            func.sum(rows.c.net_g).label("net_g"),
            func.sum(rows.c.amount_fen).label("amount_fen"),
            func.sum(rows.c.adjustments_fen).label("adjustments_fen"),
            func.sum(rows.c.late).label("late"),
        )
        .group_by(rows.c.farmer_id)
        .subquery("line_sums")
    )


def run_review(*, session: Session, run: PayoutRun, offset: int, limit: int) -> RunReview:
    """One page of a run's lines (by farmer id) and the totals of all its lines.

    One pass over the run's lots: the lines are grouped in SQL, the totals come with the
    page's rows as window sums over every line, and only the page's rows reach Python.
    """
    g = _line_sums(run)
    # Code-point order, as queries.summarize sorts the lines (and PostgreSQL's "C" collation
    # sorts several times faster than a linguistic one).
    order: ColumnElement[Any] = g.c.farmer_id
    if session.get_bind().dialect.name == "postgresql":
        order = g.c.farmer_id.collate("C")
    page = session.execute(
        select(
            g.c.farmer_id,
            g.c.lots,
            g.c.net_g,
            g.c.amount_fen,
            g.c.adjustments_fen,
            func.count().over().label("t_farmers"),
            func.sum(g.c.lots).over().label("t_lots"),
            func.sum(g.c.net_g).over().label("t_net_g"),
            func.sum(g.c.amount_fen).over().label("t_amount_fen"),
            func.sum(g.c.adjustments_fen).over().label("t_adjustments_fen"),
            func.sum(g.c.late).over().label("t_late"),
        )
        .order_by(order)
        .offset(offset)
        .limit(limit)
    ).all()
    if page:
        r = page[0]
        totals = Totals(
            farmers=int(r.t_farmers),
            lots=int(r.t_lots or 0),
            net_g=int(r.t_net_g or 0),
            amount_fen=int(r.t_amount_fen or 0),
            adjustments_fen=int(r.t_adjustments_fen or 0),
        )
        late = int(r.t_late or 0)
    else:  # past the last page, or no lines at all: the totals on their own
        t = session.execute(
            select(
                func.count(),
                func.sum(g.c.lots),
                func.sum(g.c.net_g),
                func.sum(g.c.amount_fen),
                func.sum(g.c.adjustments_fen),
                func.sum(g.c.late),
            )
        ).one()
        totals = Totals(
            farmers=int(t[0]),
            lots=int(t[1] or 0),
            net_g=int(t[2] or 0),
            amount_fen=int(t[3] or 0),
            adjustments_fen=int(t[4] or 0),
        )
        late = int(t[5] or 0)
    ids = [r.farmer_id for r in page]
    farmers = (
        {f.id: f for f in session.scalars(select(Farmer).where(Farmer.id.in_(ids)))} if ids else {}
    )
    lines = [
        _review_line(
            r.farmer_id, farmers.get(r.farmer_id), r.lots, r.net_g, r.amount_fen, r.adjustments_fen
        )
        for r in page
    ]
    unpriced = session.scalar(select(func.count()).select_from(Lot).where(*unpriced_filter(run)))
    changed = run.status == "draft" and (totals.lots, totals.amount_fen) != (
        run.snapshot_lots,
        run.snapshot_amount_fen,
    )
    return RunReview(run, lines, totals, late, int(unpriced or 0), changed)


def farmer_lots(
    *, session: Session, run: PayoutRun, farmer_id: str, offset: int, limit: int
) -> FarmerLots:
    """Drill-down: one page of a farmer's lots in the run, with their priced parts."""
    farmer = session.get(Farmer, farmer_id)
    if farmer is None or farmer.cooperative_id != run.cooperative_id:
        raise NotFound(f"该结算单没有这个农户 / no farmer {farmer_id!r} in this run")
    every = line_lots(session=session, run=run, farmer_id=farmer_id)
    review = run_review_line(session=session, run=run, farmer=farmer)
    return FarmerLots(run, farmer, every[offset : offset + limit], len(every), review)


def run_review_line(*, session: Session, run: PayoutRun, farmer: Farmer) -> ReviewLine | None:
    """The farmer's line of the run (``None`` when it has neither lots nor adjustments)."""
    rl = run_lots(run)
    n, net, amount = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(rl.c.net_g), 0),
            func.coalesce(func.sum(rl.c.amount_fen), 0),
        ).where(rl.c.farmer_id == farmer.id)
    ).one()
    adj = session.scalar(
        select(func.coalesce(func.sum(PayoutAdjustment.amount_fen), 0)).where(
            PayoutAdjustment.run_id == run.id, PayoutAdjustment.farmer_id == farmer.id
        )
    )
    if not n and not adj:
        return None
    return _review_line(farmer.id, farmer, n, net, amount, adj)


def _review_line(
    farmer_id: str, farmer: Farmer | None, lots: Any, net_g: Any, amount_fen: Any, adj_fen: Any
) -> ReviewLine:
    """A line with the farmer's name and marks (the id alone for a farmer no longer there);
    a sum over no rows (``None``) counts 0."""
    return ReviewLine(
        farmer_id=farmer_id,
        name=farmer.name if farmer else farmer_id,
        household=farmer.household if farmer else None,
        low_income=bool(farmer.low_income) if farmer else False,
        lots=int(lots or 0),
        net_g=int(net_g or 0),
        amount_fen=int(amount_fen or 0),
        adjustments_fen=int(adj_fen or 0),
    )


def farmer_adjustments(
    *, session: Session, run: PayoutRun, farmer_id: str | None = None, limit: int | None = None
) -> list[tuple[PayoutAdjustment, str]]:
    """A run's adjustments (one farmer's, or all), oldest first, with the farmer's name
    (the first ``limit`` of them when given)."""
    stmt = (
        select(PayoutAdjustment, Farmer.name)
        .join(Farmer, Farmer.id == PayoutAdjustment.farmer_id)
        .where(PayoutAdjustment.run_id == run.id)
    )
    if farmer_id is not None:
        stmt = stmt.where(PayoutAdjustment.farmer_id == farmer_id)
    stmt = stmt.order_by(PayoutAdjustment.id)
    if limit is not None:
        stmt = stmt.limit(limit)
    return [(a, str(n)) for a, n in session.execute(stmt)]


def cooperative_name(*, session: Session, cooperative_id: str) -> str:
    coop = session.get(Cooperative, cooperative_id)
    return coop.name if coop else cooperative_id


def unpriced_page(
    *, session: Session, run: PayoutRun, offset: int, limit: int
) -> tuple[list[UnpricedLot], int]:
    """One page of the unpriced lots a run could not pay, with the farmer's name."""
    where = unpriced_filter(run)
    count = session.scalar(select(func.count()).select_from(Lot).where(*where)) or 0
    rows = session.execute(
        select(Lot, Farmer.name)
        .join(Farmer, Farmer.id == Lot.farmer_id)
        .where(*where)
        .order_by(Lot.captured_at, Lot.id)
        .offset(offset)
        .limit(limit)
    ).all()
    return [UnpricedLot(lot, name) for lot, name in rows], int(count)


def lot_detail(*, session: Session, lot_id: uuid.UUID, scope: str | None) -> LotDetail:
    """A lot with its parts, cold-room stay, photo presence and the run that paid it."""
    lot = session.get(Lot, lot_id)
    if lot is None or (scope is not None and lot.cooperative_id != scope):
        raise NotFound(f"批次不存在 / unknown lot {lot_id}")
    parts = list(
        session.scalars(select(LotPart).where(LotPart.lot_id == lot.id).order_by(LotPart.part_no))
    )
    has_photo = (
        session.scalar(select(func.count()).select_from(LotPhoto).where(LotPhoto.lot_id == lot.id))
        or 0
    ) > 0
    station = session.get(Station, lot.station_id)
    return LotDetail(
        lot=lot,
        farmer=session.get(Farmer, lot.farmer_id),
        station_name=station.name if station else lot.station_id,
        parts=parts,
        stay=session.get(LotColdStay, lot.id),
        has_photo=has_photo,
        paid_by_run=session.scalar(select(PaidLot.run_id).where(PaidLot.lot_id == lot.id)),
    )


def cooperatives(*, session: Session, scope: str | None) -> list[tuple[str, str]]:
    """(id, name) of the cooperatives a viewer may create runs for."""
    stmt = select(Cooperative.id, Cooperative.name).order_by(Cooperative.id)
    if scope is not None:
        stmt = stmt.where(Cooperative.id == scope)
    return [(str(i), str(n)) for i, n in session.execute(stmt)]
