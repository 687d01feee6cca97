"""The lot page a reviewer drills down to: photo, grade per item, cold-room stay, pricing
explanation, the run that paid it; and the form that prices an unpriced lot by hand
(the same service as ``POST /api/v1/lots/{id}/price``)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from server.auth.models import User
from server.core.deps import SessionDep, scope_cooperative
from server.lots.service import price_manually
from server.payouts import review
from server.web import run_lines, runs
from server.web.forms import FieldError, parse_reason, parse_yuan
from server.web.pages import render
from server.web.runs import is_staff
from server.web.session import PageUser, PayoutPageUser, safe_next

router = APIRouter(include_in_schema=False)

STRAWBERRY_LABELS = ("unripe", "turning", "ripe", "defect")
LEAF_LABELS = ("clean", "spot", "yellow", "hole")
MAX_FEN_PER_KG = 10_000_000  # the JSON API's bound


def _items(raw: list[Any]) -> list[dict[str, Any]]:
    """The per-item results as rows (what the edge sent; unknown shapes skipped)."""
    rows = []
    for item in raw or []:
        if not isinstance(item, dict):
            continue
        white = item.get("white_fraction")
        rows.append(
            {
                "label": item.get("label"),
                "grade": item.get("grade"),
                "diameter_mm": item.get("diameter_mm"),
                "white_pct": None if white is None else round(float(white) * 100, 1),
                "length_mm": item.get("length_mm"),
                "width_mm": item.get("width_mm"),
                "spot_pct": item.get("spot_pct"),
            }
        )
    return rows


def _lot_page(
    request: Request,
    session: Session,
    user: User,
    lot_id: uuid.UUID,
    *,
    back_run: int | None = None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    next_url: str = "",
    done: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    detail = review.lot_detail(session=session, lot_id=lot_id, scope=scope_cooperative(user, None))
    items = _items(detail.lot.items)
    ctx: dict[str, Any] = {
        "user": user,
        "nav": "runs",
        "d": detail,
        "lot": detail.lot,
        "items": items,
        "leaves": detail.lot.product == "ruoye",
        "known_labels": STRAWBERRY_LABELS + LEAF_LABELS,
        "back_run": back_run,
        "can_price": is_staff(user) and detail.lot.status == "unpriced",
        "form": form or {"unit_price": "", "reason": ""},
        "errors": errors or {},
        "next": next_url,
        "done": "priced" if done == "priced" else None,
    }
    return render(request, "lot_detail.html", ctx, status=status)


@router.get("/coop/lots/{lot_id}", response_model=None)
def lot_page(
    request: Request,
    lot_id: uuid.UUID,
    session: SessionDep,
    user: PageUser,
    run: Annotated[int | None, Query(ge=1)] = None,
    done: str | None = None,
) -> HTMLResponse:
    return _lot_page(request, session, user, lot_id, back_run=run, done=done)


@router.post("/coop/lots/{lot_id}/price", response_model=None)
def lot_price(
    request: Request,
    lot_id: uuid.UUID,
    session: SessionDep,
    user: PayoutPageUser,
    unit_price: Annotated[str, Form(max_length=40)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",  # noqa: A002
    run: Annotated[int | None, Form(ge=1)] = None,
) -> Response:
    """Price an unpriced lot (元/kg typed as text, exact to the fen) with a reason.

    From a run's unpriced list (``run``), a refused form comes back in that list, its
    messages in the lot's row; from the lot page, on the lot page."""
    detail = review.lot_detail(session=session, lot_id=lot_id, scope=scope_cooperative(user, None))
    form = {"unit_price": unit_price, "reason": reason}
    errors: dict[str, str] = {}
    fen_per_kg = 0
    try:
        fen_per_kg = parse_yuan(unit_price, allow_negative=False, max_fen=MAX_FEN_PER_KG)
    except FieldError as exc:
        # A unit price, not an amount: say so in the message.
        errors["unit_price"] = {"form.err.yuan_format": "price.err.format"}.get(exc.key, exc.key)
    text = ""
    try:
        text = parse_reason(reason)
    except FieldError as exc:
        errors["reason"] = exc.key
    if detail.lot.status != "unpriced":
        errors["unit_price"] = "price.err.already_priced"
    if errors:
        if run is not None:
            the_run = runs.scoped_run(session, user, run)
            return run_lines.unpriced_page(
                request,
                session,
                user,
                the_run,
                row_errors={str(lot_id): errors},
                row_forms={str(lot_id): form},
                status=422,
            )
        return _lot_page(
            request, session, user, lot_id, form=form, errors=errors, next_url=next, status=422
        )
    price_manually(
        session=session, lot_id=lot_id, unit_fen_per_kg=fen_per_kg, reason=text, actor=user.name
    )
    target = safe_next(next, default=f"/coop/lots/{lot_id}")
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}done=priced", status_code=303)
