"""Payout run pages: list and create, review lines, approve (reviewers only), export
CSV/XLSX, mark paid, discard or run a changed draft again (a farmer's line and the
unpriced lots: :mod:`server.web.run_lines`).

Reads go through :mod:`server.payouts.review`, writes through :mod:`server.payouts.service`
(the same state machine as the JSON API). Writes answer 303 to the page they came from with
``?done=…``; a refused action renders its page again with the message, nothing stored.
"""

from __future__ import annotations

from collections.abc import Callable
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
from server.payouts import export, review, service
from server.payouts.models import PayoutRun
from server.web.forms import FieldError, parse_date
from server.web.pages import one_language, render
from server.web.session import PageUser, PayoutPageUser, ReviewerPageUser

router = APIRouter(include_in_schema=False)

LINES_PER_PAGE = 100
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
    return review.scoped_run(session=session, run_id=run_id, scope=scope_cooperative(user, None))


def page_count(count: int, per_page: int) -> int:
    return max(1, -(-count // per_page))


def _today() -> date:
    from datetime import datetime

    return datetime.now(SHANGHAI).date()


def page_ctx(user: User, done: str | None, **page: Any) -> dict[str, Any]:
    """What every runs page shows: who, the menu entry, a ``?done=`` it may announce."""
    return {"user": user, "nav": "runs", "done": done if done in DONE else None, **page}


def back_to(url: str) -> RedirectResponse:
    """After a stored write: see the page it came from (303, so a reload does not post)."""
    return RedirectResponse(url, status_code=303)


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
    coops = review.cooperatives(session=session, scope=scope)
    today = _today()
    first = today.replace(day=1)
    defaults = {
        "cooperative": coops[0][0] if coops else "",
        "period_from": (first - timedelta(days=1)).replace(day=1).isoformat(),
        "period_to": (first - timedelta(days=1)).isoformat(),
    }
    ctx = page_ctx(
        user,
        done,
        rows=review.run_rows(session=session, scope=scope),
        can_create=is_staff(user),
        cooperatives=coops,
        form={**defaults, **(form or {})},
        errors=errors or {},
    )
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
    allowed = {cid for cid, _ in review.cooperatives(session=session, scope=scope)}
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
        session=session,
        cooperative_id=cooperative,
        period_from=start,
        period_to=end,
        actor=user.name,
    )
    PAYOUT_RUNS.labels(action="created").inc()
    return back_to(f"/coop/runs/{run.id}?done=created")


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
    lines = review.run_review(
        session=session, run=run, offset=(page - 1) * LINES_PER_PAGE, limit=LINES_PER_PAGE
    )
    four_eyes = service.four_eyes_ok(session=session, run=run, actor=user.name)
    reviewer_on_draft = user.role == "reviewer" and run.status == "draft"
    ctx = page_ctx(
        user,
        done,
        run=run,
        review=lines,
        page=page,
        pages=page_count(lines.totals.farmers, LINES_PER_PAGE),
        # A run's page lists at most ADJUSTMENTS_SHOWN; each farmer's page lists all of theirs.
        adjustments=review.farmer_adjustments(
            session=session, run=run, limit=ADJUSTMENTS_SHOWN + 1
        ),
        adjustments_shown=ADJUSTMENTS_SHOWN,
        coop_name=review.cooperative_name(session=session, cooperative_id=run.cooperative_id),
        is_staff=is_staff(user),
        can_approve=reviewer_on_draft and not lines.changed and four_eyes,
        needs_other_reviewer=reviewer_on_draft and not four_eyes,
        action_error=action_error,
    )
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
    run = scoped_run(session, user, run_id)
    return _run_page(request, session, user, run, page=page, done=done)


def _refused(
    request: Request, session: Session, user: User, run_id: RowId, exc: DomainError
) -> HTMLResponse:
    """A refused action: nothing of it is kept; the run page says why."""
    session.rollback()
    run = scoped_run(session, user, run_id)
    message = one_language(exc.message, request_lang(request))
    return _run_page(request, session, user, run, action_error=message, status=exc.status_code)


def _act(
    request: Request,
    session: Session,
    user: User,
    run_id: RowId,
    action: Callable[[PayoutRun], Response],
) -> Response:
    """``action`` on the run (it answers the response); refused, the run page says why."""
    run = scoped_run(session, user, run_id)
    try:
        return action(run)
    except DomainError as exc:
        return _refused(request, session, user, run_id, exc)


@router.post("/coop/runs/{run_id}/approve", response_model=None)
def run_approve(
    request: Request, run_id: RowId, session: SessionDep, user: ReviewerPageUser
) -> Response:
    def approve(run: PayoutRun) -> Response:
        service.approve(session=session, run=run, actor=user.name)
        PAYOUT_RUNS.labels(action="approved").inc()
        return back_to(f"/coop/runs/{run_id}?done=approved")

    return _act(request, session, user, run_id, approve)


@router.post("/coop/runs/{run_id}/discard", response_model=None)
def run_discard(
    request: Request, run_id: RowId, session: SessionDep, user: PayoutPageUser
) -> Response:
    def discard(run: PayoutRun) -> Response:
        service.discard(session=session, run=run, actor=user.name)
        return back_to("/coop/runs?done=discarded")

    return _act(request, session, user, run_id, discard)


@router.post("/coop/runs/{run_id}/rerun", response_model=None)
def run_again(
    request: Request, run_id: RowId, session: SessionDep, user: PayoutPageUser
) -> Response:
    """A draft that changed since it was made: discard it and make it again, same period."""

    def again(run: PayoutRun) -> Response:
        service.discard(session=session, run=run, actor=user.name)
        fresh = service.create_run(
            session=session,
            cooperative_id=run.cooperative_id,
            period_from=run.period_from,
            period_to=run.period_to,
            actor=user.name,
        )
        return back_to(f"/coop/runs/{fresh.id}?done=rerun")

    return _act(request, session, user, run_id, again)


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

    def download(run: PayoutRun) -> Response:
        f = export.bank_file(session=session, run=run, actor=user.name, cipher=cipher, fmt=format)
        return Response(f.body, media_type=f.media_type, headers=f.headers)

    return _act(request, session, user, run_id, download)


@router.post("/coop/runs/{run_id}/paid", response_model=None)
def run_paid(
    request: Request, run_id: RowId, session: SessionDep, user: PayoutPageUser
) -> Response:
    def paid(run: PayoutRun) -> Response:
        service.mark_paid(session=session, run=run, actor=user.name)
        return back_to(f"/coop/runs/{run_id}?done=paid")

    return _act(request, session, user, run_id, paid)
