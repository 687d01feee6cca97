"""Read side of payout runs: which lots a run holds, its lines per farmer, its unpriced
and late lots, a line's lots, its adjustments.

A draft holds a definition over the lots (those received before it was created, not paid
by a run approved before it was created); an approved run holds the rows copied into
``paid_lots``. :func:`run_lots` gives both as one subquery, so every read below (and the
state machine's snapshot check) counts the same lots.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session
from sqlalchemy.sql import ColumnElement, Subquery

from server.core.errors import NotFound
from server.lots.models import Lot, LotPart
from server.payouts.cells import Figures
from server.payouts.models import FINAL_STATUSES, PaidLot, PayoutAdjustment, PayoutRun


@dataclass(frozen=True)
class Line(Figures):
    farmer: str

    def as_dict(self) -> dict[str, int | str]:
        return {
            "farmer": self.farmer,
            "lots": self.lots,
            "net_g": self.net_g,
            "amount_fen": self.amount_fen,
            "adjustments_fen": self.adjustments_fen,
            "total_fen": self.total_fen,
        }


@dataclass(frozen=True)
class RunSummary:
    run: PayoutRun
    lines: list[Line]
    unpriced: list[uuid.UUID]
    late: list[uuid.UUID]

    def as_json(self) -> dict[str, object]:
        """The shape ``gongfang payouts run --json`` prints."""
        return {
            "run": self.run.id,
            "lines": [line.as_dict() for line in self.lines],
            "unpriced": [str(i) for i in self.unpriced],
            "late": [str(i) for i in self.late],
        }


@dataclass(frozen=True)
class LotLine:
    lot: Lot
    late: bool
    parts: list[LotPart]


def missing_run(run_id: int) -> NotFound:
    return NotFound(f"结算单不存在 / unknown payout run {run_id}")


def get_run(*, session: Session, run_id: int) -> PayoutRun:
    run = session.get(PayoutRun, run_id)
    if run is None:
        raise missing_run(run_id)
    return run


def runs_for(
    *, session: Session, cooperative_id: str | None, limit: int = 500
) -> list[PayoutRun]:
    """The newest runs first (of one cooperative, or of all with ``None``)."""
    stmt = select(PayoutRun).order_by(PayoutRun.id.desc()).limit(limit)
    if cooperative_id is not None:
        stmt = stmt.where(PayoutRun.cooperative_id == cooperative_id)
    return list(session.scalars(stmt))


def run_lots(run: PayoutRun) -> Subquery:
    """(lot_id, farmer_id, net_g, amount_fen, late) of the lots a run holds."""
    if run.status in FINAL_STATUSES:
        return (
            select(
                PaidLot.lot_id.label("lot_id"),
                PaidLot.farmer_id.label("farmer_id"),
                PaidLot.net_g.label("net_g"),
                PaidLot.amount_fen.label("amount_fen"),
                PaidLot.late.label("late"),
            )
            .where(PaidLot.run_id == run.id)
            .subquery("run_lots")
        )
    paid_before = exists().where(PaidLot.lot_id == Lot.id, PaidLot.approved_at <= run.created_at)
    return (
        select(
            Lot.id.label("lot_id"),
            Lot.farmer_id.label("farmer_id"),
            Lot.net_g.label("net_g"),
            Lot.amount_fen.label("amount_fen"),
            (Lot.intake_date < run.period_from).label("late"),
        )
        .where(
            Lot.cooperative_id == run.cooperative_id,
            Lot.status == "priced",
            Lot.intake_date <= run.period_to,
            Lot.received_at <= run.created_at,
            ~paid_before,
        )
        .subquery("run_lots")
    )


def lot_totals(*, session: Session, run: PayoutRun) -> tuple[int, int]:
    """(lots, amount_fen) the run holds now: what a draft's snapshot is checked against."""
    rl = run_lots(run)
    n, amount = session.execute(
        select(func.count(), func.coalesce(func.sum(rl.c.amount_fen), 0))
    ).one()
    return int(n), int(amount)


def summarize(*, session: Session, run: PayoutRun) -> RunSummary:
    """Lines per farmer, unpriced lots and late lots of a run."""
    rl = run_lots(run)
    rows = session.execute(
        select(
            rl.c.farmer_id, func.count(), func.sum(rl.c.net_g), func.sum(rl.c.amount_fen)
        ).group_by(rl.c.farmer_id)
    ).all()
    adjustments: dict[str, int] = {
        r[0]: int(r[1] or 0)
        for r in session.execute(
            select(PayoutAdjustment.farmer_id, func.sum(PayoutAdjustment.amount_fen))
            .where(PayoutAdjustment.run_id == run.id)
            .group_by(PayoutAdjustment.farmer_id)
        )
    }
    lines: dict[str, Line] = {}
    for farmer, n, net, amount in rows:
        adj = int(adjustments.get(farmer, 0) or 0)
        lines[farmer] = Line(
            farmer, lots=int(n), net_g=int(net), amount_fen=int(amount), adjustments_fen=adj
        )
    for farmer, adj in adjustments.items():
        if farmer not in lines:
            lines[farmer] = Line(farmer, lots=0, net_g=0, amount_fen=0, adjustments_fen=int(adj))
    late = list(
        session.scalars(
            select(rl.c.lot_id)
            .join(Lot, Lot.id == rl.c.lot_id)
            .where(rl.c.late)
            .order_by(Lot.captured_at, Lot.id)
        )
    )
    return RunSummary(
        run, [lines[k] for k in sorted(lines)], unpriced_lots(session=session, run=run), late
    )


def unpriced_filter(run: PayoutRun) -> tuple[ColumnElement[bool], ...]:
    """The cooperative's unpriced lots dated on or before the run's end (never paid)."""
    return (
        Lot.cooperative_id == run.cooperative_id,
        Lot.status == "unpriced",
        Lot.intake_date <= run.period_to,
    )


def unpriced_lots(*, session: Session, run: PayoutRun) -> list[uuid.UUID]:
    """Unpriced lots of the cooperative dated on or before the run's end (never paid)."""
    return list(
        session.scalars(
            select(Lot.id).where(*unpriced_filter(run)).order_by(Lot.captured_at, Lot.id)
        )
    )


def line_lots(*, session: Session, run: PayoutRun, farmer_id: str) -> list[LotLine]:
    """Drill-down: the lots of one farmer's line with their priced parts."""
    rl = run_lots(run)
    rows = session.execute(
        select(Lot, rl.c.late)
        .join(rl, rl.c.lot_id == Lot.id)
        .where(rl.c.farmer_id == farmer_id)
        .order_by(Lot.captured_at, Lot.id)
    ).all()
    ids = [lot.id for lot, _ in rows]
    parts: dict[uuid.UUID, list[LotPart]] = {}
    for start in range(0, len(ids), 900):
        for part in session.scalars(
            select(LotPart)
            .where(LotPart.lot_id.in_(ids[start : start + 900]))
            .order_by(LotPart.lot_id, LotPart.part_no)
        ):
            parts.setdefault(part.lot_id, []).append(part)
    return [LotLine(lot, bool(late), parts.get(lot.id, [])) for lot, late in rows]


def adjustments_of(*, session: Session, run: PayoutRun) -> list[PayoutAdjustment]:
    """Every adjustment of a run with its reason, who and when, oldest first."""
    return list(
        session.scalars(
            select(PayoutAdjustment)
            .where(PayoutAdjustment.run_id == run.id)
            .order_by(PayoutAdjustment.id)
        )
    )
