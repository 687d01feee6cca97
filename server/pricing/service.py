"""Database side of pricing: intake date, contract selection, market fallback, quota.

The rule itself is :func:`server.pricing.rule.price_lot`; this module finds its inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from gongfang.wire import Grade
from server.contracts.models import Contract
from server.core.db import in_values
from server.pricing.models import MarketPrice
from server.pricing.rule import ContractTerms, MarketRef


def _shanghai() -> tzinfo:
    try:
        return ZoneInfo("Asia/Shanghai")
    except ZoneInfoNotFoundError:  # no tz database: China has had no DST since 1991
        return timezone(timedelta(hours=8))


SHANGHAI = _shanghai()


def intake_date(captured_at: datetime) -> date:
    """The Asia/Shanghai calendar date of an aware instant (2026-03-01T16:30Z → 2 March)."""
    if captured_at.tzinfo is None:
        raise ValueError("captured_at must be timezone-aware")
    return captured_at.astimezone(SHANGHAI).date()


def shanghai_day_start(day: date) -> datetime:
    """The UTC instant at which ``day`` starts in Asia/Shanghai."""
    return datetime(day.year, day.month, day.day, tzinfo=SHANGHAI).astimezone(UTC)


def terms_of(contract: Contract | ContractRow) -> ContractTerms:
    floors: dict[Grade, int] = {}
    for grade, value in (
        (Grade.EXTRA, contract.floor_extra_fen_per_kg),
        (Grade.CLASS_I, contract.floor_class_i_fen_per_kg),
        (Grade.CLASS_II, contract.floor_class_ii_fen_per_kg),
    ):
        if value is not None:
            floors[grade] = value
    return ContractTerms(
        id=contract.id,
        floor_fen_per_kg=floors,
        premium_pct=Decimal(contract.premium_pct) if contract.premium_pct is not None else None,
        quota_g=contract.quota_g,
        reject_fen_per_kg=contract.reject_fen_per_kg,
    )


@dataclass(frozen=True, slots=True)
class ContractRow:
    """The columns of a contract that pricing needs (plain data, no ORM object)."""

    id: str
    farmer_id: str
    product: str
    signed_on: date
    valid_from: date
    valid_to: date
    floor_extra_fen_per_kg: int | None
    floor_class_i_fen_per_kg: int | None
    floor_class_ii_fen_per_kg: int | None
    premium_pct: str | None
    quota_g: int | None
    reject_fen_per_kg: int


_CONTRACT_COLUMNS = [getattr(Contract, f) for f in ContractRow.__dataclass_fields__]


class ContractBook:
    """Contracts of a set of farmers, answering "which contract prices this lot"."""

    def __init__(self, contracts: Iterable[ContractRow]) -> None:
        self._by_key: dict[tuple[str, str], list[ContractRow]] = {}
        self._terms: dict[str, ContractTerms] = {}
        for c in contracts:
            self._by_key.setdefault((c.farmer_id, c.product), []).append(c)

    @classmethod
    def load(cls, session: Session, farmer_ids: Iterable[str]) -> ContractBook:
        ids = sorted(set(farmer_ids))
        rows: list[ContractRow] = []
        for chunk in _chunks(ids, 900):
            stmt = select(*_CONTRACT_COLUMNS).where(in_values(session, Contract.farmer_id, chunk))
            rows.extend(ContractRow(*r) for r in session.execute(stmt))
        return cls(rows)

    def pick(self, farmer_id: str, product: str, day: date) -> ContractRow | None:
        """valid_from ≤ day ≤ valid_to; several: the latest signed (then the highest id)."""
        valid = [
            c
            for c in self._by_key.get((farmer_id, product), [])
            if c.valid_from <= day <= c.valid_to
        ]
        if not valid:
            return None
        return max(valid, key=lambda c: (c.signed_on, c.id))

    def terms(self, contract: ContractRow) -> ContractTerms:
        """The contract's pricing terms, built once per contract."""
        terms = self._terms.get(contract.id)
        if terms is None:
            terms = self._terms[contract.id] = terms_of(contract)
        return terms


class MarketBook:
    """Market prices of some cooperatives over a date range, with the day fallback."""

    def __init__(self, prices: Mapping[tuple[str, str, str, date], int], fallback_days: int):
        self._prices = prices
        self.fallback_days = fallback_days

    @classmethod
    def load(
        cls,
        session: Session,
        *,
        cooperative_ids: Iterable[str],
        first_day: date,
        last_day: date,
        fallback_days: int,
    ) -> MarketBook:
        stmt = select(
            MarketPrice.cooperative_id,
            MarketPrice.product,
            MarketPrice.grade,
            MarketPrice.day,
            MarketPrice.fen_per_kg,
        ).where(
            MarketPrice.cooperative_id.in_(sorted(set(cooperative_ids))),
            MarketPrice.day >= first_day - timedelta(days=fallback_days),
            MarketPrice.day <= last_day,
        )
        prices = {(r[0], r[1], r[2], r[3]): r[4] for r in session.execute(stmt)}
        return cls(prices, fallback_days)

    def find(self, cooperative_id: str, product: str, grade: str, day: date) -> MarketRef | None:
        """The price for ``day``, else the latest of day−1 … day−fallback_days, else None."""
        for back in range(self.fallback_days + 1):
            d = day - timedelta(days=back)
            fen = self._prices.get((cooperative_id, product, grade, d))
            if fen is not None:
                return MarketRef(fen, d, fallback=back > 0)
        return None


def consume_quota(session: Session, grams_by_contract: Mapping[str, int]) -> dict[str, int]:
    """Add grams to each contract's quota counter; return each counter *before* the add.

    The contracts' rows are locked first (``SELECT … FOR UPDATE`` on PostgreSQL, in id
    order so two batches cannot deadlock; on SQLite ``BEGIN IMMEDIATE`` already holds the
    database), so concurrent workers consume a contract's quota one after the other and
    never both from the same remainder. The lock lasts until the caller's commit.
    """
    ids = sorted(grams_by_contract)
    if not ids:
        return {}
    lock = session.get_bind().dialect.name == "postgresql"
    before: dict[str, int] = {}
    for chunk in _chunks(ids, 900):
        stmt = (
            select(Contract.id, Contract.quota_used_g)
            .where(in_values(session, Contract.id, chunk))
            .order_by(Contract.id)
            .execution_options(populate_existing=True)
        )
        if lock:
            stmt = stmt.with_for_update()
        before.update((r[0], int(r[1])) for r in session.execute(stmt))
    new_used = [(cid, before[cid] + grams_by_contract[cid]) for cid in ids]
    if lock:
        # One UPDATE over two arrays instead of one statement per contract.
        session.execute(
            text(
                "UPDATE contracts SET quota_used_g = v.used FROM unnest("
                "CAST(:ids AS varchar[]), CAST(:used AS bigint[])) AS v(cid, used) "
                "WHERE contracts.id = v.cid"
            ),
            {"ids": [c for c, _ in new_used], "used": [u for _, u in new_used]},
        )
    else:
        session.execute(
            update(Contract), [{"id": cid, "quota_used_g": used} for cid, used in new_used]
        )
    return before


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
