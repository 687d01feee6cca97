"""Payout runs, the state machine: draft → approved → exported → paid (or a draft discarded).

A run takes every priced lot of the cooperative's farmers dated on or before the period's
end that no approved run paid; lots dated before its start are flagged ``late``. It lists
the unpriced lots it could not pay. Lines are per farmer: lots, net, amount (the sum of
the rounded lot amounts), adjustments, total. What a run holds and shows is read in
:mod:`server.payouts.queries`; its bank batch is :mod:`server.payouts.export`.

A draft is a definition over the lots (those received before it was created, not paid by
a run approved before it was created), so making one is one query however many lots it
holds. Approval copies exactly those lots into ``paid_lots`` (primary key: the lot id), so
the database refuses a lot paid twice; a draft whose content changed since it was made
(a lot committed late, a lot paid by another run) is refused and must be run again.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import (
    CreateTableAs,
    column,
    insert,
    literal,
    select,
    table,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from server.audit.service import record
from server.core.db import UTCDateTime, utcnow
from server.core.errors import AlreadyPaid, Forbidden, Invalid, InvalidState, NotFound
from server.farmers.models import Farmer
from server.payouts.models import PaidLot, PayoutAdjustment, PayoutRun
from server.payouts.queries import lot_totals, run_lots, summarize
from server.stations.models import Cooperative


def create_run(
    *, session: Session, cooperative_id: str, period_from: date, period_to: date, actor: str
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
    lots, amount = lot_totals(session=session, run=run)
    run.snapshot_lots = lots
    run.snapshot_amount_fen = amount
    record(
        session=session,
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


def add_adjustment(
    *, session: Session, run: PayoutRun, farmer_id: str, amount_fen: int, reason: str, actor: str
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
        session=session,
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


def four_eyes_ok(*, session: Session, run: PayoutRun, actor: str) -> bool:
    """May ``actor`` approve ``run``: anyone but its creator, or its creator where the
    cooperative allows one person to do both."""
    if actor != run.created_by:
        return True
    coop = session.get(Cooperative, run.cooperative_id)
    return coop is not None and coop.allow_self_approval


def approve(*, session: Session, run: PayoutRun, actor: str) -> PayoutRun:
    """Approve a draft: its lots become paid; a lot already paid by another run refuses it.

    Four-eyes: the approver must not be the run's creator, unless the cooperative allows
    one person to do both (then the audit entry says so).
    """
    _require(run, "draft", "只能审批草稿结算单 / only a draft run can be approved")
    self_approved = actor == run.created_by
    if not four_eyes_ok(session=session, run=run, actor=actor):
        raise Forbidden(
            "结算单须由创建人以外的另一位审核员审批 / a run is approved by another reviewer "
            f"than the one who created it ({run.created_by})"
        )
    if lot_totals(session=session, run=run) != (run.snapshot_lots, run.snapshot_amount_fen):
        raise InvalidState(
            "结算单草稿生成后已有变化，请重新生成 / the draft changed since it was made "
            "(a lot arrived late or was paid by another run): run it again"
        )
    now = utcnow()
    rl = run_lots(run)
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
    summary = summarize(session=session, run=run)
    record(
        session=session,
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


def discard(*, session: Session, run: PayoutRun, actor: str) -> PayoutRun:
    _require(run, "draft", "只能作废草稿结算单 / only a draft run can be discarded")
    run.status = "discarded"
    record(
        session=session,
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


def mark_exported(*, session: Session, run: PayoutRun, actor: str, fmt: str) -> None:
    check_exportable(run)
    if run.status == "approved":
        run.status = "exported"
        run.exported_at = utcnow()
    record(
        session=session,
        actor=actor,
        action="payout_run_exported",
        entity="payout_run",
        entity_id=str(run.id),
        format=fmt,
    )
    session.flush()


def mark_paid(*, session: Session, run: PayoutRun, actor: str) -> PayoutRun:
    _require(
        run, "exported", "只能将已导出的结算单标记为已付 / only an exported run can be marked paid"
    )
    run.status = "paid"
    run.paid_at = utcnow()
    record(
        session=session, actor=actor, action="payout_run_paid", entity="payout_run", entity_id=str(
            run.id
        )
    )
    session.flush()
    return run


def _require(run: PayoutRun, status: str, message: str) -> None:
    if run.status != status:
        raise InvalidState(f"{message}（当前状态 / status: {run.status}）")
