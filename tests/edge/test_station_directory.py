"""Farmer lookup and the receipt's price estimate (DESIGN.md rules 1, 2, 3, 5; no quota)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from edge.station.directory import Directory, intake_date
from gongfang import wire

G = wire.Grade
P = wire.Product


def _dir(market: list[wire.MarketHint], contracts: list[wire.ContractHint]) -> Directory:
    return Directory(
        wire.StationDirectory(
            station="st1",
            cooperative="c1",
            farmers=[
                wire.FarmerHint(id="F001", name="张三", card_code="QR-777", contracts=contracts),
                wire.FarmerHint(id="F002", name="李四"),
            ],
            market=market,
        )
    )


CONTRACT = wire.ContractHint(
    product=P.STRAWBERRY,
    valid_from="2026-05-01",
    valid_to="2026-05-31",
    floor_fen_per_kg={G.CLASS_I: 1300},
    premium_pct="20",
    reject_fen_per_kg=50,
)
# 2026-05-10 17:00 UTC is 2026-05-11 01:00 in Shanghai: the intake date is the 11th.
AT = datetime(2026, 5, 10, 17, 0, tzinfo=UTC)


def _m(day: str, fen: int, grade: G = G.CLASS_I) -> wire.MarketHint:
    return wire.MarketHint(product=P.STRAWBERRY, grade=grade, date=day, fen_per_kg=fen)


def test_intake_date_is_shanghai() -> None:
    assert intake_date(AT).isoformat() == "2026-05-11"


def test_lookup_by_card_code_or_id() -> None:
    d = _dir([], [])
    by_card, by_id = d.farmer("QR-777"), d.farmer(" F002 ")
    assert by_card is not None
    assert by_card.id == "F001"
    assert by_id is not None
    assert by_id.name == "李四"
    assert d.farmer("nobody") is None


@pytest.mark.parametrize(
    ("market", "grade", "unit", "amount"),
    [
        # M × 1.2 = 1440 > floor 1300; 12,340 g × 14.40 = 177.696 → 177.70 元
        ([_m("2026-05-11", 1200)], G.CLASS_I, 1440, 17770),
        # floor wins: 1000 × 1.2 = 1200 < 1300
        ([_m("2026-05-11", 1000)], G.CLASS_I, 1300, 16042),
        # no M on the day: the latest of D−1…D−3 (the 9th, not the 7th)
        ([_m("2026-05-07", 2000), _m("2026-05-09", 1250)], G.CLASS_I, 1500, 18510),
        # M too old (D−4): floor only
        ([_m("2026-05-07", 2000)], G.CLASS_I, 1300, 16042),
        # no floor for the grade: M × premium alone; 1111 × 1.2 = 1333.2 → 1333
        ([_m("2026-05-11", 1111, G.EXTRA)], G.EXTRA, 1333, 16449),
        # reject: the contract's reject price
        ([_m("2026-05-11", 1200, G.REJECT)], G.REJECT, 50, 617),
    ],
)
def test_estimate(market, grade, unit, amount) -> None:
    est = _dir(market, [CONTRACT]).estimate(
        farmer_id="F001", product=P.STRAWBERRY, grade=grade, net_g=12340, captured_at=AT
    )
    assert est is not None
    assert (est.unit_fen_per_kg, est.amount_fen) == (unit, amount)


def test_no_estimate_without_contract_or_terms() -> None:
    d = _dir([], [CONTRACT])
    kw: dict[str, Any] = {"product": P.STRAWBERRY, "net_g": 1000, "captured_at": AT}
    assert d.estimate(farmer_id="F002", grade=G.CLASS_I, **kw) is None  # no contract
    assert d.estimate(farmer_id="F001", grade=G.CLASS_II, **kw) is None  # no floor, no M
    late = datetime(2026, 6, 2, 3, 0, tzinfo=UTC)
    assert (
        d.estimate(
            farmer_id="F001", grade=G.CLASS_I, product=P.STRAWBERRY, net_g=1000, captured_at=late
        )
        is None
    )  # contract expired
    assert Directory().estimate(farmer_id="F001", grade=G.CLASS_I, **kw) is None


def test_explanation_shows_the_rule() -> None:
    est = _dir([_m("2026-05-11", 1200)], [CONTRACT]).estimate(
        farmer_id="F001", product=P.STRAWBERRY, grade=G.CLASS_I, net_g=1000, captured_at=AT
    )
    assert est is not None
    assert est.explanation == "市场价 12.00 × 1.20 = 14.40；保底价 13.00 → 14.40 元/kg"
