"""The demo cooperative: one station, ten farmers under strawberry contracts, market prices.

Prices are in fen/kg (DESIGN.md), pitched at 建德's numbers: market ~20–36 元/kg by grade,
a 20% 共富价 premium, floors a little under market, 等外 fruit bought for processing at
4.00 元/kg. The day is scripted so each rule shows once: 张伟 (F003) brings good fruit
past a small quota (a lot split at the quota), 杨丽 (F006) brings poor crates (等外), 吴霞
(F010) has no contract (her lots wait for review, unpriced).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

COOPERATIVE = "C01"
STATION = "ST01"
FARMERS = [f"F{i:03d}" for i in range(1, 11)]
_NAMES = ["王建国", "李秀英", "张伟", "刘芳", "陈明", "杨丽", "赵强", "黄敏", "周杰", "吴霞"]
# Who visits, in order (``gongfang demo --farmers N`` takes the first N) and what their
# crates look like on camera (the others' quality follows from the seed).
VISITORS = ["F001", "F002", "F003", "F010", "F005", "F006", "F004", "F007", "F008", "F009"]
QUALITIES = {"F001": "good", "F002": "good", "F003": "good", "F010": "good", "F006": "poor"}
QUOTA_G = {"F003": 8_000}
REJECT_FEN_PER_KG = 400
MARKET_FEN_PER_KG = {"extra": 3600, "class_i": 2800, "class_ii": 2000, "reject": 600}
FLOOR_FEN_PER_KG = {"extra": 3400, "class_i": 2600, "class_ii": 1800}


def demo_bundle(day: date) -> dict[str, Any]:
    """A bundle for ``gongfang server import``: contracts valid around ``day``, prices for
    ``day`` and the two days before (so the market fallback has something to find)."""
    farmers = [
        {"id": fid, "name": name, "cooperative": COOPERATIVE, "low_income": i % 3 == 0}
        for i, (fid, name) in enumerate(zip(FARMERS, _NAMES, strict=True))
    ]
    contracts = [
        {
            "id": f"K-{fid}",
            "farmer": fid,
            "product": "strawberry",
            "signed_on": (day - timedelta(days=60)).isoformat(),
            "valid_from": (day - timedelta(days=30)).isoformat(),
            "valid_to": (day + timedelta(days=120)).isoformat(),
            "floor_fen_per_kg": FLOOR_FEN_PER_KG,
            "premium_pct": "20",
            # A small quota on one farmer shows a lot split across it.
            "quota_g": QUOTA_G.get(fid),
            "reject_fen_per_kg": REJECT_FEN_PER_KG,
        }
        for fid in FARMERS
        if fid != "F010"  # F010 has no contract: their lots wait for review (unpriced)
    ]
    prices = [
        {
            "cooperative": COOPERATIVE,
            "product": "strawberry",
            "grade": grade,
            "date": (day - timedelta(days=back)).isoformat(),
            "fen_per_kg": fen - 100 * back,
        }
        for back in range(3)
        for grade, fen in MARKET_FEN_PER_KG.items()
    ]
    return {
        "cooperatives": [{"id": COOPERATIVE, "name": "建德莓好合作社"}],
        "stations": [{"id": STATION, "cooperative": COOPERATIVE, "name": "莓好集市分拣中心"}],
        "farmers": farmers,
        "contracts": contracts,
        "market_prices": prices,
    }
