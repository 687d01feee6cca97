"""Acceptance 3: every forbidden action answers 401/403 and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from server.audit.models import AuditEntry
from server.core.db import session_scope
from server.lots.models import Lot
from server.payouts.models import PayoutRun
from server.stations.service import issue_station_key
from tests.server.conftest import PASSWORD, base_bundle, contract, lot, wire_lot

A, B = "coop-a", "coop-b"


@pytest.fixture
def world(load, sessions, make_user) -> dict[str, Any]:
    for coop, station in ((A, "st-a"), (B, "st-b")):
        doc = base_bundle(coop, station)
        doc["contracts"] = [contract(f"{coop}-C1", f"{coop}-F1", floor={"extra": 1000})]
        doc["lots"] = [
            lot(
                1 if coop == A else 2,
                f"{coop}-F1",
                net_g=1000,
                station=station,
                captured_at="2026-03-02T02:00:00Z",
            )
        ]
        load(doc)
    with session_scope(sessions) as s:
        key_a = issue_station_key(session=s, station_id="st-a")
        key_b = issue_station_key(session=s, station_id="st-b")
    return {
        "key_a": key_a,
        "key_b": key_b,
        "admin": make_user("admin", "admin"),
        "rev_a": make_user("rev-a", "reviewer", A),
        "rev_b": make_user("rev-b", "reviewer", B),
        "op_a": make_user("op-a", "operator", A),
    }


def _snapshot(sessions) -> tuple[int, ...]:
    with sessions() as s:
        return (
            s.scalar(select(func.count()).select_from(Lot)) or 0,
            s.scalar(select(func.count()).select_from(PayoutRun)) or 0,
            s.scalar(select(func.count()).select_from(AuditEntry)) or 0,
            s.scalar(select(func.count()).where(PayoutRun.status != "draft")) or 0,
        )


def test_login_and_token_checks(client, world) -> None:
    res = client.post("/api/v1/auth/token", data={"username": "rev-a", "password": PASSWORD})
    assert res.status_code == 200, res.text
    token = res.json()["access_token"]
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json()["role"] == "reviewer"
    bad = client.post("/api/v1/auth/token", data={"username": "rev-a", "password": "wrong-pass"})
    assert bad.status_code == 401
    assert client.get("/api/v1/me").status_code == 401
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}).status_code == 401
    )
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer x.y.z"}).status_code == 401


def test_forbidden_actions_change_nothing(client, world, sessions) -> None:
    run_a = client.post(
        "/api/v1/payouts/runs",
        json={"cooperative": A, "from": "2026-03-01", "to": "2026-03-15"},
        headers=world["rev_a"],
    ).json()["run"]
    before = _snapshot(sessions)
    batch_a = {
        "station": "st-a",
        "lots": [
            wire_lot(9, f"{A}-F1", net_g=500, station="st-a", captured_at="2026-03-03T02:00:00Z")
        ],
    }
    cases: list[tuple[str, str, dict[str, str], Any, int]] = [
        # (method, path, headers, json, expected status)
        ("post", f"/api/v1/payouts/runs/{run_a}/approve", world["op_a"], None, 403),
        ("post", f"/api/v1/payouts/runs/{run_a}/approve", world["admin"], None, 403),
        ("post", f"/api/v1/payouts/runs/{run_a}/approve", world["rev_b"], None, 403),
        ("post", f"/api/v1/payouts/runs/{run_a}/approve", {}, None, 401),
        (
            "post",
            f"/api/v1/payouts/runs/{run_a}/adjustments",
            world["rev_b"],
            {"farmer": f"{A}-F1", "amount_fen": 100, "reason": "x"},
            403,
        ),
        (
            "post",
            "/api/v1/payouts/runs",
            world["op_a"],
            {"cooperative": A, "from": "2026-03-01", "to": "2026-03-15"},
            403,
        ),
        (
            "post",
            "/api/v1/payouts/runs",
            world["rev_b"],
            {"cooperative": A, "from": "2026-03-01", "to": "2026-03-15"},
            403,
        ),
        ("post", f"/api/v1/payouts/runs/{run_a}/discard", world["op_a"], None, 403),
        ("get", f"/api/v1/payouts/runs/{run_a}", world["rev_b"], None, 403),
        ("get", f"/api/v1/farmers/{A}-F1", world["rev_b"], None, 403),
        ("get", f"/api/v1/lots?cooperative={A}", world["rev_b"], None, 403),
        (
            "post",
            "/api/v1/farmers",
            world["rev_a"],
            {"id": "X1", "name": "x", "cooperative": A},
            403,
        ),
        ("post", "/api/v1/stations/st-a/key", world["rev_a"], None, 403),
        (
            "post",
            "/api/v1/users",
            world["op_a"],
            {"name": "evil", "role": "admin", "password": "12345678"},
            403,
        ),
        ("get", "/api/v1/audit", world["rev_a"], None, 403),
        (
            "put",
            "/api/v1/market-prices",
            world["op_a"],
            {
                "prices": [
                    {
                        "cooperative": A,
                        "product": "strawberry",
                        "grade": "extra",
                        "date": "2026-03-01",
                        "fen_per_kg": 1,
                    }
                ]
            },
            403,
        ),
        (
            "put",
            "/api/v1/market-prices",
            world["rev_b"],
            {
                "prices": [
                    {
                        "cooperative": A,
                        "product": "strawberry",
                        "grade": "extra",
                        "date": "2026-03-01",
                        "fen_per_kg": 1,
                    }
                ]
            },
            403,
        ),
        # Station keys: missing, unknown, or speaking for another station.
        ("post", "/api/v1/sync", {}, batch_a, 401),
        ("post", "/api/v1/sync", {"X-Api-Key": "not-a-key"}, batch_a, 401),
        ("post", "/api/v1/sync", {"X-Api-Key": world["key_b"]}, batch_a, 403),
        (
            "post",
            "/api/v1/sync",
            {"X-Api-Key": world["key_a"]},
            {
                "station": "st-a",
                "lots": [
                    wire_lot(
                        10, f"{A}-F1", net_g=500, station="st-b", captured_at="2026-03-03T02:00:00Z"
                    )
                ],
            },
            403,
        ),
        ("get", "/api/v1/station/directory", {"X-Api-Key": "nope"}, None, 401),
        # A user token is not a station key, and a station key is not a user token.
        ("post", "/api/v1/sync", world["admin"], batch_a, 401),
        ("get", "/api/v1/me", {"X-Api-Key": world["key_a"]}, None, 401),
    ]
    for method, path, headers, body, status in cases:
        res = client.request(method.upper(), path, headers=headers, json=body)
        assert res.status_code == status, (method, path, res.status_code, res.text)
        assert res.json()["message"], path
    assert _snapshot(sessions) == before


def test_station_directory_is_the_keys_own_cooperative(client, world) -> None:
    res = client.get("/api/v1/station/directory", headers={"X-Api-Key": world["key_b"]})
    assert res.status_code == 200
    doc = res.json()
    assert doc["station"] == "st-b"
    assert doc["cooperative"] == B
    assert {f["id"] for f in doc["farmers"]} == {f"{B}-F1", f"{B}-F9"}
    hints = {f["id"]: f["contracts"] for f in doc["farmers"]}
    assert hints[f"{B}-F1"][0]["floor_fen_per_kg"] == {"extra": 1000}


def test_rotated_key_stops_the_old_one(client, world, sessions) -> None:
    with session_scope(sessions) as s:
        new = issue_station_key(session=s, station_id="st-a")
    old = client.get("/api/v1/station/directory", headers={"X-Api-Key": world["key_a"]})
    assert old.status_code == 401
    assert client.get("/api/v1/station/directory", headers={"X-Api-Key": new}).status_code == 200
