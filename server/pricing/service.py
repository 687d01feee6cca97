"""Database side of pricing: intake date, contract selection, market fallback, quota.

The rule itself is :func:`server.pricing.rule.price_lot`; this module finds its inputs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import NamedTuple, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Table, bindparam, select, text, update
from sqlalchemy.orm import Session

from gongfang.wire import Grade
from server.contracts.models import Contract
from server.core.db import in_values
from server.farmers.models import Farmer
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


class ContractRow(NamedTuple):
    """The columns of a contract that pricing needs (plain data, no ORM object; a tuple,
    so hundreds per batch cost little and it can key the terms cache)."""

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


# Core columns (not ORM attributes): the hot look-ups skip the ORM's statement machinery.
_CONTRACTS = cast(Table, Contract.__table__)
_FARMERS = cast(Table, Farmer.__table__)
_MARKET = cast(Table, MarketPrice.__table__)
_CONTRACT_COLUMNS = [_CONTRACTS.c[f] for f in ContractRow._fields]


class ContractBook:
    """Contracts of a set of farmers, answering "which contract prices this lot"."""

    def __init__(self, contracts: Iterable[ContractRow]) -> None:
        self._by_key: dict[tuple[str, str], list[ContractRow]] = {}
        self._terms: dict[str, ContractTerms] = {}
        for c in contracts:
            self._by_key.setdefault((c.farmer_id, c.product), []).append(c)

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
            terms = self._terms[contract.id] = _cached_terms(contract)
        return terms


def load_farmers_and_contracts(
    *, session: Session, farmer_ids: Iterable[str]
) -> tuple[dict[str, str], ContractBook]:
    """Each known farmer's cooperative and the farmers' contracts, in one query."""
    f, c = _FARMERS.c, _CONTRACTS.c
    joined = _FARMERS.outerjoin(_CONTRACTS, c.farmer_id == f.id)
    cooperatives: dict[str, str] = {}
    rows: list[ContractRow] = []
    for chunk in _chunks(sorted(set(farmer_ids)), 900):
        stmt = (
            select(f.id, f.cooperative_id, *_CONTRACT_COLUMNS)
            .select_from(joined)
            .where(in_values(session, f.id, chunk))
        )
        for r in session.execute(stmt):
            cooperatives[r[0]] = r[1]
            if r[2] is not None:  # a farmer without contracts: one row of NULLs
                rows.append(ContractRow(*r[2:]))
    return cooperatives, ContractBook(rows)


@lru_cache(maxsize=65_536)
def _cached_terms(contract: ContractRow) -> ContractTerms:
    # Keyed by every column pricing reads, so an edited contract is a new key: the cache
    # only saves rebuilding the same terms batch after batch.
    return terms_of(contract)


class MarketBook:
    """Market prices of some cooperatives over a date range, with the day fallback."""

    def __init__(self, prices: Mapping[tuple[str, str, str, date], int], fallback_days: int):
        self._prices = prices
        self.fallback_days = fallback_days
        # The lots of a batch share a few (cooperative, product, grade, day) keys.
        self._found: dict[tuple[str, str, str, date], MarketRef | None] = {}

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
        m = _MARKET.c
        stmt = select(m.cooperative_id, m.product, m.grade, m.day, m.fen_per_kg).where(
            m.cooperative_id.in_(sorted(set(cooperative_ids))),
            m.day >= first_day - timedelta(days=fallback_days),
            m.day <= last_day,
        )
        prices = {(r[0], r[1], r[2], r[3]): r[4] for r in session.execute(stmt)}
        return cls(prices, fallback_days)

    def find(self, cooperative_id: str, product: str, grade: str, day: date) -> MarketRef | None:
        """The price for ``day``, else the latest of day−1 … day−fallback_days, else None."""
        key = (cooperative_id, product, grade, day)
        if key in self._found:
            return self._found[key]
        found = None
        for back in range(self.fallback_days + 1):
            d = day - timedelta(days=back)
            fen = self._prices.get((cooperative_id, product, grade, d))
            if fen is not None:
                found = MarketRef(fen, d, fallback=back > 0)
                break
        self._found[key] = found
        return found


_PG_CONSUME = text(
    # One statement: lock the rows in id order (so two batches cannot deadlock), add the
    # grams, and return each counter as it was under the lock. MATERIALIZED keeps the
    # locking step a separate, first step.
    "WITH v AS (SELECT * FROM unnest(CAST(:ids AS varchar[]), CAST(:grams AS bigint[])) "
    "AS v(cid, grams)), "
    "locked AS MATERIALIZED (SELECT c.id, c.quota_used_g FROM contracts c "
    "WHERE c.id = ANY(CAST(:ids AS varchar[])) ORDER BY c.id FOR UPDATE) "
    "UPDATE contracts SET quota_used_g = locked.quota_used_g + v.grams "
    "FROM locked JOIN v ON v.cid = locked.id WHERE contracts.id = locked.id "
    "RETURNING contracts.id, locked.quota_used_g"
)


def consume_quota(*, session: Session, grams_by_contract: Mapping[str, int]) -> dict[str, int]:
    """Add grams to each contract's quota counter; return each counter *before* the add.

    The contracts' rows are locked first (``SELECT … FOR UPDATE`` on PostgreSQL, in id
    order so two batches cannot deadlock; on SQLite ``BEGIN IMMEDIATE`` already holds the
    database), so concurrent workers consume a contract's quota one after the other and
    never both from the same remainder. The lock lasts until the caller's commit.
    """
    ids = sorted(grams_by_contract)
    if not ids:
        return {}
    before: dict[str, int] = {}
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            _PG_CONSUME, {"ids": ids, "grams": [grams_by_contract[cid] for cid in ids]}
        )
        before.update((r[0], int(r[1])) for r in rows)
        return before
    c = _CONTRACTS.c
    for chunk in _chunks(ids, 900):
        stmt = select(c.id, c.quota_used_g).where(c.id.in_(chunk))
        before.update((r[0], int(r[1])) for r in session.execute(stmt))
    # Core executemany (the ORM's bulk UPDATE does per-row bookkeeping).
    session.execute(
        update(_CONTRACTS).where(c.id == bindparam("cid")).values(quota_used_g=bindparam("used")),
        [{"cid": cid, "used": before[cid] + grams_by_contract[cid]} for cid in ids],
    )
    return before


def _chunks(items: list[str], size: int) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
