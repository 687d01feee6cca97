"""Market reference prices per cooperative, product, grade and day."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from server.audit.service import record
from server.core.deps import CurrentUser, SessionDep, check_cooperative, scope_cooperative
from server.core.errors import Forbidden, Invalid
from server.core.params import IsoDate
from server.importer import upsert_market_prices
from server.importer.shapes import MarketPriceIn
from server.pricing.models import MarketPrice
from server.stations.models import Cooperative

router = APIRouter(prefix="/api/v1", tags=["pricing"])


class MarketPriceOut(BaseModel):
    cooperative: str
    product: str
    grade: str
    date: date
    fen_per_kg: int


class PricesBody(BaseModel):
    prices: list[MarketPriceIn] = Field(min_length=1, max_length=5000)


@router.get("/market-prices", response_model=list[MarketPriceOut])
def list_prices(
    session: SessionDep,
    user: CurrentUser,
    cooperative: str | None = None,
    product: str | None = None,
    date_from: IsoDate | None = None,
    date_to: IsoDate | None = None,
) -> list[MarketPriceOut]:
    coop = scope_cooperative(user, cooperative)
    stmt = (
        select(MarketPrice)
        .order_by(MarketPrice.day, MarketPrice.product, MarketPrice.grade)
        .limit(10000)
    )
    if coop is not None:
        stmt = stmt.where(MarketPrice.cooperative_id == coop)
    if product is not None:
        stmt = stmt.where(MarketPrice.product == product)
    if date_from is not None:
        stmt = stmt.where(MarketPrice.day >= date_from)
    if date_to is not None:
        stmt = stmt.where(MarketPrice.day <= date_to)
    return [
        MarketPriceOut(
            cooperative=m.cooperative_id,
            product=m.product,
            grade=m.grade,
            date=m.day,
            fen_per_kg=m.fen_per_kg,
        )
        for m in session.scalars(stmt)
    ]


@router.put("/market-prices", response_model=list[MarketPriceOut])
def put_prices(body: PricesBody, session: SessionDep, user: CurrentUser) -> list[MarketPriceOut]:
    """Set prices (upsert per cooperative, product, grade, day): admins, or a reviewer for
    their own cooperative. Lots already priced keep their price."""
    if user.role not in ("admin", "reviewer"):
        raise Forbidden("需要审核员或管理员权限 / this needs the reviewer or admin role")
    for m in body.prices:
        check_cooperative(user, m.cooperative)
        if session.get(Cooperative, m.cooperative) is None:
            raise Invalid(f"合作社不存在 / unknown cooperative {m.cooperative!r}")
    upsert_market_prices(session=session, prices=body.prices)
    record(
        session=session,
        actor=user.name,
        action="market_prices_set",
        entity="market_price",
        entity_id="-",
        count=len(body.prices),
    )
    return [
        MarketPriceOut(
            cooperative=m.cooperative,
            product=m.product.value,
            grade=m.grade.value,
            date=m.date,
            fen_per_kg=m.fen_per_kg,
        )
        for m in body.prices
    ]
