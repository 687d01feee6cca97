"""Payout run pages: list and create, review lines, a farmer's lots and adjustments,
approve (reviewers only), export CSV/XLSX, mark paid, discard or run a changed draft again.

Reads go through :mod:`server.payouts.queries`, writes through :mod:`server.payouts.service`
(the same state machine as the JSON API). Writes answer 303 to the page they came from with
``?done=…``; a refused action renders its page again with the message, nothing stored.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gongfang.web.fmt import SHANGHAI
from gongfang.web.i18n import request_lang
from server.auth.models import User
from server.core.deps import RowId, SessionDep, scope_cooperative
from server.core.errors import DomainError
from server.core.metrics import PAYOUT_RUNS
from server.farmers.sealed import FieldCipherDep
from server.payouts import export, queries, service
from server.payouts.models import PayoutRun
from server.web.forms import FieldError, parse_date, parse_reason, parse_yuan
from server.web.pages import one_language, render
from server.web.session import PageUser, PayoutPageUser, ReviewerPageUser

router = APIRouter(include_in_schema=False)

LINES_PER_PAGE = 100
LOTS_PER_PAGE = 100
UNPRICED_PER_PAGE = 50
ADJUSTMENTS_SHOWN = 200
# ?done= values a page may announce (anything else is ignored).
DONE = frozenset(
    {"created", "adjusted", "approved", "exported", "paid", "discarded", "rerun", "priced"}
)

Page = Annotated[int, Query(ge=1, le=100_000)]


def is_staff(user: User) -> bool:
    return user.role in ("reviewer", "admin")


def scoped_run(session: Session, user: User, run_id: RowId) -> PayoutRun:
    """The run if the user's cooperative may see it (else the same 404 as an unknown run)."""
    return _run(session, user, run_id)


def _run(session: Session, user: User, run_id: RowId) -> PayoutRun:
    return queries.scoped_run(session, run_id=run_id, scope=scope_cooperative(user, None))


def _pages(count: int, per_page: int) -> int:
    return max(1, -(-count // per_page))


def _today() -> date:
    from datetime import datetime

    return datetime.now(SHANGHAI).date()


def _done(done: str | None) -> str | None:
    return done if done in DONE else None


# ---------------------------------------------------------------- list and create


def _list_page(
    request: Request,
    session: Session,
    user: User,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    scope = scope_cooperative(user, None)
    coops = queries.cooperatives(session, scope=scope)
    today = _today()
    first = today.replace(day=1)
    defaults = {
        "cooperative": coops[0][0] if coops else "",
        "period_from": (first - timedelta(days=1)).replace(day=1).isoformat(),
        "period_to": (first - timedelta(days=1)).isoformat(),
    }
    ctx: dict[str, Any] = {
        "user": user,
        "nav": "runs",
        "rows": queries.run_rows(session, scope=scope),
        "can_create": is_staff(user),
        "cooperatives": coops,
        "form": {**defaults, **(form or {})},
        "errors": errors or {},
        "done": _done(done),
    }
    return render(request, "runs_list.html", ctx, status=status)


@router.get("/coop/runs", response_model=None)
def runs_list(
    request: Request, session: SessionDep, user: PageUser, done: str | None = None
) -> HTMLResponse:
    return _list_page(request, session, user, done=done)


@router.post("/coop/runs", response_model=None)
def runs_create(
    request: Request,
    session: SessionDep,
    user: PayoutPageUser,
    cooperative: Annotated[str, Form(max_length=64)] = "",
    period_from: Annotated[str, Form(max_length=20)] = "",
    period_to: Annotated[str, Form(max_length=20)] = "",
) -> Response:
    form = {"cooperative": cooperative, "period_from": period_from, "period_to": period_to}
    errors: dict[str, str] = {}
    scope = scope_cooperative(user, None)
    allowed = {cid for cid, _ in queries.cooperatives(session, scope=scope)}
    if cooperative not in allowed:
        errors["cooperative"] = "runs.err.cooperative"
    start = end = None
    try:
        start = parse_date(period_from)
    except FieldError as exc:
        errors["period_from"] = exc.key
    try:
        end = parse_date(period_to)
    except FieldError as exc:
        errors["period_to"] = exc.key
    if start and end:
        if start > end:
            errors["period_to"] = "runs.err.order"
        elif (end - start).days > 366:
            errors["period_to"] = "runs.err.too_long"
        elif end > _today():
            errors["period_to"] = "runs.err.future"
    if errors or start is None or end is None:
        return _list_page(request, session, user, form=form, errors=errors, status=422)
    run = service.create_run(
        session, cooperative_id=cooperative, period_from=start, period_to=end, actor=user.name
    )
    PAYOUT_RUNS.labels(action="created").inc()
    return RedirectResponse(f"/coop/runs/{run.id}?done=created", status_code=303)


# ---------------------------------------------------------------- one run


def _run_page(
    request: Request,
    session: Session,
    user: User,
    run: PayoutRun,
    *,
    page: int = 1,
    done: str | None = None,
    action_error: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    review = queries.run_review(
        session, run=run, offset=(page - 1) * LINES_PER_PAGE, limit=LINES_PER_PAGE
    )
    four_eyes = service.four_eyes_ok(session, run=run, actor=user.name)
    ctx: dict[str, Any] = {
        "user": user,
        "nav": "runs",
        "run": run,
        "review": review,
        "page": page,
        "pages": _pages(review.totals.farmers, LINES_PER_PAGE),
        # A run's page lists at most ADJUSTMENTS_SHOWN; each farmer's page lists all of theirs.
        "adjustments": queries.farmer_adjustments(session, run=run, limit=ADJUSTMENTS_SHOWN + 1),
        "adjustments_shown": ADJUSTMENTS_SHOWN,
        "coop_name": queries.cooperative_name(session, cooperative_id=run.cooperative_id),
        "is_staff": is_staff(user),
        "can_approve": user.role == "reviewer" and run.status == "draft" and not review.changed
        and four_eyes,
        "needs_other_reviewer": user.role == "reviewer" and run.status == "draft"
        and not four_eyes,
        "done": _done(done),
        "action_error": action_error,
    }
    return render(request, "run_review.html", ctx, status=status)


@router.get("/coop/runs/{run_id}", response_model=None)
def run_review(
    request: Request,
    run_id: RowId,
    session: SessionDep,
    user: PageUser,
    page: Page = 1,
    done: str | None = None,
) -> HTMLResponse:
    run = _run(session, user, run_id)
    return _run_page(request, session, user, run, page=page, done=done)


def _refused(
    request: Request, session: Session, user: User, run_id: RowId, exc: DomainError
) -> HTMLResponse:
    """A refused action: nothing of it is kept; the run page says why."""
    session.rollback()
    run = _run(session, user, run_id)
    message = one_language(exc.message, request_lang(request))
    return _run_page(request, session, user, run, action_error=message, status=exc.status_code)


@router.post("/coop/runs/{run_id}/approve", response_model=None)
def run_approve(
    request: Request, run_id: RowId, session: SessionDep, user: ReviewerPageUser
) -> Response:
    run = _run(session, user, run_id)
    try:
        service.approve(session, run=run, actor=user.name)
    except DomainError as exc:
        return _refused(request, session, user, run_id, exc)
    PAYOUT_RUNS.labels(action="approved").inc()
    return RedirectResponse(f"/coop/runs/{run_id}?done=approved", status_code=303)


@router.post("/coop/runs/{run_id}/discard", response_model=None)
def run_discard(
    request: Request, run_id: RowId, session: SessionDep, user: PayoutPageUser
) -> Response:
    run = _run(session, user, run_id)
    try:
        service.discard(session, run=run, actor=user.name)
    except DomainError as exc:
        return _refused(request, session, user, run_id, exc)
    return RedirectResponse("/coop/runs?done=discarded", status_code=303)


@router.post("/coop/runs/{run_id}/rerun", response_model=None)
def run_again(
    request: Request, run_id: RowId, session: SessionDep, user: PayoutPageUser
) -> Response:
    """A draft that changed since it was made: discard it and make it again, same period."""
    run = _run(session, user, run_id)
    try:
        service.discard(session, run=run, actor=user.name)
        fresh = service.create_run(
            session,
            cooperative_id=run.cooperative_id,
            period_from=run.period_from,
            period_to=run.period_to,
            actor=user.name,
        )
    except DomainError as exc:
        return _refused(request, session, user, run_id, exc)
    return RedirectResponse(f"/coop/runs/{fresh.id}?done=rerun", status_code=303)


@router.post("/coop/runs/{run_id}/export", response_model=None)
def run_export(
    request: Request,
    run_id: RowId,
    session: SessionDep,
    user: PayoutPageUser,
    cipher: FieldCipherDep,
    format: Annotated[Literal["csv", "xlsx"], Form()] = "xlsx",  # noqa: A002
) -> Response:
    """The bank batch as a download (an approved run becomes ``exported``)."""
    run = _run(session, user, run_id)
    name = f"payout-{run.cooperative_id}-{run.id}.{format}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    try:
        if format == "csv":
            text = export.export_csv(session, run=run, actor=user.name, cipher=cipher)
            return Response(
                text.encode("utf-8"), media_type="text/csv; charset=utf-8", headers=headers
            )
        data = export.export_xlsx(session, run=run, actor=user.name, cipher=cipher)
    except DomainError as exc:
        return _refused(request, session, user, run_id, exc)
    return Response(
        data,
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=headers,
    )


@router.post("/coop/runs/{run_id}/paid", response_model=None)
def run_paid(
    request: Request, run_id: RowId, session: SessionDep, user: PayoutPageUser
) -> Response:
    run = _run(session, user, run_id)
    try:
        service.mark_paid(session, run=run, actor=user.name)
    except DomainError as exc:
        return _refused(request, session, user, run_id, exc)
    return RedirectResponse(f"/coop/runs/{run_id}?done=paid", status_code=303)


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
    data = queries.farmer_lots(
        session,
        run=run,
        farmer_id=farmer_id,
        offset=(page - 1) * LOTS_PER_PAGE,
        limit=LOTS_PER_PAGE,
    )
    ctx: dict[str, Any] = {
        "user": user,
        "nav": "runs",
        "run": run,
        "data": data,
        "page": page,
        "pages": _pages(data.count, LOTS_PER_PAGE),
        "adjustments": queries.farmer_adjustments(session, run=run, farmer_id=farmer_id),
        "can_adjust": is_staff(user) and run.status == "draft",
        "form": form or {"amount": "", "reason": ""},
        "errors": errors or {},
        "done": _done(done),
    }
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
    run = _run(session, user, run_id)
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
    run = _run(session, user, run_id)
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
        session, run=run, farmer_id=farmer_id, amount_fen=fen, reason=text, actor=user.name
    )
    return RedirectResponse(
        f"/coop/runs/{run_id}/farmers/{farmer_id}?done=adjusted", status_code=303
    )


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
    lots, count = queries.unpriced_page(
        session, run=run, offset=(page - 1) * UNPRICED_PER_PAGE, limit=UNPRICED_PER_PAGE
    )
    ctx: dict[str, Any] = {
        "user": user,
        "nav": "runs",
        "run": run,
        "lots": lots,
        "count": count,
        "page": page,
        "pages": _pages(count, UNPRICED_PER_PAGE),
        "can_price": is_staff(user),
        "done": _done(done),
        "row_errors": row_errors or {},
        "row_forms": row_forms or {},
    }
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
    run = _run(session, user, run_id)
    return unpriced_page(request, session, user, run, page=page, done=done)
