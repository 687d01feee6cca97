"""The pure pricing rule (no database): each clause of DESIGN.md's rule in isolation."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongfang.money import amount_fen
from gongfang.wire import Grade
from server.pricing.rule import NO_CONTRACT, ContractTerms, MarketRef, _amount_fen, price_lot
from server.pricing.service import intake_date

D = date(2026, 3, 1)


def terms(**kw: Any) -> ContractTerms:
    base: dict[str, Any] = {
        "id": "c",
        "floor_fen_per_kg": {Grade.EXTRA: 1300},
        "premium_pct": Decimal("20"),
        "quota_g": None,
        "reject_fen_per_kg": 0,
    }
    base.update(kw)
    return ContractTerms(**base)


def test_explanation_matches_the_design_example() -> None:
    r = price_lot(
        net_g=1000,
        grade=Grade.EXTRA,
        contract=terms(),
        market=MarketRef(1200, D),
        quota_used_before_g=0,
    )
    assert r.parts[0].explanation == "市场价 12.00 × 1.20 = 14.40；保底价 13.00 → 14.40 元/kg"
    assert r.amount_fen == 1440


def test_floor_wins_when_higher() -> None:
    r = price_lot(
        net_g=1000,
        grade=Grade.EXTRA,
        contract=terms(),
        market=MarketRef(1000, D),
        quota_used_before_g=0,
    )
    assert r.parts[0].unit_fen_per_kg == 1300  # 10.00 × 1.2 = 12.00 < 13.00


def test_quota_split_rounds_each_part() -> None:
    # 1.5 kg left of a 2 kg quota: 1501 g at 14.40 and 999 g at 12.00, each rounded.
    r = price_lot(
        net_g=2500,
        grade=Grade.EXTRA,
        contract=terms(quota_g=2000),
        market=MarketRef(1203, D),
        quota_used_before_g=499,
    )
    # unit = round(12.03 × 1.2 = 14.436) = 14.44 元/kg
    assert [(p.net_g, p.unit_fen_per_kg, p.amount_fen) for p in r.parts] == [
        (1501, 1444, 2167),  # 1501 × 1444 / 1000 = 2167.444 → 2167
        (999, 1203, 1202),  # 999 × 1203 / 1000 = 1201.797 → 1202
    ]
    assert r.amount_fen == 2167 + 1202
    assert r.quota_counted_g == 2500


def test_quota_exhausted_without_market_is_unpriced_but_counts() -> None:
    r = price_lot(
        net_g=800,
        grade=Grade.EXTRA,
        contract=terms(quota_g=1000),
        market=None,
        quota_used_before_g=1000,
    )
    assert not r.priced
    assert r.amount_fen is None
    assert r.quota_counted_g == 800


def test_reject_uses_reject_price_and_no_quota() -> None:
    r = price_lot(
        net_g=3000,
        grade=Grade.REJECT,
        contract=terms(quota_g=1000, reject_fen_per_kg=40),
        market=MarketRef(1200, D),
        quota_used_before_g=0,
    )
    assert r.amount_fen == 120
    assert r.quota_counted_g == 0


def test_no_contract_is_unpriced_never_zero() -> None:
    r = price_lot(
        net_g=1000,
        grade=Grade.EXTRA,
        contract=None,
        market=MarketRef(1200, D),
        quota_used_before_g=0,
    )
    assert r.unpriced_reason == NO_CONTRACT
    assert r.amount_fen is None


def test_both_terms_missing_is_unpriced() -> None:
    r = price_lot(
        net_g=1000, grade=Grade.CLASS_II, contract=terms(), market=None, quota_used_before_g=0
    )
    assert not r.priced


@pytest.mark.parametrize(
    ("net_g", "unit", "fen"),
    [(1001, 1500, 1502), (500, 1001, 501), (1500, 1, 2), (2500, 1, 3), (1499, 1, 1)],
)
def test_half_up_at_half_a_fen(net_g: int, unit: int, fen: int) -> None:
    r = price_lot(
        net_g=net_g,
        grade=Grade.EXTRA,
        contract=terms(floor_fen_per_kg={Grade.EXTRA: unit}, premium_pct=None),
        market=None,
        quota_used_before_g=0,
    )
    assert r.amount_fen == fen


def test_premium_multiplier_spelling() -> None:
    r = price_lot(
        net_g=1000,
        grade=Grade.EXTRA,
        contract=terms(premium_pct=Decimal("22.5"), floor_fen_per_kg={}),
        market=MarketRef(1001, D),
        quota_used_before_g=0,
    )
    # 10.01 × 1.225 = 12.26225 → 12.26
    assert r.parts[0].explanation == "市场价 10.01 × 1.225 = 12.26；无保底价 → 12.26 元/kg"


def test_intake_date_is_shanghai_date() -> None:
    from datetime import UTC, datetime

    assert intake_date(datetime(2026, 3, 1, 16, 30, tzinfo=UTC)) == date(2026, 3, 2)
    assert intake_date(datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC)) == date(2026, 3, 1)


@given(
    net_g=st.integers(min_value=1, max_value=10**7),
    unit=st.integers(min_value=0, max_value=10**6),
)
def test_fast_amount_equals_the_money_rule(net_g: int, unit: int) -> None:
    # The rule's integer shortcut must round exactly like gongfang.money (half-up).
    assert _amount_fen(net_g, unit) == amount_fen(net_g, unit)


def test_cached_unit_text_does_not_leak_between_contracts() -> None:
    a = price_lot(
        net_g=1000,
        grade=Grade.EXTRA,
        contract=terms(premium_pct=Decimal("20")),
        market=MarketRef(1200, D),
        quota_used_before_g=0,
    )
    b = price_lot(
        net_g=1000,
        grade=Grade.EXTRA,
        contract=terms(premium_pct=Decimal("25")),
        market=MarketRef(1200, D, fallback=False),
        quota_used_before_g=0,
    )
    c = price_lot(
        net_g=1000,
        grade=Grade.EXTRA,
        contract=terms(premium_pct=Decimal("20")),
        market=MarketRef(1200, date(2026, 2, 28), fallback=True),
        quota_used_before_g=0,
    )
    assert a.parts[0].explanation == "市场价 12.00 × 1.20 = 14.40；保底价 13.00 → 14.40 元/kg"
    assert b.parts[0].explanation == "市场价 12.00 × 1.25 = 15.00；保底价 13.00 → 15.00 元/kg"
    assert c.parts[0].explanation.startswith("市场价 12.00（2026-02-28） × 1.20")
