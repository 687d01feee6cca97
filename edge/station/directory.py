"""The cached station directory: farmer lookup by id or card code, and price estimates.

The estimate follows DESIGN.md's pricing rule as far as a station can know it (contract
valid on the intake date, market reference with fallback days, reject price, rule 5's
``max(floor[G], M × (1 + premium))``). It ignores the quota, which only the server can
count across stations, so it is always labelled 预估 (estimate): the server prices the
lot for real when it arrives.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from gongfang import money, wire

SHANGHAI = ZoneInfo("Asia/Shanghai")
MARKET_FALLBACK_DAYS = 3


@dataclass(frozen=True, slots=True)
class PriceEstimate:
    unit_fen_per_kg: int
    amount_fen: int
    explanation: str


def intake_date(captured_at: datetime) -> date:
    """The Asia/Shanghai date of an aware UTC instant."""
    return captured_at.astimezone(SHANGHAI).date()


class Directory:
    """Thread-safe holder of the latest :class:`wire.StationDirectory`."""

    def __init__(self, directory: wire.StationDirectory | None = None) -> None:
        self._lock = threading.Lock()
        self._dir = directory

    def replace(self, directory: wire.StationDirectory) -> None:
        with self._lock:
            self._dir = directory

    @property
    def loaded(self) -> bool:
        return self._dir is not None

    def farmer(self, code: str) -> wire.FarmerHint | None:
        """A farmer by scanned card code or by id (card code first: cards carry it)."""
        code = code.strip()
        with self._lock:
            farmers = self._dir.farmers if self._dir else []
        for f in farmers:
            if f.card_code and f.card_code == code:
                return f
        for f in farmers:
            if f.id == code:
                return f
        return None

    def search(self, text: str, limit: int = 8) -> list[wire.FarmerHint]:
        """Farmers whose id or card code starts with, or whose name holds, the text."""
        q = text.strip().casefold()
        if not q:
            return []
        with self._lock:
            farmers = self._dir.farmers if self._dir else []
        found = [
            f
            for f in farmers
            if f.id.casefold().startswith(q)
            or (f.card_code or "").casefold().startswith(q)
            or q in (f.name or "").casefold()
        ]
        return found[:limit]

    def estimate(
        self,
        *,
        farmer_id: str,
        product: wire.Product,
        grade: wire.Grade,
        net_g: int,
        captured_at: datetime,
    ) -> PriceEstimate | None:
        """Estimated unit price and amount, or None when nothing is known to price it."""
        with self._lock:
            d = self._dir
        if d is None:
            return None
        farmer = next((f for f in d.farmers if f.id == farmer_id), None)
        if farmer is None:
            return None
        day = intake_date(captured_at)
        contract = _contract(farmer, product, day)
        if contract is None:
            return None
        if grade is wire.Grade.REJECT:
            unit = contract.reject_fen_per_kg
            return PriceEstimate(
                unit, money.amount_fen(net_g, unit), f"等外价 {money.fen_to_yuan_str(unit)} 元/kg"
            )
        market = _market(d.market, product, grade, day)
        floor = contract.floor_fen_per_kg.get(grade)
        premium = _decimal(contract.premium_pct)
        candidates: list[int] = []
        parts: list[str] = []
        if market is not None:
            with_premium = money.with_premium(market, premium or Decimal(0))
            candidates.append(with_premium)
            parts.append(
                f"市场价 {money.fen_to_yuan_str(market)} × "
                f"{Decimal(1) + (premium or Decimal(0)) / 100:.2f} = "
                f"{money.fen_to_yuan_str(with_premium)}"
            )
        if floor is not None:
            candidates.append(floor)
            parts.append(f"保底价 {money.fen_to_yuan_str(floor)}")
        if not candidates:
            return None
        unit = max(candidates)
        explanation = "；".join(parts) + f" → {money.fen_to_yuan_str(unit)} 元/kg"
        return PriceEstimate(unit, money.amount_fen(net_g, unit), explanation)


def _contract(
    farmer: wire.FarmerHint, product: wire.Product, day: date
) -> wire.ContractHint | None:
    iso = day.isoformat()
    valid = [
        c for c in farmer.contracts if c.product is product and c.valid_from <= iso <= c.valid_to
    ]
    # "Several: the latest signed": the hint has no signing date, so the latest start wins.
    return max(valid, key=lambda c: c.valid_from) if valid else None


def _market(
    market: list[wire.MarketHint], product: wire.Product, grade: wire.Grade, day: date
) -> int | None:
    by_date = {m.date: m.fen_per_kg for m in market if m.product is product and m.grade is grade}
    for back in range(MARKET_FALLBACK_DAYS + 1):
        price = by_date.get((day - timedelta(days=back)).isoformat())
        if price is not None:
            return price
    return None


def _decimal(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
