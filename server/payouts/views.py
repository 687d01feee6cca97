"""Payout runs over HTTP: run, review lines, drill down, adjust, approve, export, pay."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from server.core.deps import (
    CurrentUser,
    PayoutStaff,
    Reviewer,
    RowId,
    SessionDep,
    check_cooperative,
    scope_cooperative,
)
from server.core.metrics import PAYOUT_RUNS
from server.farmers.sealed import FieldCipherDep
from server.lots.views import LotOut
from server.payouts import export as bank_batch
from server.payouts import queries, service
from server.payouts.models import PayoutRun

router = APIRouter(prefix="/api/v1/payouts", tags=["payouts"])


class RunBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    cooperative: str = Field(min_length=1, max_length=64)
    period_from: date = Field(alias="from")
    period_to: date = Field(alias="to")

    @model_validator(mode="after")
    def _order(self) -> RunBody:
        if self.period_from > self.period_to:
            raise ValueError("开始日期晚于结束日期 / the period starts after it ends")
        return self


class LineOut(BaseModel):
    farmer: str
    lots: int
    net_g: int
    amount_fen: int
    adjustments_fen: int
    total_fen: int


class AdjustmentOut(BaseModel):
    farmer: str
    amount_fen: int
    reason: str
    created_by: str
    created_at: datetime


class RunOut(BaseModel):
    run: int
    cooperative: str
    period_from: date
    period_to: date
    status: str
    created_by: str
    approved_by: str | None
    lines: list[LineOut]
    adjustments: list[AdjustmentOut]
    unpriced: list[str]
    late: list[str]
    total_fen: int


class RunBrief(BaseModel):
    run: int
    cooperative: str
    period_from: date
    period_to: date
    status: str

    @classmethod
    def of(cls, run: PayoutRun) -> RunBrief:
        return cls(
            run=run.id,
            cooperative=run.cooperative_id,
            period_from=run.period_from,
            period_to=run.period_to,
            status=run.status,
        )


class AdjustmentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    farmer: str = Field(min_length=1, max_length=64)
    amount_fen: StrictInt = Field(ge=-100_000_000, le=100_000_000)
    reason: str = Field(min_length=1, max_length=500)


class LotLineOut(LotOut):
    late: bool


def _out(session: SessionDep, run: PayoutRun) -> RunOut:
    s = queries.summarize(session=session, run=run)
    lines = [LineOut(**line.as_dict()) for line in s.lines]
    return RunOut(
        run=run.id,
        cooperative=run.cooperative_id,
        period_from=run.period_from,
        period_to=run.period_to,
        status=run.status,
        created_by=run.created_by,
        approved_by=run.approved_by,
        lines=lines,
        adjustments=[
            AdjustmentOut(
                farmer=a.farmer_id,
                amount_fen=a.amount_fen,
                reason=a.reason,
                created_by=a.created_by,
                created_at=a.created_at,
            )
            for a in queries.adjustments_of(session=session, run=run)
        ],
        unpriced=[str(i) for i in s.unpriced],
        late=[str(i) for i in s.late],
        total_fen=sum(line.total_fen for line in s.lines),
    )


def _run(session: SessionDep, user: CurrentUser, run_id: RowId) -> PayoutRun:
    run = queries.get_run(session=session, run_id=run_id)
    check_cooperative(user, run.cooperative_id)
    return run


@router.post(
    "/runs",
    response_model=RunOut,
    status_code=201,
    responses={404: {"description": "unknown cooperative"}},
)
def create_run(body: RunBody, session: SessionDep, user: PayoutStaff) -> RunOut:
    check_cooperative(user, body.cooperative)
    run = service.create_run(
        session=session,
        cooperative_id=body.cooperative,
        period_from=body.period_from,
        period_to=body.period_to,
        actor=user.name,
    )
    PAYOUT_RUNS.labels(action="created").inc()
    return _out(session, run)


@router.get("/runs", response_model=list[RunBrief])
def list_runs(
    session: SessionDep, user: CurrentUser, cooperative: str | None = None
) -> list[RunBrief]:
    coop = scope_cooperative(user, cooperative)
    return [RunBrief.of(r) for r in queries.runs_for(session=session, cooperative_id=coop)]


@router.get("/runs/{run_id}", response_model=RunOut)
def get_run(run_id: RowId, session: SessionDep, user: CurrentUser) -> RunOut:
    return _out(session, _run(session, user, run_id))


@router.get("/runs/{run_id}/lines/{farmer_id}/lots", response_model=list[LotLineOut])
def line_lots(
    run_id: RowId, farmer_id: str, session: SessionDep, user: CurrentUser
) -> list[LotLineOut]:
    """Drill-down: every lot of a farmer's line, each part with its pricing explanation."""
    run = _run(session, user, run_id)
    return [
        LotLineOut(**LotOut.of(ll.lot, ll.parts).model_dump(), late=ll.late)
        for ll in queries.line_lots(session=session, run=run, farmer_id=farmer_id)
    ]


@router.post("/runs/{run_id}/adjustments", response_model=RunOut, status_code=201)
def adjust(run_id: RowId, body: AdjustmentBody, session: SessionDep, user: PayoutStaff) -> RunOut:
    run = _run(session, user, run_id)
    service.add_adjustment(
        session=session,
        run=run,
        farmer_id=body.farmer,
        amount_fen=body.amount_fen,
        reason=body.reason,
        actor=user.name,
    )
    return _out(session, run)


@router.post("/runs/{run_id}/approve", response_model=RunOut)
def approve(run_id: RowId, session: SessionDep, user: Reviewer) -> RunOut:
    run = _run(session, user, run_id)
    service.approve(session=session, run=run, actor=user.name)
    PAYOUT_RUNS.labels(action="approved").inc()
    return _out(session, run)


@router.post("/runs/{run_id}/discard", response_model=RunBrief)
def discard(run_id: RowId, session: SessionDep, user: PayoutStaff) -> RunBrief:
    run = _run(session, user, run_id)
    service.discard(session=session, run=run, actor=user.name)
    return RunBrief.of(run)


@router.post(
    "/runs/{run_id}/export",
    response_class=Response,
    responses={
        200: {
            "description": "the bank batch as a file (CSV or XLSX, by `format`)",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                bank_batch.XLSX_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
def export(
    run_id: RowId,
    session: SessionDep,
    user: PayoutStaff,
    cipher: FieldCipherDep,
    fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
) -> Response:
    """The bank batch of an approved run (CSV or XLSX); the run becomes ``exported``."""
    run = _run(session, user, run_id)
    f = bank_batch.bank_file(session=session, run=run, actor=user.name, cipher=cipher, fmt=fmt)
    return Response(f.body, media_type=f.media_type, headers=f.headers)


@router.post("/runs/{run_id}/paid", response_model=RunBrief)
def paid(run_id: RowId, session: SessionDep, user: PayoutStaff) -> RunBrief:
    run = _run(session, user, run_id)
    service.mark_paid(session=session, run=run, actor=user.name)
    return RunBrief.of(run)
