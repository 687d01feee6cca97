"""Pages under a payout run: a farmer's line (their lots and adjustments, a new
adjustment on a draft) and the unpriced lots the run could not pay, each with its price
form (priced in :mod:`server.web.lots`).

The same rules as :mod:`server.web.runs`: reads through :mod:`server.payouts.review`,
writes through :mod:`server.payouts.service`, a stored write answers 303 with ``?done=…``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from server.auth.models import User
from server.core.deps import RowId, SessionDep
from server.payouts import review, service
from server.payouts.models import PayoutRun
from server.web.forms import FieldError, parse_reason, parse_yuan
from server.web.pages import render
from server.web.runs import Page, back_to, is_staff, page_count, page_ctx, scoped_run
from server.web.session import PageUser, PayoutPageUser

router = APIRouter(include_in_schema=False)

LOTS_PER_PAGE = 100
UNPRICED_PER_PAGE = 50


# ---------------------------------------------------------------- a farmer's line


def _line_page(
    request: Request,
    session: Session,
    user: User,
    run: PayoutRun,
    farmer_id: str,
    *,
    page: int = 1,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    data = review.farmer_lots(
        session=session,
        run=run,
        farmer_id=farmer_id,
        offset=(page - 1) * LOTS_PER_PAGE,
        limit=LOTS_PER_PAGE,
    )
    ctx = page_ctx(
        user,
        done,
        run=run,
        data=data,
        page=page,
        pages=page_count(data.count, LOTS_PER_PAGE),
        adjustments=review.farmer_adjustments(session=session, run=run, farmer_id=farmer_id),
        can_adjust=is_staff(user) and run.status == "draft",
        form=form or {"amount": "", "reason": ""},
        errors=errors or {},
    )
    return render(request, "run_line.html", ctx, status=status)


@router.get("/coop/runs/{run_id}/farmers/{farmer_id}", response_model=None)
def run_line(
    request: Request,
    run_id: RowId,
    farmer_id: str,
    session: SessionDep,
    user: PageUser,
    page: Page = 1,
    done: str | None = None,
) -> HTMLResponse:
    run = scoped_run(session, user, run_id)
    return _line_page(request, session, user, run, farmer_id, page=page, done=done)


@router.post("/coop/runs/{run_id}/farmers/{farmer_id}/adjustments", response_model=None)
def run_adjust(
    request: Request,
    run_id: RowId,
    farmer_id: str,
    session: SessionDep,
    user: PayoutPageUser,
    amount: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    run = scoped_run(session, user, run_id)
    form = {"amount": amount, "reason": reason}
    errors: dict[str, str] = {}
    fen = 0
    text = ""
    try:
        fen = parse_yuan(amount)
        if fen == 0:
            errors["amount"] = "adjust.err.zero"
    except FieldError as exc:
        errors["amount"] = exc.key
    try:
        text = parse_reason(reason)
    except FieldError as exc:
        errors["reason"] = exc.key
    if run.status != "draft":
        errors["amount"] = "adjust.err.not_draft"
    if errors:
        return _line_page(
            request, session, user, run, farmer_id, form=form, errors=errors, status=422
        )
    service.add_adjustment(
        session=session, run=run, farmer_id=farmer_id, amount_fen=fen, reason=text, actor=user.name
    )
    return back_to(f"/coop/runs/{run_id}/farmers/{farmer_id}?done=adjusted")


# ---------------------------------------------------------------- unpriced lots


def unpriced_page(
    request: Request,
    session: Session,
    user: User,
    run: PayoutRun,
    *,
    page: int = 1,
    done: str | None = None,
    row_errors: dict[str, dict[str, str]] | None = None,
    row_forms: dict[str, dict[str, str]] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """The unpriced lots a run could not pay, each with its price form (``row_errors``:
    the messages of a refused form, by lot id, shown in that lot's row)."""
    lots, count = review.unpriced_page(
        session=session, run=run, offset=(page - 1) * UNPRICED_PER_PAGE, limit=UNPRICED_PER_PAGE
    )
    ctx = page_ctx(
        user,
        done,
        run=run,
        lots=lots,
        count=count,
        page=page,
        pages=page_count(count, UNPRICED_PER_PAGE),
        can_price=is_staff(user),
        row_errors=row_errors or {},
        row_forms=row_forms or {},
    )
    return render(request, "run_unpriced.html", ctx, status=status)


@router.get("/coop/runs/{run_id}/unpriced", response_model=None)
def run_unpriced(
    request: Request,
    run_id: RowId,
    session: SessionDep,
    user: PageUser,
    page: Page = 1,
    done: str | None = None,
) -> HTMLResponse:
    run = scoped_run(session, user, run_id)
    return unpriced_page(request, session, user, run, page=page, done=done)
