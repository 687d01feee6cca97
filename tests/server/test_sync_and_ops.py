"""Edge sync of alarms and climate, concurrent ingestion, aggregates API, ops endpoints, CLI."""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import select
from typer.testing import CliRunner

from gongfang.cli import app as cli_app
from server.aggregates.service import recount, stored
from server.coldchain.models import ClimateMinute
from server.contracts.models import Contract
from server.core.db import session_scope
from server.lots.models import LotPart
from server.stations.service import issue_station_key
from tests.server.conftest import base_bundle, contract, market, wire_lot

C = "coop-a"
F1 = f"{C}-F1"
ALARM = "11111111-1111-4111-8111-111111111111"


def _key(load, sessions, **extra) -> str:
    doc = base_bundle()
    doc.update(extra)
    load(doc)
    with session_scope(sessions) as s:
        return issue_station_key(session=s, station_id="st-a")


def test_alarms_upsert_and_climate_per_minute(load, sessions, client, make_user) -> None:
    key = _key(load, sessions)
    alarm = {
        "id": ALARM,
        "station": "st-a",
        "room": "cold-1",
        "rule": "temp_high",
        "severity": "major",
        "started_at": "2026-03-02T02:00:00Z",
        "updated_at": "2026-03-02T02:20:00Z",
        "peak_value": 5.2,
        "message": "冷库温度过高 > 4 °C",
    }
    minute = {
        "station": "st-a",
        "room": "cold-1",
        "minute_start": "2026-03-02T02:00:00Z",
        "samples": 6,
        "temp_min_c": 4.1,
        "temp_mean_c": 4.5,
        "temp_max_c": 5.2,
        "rh_mean_pct": 91.0,
    }
    h = {"X-Api-Key": key}
    res = client.post(
        "/api/v1/sync", json={"station": "st-a", "alarms": [alarm], "climate": [minute]}, headers=h
    )
    assert res.status_code == 200, res.text
    assert res.json()["alarms"] == [{"id": ALARM, "result": "accepted", "message": ""}]
    assert res.json()["climate_stored"] == 1
    # Re-sent unchanged: duplicate. Re-sent cleared: updated, not duplicated.
    res = client.post("/api/v1/sync", json={"station": "st-a", "alarms": [alarm]}, headers=h)
    assert res.json()["alarms"][0]["result"] == "duplicate"
    cleared = alarm | {"updated_at": "2026-03-02T02:40:00Z", "cleared_at": "2026-03-02T02:40:00Z"}
    res = client.post(
        "/api/v1/sync",
        json={
            "station": "st-a",
            "alarms": [cleared],
            "climate": [minute | {"samples": 12, "temp_mean_c": 4.4}],
        },
        headers=h,
    )
    assert res.json()["alarms"][0]["result"] == "accepted"
    # An older copy arriving late cannot reopen it.
    res = client.post("/api/v1/sync", json={"station": "st-a", "alarms": [alarm]}, headers=h)
    assert res.json()["alarms"][0]["result"] == "duplicate"
    rev = make_user("rev", "reviewer", C)
    got = client.get("/api/v1/coldchain/alarms?station=st-a", headers=rev).json()
    assert len(got) == 1
    assert got[0]["cleared_at"] is not None
    assert client.get("/api/v1/coldchain/alarms?active=true", headers=rev).json() == []
    with sessions() as s:
        rows = list(s.scalars(select(ClimateMinute)))
    assert [(r.samples, r.temp_mean_c) for r in rows] == [(12, 4.4)]
    res = client.get(
        "/api/v1/coldchain/climate",
        params={
            "station": "st-a",
            "room": "cold-1",
            "start": "2026-03-02T00:00:00Z",
            "end": "2026-03-03T00:00:00Z",
        },
        headers=rev,
    )
    assert res.status_code == 200
    assert res.json()[0]["samples"] == 12


def test_concurrent_ingestion_consumes_the_quota_once(load, sessions, client) -> None:
    """Several workers post batches for one contract at once: exactly quota_g is priced
    at the contract's terms, never more, and every lot is stored once."""
    key = _key(
        load,
        sessions,
        contracts=[contract("C1", F1, floor={"extra": 1000}, premium="0", quota_g=25_000)],
        market_prices=[market(C, "extra", "2026-03-02", 400)],
    )
    n_threads, per = 4, 10
    errors: list[str] = []
    barrier = threading.Barrier(n_threads)

    def worker(t: int) -> None:
        lots = [
            wire_lot(1000 * t + i, F1, net_g=1500, captured_at=f"2026-03-02T02:{i:02d}:00Z")
            for i in range(per)
        ]
        # Each worker also re-sends one lot of its neighbour: duplicates must be harmless.
        lots.append(
            wire_lot(
                1000 * ((t + 1) % n_threads), F1, net_g=1500, captured_at="2026-03-02T02:00:00Z"
            )
        )
        barrier.wait()
        res = client.post(
            "/api/v1/sync", json={"station": "st-a", "lots": lots}, headers={"X-Api-Key": key}
        )
        if res.status_code != 200:
            errors.append(res.text)

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(n_threads)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert errors == []
    with sessions() as s:
        parts = list(s.scalars(select(LotPart)))
        used = s.get(Contract, "C1")
        assert used is not None
        assert used.quota_used_g == n_threads * per * 1500
        assert stored(session=s) == recount(session=s)
    assert len({p.lot_id for p in parts}) == n_threads * per
    assert sum(p.net_g for p in parts if p.basis == "contract") == 25_000
    assert sum(p.net_g for p in parts if p.basis == "over_quota") == n_threads * per * 1500 - 25_000


def test_aggregates_api(load, sessions, client, make_user) -> None:
    key = _key(
        load, sessions, contracts=[contract("C1", F1, floor={"extra": 1000, "class_i": 800})]
    )
    lots = [
        wire_lot(1, F1, net_g=1000, captured_at="2026-03-01T16:30:00Z"),  # 2 March
        wire_lot(2, F1, net_g=2000, captured_at="2026-03-02T01:00:00Z"),
        wire_lot(3, F1, net_g=500, grade="class_i", captured_at="2026-03-03T01:00:00Z"),
        wire_lot(4, f"{C}-F9", net_g=700, captured_at="2026-03-03T01:00:00Z"),  # unpriced
    ]
    client.post("/api/v1/sync", json={"station": "st-a", "lots": lots}, headers={"X-Api-Key": key})
    rev = make_user("rev", "reviewer", C)
    res = client.get(
        "/api/v1/aggregates/daily?date_from=2026-03-01&date_to=2026-03-31", headers=rev
    )
    assert res.status_code == 200, res.text
    rows = [
        (r["day"], r["grade"], r["lots"], r["net_g"], r["unpriced_lots"], r["amount_fen"])
        for r in res.json()["rows"]
    ]
    assert rows == [
        ("2026-03-02", "extra", 2, 3000, 0, 3000),
        ("2026-03-03", "class_i", 1, 500, 0, 400),
        ("2026-03-03", "extra", 1, 700, 1, 0),
    ]
    assert res.json()["amount_fen"] == 3400
    load(base_bundle("coop-b", "st-b"))
    rev_b = make_user("rev-b", "reviewer", "coop-b")
    res = client.get(
        "/api/v1/aggregates/daily?date_from=2026-03-01&date_to=2026-03-31", headers=rev_b
    )
    assert res.json()["rows"] == []
    res = client.get(
        "/api/v1/aggregates/daily?date_from=2026-03-01&date_to=2026-03-31&cooperative=coop-a",
        headers=rev_b,
    )
    assert res.status_code == 403
    with sessions() as s:
        assert stored(session=s) == recount(session=s)
        assert recount(session=s)[(date(2026, 3, 2), "st-a", "strawberry", "extra")].lots == 2


def test_health_metrics_docs(client) -> None:
    assert client.get("/healthz").json()["status"] == "ok"
    client.get("/api/v1/me")
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "gongfang_http_requests_total" in metrics.text
    assert client.get("/docs").status_code == 200
    spec = client.get("/openapi.json").json()
    assert "/api/v1/sync" in spec["paths"]
    assert client.get("/nope").json()["message"].startswith("没有这个地址")


def test_cli_keys_users_and_serve_refusal(db_url, load, sessions, monkeypatch) -> None:
    load(base_bundle())
    runner = CliRunner()
    res = runner.invoke(cli_app, ["server", "station-key", "st-a", "--db", db_url])
    assert res.exit_code == 0, res.output
    key = res.stdout.strip()
    assert len(key) >= 40
    from server.stations.service import station_for_key

    with sessions() as s:
        station = station_for_key(session=s, key=key)
        assert station is not None
        assert station.api_key_hash != key  # only the hash is stored
    res = runner.invoke(cli_app, ["server", "station-key", "nope", "--db", db_url])
    assert res.exit_code == 1
    assert "unknown station" in res.output
    res = runner.invoke(
        cli_app,
        [
            "server",
            "add-user",
            "张审核",
            "--role",
            "reviewer",
            "--cooperative",
            C,
            "--db",
            db_url,
        ],
        input="long-enough-pw\nlong-enough-pw\n",  # a hidden prompt, asked twice
    )
    assert res.exit_code == 0, res.output
    res = runner.invoke(
        cli_app,
        [
            "server",
            "add-user",
            "x",
            "--role",
            "reviewer",
            "--password-stdin",
            "--db",
            db_url,
        ],
        input="long-enough-pw\n",
    )
    assert res.exit_code == 1
    assert "needs a cooperative" in res.output
    monkeypatch.delenv("GONGFANG_SERVER_SECRET_KEY", raising=False)
    monkeypatch.delenv("GONGFANG_SERVER_DEV_MODE", raising=False)
    res = runner.invoke(cli_app, ["server", "serve", "--db", db_url])
    assert res.exit_code == 2
    assert "拒绝启动" in res.output
    assert "Traceback" not in res.output


def test_rotated_key_stops_at_once_on_every_worker(load, sessions, client, settings) -> None:
    """Verified keys are cached per process; a rotation elsewhere still takes effect at
    once (each sync re-checks the key in its transaction), and nothing is stored."""
    from fastapi.testclient import TestClient

    from server.lots.models import Lot
    from server.main import create_app

    old = _key(load, sessions, contracts=[contract("C1", F1, floor={"extra": 1000})])
    body = {
        "station": "st-a",
        "lots": [wire_lot(1, F1, net_g=1000, captured_at="2026-03-02T02:00:00Z")],
    }
    res = client.post("/api/v1/sync", json=body, headers={"X-Api-Key": old})
    assert res.json()["lots"][0]["result"] == "accepted"  # the key is now cached here
    other_worker = create_app(settings)
    try:
        with TestClient(other_worker) as other:
            assert (
                other.post("/api/v1/sync", json=body, headers={"X-Api-Key": old}).json()["lots"][0][
                    "result"
                ]
                == "duplicate"
            )
            with session_scope(sessions) as s:
                new = issue_station_key(session=s, station_id="st-a")  # rotated by someone else
            body["lots"] = [wire_lot(2, F1, net_g=1000, captured_at="2026-03-02T03:00:00Z")]
            for c in (client, other):
                res = c.post("/api/v1/sync", json=body, headers={"X-Api-Key": old})
                assert res.status_code == 401, res.text
            with sessions() as s:
                assert len(list(s.scalars(select(Lot.id)))) == 1
            res = other.post("/api/v1/sync", json=body, headers={"X-Api-Key": new})
            assert res.json()["lots"][0]["result"] == "accepted"
            res = client.post("/api/v1/sync", json=body, headers={"X-Api-Key": old})
            assert res.status_code == 401  # evicted, and unknown to the database
    finally:
        other_worker.state.engine.dispose()
