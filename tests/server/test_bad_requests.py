"""Acceptance 4: bad requests answer 4xx with a clear message, never 500."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from gongfang.cli import app as cli_app
from server.core.db import session_scope
from server.lots.models import Lot
from server.stations.models import Cooperative
from server.stations.service import issue_station_key
from tests.server.conftest import base_bundle, contract, wire_lot

C = "coop-a"
F1 = f"{C}-F1"
T = "2026-03-02T02:00:00Z"


@pytest.fixture
def key(load, sessions) -> str:
    doc = base_bundle()
    doc["contracts"] = [contract("C1", F1, floor={"extra": 1000})]
    load(doc)
    with session_scope(sessions) as s:
        return issue_station_key(session=s, station_id="st-a")


def _lot(**changes: Any) -> dict[str, Any]:
    doc = wire_lot(1, F1, net_g=1000, captured_at=T)
    doc.update(changes)
    return doc


def _count(sessions) -> int:
    with sessions() as s:
        return s.scalar(select(func.count()).select_from(Lot)) or 0


SYNC_BAD: list[tuple[str, Any, int, str]] = [
    ("wrong type", {"station": "st-a", "lots": [_lot(gross_g="heavy")]}, 422, "gross_g"),
    ("negative weight", {"station": "st-a", "lots": [_lot(tare_g=-5, net_g=1205)]}, 422, "tare_g"),
    ("net mismatch", {"station": "st-a", "lots": [_lot(net_g=999)]}, 422, "net_g"),
    ("malformed uuid", {"station": "st-a", "lots": [_lot(id="not-a-uuid")]}, 422, "id"),
    (
        "naive time",
        {"station": "st-a", "lots": [_lot(captured_at="2026-03-02T02:00:00")]},
        422,
        "captured_at",
    ),
    ("unknown grade", {"station": "st-a", "lots": [_lot(grade="superb")]}, 422, "grade"),
    ("extra field", {"station": "st-a", "lots": [_lot(price=5)]}, 422, "price"),
    ("not an object", [1, 2, 3], 422, "body"),
    ("missing station", {"lots": []}, 422, "station"),
    ("too many lots", {"station": "st-a", "lots": [_lot()] * 1001}, 422, "lots"),
]


@pytest.mark.parametrize(
    ("name", "body", "status", "where"), SYNC_BAD, ids=[c[0] for c in SYNC_BAD]
)
def test_bad_sync_bodies(client, key, sessions, name, body, status, where) -> None:
    res = client.post("/api/v1/sync", json=body, headers={"X-Api-Key": key})
    assert res.status_code == status, res.text
    doc = res.json()
    assert doc["message"].startswith("请求格式错误 / invalid request")
    assert where in doc["message"]
    assert _count(sessions) == 0


def test_invalid_json_and_huge_bodies(client, key, sessions) -> None:
    res = client.post(
        "/api/v1/sync",
        content=b'{"station": "st-a", "lots": [',
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
    )
    assert res.status_code == 422
    assert "JSON" in res.json()["message"]
    huge = b" " * (17 * 1024 * 1024)
    res = client.post(
        "/api/v1/sync", content=huge, headers={"X-Api-Key": key, "Content-Type": "application/json"}
    )
    assert res.status_code == 413
    assert "too large" in res.json()["message"] or "larger" in res.json()["message"]

    def chunks():  # no Content-Length: the limit counts the streamed bytes
        for _ in range(20):
            yield b" " * (1024 * 1024)

    res = client.post(
        "/api/v1/sync",
        content=chunks(),
        headers={"X-Api-Key": key, "Content-Type": "application/json"},
    )
    assert res.status_code == 413
    assert _count(sessions) == 0


def test_unknown_farmer_is_an_invalid_item_and_stores_nothing(client, key, sessions) -> None:
    body = {"station": "st-a", "lots": [wire_lot(1, "nobody", net_g=1000, captured_at=T)]}
    res = client.post("/api/v1/sync", json=body, headers={"X-Api-Key": key})
    assert res.status_code == 200  # the wire contract acknowledges per item
    ack = res.json()["lots"][0]
    assert ack["result"] == "invalid"
    assert "unknown farmer 'nobody'" in ack["message"]
    assert _count(sessions) == 0


def test_bad_rest_requests(client, key, make_user) -> None:
    admin = make_user("admin", "admin")
    rev = make_user("rev", "reviewer", C)
    cases: list[tuple[str, str, dict[str, str], Any, int]] = [
        ("get", "/api/v1/lots/not-a-uuid", rev, None, 422),
        ("get", "/api/v1/lots/00000000-0000-4000-8000-000000000999", rev, None, 404),
        ("get", "/api/v1/payouts/runs/abc", rev, None, 422),
        ("get", "/api/v1/payouts/runs/999999", rev, None, 404),
        ("get", "/api/v1/lots?limit=-1", rev, None, 422),
        ("get", "/api/v1/aggregates/daily?date_from=2026-13-01&date_to=2026-03-01", rev, None, 422),
        ("get", "/api/v1/aggregates/daily?date_from=2026-03-02&date_to=2026-03-01", rev, None, 422),
        (
            "post",
            "/api/v1/payouts/runs",
            rev,
            {"cooperative": C, "from": "2026-03-15", "to": "2026-03-01"},
            422,
        ),
        ("post", "/api/v1/payouts/runs", rev, {"cooperative": C, "from": 5, "to": []}, 422),
        (
            "post",
            "/api/v1/contracts",
            admin,
            {
                "id": "X",
                "farmer": "nobody",
                "product": "strawberry",
                "signed_on": "2026-01-01",
                "valid_from": "2026-01-01",
                "valid_to": "2026-12-31",
            },
            422,
        ),
        (
            "post",
            "/api/v1/contracts",
            admin,
            {
                "id": "X",
                "farmer": F1,
                "product": "strawberry",
                "signed_on": "2026-01-01",
                "valid_from": "2026-01-01",
                "valid_to": "2026-12-31",
                "premium_pct": 20.5,
            },
            422,
        ),
        (
            "post",
            "/api/v1/contracts",
            admin,
            {
                "id": "X",
                "farmer": F1,
                "product": "strawberry",
                "signed_on": "2026-01-01",
                "valid_from": "2026-06-01",
                "valid_to": "2026-01-31",
            },
            422,
        ),
        (
            "post",
            "/api/v1/contracts",
            admin,
            {
                "id": "X",
                "farmer": F1,
                "product": "strawberry",
                "signed_on": "2026-01-01",
                "valid_from": "2026-01-01",
                "valid_to": "2026-01-31",
                "quota_g": -1,
            },
            422,
        ),
        (
            "post",
            "/api/v1/farmers",
            admin,
            {"id": "F7", "name": "x", "cooperative": C, "bank_account": "ABC"},
            422,
        ),
        ("post", "/api/v1/farmers", admin, {"id": "F7", "name": "x", "cooperative": "nope"}, 422),
        (
            "put",
            "/api/v1/market-prices",
            admin,
            {
                "prices": [
                    {
                        "cooperative": C,
                        "product": "strawberry",
                        "grade": "extra",
                        "date": "2026-03-01",
                        "fen_per_kg": -3,
                    }
                ]
            },
            422,
        ),
        (
            "post",
            "/api/v1/payouts/runs/1/adjustments",
            rev,
            {"farmer": F1, "amount_fen": 1.5, "reason": "x"},
            422,
        ),
        (
            "post",
            "/api/v1/users",
            admin,
            {"name": "u", "role": "king", "password": "12345678"},
            422,
        ),
        (
            "get",
            "/api/v1/coldchain/climate?station=st-a&room=r1&start=2026-03-01T00:00:00"
            "&end=2026-03-02T00:00:00Z",
            rev,
            None,
            422,
        ),
    ]
    for method, path, headers, body, status in cases:
        res = client.request(method.upper(), path, headers=headers, json=body)
        assert res.status_code == status, (path, body, res.status_code, res.text)
        assert res.json()["message"], (path, res.text)


def test_import_with_a_bad_record_imports_nothing(tmp_path: Path, db_url: str, sessions) -> None:
    doc = base_bundle()
    doc["contracts"] = [contract("C1", "nobody")]
    doc["lots"] = [
        wire_lot(1, f"{C}-F1", net_g=1000, captured_at=T),
        {
            "id": "bad",
            "station": "st-a",
            "farmer": f"{C}-F1",
            "product": "strawberry",
            "grade": "extra",
            "gross_g": -1,
            "tare_g": 0,
            "captured_at": T,
        },
    ]
    doc["lots"][0].pop("graded_by")
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    res = CliRunner().invoke(cli_app, ["server", "import", str(path), "--db", db_url])
    assert res.exit_code == 1
    assert "nothing was imported" in res.output
    assert "lots[1] (id=bad)" in res.output
    assert "gross_g" in res.output
    # Shape and reference errors are listed together, each with its record.
    assert "contracts[0] (id=C1): 农户不存在 / unknown farmer 'nobody'" in res.output
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Cooperative)) == 0
        assert s.scalar(select(func.count()).select_from(Lot)) == 0
    path.write_text("{not json", encoding="utf-8")
    res = CliRunner().invoke(cli_app, ["server", "import", str(path), "--db", db_url])
    assert res.exit_code == 1
    assert "cannot read the bundle" in res.output
