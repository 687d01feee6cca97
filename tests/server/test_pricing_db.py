"""Acceptance 1: pricing on both databases through the import and the sync endpoint."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select

from server.lots.models import Lot, LotPart
from tests.server.conftest import base_bundle, contract, lot, lot_id, market, wire_lot

C = "coop-a"
F1, F9 = f"{C}-F1", f"{C}-F9"


def _lots(sessions) -> dict[str, Lot]:
    with sessions() as s:
        return {str(x.id): x for x in s.scalars(select(Lot))}


def _parts(sessions, n: int) -> list[tuple[int, int, int]]:
    with sessions() as s:
        rows = s.scalars(
            select(LotPart).where(LotPart.lot_id == uuid.UUID(lot_id(n))).order_by(LotPart.part_no)
        )
        return [(p.net_g, p.unit_fen_per_kg, p.amount_fen) for p in rows]


def test_quota_crossed_inside_one_lot_is_split(load, sessions) -> None:
    doc = base_bundle()
    doc["contracts"] = [contract("C1", F1, floor={"extra": 1000}, quota_g=3000)]
    doc["market_prices"] = [market(C, "extra", "2026-03-01", 1100)]
    doc["lots"] = [
        lot(1, F1, net_g=2000, captured_at="2026-03-01T01:00:00Z"),
        lot(2, F1, net_g=1750, captured_at="2026-03-01T02:00:00Z"),
    ]
    load(doc)
    # unit in quota = max(10.00, 11.00 × 1.2 = 13.20) = 13.20
    assert _parts(sessions, 1) == [(2000, 1320, 2640)]
    # 1000 g left: 1000 × 13.20 = 1320; 750 g over at 11.00 = 825
    assert _parts(sessions, 2) == [(1000, 1320, 1320), (750, 1100, 825)]
    assert _lots(sessions)[lot_id(2)].amount_fen == 2145


def test_market_fallback_three_days_then_floor_only(load, sessions) -> None:
    doc = base_bundle()
    doc["contracts"] = [contract("C1", F1, floor={"extra": 1300})]
    doc["market_prices"] = [market(C, "extra", "2026-03-01", 1200)]
    # Shanghai dates 03-01, 03-02, 03-04 (D−3: still fallback), 03-05 (D−4: floor only)
    doc["lots"] = [
        lot(1, F1, net_g=1000, captured_at="2026-03-01T02:00:00Z"),
        lot(2, F1, net_g=1000, captured_at="2026-03-02T02:00:00Z"),
        lot(3, F1, net_g=1000, captured_at="2026-03-04T02:00:00Z"),
        lot(4, F1, net_g=1000, captured_at="2026-03-05T02:00:00Z"),
    ]
    load(doc)
    lots = _lots(sessions)
    assert [lots[lot_id(n)].amount_fen for n in (1, 2, 3, 4)] == [1440, 1440, 1440, 1300]
    with sessions() as s:
        part3 = s.scalars(select(LotPart).where(LotPart.lot_id == uuid.UUID(lot_id(3)))).one()
        part4 = s.scalars(select(LotPart).where(LotPart.lot_id == uuid.UUID(lot_id(4)))).one()
    assert part3.market_day == date(2026, 3, 1)
    assert "（2026-03-01）" in part3.explanation
    assert part4.explanation == "无市场价；保底价 13.00 → 13.00 元/kg"


def test_no_contract_is_unpriced_and_listed(load, sessions, client, make_user) -> None:
    doc = base_bundle()
    doc["market_prices"] = [market(C, "extra", "2026-03-01", 1200)]
    doc["lots"] = [lot(1, F9, net_g=1000, captured_at="2026-03-01T02:00:00Z")]
    load(doc)
    got = _lots(sessions)[lot_id(1)]
    assert got.status == "unpriced"
    assert got.amount_fen is None
    headers = make_user("rev", "reviewer", C)
    res = client.get("/api/v1/lots/unpriced", headers=headers)
    assert res.status_code == 200
    assert [x["id"] for x in res.json()] == [lot_id(1)]
    assert "no contract" in res.json()[0]["unpriced_reason"]


def test_two_contracts_latest_signed_wins(load, sessions) -> None:
    doc = base_bundle()
    doc["contracts"] = [
        contract("old", F1, signed_on="2026-02-01", floor={"extra": 2000}),
        contract("new", F1, signed_on="2026-02-15", floor={"extra": 1000}),
        # Signed last but not valid on the intake date: ignored.
        contract(
            "later", F1, signed_on="2026-03-01", valid_from="2026-04-01", floor={"extra": 9000}
        ),
    ]
    doc["lots"] = [lot(1, F1, net_g=1000, captured_at="2026-03-01T02:00:00Z")]
    load(doc)
    got = _lots(sessions)[lot_id(1)]
    assert got.contract_id == "new"
    assert got.amount_fen == 1000


def test_reject_grade_uses_reject_price_and_skips_quota(load, sessions) -> None:
    doc = base_bundle()
    doc["contracts"] = [contract("C1", F1, floor={"extra": 1000}, quota_g=1000, reject=30)]
    doc["market_prices"] = [market(C, "extra", "2026-03-01", 500)]
    doc["lots"] = [
        lot(1, F1, net_g=5000, grade="reject", captured_at="2026-03-01T01:00:00Z"),
        lot(2, F1, net_g=1000, captured_at="2026-03-01T02:00:00Z"),
    ]
    load(doc)
    lots = _lots(sessions)
    assert lots[lot_id(1)].amount_fen == 150  # 5 kg × 0.30
    assert _parts(sessions, 2) == [(1000, 1000, 1000)]  # the whole quota was still there


def test_half_up_rounding_at_half_a_fen(load, sessions) -> None:
    doc = base_bundle()
    doc["contracts"] = [contract("C1", F1, floor={"extra": 1500}, premium=None)]
    doc["lots"] = [lot(1, F1, net_g=1001, captured_at="2026-03-01T02:00:00Z")]
    load(doc)
    assert _lots(sessions)[lot_id(1)].amount_fen == 1502  # 1501.5 → 1502


def test_1630z_on_1_march_is_2_march(load, sessions) -> None:
    doc = base_bundle()
    doc["contracts"] = [contract("C1", F1, floor={}, premium="0")]
    doc["market_prices"] = [
        market(C, "extra", "2026-03-01", 1000),
        market(C, "extra", "2026-03-02", 2000),
    ]
    doc["lots"] = [lot(1, F1, net_g=1000, captured_at="2026-03-01T16:30:00Z")]
    load(doc)
    got = _lots(sessions)[lot_id(1)]
    assert got.intake_date == date(2026, 3, 2)
    assert got.amount_fen == 2000


def test_batch_order_is_captured_at_then_id_and_no_repricing(
    load, sessions, client, make_user
) -> None:
    from server.core.db import session_scope
    from server.stations.service import issue_station_key

    doc = base_bundle()
    doc["contracts"] = [contract("C1", F1, floor={"extra": 1000}, premium="0", quota_g=1500)]
    doc["market_prices"] = [market(C, "extra", "2026-03-01", 500)]
    load(doc)
    with session_scope(sessions) as s:
        key = issue_station_key(session=s, station_id="st-a")
    t = "2026-03-01T02:00:00Z"
    # Same captured_at: the lower id comes first and gets the quota.
    batch = {
        "station": "st-a",
        "lots": [
            wire_lot(2, F1, net_g=1000, captured_at=t),
            wire_lot(1, F1, net_g=1000, captured_at=t),
        ],
    }
    res = client.post("/api/v1/sync", json=batch, headers={"X-Api-Key": key})
    assert res.status_code == 200, res.text
    assert [a["result"] for a in res.json()["lots"]] == ["accepted", "accepted"]
    assert [a["id"] for a in res.json()["lots"]] == [lot_id(2), lot_id(1)]
    assert _parts(sessions, 1) == [(1000, 1000, 1000)]
    assert _parts(sessions, 2) == [(500, 1000, 500), (500, 500, 250)]
    # A late lot captured earlier arrives afterwards: it finds the quota used up and the
    # earlier lots keep their prices.
    late = {
        "station": "st-a",
        "lots": [wire_lot(3, F1, net_g=1000, captured_at="2026-03-01T00:00:00Z")],
    }
    res = client.post("/api/v1/sync", json=late, headers={"X-Api-Key": key})
    assert res.json()["lots"][0]["result"] == "accepted"
    assert _parts(sessions, 3) == [(1000, 500, 500)]
    assert _parts(sessions, 1) == [(1000, 1000, 1000)]
    # Re-sent: duplicate; changed content: conflict and the stored lot is untouched.
    res = client.post("/api/v1/sync", json=late, headers={"X-Api-Key": key})
    assert res.json()["lots"][0]["result"] == "duplicate"
    changed = {
        "station": "st-a",
        "lots": [wire_lot(3, F1, net_g=900, captured_at="2026-03-01T00:00:00Z")],
    }
    res = client.post("/api/v1/sync", json=changed, headers={"X-Api-Key": key})
    assert res.json()["lots"][0]["result"] == "conflict"
    assert _lots(sessions)[lot_id(3)].net_g == 1000
