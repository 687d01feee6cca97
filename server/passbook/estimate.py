"""The station's estimate for a lot the server could not price yet.

What the receipt printed: the farmer's contract (floor, premium) over the latest market
price, without the quota (the station does not know it). Shown labelled as an estimate
until the cooperative prices the lot; never stored, never paid.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy.orm import Session

from gongfang.wire import Grade
from server.lots.models import Lot
from server.pricing.rule import PriceResult, price_lot
from server.pricing.service import MarketBook, load_farmers_and_contracts

FALLBACK_DAYS = 3  # as the pricing rule's default


def estimate_for(*, session: Session, lot: Lot) -> PriceResult | None:
    """The estimate for an unpriced lot, or None when the rule cannot give one either."""
    cooperatives, book = load_farmers_and_contracts(session=session, farmer_ids=[lot.farmer_id])
    contract = book.pick(lot.farmer_id, lot.product, lot.intake_date)
    coop = cooperatives.get(lot.farmer_id)
    if contract is None or coop is None:
        return None
    grade = Grade(lot.grade)
    market = None
    if grade is not Grade.REJECT:
        prices = MarketBook.load(
            session,
            cooperative_ids=[coop],
            first_day=lot.intake_date,
            last_day=lot.intake_date,
            fallback_days=FALLBACK_DAYS,
        )
        market = prices.find(coop, lot.product, lot.grade, lot.intake_date)
    terms = dataclasses.replace(book.terms(contract), quota_g=None)
    result = price_lot(
        net_g=lot.net_g, grade=grade, contract=terms, market=market, quota_used_before_g=0
    )
    return result if result.priced else None
