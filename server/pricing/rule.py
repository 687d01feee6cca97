"""The pricing rule of DESIGN.md ("Pricing rule (normative)"), as a pure function.

Inputs are plain data: the lot's weight and grade, the contract chosen for it (if any),
the market reference found for it (if any) and how much of the contract's quota earlier
lots used. Contract selection, the market fallback and the quota counter live in
:mod:`server.pricing.service`, which does the database look-ups.

1. No contract → ``unpriced`` (never paid as zero).
2. Grade ``reject`` → the contract's reject price; the lot does not count toward quota.
3. Every other lot counts toward the quota, priced or not. The part beyond what is left
   of the quota is priced at the market price alone; a lot crossing the quota is split in
   two parts, each rounded on its own.
4. Within quota: unit = max(floor[G], round(M × (1 + premium_pct/100))), a missing term
   left out; both missing → ``unpriced``. Over quota without M → ``unpriced``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache

from gongfang.money import fen_to_yuan_str, grams_to_kg_str, with_premium
from gongfang.wire import Grade

NO_CONTRACT = "无有效合同 / no contract valid on the intake date"
NO_PRICE = "无保底价且无市场价 / neither a floor price nor a market price"
NO_MARKET_OVER_QUOTA = "超出配额部分无市场价 / no market price for the part beyond the quota"


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """The pricing terms of one contract (money in fen/kg, premium as an exact decimal)."""

    id: str
    floor_fen_per_kg: Mapping[Grade, int]
    premium_pct: Decimal | None
    quota_g: int | None
    reject_fen_per_kg: int = 0


@dataclass(frozen=True, slots=True)
class MarketRef:
    """The market reference price used for a lot, and the day it was quoted for."""

    fen_per_kg: int
    day: date
    fallback: bool = False  # quoted for an earlier day than the intake date


@dataclass(frozen=True, slots=True)
class PricedPart:
    net_g: int
    unit_fen_per_kg: int
    amount_fen: int
    basis: str  # "contract" | "over_quota" | "reject"
    explanation: str


@dataclass(frozen=True, slots=True)
class PriceResult:
    """Either priced parts (``amount_fen`` is their sum) or an ``unpriced_reason``."""

    parts: tuple[PricedPart, ...]
    unpriced_reason: str | None
    quota_counted_g: int  # grams this lot adds to the contract's quota counter
    amount_fen: int | None  # sum of the parts' rounded amounts; None when unpriced

    @property
    def priced(self) -> bool:
        return self.unpriced_reason is None


def _unpriced(reason: str, quota_counted_g: int) -> PriceResult:
    return PriceResult((), reason, quota_counted_g, None)


def _amount_fen(net_g: int, unit_fen_per_kg: int) -> int:
    """``gongfang.money.amount_fen`` in integer arithmetic (the hot path of ingestion).

    round_half_up(n / 1000) = floor(n / 1000 + 1/2) = floor((2n + 1000) / 2000) for every
    integer n: the same value without building a Fraction (tests check it against money).
    """
    return (2 * net_g * unit_fen_per_kg + 1000) // 2000


def price_lot(
    *,
    net_g: int,
    grade: Grade,
    contract: ContractTerms | None,
    market: MarketRef | None,
    quota_used_before_g: int,
) -> PriceResult:
    """Price one lot under the rule. ``quota_used_before_g``: grams earlier lots counted."""
    if net_g <= 0:
        raise ValueError("net_g must be positive")
    if contract is None:
        return _unpriced(NO_CONTRACT, 0)
    if grade is Grade.REJECT:
        unit = contract.reject_fen_per_kg
        amount = _amount_fen(net_g, unit)
        part = PricedPart(net_g, unit, amount, "reject", _reject_text(unit))
        return PriceResult((part,), None, 0, amount)

    if contract.quota_g is None:
        within_g, over_g = net_g, 0
    else:
        left_g = max(0, contract.quota_g - quota_used_before_g)
        within_g = min(net_g, left_g)
        over_g = net_g - within_g
    split = within_g > 0 and over_g > 0

    parts: list[PricedPart] = []
    total = 0
    if within_g > 0:
        unit_or_none, text = _contract_unit(
            contract.floor_fen_per_kg.get(grade), contract.premium_pct, market
        )
        if unit_or_none is None:
            return _unpriced(NO_PRICE, net_g)
        if split:
            text = f"配额内 {grams_to_kg_str(within_g, 3)} kg：{text}"
        amount = _amount_fen(within_g, unit_or_none)
        total += amount
        parts.append(PricedPart(within_g, unit_or_none, amount, "contract", text))
    if over_g > 0:
        if market is None:
            return _unpriced(NO_MARKET_OVER_QUOTA, net_g)
        unit = market.fen_per_kg
        text = (
            f"超出配额 {grams_to_kg_str(over_g, 3)} kg：{_market_label(market)} → "
            f"{fen_to_yuan_str(unit)} 元/kg"
        )
        amount = _amount_fen(over_g, unit)
        total += amount
        parts.append(PricedPart(over_g, unit, amount, "over_quota", text))
    return PriceResult(tuple(parts), None, net_g, total)


@lru_cache(maxsize=1024)
def _reject_text(unit: int) -> str:
    return f"等外：拒收价 {fen_to_yuan_str(unit)} 元/kg（不计配额）"


@lru_cache(maxsize=8192)
def _contract_unit(
    floor: int | None, premium_pct: Decimal | None, market: MarketRef | None
) -> tuple[int | None, str]:
    """max(floor[G], M × (1 + premium)), missing terms left out, with its explanation.

    Cached: the lots of a batch share a few (floor, premium, market) combinations, and
    the unit and its text depend on nothing else.
    """
    terms: list[str] = []
    candidates: list[int] = []
    if market is not None:
        premium = premium_pct if premium_pct is not None else Decimal(0)
        with_prem = _with_premium(market.fen_per_kg, premium)
        candidates.append(with_prem)
        terms.append(
            f"{_market_label(market)} × {_multiplier(premium)} = {fen_to_yuan_str(with_prem)}"
        )
    else:
        terms.append("无市场价")
    if floor is not None:
        candidates.append(floor)
        terms.append(f"保底价 {fen_to_yuan_str(floor)}")
    else:
        terms.append("无保底价")
    if not candidates:
        return None, ""
    unit = max(candidates)
    return unit, f"{'；'.join(terms)} → {fen_to_yuan_str(unit)} 元/kg"


@lru_cache(maxsize=4096)
def _with_premium(market_fen_per_kg: int, premium_pct: Decimal) -> int:
    # Many lots of a batch share a market price and premium: compute the exact
    # rational product once.
    return with_premium(market_fen_per_kg, premium_pct)


def _market_label(market: MarketRef) -> str:
    label = f"市场价 {fen_to_yuan_str(market.fen_per_kg)}"
    if market.fallback:
        label += f"（{market.day.isoformat()}）"
    return label


def _multiplier(premium_pct: Decimal) -> str:
    """1 + premium/100 with at least two decimals: 20 → ``1.20``, 22.5 → ``1.225``."""
    mult = (Decimal(1) + premium_pct / 100).normalize()
    exponent = mult.as_tuple().exponent
    places = max(2, -exponent if isinstance(exponent, int) else 2)
    return f"{mult:.{places}f}"
