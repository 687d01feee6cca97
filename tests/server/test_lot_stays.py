"""Lots' cold-room stays synced from the edge: stored once by lot id, read per lot."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from server.coldchain.models import LotColdStay
from server.core.db import session_scope
from server.stations.service import issue_station_key
from tests.server.conftest import base_bundle, lot_id, wire_lot

C = "coop-a"
F1 = f"{C}-F1"


def _stay(n: int, **kw: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "lot_id": lot_id(n),
        "station": "st-a",
        "room": "cold-1",
        "entered_at": "2026-03-02T02:00:00Z",
        "left_at": "2026-03-04T02:00:00Z",
        "excursions": 1,
        "minutes_above_max_c": 25,
        "minutes_below_min_c": 0,
        "temp_peak_c": 5.5,
        "mkt_c": 1.37,
        "data_coverage_pct": 98.6,
        "remaining_shelf_life_h": 117.25,
    }
    doc.update(kw)
    return doc


def _setup(load, sessions) -> tuple[dict[str, str], dict[str, str]]:
    doc = base_bundle()
    doc["stations"].append({"id": "st-b", "cooperative": C, "name": "二号站"})
    doc["cooperatives"].append({"id": "coop-b", "name": "别的合作社"})
    load(doc)
    with session_scope(sessions) as s:
        a = issue_station_key(session=s, station_id="st-a")
        b = issue_station_key(session=s, station_id="st-b")
    return {"X-Api-Key": a}, {"X-Api-Key": b}


def _lot(n: int, station: str = "st-a") -> dict[str, Any]:
    doc = wire_lot(n, F1, net_g=4000, captured_at="2026-03-02T01:00:00Z", station=station)
    doc["cold_room"] = "cold-1"
    return doc


def _sync(client, headers, **body: Any) -> Any:
    station = body.pop("station", "st-a")
    res = client.post("/api/v1/sync", json={"station": station, **body}, headers=headers)
    assert res.status_code == 200, res.text
    return res.json()


def test_stay_stored_once_duplicate_conflict_and_read(load, sessions, client, make_user) -> None:
    ha, hb = _setup(load, sessions)
    # the lot and its stay in the same batch: the lot is ingested first
    ack = _sync(client, ha, lots=[_lot(1)], stays=[_stay(1)])
    assert ack["lots"][0]["result"] == "accepted"
    assert ack["stays"] == [{"id": lot_id(1), "result": "accepted", "message": ""}]
    # sent again (the edge was killed before removing it): acknowledged, stored once
    assert _sync(client, ha, stays=[_stay(1)])["stays"][0]["result"] == "duplicate"
    same_instant = _stay(1, left_at="2026-03-04T10:00:00+08:00")
    assert _sync(client, ha, stays=[same_instant])["stays"][0]["result"] == "duplicate"
    # other content under the same lot id: conflict, never overwritten
    ack = _sync(client, ha, stays=[_stay(1, minutes_above_max_c=99)])
    assert ack["stays"][0]["result"] == "conflict"
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(LotColdStay)) == 1

    rev = make_user("rev", "reviewer", C)
    got = client.get(f"/api/v1/lots/{lot_id(1)}/stay", headers=rev)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["minutes_above_max_c"] == 25
    assert body["excursions"] == 1
    assert body["mkt_c"] == 1.37
    assert body["temp_peak_c"] == 5.5
    assert body["remaining_shelf_life_h"] == 117.25
    assert body["room"] == "cold-1"
    assert body["station"] == "st-a"
    assert body["left_at"].startswith("2026-03-04T02:00:00")

    # roles as for lots: another cooperative's reviewer is refused, no login is 401
    other = make_user("rev-b", "reviewer", "coop-b")
    assert client.get(f"/api/v1/lots/{lot_id(1)}/stay", headers=other).status_code == 403
    assert client.get(f"/api/v1/lots/{lot_id(1)}/stay").status_code == 401
    admin = make_user("adm", "admin")
    assert client.get(f"/api/v1/lots/{lot_id(1)}/stay", headers=admin).status_code == 200
    # a lot without a stay, and an unknown lot: 404 with a message
    _sync(client, ha, lots=[_lot(2)])
    res = client.get(f"/api/v1/lots/{lot_id(2)}/stay", headers=rev)
    assert res.status_code == 404
    assert "stay" in res.text
    assert client.get(f"/api/v1/lots/{lot_id(77)}/stay", headers=rev).status_code == 404


def test_stay_refusals(load, sessions, client) -> None:
    ha, hb = _setup(load, sessions)
    _sync(client, hb, station="st-b", lots=[_lot(5, station="st-b")])
    _sync(client, ha, lots=[_lot(6)])
    ack = _sync(
        client,
        ha,
        stays=[
            _stay(4),  # the server holds no lot 4
            _stay(5),  # lot 5 is st-b's
            _stay(6, room="cold-2"),  # lot 6 was put in cold-1
        ],
    )
    results = {a["id"]: (a["result"], a["message"]) for a in ack["stays"]}
    assert results[lot_id(4)][0] == "invalid"
    assert "unknown lot" in results[lot_id(4)][1]
    assert results[lot_id(5)][0] == "invalid"
    assert "another station" in results[lot_id(5)][1]
    assert results[lot_id(6)][0] == "invalid"
    assert "room" in results[lot_id(6)][1]
    # a stay naming another station than the key's: the batch is refused, nothing stored
    res = client.post(
        "/api/v1/sync",
        json={"station": "st-a", "stays": [_stay(6, station="st-b")]},
        headers=ha,
    )
    assert res.status_code == 403
    # malformed stay (left before entered): 422 with the field, never a 500
    res = client.post(
        "/api/v1/sync",
        json={"station": "st-a", "stays": [_stay(6, left_at="2026-03-01T00:00:00Z")]},
        headers=ha,
    )
    assert res.status_code == 422
    assert "left_at" in res.text
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(LotColdStay)) == 0
    # now a good one, twice in one batch: stored once
    ack = _sync(client, ha, stays=[_stay(6), _stay(6)])
    assert [a["result"] for a in ack["stays"]] == ["accepted", "duplicate"]


def test_ack_leaves_out_stays_when_there_are_none(load, sessions, client) -> None:
    """An edge from before stays parses the ack strictly: no "stays" key unless needed."""
    ha, _ = _setup(load, sessions)
    ack = _sync(client, ha, lots=[_lot(8)])
    assert "stays" not in ack
    assert ack["lots"][0]["result"] == "accepted"
