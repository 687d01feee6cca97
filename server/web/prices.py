"""Market price pages: the day's board (元/kg and 元/斤, the day fallback pricing uses,
the change from the day before), a fortnight of history, and a form to set a price
(reviewers and admins, as on the API). A price typed as ``"13.00"`` 元/kg is kept as
integer fen/kg; lots already priced keep their price.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gongfang.money import fen_to_yuan_str
from gongfang.web.fmt import today_local
from gongfang.wire import Grade, Product
from server.auth.models import User
from server.core.deps import SessionDep, SettingsDep
from server.core.errors import Forbidden, NotFound
from server.pricing.board import (
    GRADES,
    PRODUCTS,
    can_set,
    cooperatives_for,
    price_board,
    set_price,
)
from server.web.fields import FieldMessages, parse_price
from server.web.forms import FieldError, parse_date
from server.web.pages import render
from server.web.session import PageUser

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form(max_length=100)]


def _pick(coops: list[tuple[str, str]], wanted: str | None) -> str:
    ids = [c for c, _ in coops]
    if wanted and wanted in ids:
        return wanted
    if wanted:
        raise NotFound(f"合作社不存在 / unknown cooperative {wanted!r}")
    if not ids:
        raise NotFound("没有合作社 / no cooperative")
    return ids[0]


def _page(
    request: Request,
    session: Session,
    user: User,
    *,
    fallback_days: int,
    cooperative: str | None,
    day_text: str | None,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    done: bool = False,
    status: int = 200,
) -> HTMLResponse:
    coops = cooperatives_for(session=session, user=user)
    coop = _pick(coops, cooperative)
    day_errors: dict[str, str] = {}
    day = today_local()
    if day_text:
        try:
            day = parse_date(day_text)
        except FieldError as exc:
            day_errors["day"] = exc.key
    board = price_board(session=session, cooperative_id=coop, day=day, fallback_days=fallback_days)
    if form is not None and not form["price"]:
        # "change" on a board row: start from the day's own price, if it has one
        for row in board.rows:
            if (row.product, row.grade) == (form["product"], form["grade"]) and (
                row.fen_per_kg is not None and row.from_day == day
            ):
                form = {**form, "price": fen_to_yuan_str(row.fen_per_kg)}
    ctx = {
        "user": user,
        "nav": "prices",
        "board": board,
        "cooperatives": coops,
        "cooperative": coop,
        "day_text": day_text if day_errors else day.isoformat(),
        "day_errors": FieldMessages(day_errors),
        "prev_day": (day - timedelta(days=1)).isoformat(),
        "next_day": (day + timedelta(days=1)).isoformat(),
        "fallback_days": fallback_days,
        "can_set": can_set(user),
        "form": form or {"product": "strawberry", "grade": "extra", "day": day.isoformat(),
                         "price": ""},
        "errors": FieldMessages(errors or {}),
        "products": PRODUCTS,
        "grades": GRADES,
        "done": done,
    }  # fmt: skip
    return render(request, "prices.html", ctx, status=status)


@router.get("/coop/prices", response_model=None)
def prices_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    day: str | None = None,
    cooperative: str | None = None,
    product: str | None = None,
    grade: str | None = None,
    done: str | None = None,
) -> HTMLResponse:
    form = None
    if product in PRODUCTS and grade in GRADES:  # "change" on a board row fills the form
        form = {"product": product, "grade": grade, "day": day or today_local().isoformat(),
                "price": ""}  # fmt: skip
    return _page(
        request, session, user, fallback_days=settings.market_fallback_days,
        cooperative=cooperative, day_text=day, form=form, done=done == "saved",
    )  # fmt: skip


@router.post("/coop/prices", response_model=None)
def prices_set(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    user: PageUser,
    cooperative: Text = "",
    product: Text = "",
    grade: Text = "",
    day: Text = "",
    price: Text = "",
) -> Response:
    if not can_set(user):
        raise Forbidden("需要审核员或管理员权限 / this needs the reviewer or admin role")
    coop = _pick(cooperatives_for(session=session, user=user), cooperative or None)
    form = {"product": product, "grade": grade, "day": day, "price": price}
    errors: dict[str, str] = {}
    if product not in PRODUCTS:
        errors["product"] = "prices.err.product"
    if grade not in GRADES:
        errors["grade"] = "prices.err.grade"
    on = fen = None
    try:
        on = parse_date(day)
    except FieldError as exc:
        errors["day"] = exc.key
    try:
        fen = parse_price(price)
    except FieldError as exc:
        errors["price"] = exc.key
    if on is not None and on > today_local() + timedelta(days=7):
        errors["day"] = "prices.err.far_future"
    if errors or on is None or fen is None:
        return _page(
            request, session, user, fallback_days=settings.market_fallback_days,
            cooperative=coop, day_text=day if on else None, form=form, errors=errors,
            status=422,
        )  # fmt: skip
    set_price(
        session=session, user=user, cooperative_id=coop, product=Product(
            product
        ), grade=Grade(grade),
        day=on, fen_per_kg=fen,
    )  # fmt: skip
    return RedirectResponse(
        f"/coop/prices?cooperative={coop}&day={on.isoformat()}&done=saved", status_code=303
    )
