"""The server benchmarks' world: one cooperative with 10,000 farmers under contract at 50
stations, 150 days of market prices, the SQL that bulk-loads lots straight into the tables,
and sync bodies of lots to send. Shared by bench_server and bench_review_page.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet
from sqlalchemy import insert

FARMERS = 10_000
STATIONS = 50
DAYS = 90
BATCH = 500
SECRET = "bench-secret-0123456789abcdef"  # noqa: S105 - a throwaway test secret
FIELD_KEY = Fernet.generate_key().decode()  # sealed farmer fields: a throwaway key


def seed(factory: Any) -> None:
    from server.contracts.models import Contract
    from server.farmers.models import Farmer
    from server.pricing.models import MarketPrice
    from server.stations.models import Cooperative, Station

    with factory() as s:
        s.execute(insert(Cooperative), [{"id": "bench", "name": "bench"}])
        s.execute(
            insert(Station),
            [{"id": f"s{i}", "cooperative_id": "bench", "name": f"s{i}"} for i in range(STATIONS)],
        )
        s.execute(
            insert(Farmer),
            [
                {
                    "id": f"F{i}",
                    "cooperative_id": "bench",
                    "name": f"农户{i}",
                    "low_income": i % 3 == 0,
                }
                for i in range(FARMERS)
            ],
        )
        s.execute(
            insert(Contract),
            [
                {
                    "id": f"K{i}",
                    "farmer_id": f"F{i}",
                    "product": "strawberry",
                    "signed_on": date(2025, 12, 1),
                    "valid_from": date(2026, 1, 1),
                    "valid_to": date(2026, 12, 31),
                    "floor_extra_fen_per_kg": 1300,
                    "floor_class_i_fen_per_kg": 1000,
                    "floor_class_ii_fen_per_kg": 700,
                    "premium_pct": "20",
                    "quota_g": 200_000,
                    "reject_fen_per_kg": 0,
                    "quota_used_g": 0,
                }
                for i in range(FARMERS)
            ],
        )
        s.execute(
            insert(MarketPrice),
            [
                {
                    "cooperative_id": "bench",
                    "product": "strawberry",
                    "grade": g,
                    "day": date(2026, 1, 1) + timedelta(days=d),
                    "fen_per_kg": 1000 + 10 * (d % 30),
                }
                for d in range(150)
                for g in ("extra", "class_i", "class_ii")
            ],
        )
        s.commit()


PG_BULK = """
INSERT INTO lots (id, station_id, farmer_id, cooperative_id, product, grade, gross_g, tare_g,
  net_g, graded_by, items, image_hashes, captured_at, intake_date, cold_room, operator,
  content_hash, received_at, contract_id, status, amount_fen, unpriced_reason)
SELECT md5('bulk' || n)::uuid, 's' || (n % 50), 'F' || (n % 10000), 'bench', 'strawberry',
  (ARRAY['extra','class_i','class_ii','reject'])[1 + n % 4], 1200 + n % 5000, 200,
  1000 + n % 5000, '{}'::json, '[]'::json, '[]'::json,
  timestamptz '2026-01-01 02:00+00' + make_interval(days => n % 90),
  date '2026-01-01' + (n % 90), NULL, NULL, md5(n::text), now(), 'K' || (n % 10000),
  'priced', (1000 + n % 5000) * 13 / 10, NULL
FROM generate_series(1, :n) AS n
"""
SQLITE_BULK = """
WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < :n)
INSERT INTO lots (id, station_id, farmer_id, cooperative_id, product, grade, gross_g, tare_g,
  net_g, graded_by, items, image_hashes, captured_at, intake_date, cold_room, operator,
  content_hash, received_at, contract_id, status, amount_fen, unpriced_reason)
SELECT printf('%032x', n + 4294967296), 's' || (n % 50), 'F' || (n % 10000), 'bench',
  'strawberry', CASE n % 4 WHEN 0 THEN 'extra' WHEN 1 THEN 'class_i' WHEN 2 THEN 'class_ii'
  ELSE 'reject' END, 1200 + n % 5000, 200, 1000 + n % 5000, '{}', '[]', '[]',
  datetime('2026-01-01 02:00:00', '+' || (n % 90) || ' days'),
  date('2026-01-01', '+' || (n % 90) || ' days'), NULL, NULL, printf('%064x', n),
  datetime('now'), 'K' || (n % 10000), 'priced', (1000 + n % 5000) * 13 / 10, NULL
FROM s
"""
REBUILD_AGG = """
INSERT INTO daily_aggregates (day, station_id, product, grade, lots, net_g, unpriced_lots,
  amount_fen)
SELECT intake_date, station_id, product, grade, count(*), sum(net_g),
  sum(CASE WHEN amount_fen IS NULL THEN 1 ELSE 0 END), coalesce(sum(amount_fen), 0)
FROM lots GROUP BY intake_date, station_id, product, grade
"""


def lot_bodies(n_batches: int, start: datetime, tag: int) -> list[list[dict[str, Any]]]:
    batches = []
    k = 0
    for _b in range(n_batches):
        lots = []
        for _i in range(BATCH):
            k += 1
            net = 800 + (k * 37) % 6000
            lots.append(
                {
                    "id": str(uuid.UUID(int=(tag << 64) + k, version=4)),
                    "station": "s0",
                    "farmer": f"F{(k * 7919) % FARMERS}",
                    "product": "strawberry",
                    "grade": ("extra", "class_i", "class_ii", "reject")[k % 4],
                    "gross_g": net + 300,
                    "tare_g": 300,
                    "net_g": net,
                    "graded_by": {
                        "kind": "model",
                        "model_name": "strawberry",
                        "model_version": "1",
                    },
                    "captured_at": (start + timedelta(seconds=k * 3)).isoformat(),
                }
            )
        batches.append(lots)
    return batches
