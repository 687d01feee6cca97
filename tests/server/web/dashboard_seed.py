"""A cooperative with a fortnight of intake at two stations (the 建德 centre with its
28,000 斤 target), market prices, a contract, cold-room minutes and alarms (one
acknowledged on the console), and users of each role: for the dashboard page tests."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from gongfang.web.fmt import SHANGHAI, today_local
from gongfang.wire import AlarmRecord, ClimateSummary, LotRecord
from server.auth.models import User
from server.coldchain.service import upsert_alarms, upsert_climate
from server.importer import import_bundle
from server.lots.service import ingest_lots
from server.stations.models import Station
from tests.server.conftest import contract, market

COOP = "coop-a"
CENTRE = "st-jd"  # 建德 centre: target 14,000 kg = 28,000 斤 a day
VILLAGE = "st-sd"
F1, F2, F9 = f"{COOP}-F1", f"{COOP}-F2", f"{COOP}-F9"
TARGET_G = 14_000_000
GRADES = ("extra", "class_i", "class_ii", "reject")
ALARM_ACTIVE = uuid.UUID("11111111-1111-4111-8111-111111111111")
ALARM_ACKED = uuid.UUID("22222222-2222-4222-8222-222222222222")


def _noon(day: date, hour: int = 9) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def seed_dashboards(session: Session, *, password_hash: str, days: int = 14) -> date:
    """Everything the intake, contracts, prices and cold-chain pages show; returns today."""
    today = today_local()
    import_bundle(
        session=session,
        doc={
            "cooperatives": [
                {"id": COOP, "name": "建德草莓合作社"},
                {"id": "coop-b", "name": "别的合作社"},
            ],
            "stations": [
                {"id": CENTRE, "cooperative": COOP, "name": "建德莓好集市分拣中心"},
                {"id": VILLAGE, "cooperative": COOP, "name": "三都村收购点"},
                {"id": "st-b", "cooperative": "coop-b", "name": "别社收购站"},
            ],
            "farmers": [
                {"id": F1, "name": "王建国", "cooperative": COOP, "low_income": True},
                {"id": F2, "name": "李秀英", "cooperative": COOP},
                {"id": F9, "name": "陈大伯", "cooperative": COOP},
                {"id": "coop-b-F1", "name": "别人", "cooperative": "coop-b"},
            ],
            "contracts": [
                contract(
                    "C-2026-001", F1, valid_from=f"{today.year}-01-01",
                    valid_to=f"{today.year}-12-31", floor={"extra": 1300, "class_i": 1000},
                    premium="20", quota_g=50_000_000,
                ),
                contract(
                    "C-2026-002", F2, valid_from=f"{today.year}-01-01",
                    valid_to=f"{today.year}-12-31", floor={"extra": 1250}, premium="22.5",
                ),
            ],
            "market_prices": [
                market(COOP, g, (today - timedelta(days=n)).isoformat(), fen - 20 * n)
                for n in (0, 1, 3)
                for g, fen in (("extra", 1200), ("class_i", 900), ("class_ii", 640))
            ],
        },
    )  # fmt: skip
    station = session.get(Station, CENTRE)
    assert station is not None
    station.daily_target_g = TARGET_G
    rnd = random.Random(17)
    lots = []
    n = 0
    for back in range(days - 1, -1, -1):
        day = today - timedelta(days=back)
        for st, count, size in ((CENTRE, 30, 400_000), (VILLAGE, 8, 60_000)):
            for _ in range(count):
                n += 1
                grade = rnd.choices(GRADES, weights=(35, 40, 18, 7))[0]
                net = rnd.randrange(size // 2, size * 3 // 2, 100)
                tare = 2000
                lots.append(
                    LotRecord.model_validate(
                        {
                            "id": str(uuid.UUID(int=n, version=4)),
                            "station": st,
                            "farmer": (F1, F2, F9)[n % 3],
                            "product": "strawberry",
                            "grade": grade,
                            "gross_g": net + tare,
                            "tare_g": tare,
                            "net_g": net,
                            "graded_by": {"kind": "model", "model_name": "strawberry",
                                          "model_version": "1.3.1"},
                            "captured_at": _noon(day, 7 + n % 10).isoformat(),
                        }
                    )
                )  # fmt: skip
    ingest_lots(session=session, lots=lots)
    # Cold room minutes: yesterday all day at about 1 °C with a warm hour; today's morning.
    minutes = []
    start = _noon(today - timedelta(days=1), 0)
    for m in range(1440 + 600):
        at = start + timedelta(minutes=m)
        warm = 600 <= m < 660
        temp = 6.5 if warm else 1.0 + 0.4 * ((m % 60) / 60)
        for room in ("room1", "room2"):
            t = temp if room == "room1" else temp - 0.3
            minutes.append(
                ClimateSummary(
                    station=CENTRE, room=room, minute_start=at, samples=6,
                    temp_min_c=round(t - 0.2, 2), temp_mean_c=round(t, 2),
                    temp_max_c=round(t + 0.2, 2), rh_mean_pct=92.0,
                )
            )  # fmt: skip
    upsert_climate(session=session, summaries=minutes)
    upsert_alarms(
        session=session,
        alarms=[
            AlarmRecord(
                id=ALARM_ACKED, station=CENTRE, room="room1", rule="temp_high",
                severity="major", started_at=start + timedelta(minutes=610),
                updated_at=start + timedelta(minutes=665),
                cleared_at=start + timedelta(minutes=665), peak_value=6.7,
                message="冷库温度过高 > 4 °C / temperature above 4 °C", acked_by="op-wang",
                acked_at=start + timedelta(minutes=615),
            ),
            AlarmRecord(
                id=ALARM_ACTIVE, station=VILLAGE, room="cold-1", rule="sensor_silent",
                severity="major", started_at=_noon(today, 8), updated_at=_noon(today, 8),
                message="传感器无数据 / sensor silent: no reading for 10 min",
            ),
        ],
    )  # fmt: skip
    for name, role, coop in (
        ("reviewer1", "reviewer", COOP),
        ("clerk1", "operator", COOP),
        ("admin1", "admin", None),
        ("reviewer-b", "reviewer", "coop-b"),
    ):
        session.add(User(name=name, role=role, cooperative_id=coop, password_hash=password_hash))
    session.flush()
    return today
