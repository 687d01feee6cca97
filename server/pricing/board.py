"""The market price board: each product × grade's price on a day (with the day fallback
pricing uses), the day before, and a fortnight of history, for one cooperative; and
setting one price, within the signed-in user's cooperative. Never commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from gongfang.wire import Grade, Product
from server.audit.service import record
from server.auth.models import User
from server.core.deps import check_cooperative, scope_cooperative
from server.core.errors import Forbidden, NotFound
from server.importer import upsert_market_prices
from server.importer.shapes import MarketPriceIn
from server.pricing.models import MarketPrice
from server.pricing.service import MarketBook
from server.stations.models import Cooperative

HISTORY_DAYS = 14
GRADES = tuple(g.value for g in Grade)
PRODUCTS = tuple(p.value for p in Product)


@dataclass(frozen=True, slots=True)
class BoardRow:
    product: str
    grade: str
    fen_per_kg: int | None  # the price pricing would use on the day (maybe an earlier day's)
    from_day: date | None  # the day that price was set for
    fallback: bool
    previous_fen_per_kg: int | None  # the day before's, for the change

    @property
    def change_fen(self) -> int | None:
        if self.fen_per_kg is None or self.previous_fen_per_kg is None:
            return None
        return self.fen_per_kg - self.previous_fen_per_kg


@dataclass(frozen=True, slots=True)
class Board:
    day: date
    rows: list[BoardRow]
    history_days: list[date]  # newest first
    history_keys: list[tuple[str, str]]  # product, grade with a price in the history
    history: dict[tuple[date, str, str], int]


def price_board(*, session: Session, cooperative_id: str, day: date, fallback_days: int) -> Board:
    """The board of ``day`` for one cooperative (callers check the user may see it)."""
    book = MarketBook.load(
        session,
        cooperative_ids=[cooperative_id],
        first_day=day - timedelta(days=1),
        last_day=day,
        fallback_days=fallback_days,
    )
    rows = []
    for product in PRODUCTS:
        for grade in GRADES:
            ref = book.find(cooperative_id, product, grade, day)
            before = book.find(cooperative_id, product, grade, day - timedelta(days=1))
            rows.append(
                BoardRow(
                    product=product,
                    grade=grade,
                    fen_per_kg=None if ref is None else ref.fen_per_kg,
                    from_day=None if ref is None else ref.day,
                    fallback=bool(ref and ref.fallback),
                    previous_fen_per_kg=None if before is None else before.fen_per_kg,
                )
            )
    first = day - timedelta(days=HISTORY_DAYS - 1)
    m = MarketPrice
    history = {
        (d, p, g): fen
        for d, p, g, fen in session.execute(
            select(m.day, m.product, m.grade, m.fen_per_kg).where(
                m.cooperative_id == cooperative_id, m.day >= first, m.day <= day
            )
        )
    }
    present = {(p, g) for _, p, g in history}
    keys = [(p, g) for p in PRODUCTS for g in GRADES if (p, g) in present]
    days = [day - timedelta(days=n) for n in range(HISTORY_DAYS)]
    return Board(day=day, rows=rows, history_days=days, history_keys=keys, history=history)


def can_set(user: User) -> bool:
    """Reviewers (their cooperative) and admins set market prices, as on the API."""
    return user.role in ("reviewer", "admin")


def cooperatives_for(*, session: Session, user: User) -> list[tuple[str, str]]:
    """(id, name) of the cooperatives whose board the user may see."""
    scope = scope_cooperative(user, None)
    stmt = select(Cooperative.id, Cooperative.name).order_by(Cooperative.id)
    if scope is not None:
        stmt = stmt.where(Cooperative.id == scope)
    return [(a, b) for a, b in session.execute(stmt)]


def set_price(
    *, session: Session, user: User,
    cooperative_id: str,
    product: Product,
    grade: Grade,
    day: date,
    fen_per_kg: int,
) -> None:
    """Set (or replace) one market price; lots already priced keep their price."""
    if not can_set(user):
        raise Forbidden("需要审核员或管理员权限 / this needs the reviewer or admin role")
    check_cooperative(user, cooperative_id)
    if session.get(Cooperative, cooperative_id) is None:
        raise NotFound(f"合作社不存在 / unknown cooperative {cooperative_id!r}")
    upsert_market_prices(
        session=session,
        prices=[
            MarketPriceIn(
                cooperative=cooperative_id, product=product, grade=grade, date=day,
                fen_per_kg=fen_per_kg,
            )
        ],
    )  # fmt: skip
    record(
        session=session,
        actor=user.name,
        action="market_prices_set",
        entity="market_price",
        entity_id=f"{cooperative_id}/{product.value}/{grade.value}/{day.isoformat()}",
        fen_per_kg=fen_per_kg,
    )
