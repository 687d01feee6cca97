"""Payout runs: draft → approved → exported → paid (or a draft discarded).

A run takes every priced lot of the cooperative's farmers dated on or before the period's
end that no approved run paid; lots dated before its start are flagged ``late``. It lists
the unpriced lots it could not pay. Lines are per farmer: lots, net, amount (the sum of
the rounded lot amounts), adjustments, total.

A draft is a definition over the lots (those received before it was created, not paid by
a run approved before it was created), so making one is one query however many lots it
holds. Approval copies exactly those lots into ``paid_lots`` (primary key: the lot id), so
the database refuses a lot paid twice; a draft whose content changed since it was made
(a lot committed late, a lot paid by another run) is refused and must be run again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    CreateTableAs,
    column,
    exists,
    func,
    insert,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql import Subquery

from server.audit.service import record
from server.core.db import UTCDateTime, utcnow
from server.core.errors import AlreadyPaid, Forbidden, Invalid, InvalidState, NotFound
from server.farmers.models import Farmer
from server.lots.models import Lot, LotPart
from server.payouts.cells import Totalled
from server.payouts.models import FINAL_STATUSES, PaidLot, PayoutAdjustment, PayoutRun
from server.stations.models import Cooperative


@dataclass(frozen=True)
class Line(Totalled):
    farmer: str
    lots: int
    net_g: int
    amount_fen: int
    adjustments_fen: int

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


def get_run(session: Session, run_id: int) -> PayoutRun:
    run = session.get(PayoutRun, run_id)
    if run is None:
        raise NotFound(f"结算单不存在 / unknown payout run {run_id}")
    return run


def create_run(
    session: Session, *, cooperative_id: str, period_from: date, period_to: date, actor: str
) -> PayoutRun:
    """Create a draft run for the period and fill it with the lots it pays."""
    if session.get(Cooperative, cooperative_id) is None:
        raise NotFound(f"合作社不存在 / unknown cooperative {cooperative_id!r}")
    if period_from > period_to:
        raise Invalid("开始日期晚于结束日期 / the period starts after it ends")
    run = PayoutRun(
        cooperative_id=cooperative_id,
        period_from=period_from,
        period_to=period_to,
        status="draft",
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(run)
    session.flush()
    lots, amount = _totals(session, run)
    run.snapshot_lots = lots
    run.snapshot_amount_fen = amount
    record(
        session,
        actor=actor,
        action="payout_run_created",
        entity="payout_run",
        entity_id=str(run.id),
        cooperative=cooperative_id,
        period_from=period_from.isoformat(),
        period_to=period_to.isoformat(),
        lots=lots,
        amount_fen=amount,
    )
    session.flush()
    return run


def _run_lots(run: PayoutRun) -> Subquery:
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


def _totals(session: Session, run: PayoutRun) -> tuple[int, int]:
    rl = _run_lots(run)
    n, amount = session.execute(
        select(func.count(), func.coalesce(func.sum(rl.c.amount_fen), 0))
    ).one()
    return int(n), int(amount)


def summarize(session: Session, run: PayoutRun) -> RunSummary:
    """Lines per farmer, unpriced lots and late lots of a run."""
    rl = _run_lots(run)
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
        lines[farmer] = Line(farmer, int(n), int(net), int(amount), adj)
    for farmer, adj in adjustments.items():
        if farmer not in lines:
            lines[farmer] = Line(farmer, 0, 0, 0, int(adj))
    late = list(
        session.scalars(
            select(rl.c.lot_id)
            .join(Lot, Lot.id == rl.c.lot_id)
            .where(rl.c.late)
            .order_by(Lot.captured_at, Lot.id)
        )
    )
    return RunSummary(run, [lines[k] for k in sorted(lines)], unpriced_lots(session, run), late)


def unpriced_lots(session: Session, run: PayoutRun) -> list[uuid.UUID]:
    """Unpriced lots of the cooperative dated on or before the run's end (never paid)."""
    return list(
        session.scalars(
            select(Lot.id)
            .where(
                Lot.cooperative_id == run.cooperative_id,
                Lot.status == "unpriced",
                Lot.intake_date <= run.period_to,
            )
            .order_by(Lot.captured_at, Lot.id)
        )
    )


@dataclass(frozen=True)
class LotLine:
    lot: Lot
    late: bool
    parts: list[LotPart]


def line_lots(session: Session, *, run: PayoutRun, farmer_id: str) -> list[LotLine]:
    """Drill-down: the lots of one farmer's line with their priced parts."""
    rl = _run_lots(run)
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


def adjustments_of(session: Session, run: PayoutRun) -> list[PayoutAdjustment]:
    """Every adjustment of a run with its reason, who and when, oldest first."""
    return list(
        session.scalars(
            select(PayoutAdjustment)
            .where(PayoutAdjustment.run_id == run.id)
            .order_by(PayoutAdjustment.id)
        )
    )


def add_adjustment(
    session: Session, *, run: PayoutRun, farmer_id: str, amount_fen: int, reason: str, actor: str
) -> PayoutAdjustment:
    """A correction with its reason, on a draft run only (approved runs are immutable)."""
    _require(run, "draft", "只能调整草稿结算单 / only a draft run can be adjusted")
    farmer = session.get(Farmer, farmer_id)
    if farmer is None or farmer.cooperative_id != run.cooperative_id:
        raise Invalid(f"该合作社无此农户 / farmer {farmer_id!r} is not in this cooperative")
    if amount_fen == 0 or not reason.strip():
        raise Invalid("调整需非零金额和理由 / an adjustment needs a non-zero amount and a reason")
    adj = PayoutAdjustment(
        run_id=run.id,
        farmer_id=farmer_id,
        amount_fen=amount_fen,
        reason=reason.strip(),
        created_by=actor,
        created_at=utcnow(),
    )
    session.add(adj)
    record(
        session,
        actor=actor,
        action="payout_adjusted",
        entity="payout_run",
        entity_id=str(run.id),
        farmer=farmer_id,
        amount_fen=amount_fen,
        reason=reason.strip(),
    )
    session.flush()
    return adj


def four_eyes_ok(session: Session, *, run: PayoutRun, actor: str) -> bool:
    """May ``actor`` approve ``run``: anyone but its creator, or its creator where the
    cooperative allows one person to do both."""
    if actor != run.created_by:
        return True
    coop = session.get(Cooperative, run.cooperative_id)
    return coop is not None and coop.allow_self_approval


def approve(session: Session, *, run: PayoutRun, actor: str) -> PayoutRun:
    """Approve a draft: its lots become paid; a lot already paid by another run refuses it.

    Four-eyes: the approver must not be the run's creator, unless the cooperative allows
    one person to do both (then the audit entry says so).
    """
    _require(run, "draft", "只能审批草稿结算单 / only a draft run can be approved")
    self_approved = actor == run.created_by
    if not four_eyes_ok(session, run=run, actor=actor):
        raise Forbidden(
            "结算单须由创建人以外的另一位审核员审批 / a run is approved by another reviewer "
            f"than the one who created it ({run.created_by})"
        )
    if _totals(session, run) != (run.snapshot_lots, run.snapshot_amount_fen):
        raise InvalidState(
            "结算单草稿生成后已有变化，请重新生成 / the draft changed since it was made "
            "(a lot arrived late or was paid by another run): run it again"
        )
    now = utcnow()
    rl = _run_lots(run)
    columns = ["lot_id", "run_id", "farmer_id", "net_g", "amount_fen", "late", "approved_at"]

    def paid_rows(src: Any) -> Any:
        return select(
            src.c.lot_id,
            literal(run.id),
            src.c.farmer_id,
            src.c.net_g,
            src.c.amount_fen,
            src.c.late,
            literal(now, UTCDateTime()),
        )

    try:
        with session.begin_nested():
            if session.get_bind().dialect.name == "postgresql":
                # Select first, then insert: an INSERT into paid_lots whose anti-join reads
                # paid_lots can rescan its own new rows per lot (quadratic on PostgreSQL
                # while the table's statistics still say it is small).
                session.execute(text("DROP TABLE IF EXISTS gf_approving"))
                session.execute(CreateTableAs(select(rl), "gf_approving", temporary=True))
                staged = table("gf_approving", *(column(c) for c in rl.c.keys()))
                session.execute(insert(PaidLot).from_select(columns, paid_rows(staged)))
                session.execute(text("DROP TABLE gf_approving"))
            else:
                session.execute(insert(PaidLot).from_select(columns, paid_rows(rl)))
    except IntegrityError:
        clashes = session.execute(
            select(PaidLot.lot_id, PaidLot.run_id).join(rl, rl.c.lot_id == PaidLot.lot_id).limit(20)
        ).all()
        raise AlreadyPaid(
            "部分批次已在其他已审批的结算单中，不能重复支付 / some lots are already in another "
            "approved run; a lot is paid exactly once",
            detail=[{"lot": str(lot), "run": r} for lot, r in clashes],
        ) from None
    run.status = "approved"
    run.approved_at = now
    run.approved_by = actor
    summary = summarize(session, run)
    record(
        session,
        actor=actor,
        action="payout_run_approved",
        entity="payout_run",
        entity_id=str(run.id),
        self_approved=self_approved,
        created_by=run.created_by,
        lines=len(summary.lines),
        total_fen=sum(line.total_fen for line in summary.lines),
    )
    session.flush()
    return run


def discard(session: Session, *, run: PayoutRun, actor: str) -> PayoutRun:
    _require(run, "draft", "只能作废草稿结算单 / only a draft run can be discarded")
    run.status = "discarded"
    record(
        session,
        actor=actor,
        action="payout_run_discarded",
        entity="payout_run",
        entity_id=str(run.id),
    )
    session.flush()
    return run


def check_exportable(run: PayoutRun) -> None:
    """Only an approved (or later) run has a bank batch."""
    if run.status not in ("approved", "exported", "paid"):
        raise InvalidState("只能导出已审批的结算单 / only an approved run can be exported")


def mark_exported(session: Session, *, run: PayoutRun, actor: str, fmt: str) -> None:
    check_exportable(run)
    if run.status == "approved":
        run.status = "exported"
        run.exported_at = utcnow()
    record(
        session,
        actor=actor,
        action="payout_run_exported",
        entity="payout_run",
        entity_id=str(run.id),
        format=fmt,
    )
    session.flush()


def mark_paid(session: Session, *, run: PayoutRun, actor: str) -> PayoutRun:
    _require(
        run, "exported", "只能将已导出的结算单标记为已付 / only an exported run can be marked paid"
    )
    run.status = "paid"
    run.paid_at = utcnow()
    record(
        session, actor=actor, action="payout_run_paid", entity="payout_run", entity_id=str(run.id)
    )
    session.flush()
    return run


def _require(run: PayoutRun, status: str, message: str) -> None:
    if run.status != status:
        raise InvalidState(f"{message}（当前状态 / status: {run.status}）")


def runs_for(session: Session, *, cooperative_id: str | None) -> list[PayoutRun]:
    stmt = select(PayoutRun).order_by(PayoutRun.id.desc()).limit(500)
    if cooperative_id is not None:
        stmt = stmt.where(PayoutRun.cooperative_id == cooperative_id)
    return list(session.scalars(stmt))
