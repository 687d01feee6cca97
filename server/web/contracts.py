"""Contract pages: list, create and edit (admins), with the message next to each field.

Prices are typed in 元/kg (``"13.00"``) and kept as integer fen/kg; the list shows 元/kg
and 元/斤. Everything goes through :mod:`server.contracts.service`, which keeps each user
to their cooperative.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from gongfang.web.fmt import today_local
from gongfang.wire import Product
from server.auth.models import User
from server.contracts import service
from server.contracts.models import Contract
from server.core.deps import SessionDep
from server.core.errors import DomainError
from server.importer.shapes import ContractIn, FloorIn
from server.web.errors import one_language
from server.web.fields import (
    FieldMessages,
    parse_ident,
    parse_optional_price,
    parse_optional_weight,
    parse_percent,
    parse_price,
)
from server.web.forms import FieldError, parse_date
from server.web.pages import render
from server.web.session import PageUser

router = APIRouter(include_in_schema=False)

PRODUCTS = tuple(p.value for p in Product)
FLOORS = ("floor_extra", "floor_class_i", "floor_class_ii")
FIELDS = (
    "id", "farmer", "product", "signed_on", "valid_from", "valid_to", *FLOORS,
    "premium_pct", "quota", "quota_unit", "reject",
)  # fmt: skip
DONE = frozenset({"created", "updated"})
Text = Annotated[str, Form(max_length=100)]


def _yuan_text(fen: int | None) -> str:
    return "" if fen is None else f"{fen // 100}.{fen % 100:02d}"


def _kg_text(grams: int | None) -> str:
    if grams is None:
        return ""
    whole, rest = divmod(grams, 1000)
    return str(whole) if not rest else f"{whole}.{rest:03d}".rstrip("0")


def _form_of(c: Contract) -> dict[str, str]:
    return {
        "id": c.id,
        "farmer": c.farmer_id,
        "product": c.product,
        "signed_on": c.signed_on.isoformat(),
        "valid_from": c.valid_from.isoformat(),
        "valid_to": c.valid_to.isoformat(),
        "floor_extra": _yuan_text(c.floor_extra_fen_per_kg),
        "floor_class_i": _yuan_text(c.floor_class_i_fen_per_kg),
        "floor_class_ii": _yuan_text(c.floor_class_ii_fen_per_kg),
        "premium_pct": c.premium_pct or "",
        "quota": _kg_text(c.quota_g),
        "quota_unit": "kg",
        "reject": _yuan_text(c.reject_fen_per_kg),
    }


def _blank_form() -> dict[str, str]:
    today = today_local()
    return {
        **dict.fromkeys(FIELDS, ""),
        "product": "strawberry",
        "signed_on": today.isoformat(),
        "valid_from": today.isoformat(),
        "valid_to": date(today.year, 12, 31).isoformat(),
        "quota_unit": "kg",
        "reject": "0.00",
    }


class Parsed:
    """The terms read from a contract form (only complete when ``errors`` is empty)."""

    def __init__(self, form: dict[str, str], *, new: bool) -> None:
        self.errors: dict[str, str] = {}
        self.values: dict[str, Any] = {}
        if new:
            self._one("id", parse_ident, form["id"])
            self._one("farmer", lambda v: v if v else _required(), form["farmer"])
            self._one("product", _product, form["product"])
        for name in ("signed_on", "valid_from", "valid_to"):
            self._one(name, parse_date, form[name])
        for name in FLOORS:
            self._one(name, parse_optional_price, form[name])
        self._one("premium_pct", parse_percent, form["premium_pct"])
        self._one("quota", lambda v: parse_optional_weight(v, form["quota_unit"]), form["quota"])
        self._one("reject", lambda v: parse_price(v or "0"), form["reject"])
        v = self.values
        if "valid_from" in v and "valid_to" in v and v["valid_from"] > v["valid_to"]:
            self.errors["valid_to"] = "contracts.err.dates"
        if not self.errors and all(v[f] is None for f in FLOORS) and v["premium_pct"] is None:
            # Neither a floor nor a premium: every lot of it would stay unpriced.
            self.errors["floor_extra"] = "contracts.err.no_terms"

    def _one(self, name: str, parse: Any, text: str) -> None:
        try:
            self.values[name] = parse(text)
        except FieldError as exc:
            self.errors[name] = exc.key

    def terms(self) -> service.ContractTermsIn:
        v = self.values
        return service.ContractTermsIn(
            signed_on=v["signed_on"],
            valid_from=v["valid_from"],
            valid_to=v["valid_to"],
            floor_extra_fen_per_kg=v["floor_extra"],
            floor_class_i_fen_per_kg=v["floor_class_i"],
            floor_class_ii_fen_per_kg=v["floor_class_ii"],
            premium_pct=v["premium_pct"],
            quota_g=v["quota"],
            reject_fen_per_kg=v["reject"],
        )


def _required() -> str:
    raise FieldError("form.err.required")


def _product(text: str) -> str:
    if text not in PRODUCTS:
        raise FieldError("contracts.err.product")
    return text


def _list(request: Request, session: Session, user: User, done: str | None) -> HTMLResponse:
    ctx = {
        "user": user,
        "nav": "contracts",
        "rows": service.list_contracts(session=session, user=user),
        "can_edit": service.can_edit(user),
        "done": done if done in DONE else None,
        "today": today_local(),
    }
    return render(request, "contracts_list.html", ctx)


@router.get("/coop/contracts", response_model=None)
def contracts_list(
    request: Request, session: SessionDep, user: PageUser, done: str | None = None
) -> HTMLResponse:
    return _list(request, session, user, done)


def _form_page(
    request: Request,
    session: Session,
    user: User,
    *,
    form: dict[str, str],
    errors: dict[str, str] | None = None,
    existing: service.ContractView | None = None,
    message: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    ctx = {
        "user": user,
        "nav": "contracts",
        "form": form,
        "errors": FieldMessages(errors or {}),
        "existing": existing,
        "farmers": [] if existing else service.farmers_for(session=session, user=user),
        "products": PRODUCTS,
        "can_edit": service.can_edit(user),
        "message": message,
    }
    return render(request, "contract_form.html", ctx, status=status)


@router.get("/coop/contracts/new", response_model=None)
def contract_new(request: Request, session: SessionDep, user: PageUser) -> HTMLResponse:
    return _form_page(request, session, user, form=_blank_form())


@router.get("/coop/contracts/{contract_id}", response_model=None)
def contract_edit(
    request: Request, contract_id: str, session: SessionDep, user: PageUser
) -> HTMLResponse:
    view = service.get_contract(session=session, user=user, contract_id=contract_id)
    return _form_page(request, session, user, form=_form_of(view.contract), existing=view)


def _refused(exc: DomainError, request: Request) -> str:
    from gongfang.web.i18n import request_lang

    return one_language(exc.message, request_lang(request))


@router.post("/coop/contracts", response_model=None)
def contract_create(
    request: Request,
    session: SessionDep,
    user: PageUser,
    id: Text = "",  # noqa: A002 - the form field's name
    farmer: Text = "",
    product: Text = "",
    signed_on: Text = "",
    valid_from: Text = "",
    valid_to: Text = "",
    floor_extra: Text = "",
    floor_class_i: Text = "",
    floor_class_ii: Text = "",
    premium_pct: Text = "",
    quota: Text = "",
    quota_unit: Text = "kg",
    reject: Text = "",
) -> Response:
    form = dict(zip(FIELDS, (
        id, farmer, product, signed_on, valid_from, valid_to, floor_extra, floor_class_i,
        floor_class_ii, premium_pct, quota, quota_unit, reject,
    ), strict=True))  # fmt: skip
    parsed = Parsed(form, new=True)
    if not parsed.errors:
        allowed = {f.id for f in service.farmers_for(session=session, user=user)}
        if parsed.values["farmer"] not in allowed:
            parsed.errors["farmer"] = "contracts.err.farmer"
    if parsed.errors:
        return _form_page(request, session, user, form=form, errors=parsed.errors, status=422)
    t = parsed.terms()
    try:
        body = ContractIn(
            id=parsed.values["id"],
            farmer=parsed.values["farmer"],
            product=Product(parsed.values["product"]),
            signed_on=t.signed_on,
            valid_from=t.valid_from,
            valid_to=t.valid_to,
            floor_fen_per_kg=FloorIn.of(t),
            premium_pct=t.premium_pct,
            quota_g=t.quota_g,
            reject_fen_per_kg=t.reject_fen_per_kg,
        )
        service.create_contract(session=session, user=user, body=body)
    except ValidationError:
        return _form_page(
            request, session, user, form=form, errors={"id": "contracts.err.invalid"}, status=422
        )
    except DomainError as exc:
        session.rollback()
        errors = {"id": "contracts.err.exists"} if exc.status_code == 409 else {}
        message = None if errors else _refused(exc, request)
        return _form_page(
            request, session, user, form=form, errors=errors, message=message,
            status=exc.status_code,
        )  # fmt: skip
    return RedirectResponse("/coop/contracts?done=created", status_code=303)


@router.post("/coop/contracts/{contract_id}", response_model=None)
def contract_update(
    request: Request,
    contract_id: str,
    session: SessionDep,
    user: PageUser,
    signed_on: Text = "",
    valid_from: Text = "",
    valid_to: Text = "",
    floor_extra: Text = "",
    floor_class_i: Text = "",
    floor_class_ii: Text = "",
    premium_pct: Text = "",
    quota: Text = "",
    quota_unit: Text = "kg",
    reject: Text = "",
) -> Response:
    view = service.get_contract(session=session, user=user, contract_id=contract_id)
    form = {
        **_form_of(view.contract),
        "signed_on": signed_on,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "floor_extra": floor_extra,
        "floor_class_i": floor_class_i,
        "floor_class_ii": floor_class_ii,
        "premium_pct": premium_pct,
        "quota": quota,
        "quota_unit": quota_unit,
        "reject": reject,
    }
    parsed = Parsed(form, new=False)
    if parsed.errors:
        return _form_page(
            request, session, user, form=form, errors=parsed.errors, existing=view, status=422
        )
    try:
        service.update_contract(
            session=session, user=user, contract_id=contract_id, terms=parsed.terms()
        )
    except service.QuotaBelowUsed:
        session.rollback()
        view = service.get_contract(session=session, user=user, contract_id=contract_id)
        return _form_page(
            request, session, user, form=form, errors={"quota": "contracts.err.quota_used"},
            existing=view, status=422,
        )  # fmt: skip
    except DomainError as exc:
        session.rollback()
        view = service.get_contract(session=session, user=user, contract_id=contract_id)
        return _form_page(
            request, session, user, form=form, existing=view,
            message=_refused(exc, request), status=exc.status_code,
        )  # fmt: skip
    return RedirectResponse("/coop/contracts?done=updated", status_code=303)
