"""The worked example bundle, imported and paid through the command line.

Expected figures derived by hand from the pricing rule of DESIGN.md (see the comments).
Contracts (worked_example.json):
  C1  F1: floors extra 13.00 / class_i 10.00 / class_ii 7.00 元/kg, premium 20 %,
      quota 10 kg, reject 0.50 元/kg.
  C2  F2: floor class_i 9.00 only, premium 22.5 %, no quota.
  C4a F4: signed 2026-01-01, floor extra 10.00, premium 10 %.
  C4b F4: signed 2026-02-01, floor extra 15.00, premium 25 %  → the latest signed wins.
Market (coop-jd, strawberry): extra 12.00 and class_i 8.00 on 2026-03-01 only.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from typer.testing import CliRunner

from gongfang.cli import app

BUNDLE = Path(__file__).with_name("worked_example.json")

# Lots in order of arrival (captured_at, then id), intake date = Asia/Shanghai date:
# L1 F1 extra 6.000 kg, 03-01: M = 12.00 → 12.00 × 1.20 = 14.40 ≥ floor 13.00 → 14.40;
#    6000 × 1440 / 1000 = 8640 fen; quota used 6000 of 10000.
# L4 F2 class_i 1.234 kg, 03-01: M = 8.00 → 8.00 × 1.225 = 9.80 ≥ floor 9.00 → 9.80;
#    1234 × 980 / 1000 = 1209.32 → 1209 fen.
# L8 F4 extra 1.000 kg, 03-01: contract C4b (latest signed): 12.00 × 1.25 = 15.00,
#    floor 15.00 → 15.00; 1000 × 1500 / 1000 = 1500 fen. (C4a would give 13.20.)
# L9 F4 extra 1.001 kg, 03-01: 15.00; 1001 × 1500 / 1000 = 1501.5 → half-up 1502 fen.
# L2 F1 extra 5.000 kg captured 2026-03-01T16:30Z = 03-02 00:30 in Shanghai → date 03-02;
#    no extra price on 03-02 → fallback to 03-01 (12.00, within 3 days) → 14.40.
#    Quota left 4000 g: split 4000 g × 14.40 = 5760 fen + 1000 g over quota at M alone
#    12.00 = 1200 fen → 6960 fen. Quota used 11000.
# L7 F3 extra 3.000 kg, 03-02: F3 has no contract → unpriced.
# L3 F1 reject 2.000 kg, 03-03: reject price 0.50 → 2000 × 50 / 1000 = 100 fen; no quota.
# L5 F2 class_i 2.500 kg, 03-05: class_i prices: none on 03-05, 03-04, 03-03, 03-02
#    (fallback 3 days) → no M → floor only 9.00: 2500 × 900 / 1000 = 2250 fen.
# L6 F2 class_ii 1.000 kg, 03-06: C2 has no class_ii floor and there is no market → unpriced.
# L10 F1 extra 1.000 kg, 03-20: whole lot beyond the quota, no M for 03-17…03-20 → unpriced;
#    dated after the period's end, so not in this run at all.
EXPECTED_LINES = [
    # F1: L1 8640 + L2 6960 + L3 100 = 15700; net 6000 + 5000 + 2000 = 13000
    {
        "farmer": "F1",
        "lots": 3,
        "net_g": 13000,
        "amount_fen": 15700,
        "adjustments_fen": 0,
        "total_fen": 15700,
    },
    # F2: L4 1209 + L5 2250 = 3459; net 1234 + 2500 = 3734 (L6 unpriced)
    {
        "farmer": "F2",
        "lots": 2,
        "net_g": 3734,
        "amount_fen": 3459,
        "adjustments_fen": 0,
        "total_fen": 3459,
    },
    # F4: L8 1500 + L9 1502 = 3002; net 1000 + 1001 = 2001
    {
        "farmer": "F4",
        "lots": 2,
        "net_g": 2001,
        "amount_fen": 3002,
        "adjustments_fen": 0,
        "total_fen": 3002,
    },
]
# Unpriced lots dated on or before 03-15, in order of captured_at: L7 (03-02), L6 (03-06).
EXPECTED_UNPRICED = [
    "00000000-0000-4000-8000-000000000007",
    "00000000-0000-4000-8000-000000000006",
]
# Per-lot amounts (L2's two parts 5760 + 1200).
EXPECTED_LOT_AMOUNTS = {1: 8640, 2: 6960, 3: 100, 4: 1209, 5: 2250, 8: 1500, 9: 1502}


def test_worked_example_through_the_cli(db_url: str) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["server", "import", str(BUNDLE), "--db", db_url])
    assert res.exit_code == 0, res.output
    assert "lots_accepted=10" in res.stdout

    # Importing the same bundle again changes nothing: the same lot twice is one lot.
    res = runner.invoke(app, ["server", "import", str(BUNDLE), "--db", db_url])
    assert res.exit_code == 0, res.output
    assert "lots_accepted=0, lots_duplicate=10" in res.stdout

    res = runner.invoke(
        app,
        [
            "payouts",
            "run",
            "--cooperative",
            "coop-jd",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-15",
            "--json",
            "--db",
            db_url,
        ],
    )
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["lines"] == EXPECTED_LINES
    assert doc["unpriced"] == EXPECTED_UNPRICED
    assert doc["late"] == []

    from server.core.db import make_engine, session_factory
    from server.lots.models import Lot, LotPart

    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as s:
            for n, amount in EXPECTED_LOT_AMOUNTS.items():
                lot = s.get(Lot, uuid.UUID(f"00000000-0000-4000-8000-{n:012d}"))
                assert lot is not None
                assert lot.amount_fen == amount, n
            parts = (
                s.query(LotPart)
                .filter(LotPart.lot_id == uuid.UUID("00000000-0000-4000-8000-000000000002"))
                .order_by(LotPart.part_no)
                .all()
            )
            assert [(p.net_g, p.unit_fen_per_kg, p.amount_fen) for p in parts] == [
                (4000, 1440, 5760),
                (1000, 1200, 1200),
            ]
            assert parts[1].explanation.startswith("超出配额 1.000 kg：市场价 12.00")
    finally:
        engine.dispose()

    res = runner.invoke(
        app, ["payouts", "approve", str(doc["run"]), "--by", "审核员张", "--db", db_url]
    )
    assert res.exit_code == 0, res.output
    # A second run over the same period pays nothing twice.
    res = runner.invoke(
        app,
        [
            "payouts",
            "run",
            "--cooperative",
            "coop-jd",
            "--from",
            "2026-03-01",
            "--to",
            "2026-03-15",
            "--json",
            "--db",
            db_url,
        ],
    )
    assert json.loads(res.stdout)["lines"] == []
