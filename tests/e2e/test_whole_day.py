"""A station's whole day through every real part, and the money reconciled at the end.

A simulated XK3190 indicator on a pty → the firmware bridge (serial decoder) → a real
Mosquitto → the edge node (stable-weight detector, real ONNX grading of the rendered crate
photo the lane camera publishes, lot + outbox in SQLite) → sync over HTTP → the real
server on PostgreSQL (pricing under each farmer's contract, daily aggregates) → a payout
run drafted by one person and approved by another → the bank batch exported as CSV.

What it proves: every crate put on the scale is one lot on the edge and one on the server
(none lost, none doubled), its net weight is the indicator's reading minus the lane tare
to the gram, and the money agrees everywhere it is counted: the exported batch's total =
the run's total = the sum of the lots' amounts = the stored daily aggregates = the
aggregates recounted from the raw lots.
"""

from __future__ import annotations

import csv
import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from edge.app import EdgeNode
from firmware_bridge.config import ScaleDeviceConfig
from firmware_bridge.devices import Bridge
from firmware_bridge.simulate.scale import SimulatedScale
from gongfang import wire
from gongfang.cli import app as cli
from gongfang.demo_bundle import COOPERATIVE, FARMERS, STATION, demo_bundle
from gongfang.settings import BridgeSettings, EdgeLane, EdgeSettings, ServerSettings
from models.render.strawberry import render_table_photo
from server.aggregates.service import recount, totals
from server.core.db import session_scope
from server.importer import import_bundle
from server.lots.models import Lot, LotPart
from server.main import create_app
from server.stations.service import issue_station_key
from tests.e2e.helpers import TestClient, wait_for
from tests.services import Mosquitto, Postgres
from tests.web.live import live_server

pytestmark = [pytest.mark.mosquitto, pytest.mark.postgres]

TARE_G = 500
# (farmer, gross grams on the indicator): several crates a farmer, one farmer without a
# contract (F010: unpriced, waits for review); the indicator shows kg to 2 decimals (10 g).
CRATES = [
    ("F001", 10_240),
    ("F002", 8_130),
    ("F001", 9_870),
    ("F003", 12_010),
    ("F003", 11_990),
    ("F004", 7_650),
    ("F010", 6_020),
    ("F002", 10_010),
]


def _today() -> str:
    return datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()


def _cli(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args))
    assert res.exit_code == 0, res.output
    return res.stdout


def test_whole_day_scale_to_bank_batch(
    mosquitto: Mosquitto, postgres: Postgres, tmp_path: Path
) -> None:
    db_url = postgres.new_database()
    server_app = create_app(
        ServerSettings.load(
            database_url=db_url,
            secret_key="whole-day-secret-0123456789abcdef",
            photos_dir=tmp_path / "photos",
        )
    )
    sessions = server_app.state.sessions
    with session_scope(sessions) as s:
        import_bundle(
            session=s,
            doc=demo_bundle(datetime.fromisoformat(_today()).date()),
            cipher=server_app.state.field_cipher,
        )
        key = issue_station_key(session=s, station_id=STATION)

    topics = wire.Topics(STATION)
    link = tmp_path / "ttyXK3190"
    with (
        live_server(server_app) as base_url,
        SimulatedScale(link, "xk3190", unit="kg", decimals=2, rate_hz=20) as scale,
    ):
        scale.set_weight(0)
        bridge = Bridge(
            [
                ScaleDeviceConfig(
                    id="scale-1", port=str(link), protocol="xk3190", scale="lane1", unit="kg"
                )
            ],
            BridgeSettings.load(station=STATION, mqtt_url=mosquitto.url, retry_interval_s=0.3),
        )
        node = EdgeNode(
            EdgeSettings.load(
                station=STATION,
                mqtt_url=mosquitto.url,
                server_url=base_url,
                api_key=key,
                data_dir=tmp_path / "edge",
                http_enabled=False,
                receipts_enabled=False,
                auto_confirm=True,
                stable_window_ms=400,
                sync_interval_s=0.2,
                lanes=[EdgeLane(id="lane1", tare_g=TARE_G, cold_room="room1")],
            )
        )
        operator = TestClient(mosquitto.url, subscribe=[topics.edge_lot])
        with bridge:
            node.start()
            try:
                assert node.wait_connected(10)
                edge_lots = [
                    _weigh(node, scale, operator, topics, n, farmer, gross)
                    for n, (farmer, gross) in enumerate(CRATES)
                ]
                # Everything synced: the edge's outbox is empty, the server holds every lot.
                wait_for(lambda: node.status()["outbox"]["total"] == 0, timeout_s=30)
            finally:
                operator.close()
                node.stop()

    # The edge made one lot per crate, net = indicator reading - tare, graded by the model.
    assert [d["farmer"] for d in edge_lots] == [f for f, _ in CRATES]
    assert [d["net_g"] for d in edge_lots] == [g - TARE_G for _, g in CRATES]
    assert {d["graded_by"]["kind"] for d in edge_lots} == {"model"}
    # The model sees the difference: good crates grade above the mixed ones' 等外.
    grades = [d["grade"] for d in edge_lots]
    assert {g for i, g in enumerate(grades) if i % 3 != 2} <= {"extra", "class_i", "class_ii"}
    assert "reject" in {g for i, g in enumerate(grades) if i % 3 == 2}
    assert len({d["id"] for d in edge_lots}) == len(CRATES)

    with session_scope(sessions) as s:
        lots = {str(lot.id): lot for lot in s.scalars(select(Lot))}
        assert set(lots) == {d["id"] for d in edge_lots}  # none lost, none doubled
        assert all(lots[d["id"]].net_g == d["net_g"] for d in edge_lots)
        unpriced = sorted(i for i, lot in lots.items() if lot.amount_fen is None)
        assert unpriced == sorted(d["id"] for d in edge_lots if d["farmer"] == "F010")
        lots_total = sum(lot.amount_fen or 0 for lot in lots.values())
        assert lots_total > 0
        day = datetime.fromisoformat(_today()).date()
        stored = totals(session=s, first_day=day, last_day=day)
        assert sum(r.amount_fen for r in stored) == lots_total
        assert sum(r.lots for r in stored) == len(CRATES)
        assert sum(r.net_g for r in stored) == sum(g - TARE_G for _, g in CRATES)
        assert sum(r.unpriced_lots for r in stored) == len(unpriced)
        again = recount(session=s)
        assert sum(v.amount_fen for v in again.values()) == lots_total
        assert sum(v.lots for v in again.values()) == len(CRATES)
        # F003's 8 kg quota runs out in their first crate: that lot is priced in two parts
        # (contract price up to the quota, market price beyond); the second is all beyond.
        first, second = (lots[edge_lots[i]["id"]] for i in (3, 4))
        split = s.scalars(
            select(LotPart).where(LotPart.lot_id == first.id).order_by(LotPart.part_no)
        ).all()
        assert [p.basis for p in split] == ["contract", "over_quota"]
        assert sum(p.net_g for p in split) == first.net_g
        assert sum(p.amount_fen for p in split) == first.amount_fen
        beyond = s.scalars(select(LotPart).where(LotPart.lot_id == second.id)).all()
        assert [p.basis for p in beyond] == ["over_quota"]
        n_lots = s.scalar(select(func.count()).select_from(Lot))
    assert n_lots == len(CRATES)

    today = _today()
    run = json.loads(
        _cli(
            "payouts",
            "run",
            "--cooperative",
            COOPERATIVE,
            "--from",
            today,
            "--to",
            today,
            "--json",
            "--by",
            "审核员李",
            "--db",
            db_url,
        )
    )
    run_total = sum(line["total_fen"] for line in run["lines"])
    assert run_total == lots_total
    assert sorted(run["unpriced"]) == unpriced
    assert {line["farmer"] for line in run["lines"]} == {f for f, _ in CRATES} - {"F010"}
    _cli("payouts", "approve", str(run["run"]), "--by", "主任王", "--db", db_url)
    out = tmp_path / "bank.csv"
    _cli("payouts", "export", str(run["run"]), "--out", str(out), "--by", "会计赵", "--db", db_url)
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    exported = sum(int(r["应付(分) total_fen"]) for r in rows)
    assert exported == run_total == lots_total
    assert {r["农户编号 farmer"] for r in rows} == {line["farmer"] for line in run["lines"]}
    assert set(FARMERS) >= {r["农户编号 farmer"] for r in rows}
    server_app.state.engine.dispose()


def _crate_photo(n: int) -> bytes:
    """The lane camera's photo of crate ``n``: most crates ripe, large fruit; every third
    one the mixed crate (unripe, defects) the renderer makes by default."""
    rng = np.random.default_rng(100 + n)
    if n % 3 == 2:
        photo = render_table_photo(rng, n_fruit=5)
    else:
        photo = render_table_photo(rng, n_fruit=5, labels=["ripe"], diameter_mm=(30.0, 40.0))
    return bytes(photo.jpeg(85))


def _weigh(
    node: EdgeNode,
    scale: SimulatedScale,
    operator: TestClient,
    topics: wire.Topics,
    n: int,
    farmer: str,
    gross_g: int,
) -> dict[str, Any]:
    """One crate: the farmer's card scanned, the crate photographed and put on the scale,
    the lot awaited on MQTT, the crate taken off (back to zero before the next one)."""
    operator.publish(
        topics.scanner_code("lane1"), {"ts_ms": int(time.time() * 1000), "code": farmer}, qos=1
    )
    scale.set_weight(gross_g)
    # The lane camera photographs the crate once it is down (a photo taken before belongs
    # to the crate before): wait for the edge to see the load, then send the photo.
    wait_for(lambda: node.status()["lanes"]["lane1"]["weight_g"] == gross_g, timeout_s=10)
    operator.publish(topics.camera_frame("lane1"), _crate_photo(n), qos=1)
    [(_, doc)] = operator.take(1, timeout_s=20)
    scale.set_weight(0)
    wait_for(lambda: node.status()["lanes"]["lane1"]["weight_g"] == 0, timeout_s=10)
    time.sleep(0.3)  # a few readings at zero re-arm the detector for the next crate
    return dict(doc)
