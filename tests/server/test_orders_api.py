"""Buyers' orders on both databases: strict bodies, cooperative scope, the station's FEFO
pick list from its synced lots and stays, shipments stored once, cancellation audited."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from gongfang.kinetics import relative_shelf_life
from server.audit.models import AuditEntry
from server.core.db import session_scope
from server.core.errors import DomainError
from server.farmers.models import Buyer
from server.orders import shipping
from server.orders.models import Shipment, ShipmentLot
from server.orders.schemas import ShipmentIn
from server.stations.models import Station
from server.stations.service import issue_station_key
from tests.server.conftest import base_bundle, lot_id, wire_lot

A, B = "coop-a", "coop-b"
NOW = datetime.now(UTC).replace(microsecond=0)


def _when(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


@pytest.fixture
def world(load, sessions, make_user, client) -> dict[str, Any]:
    load(base_bundle(A, "st-a"))
    load(base_bundle(B, "st-b"))
    with session_scope(sessions) as s:
        s.add(Buyer(id="wufangzhai", cooperative_id=A, name="五芳斋", contact=None))
        s.add(Buyer(id="packer-b", cooperative_id=B, name="包装厂", contact=None))
        keys = {st: {"X-Api-Key": issue_station_key(session=s, station_id=st)}
                for st in ("st-a", "st-b")}  # fmt: skip
    return {
        "rev_a": make_user("rev-a", "reviewer", A),
        "rev_b": make_user("rev-b", "reviewer", B),
        "op_a": make_user("op-a", "operator", A),
        "key_a": keys["st-a"],
        "key_b": keys["st-b"],
    }


def _order(client, headers, **kw: Any) -> Any:
    body = {
        "buyer": "wufangzhai",
        "product": "strawberry",
        "min_grade": "class_i",
        "quantity_g": 6000,
        "delivery_date": "2026-12-05",
        "price_fen_per_kg": 2400,
    }
    body.update(kw)
    return client.post("/api/v1/orders", json=body, headers=headers)


def _stock(client, key, station: str, farmer: str, lots: list[tuple]) -> None:
    """Sync lots (n, grade, net_g, hours of shelf life or None for no stay)."""
    docs, stays = [], []
    for k, (n, grade, net_g, life_h) in enumerate(lots):
        doc = wire_lot(n, farmer, net_g=net_g, captured_at=_when(5 - k * 0.1), grade=grade,
                       station=station)  # fmt: skip
        doc["cold_room"] = "cold-1"
        docs.append(doc)
        if life_h is not None:
            stays.append({
                "lot_id": lot_id(n), "station": station, "room": "cold-1",
                "entered_at": _when(4), "left_at": _when(0), "excursions": 0,
                "minutes_above_max_c": 0, "minutes_below_min_c": 0, "temp_peak_c": 1.0,
                "mkt_c": 0.8, "data_coverage_pct": 100.0, "remaining_shelf_life_h": life_h,
            })  # fmt: skip
    res = client.post(
        "/api/v1/sync", json={"station": station, "lots": docs, "stays": stays}, headers=key
    )
    assert res.status_code == 200, res.text
    assert {a["result"] for a in res.json()["lots"]} == {"accepted"}, res.text


def test_strict_bodies_and_roles(client, world) -> None:
    rev = world["rev_a"]
    assert _order(client, rev).status_code == 201
    for bad in (
        {"quantity_g": True},
        {"quantity_g": "6000"},
        {"quantity_g": 6000.0},
        {"quantity_g": 0},
        {"price_fen_per_kg": 24.5},
        {"price_fen_per_kg": False},
        {"allow_overfill": 1},
        {"min_grade": "gold"},
        {"product": "apple"},
        {"min_shelf_life_h": True},
        {"colour": "red"},
    ):
        res = _order(client, rev, **bad)
        assert res.status_code == 422, (bad, res.text)
        assert res.json()["error"] == "invalid"
    res = _order(client, world["op_a"])
    assert res.status_code == 403
    assert res.json()["message"].startswith("需要")  # Chinese first
    assert _order(client, rev, min_shelf_life_h=48).status_code == 201  # hours may be an int


def test_cooperative_scope(client, world) -> None:
    rev_a, rev_b = world["rev_a"], world["rev_b"]
    order = _order(client, rev_a).json()
    oid = order["id"]
    assert order["cooperative"] == A
    assert order["status"] == "open"
    # B sees none of A's orders and cannot touch them; A's buyer is unknown to B
    assert client.get("/api/v1/orders", headers=rev_b).json() == []
    assert client.get(f"/api/v1/orders/{oid}", headers=rev_b).status_code == 404
    res = client.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "x"}, headers=rev_b)
    assert res.status_code == 404
    assert client.get(f"/api/v1/orders/{oid}/shipments", headers=rev_b).status_code == 404
    assert _order(client, rev_b).status_code == 404  # buyer wufangzhai is A's
    assert client.get("/api/v1/orders/pick-list?station=st-a", headers=rev_b).status_code == 404
    # a station of B cannot ship against A's order
    body = {"id": str(uuid.uuid4()), "order_id": oid, "lots": [{"lot_id": lot_id(1), "net_g": 1}]}
    res = client.post("/api/v1/orders/station/shipments", json=body, headers=world["key_b"])
    assert res.status_code == 404
    # A sees its own
    assert [o["id"] for o in client.get("/api/v1/orders", headers=rev_a).json()] == [oid]
    assert client.get("/api/v1/orders/pick-list?station=st-a", headers=rev_a).status_code == 200


def _ship(client, key, order_id: str, lots: list[tuple[int, int]], sid: str | None = None) -> Any:
    body = {
        "id": sid or str(uuid.uuid4()),
        "order_id": order_id,
        "lots": [{"lot_id": lot_id(n), "net_g": g} for n, g in lots],
    }
    return client.post("/api/v1/orders/station/shipments", json=body, headers=key)


def test_pick_list_fefo_and_shipments(client, world, sessions) -> None:
    rev, key = world["rev_a"], world["key_a"]
    f1 = f"{A}-F1"
    _stock(client, key, "st-a", f1, [
        (1, "extra", 4000, 100.0),
        (2, "class_i", 3000, 20.0),
        (3, "class_ii", 9000, 5.0),  # below the ordered grade
        (4, "class_i", 2000, 0.0),  # past its shelf life
        (5, "extra", 2500, 20.0),  # ties lot 2 on shelf life, weighed after it
        (6, "extra", 1000, None),  # no cold-chain record: never picked
    ])  # fmt: skip
    _stock(client, world["key_b"], "st-b", f"{B}-F1", [(7, "extra", 3000, 50.0)])
    oid = _order(client, rev).json()["id"]

    pl = client.get("/api/v1/orders/station/pick-list", headers=key).json()
    assert pl["lots_in_stock"] == 6
    assert pl["lots_without_record"] == 1
    assert not pl["split_lots"]
    (line,) = pl["lines"]
    assert [(p["lot_id"], p["grams"]) for p in line["picks"]] == [(lot_id(2), 3000),
                                                                 (lot_id(5), 2500)]  # fmt: skip
    assert line["short_g"] == 500  # lot 1 (4 kg) does not fit the last 0.5 kg
    staff = client.get("/api/v1/orders/pick-list?station=st-a", headers=rev).json()
    assert staff["lines"] == pl["lines"]

    # refusals: lower grade, expired, no record, more than left, another station's lot
    for lots in ([(3, 1000)], [(4, 1000)], [(6, 1000)], [(2, 3001)], [(7, 1000)], [(2, 1), (2, 1)]):
        res = _ship(client, key, oid, lots)
        assert res.status_code == 422, (lots, res.text)
    assert _ship(client, key, oid, [(1, 4000), (2, 3000)]).status_code == 422  # > 6 kg

    sid = str(uuid.uuid4())
    first = _ship(client, key, oid, [(2, 3000), (5, 2500)], sid)
    assert first.status_code == 201, first.text
    again = _ship(client, key, oid, [(5, 2500), (2, 3000)], sid)  # a resend, lots reordered
    assert again.status_code == 200
    assert again.json() == first.json()
    assert _ship(client, key, oid, [(2, 3000)], sid).status_code == 409
    order = client.get(f"/api/v1/orders/{oid}", headers=rev).json()
    assert (order["status"], order["filled_g"]) == ("partly_filled", 5500)
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Shipment)) == 1
        assert s.scalar(select(func.sum(ShipmentLot.net_g))) == 5500

    # shipped lots left the stock; with splitting allowed, lot 1 gives the last 500 g
    with session_scope(sessions) as s:
        s.get_one(Station, "st-a").allow_lot_split = True
    (line,) = client.get("/api/v1/orders/station/pick-list", headers=key).json()["lines"]
    assert line["needed_g"] == 500
    assert [(p["lot_id"], p["grams"], p["whole"]) for p in line["picks"]] == [
        (lot_id(1), 500, False)
    ]
    assert _ship(client, key, oid, [(1, 500)]).status_code == 201
    order = client.get(f"/api/v1/orders/{oid}", headers=rev).json()
    assert (order["status"], order["filled_g"]) == ("filled", 6000)
    assert _ship(client, key, oid, [(1, 100)]).status_code == 409  # filled
    # the rest of lot 1 stays in stock for the next order
    o2 = _order(client, rev, min_grade="extra", quantity_g=3500).json()["id"]
    (line,) = client.get("/api/v1/orders/station/pick-list", headers=key).json()["lines"]
    assert line["order"] == o2
    (pick,) = line["picks"]
    assert (pick["lot_id"], pick["grams"], pick["whole"]) == (lot_id(1), 3500, True)
    assert pick["grade"] == "extra"
    assert pick["cold_room"] == "cold-1"
    assert 99 < pick["remaining_shelf_life_h"] <= 100  # aged since the stay's end
    ships = client.get(f"/api/v1/orders/{oid}/shipments", headers=rev).json()
    assert [s["net_g"] for s in ships] == [5500, 500]


def test_cancel_is_audited_and_final(client, world, sessions) -> None:
    rev = world["rev_a"]
    oid = _order(client, rev).json()["id"]
    res = client.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "买家取消"}, headers=rev)
    assert res.status_code == 200, res.text
    assert res.json()["status"] == "cancelled"
    assert res.json()["cancelled_by"] == "rev-a"
    again = client.post(f"/api/v1/orders/{oid}/cancel", json={"reason": "x"}, headers=rev)
    assert again.status_code == 409
    assert client.post(f"/api/v1/orders/{oid}/cancel", json={}, headers=rev).status_code == 422
    with sessions() as s:
        (entry,) = s.scalars(
            select(AuditEntry).where(
                AuditEntry.action == "order_cancelled", AuditEntry.entity_id == oid
            )
        )
        assert entry.actor == "rev-a"
        assert entry.detail["reason"] == "买家取消"
    # a cancelled order is off the pick list and takes no shipment
    assert (
        client.get("/api/v1/orders/station/pick-list", headers=world["key_a"]).json()["lines"] == []
    )
    assert _ship(client, world["key_a"], oid, [(1, 1)]).status_code == 409


def _race(sessions, monkeypatch, bodies: list[ShipmentIn]) -> list[Any]:
    """Record ``bodies`` at once from two threads, each its own transaction; the first to
    hold its locks lingers, so the other has to wait for it. Results or errors, in order."""
    real = shipping.station_stock

    def slow(**kw: Any) -> Any:
        rows = real(**kw)
        time.sleep(0.3)
        return rows

    monkeypatch.setattr(shipping, "station_stock", slow)
    out: list[Any] = [None] * len(bodies)

    def run(k: int) -> None:
        time.sleep(0.1 * k)
        try:
            with session_scope(sessions) as s:
                ship, created = shipping.record_shipment(
                    session=s, station_id="st-a", body=bodies[k]
                )
                out[k] = (str(ship.id), created)
        except DomainError as exc:
            out[k] = type(exc).__name__

    threads = [threading.Thread(target=run, args=(k,)) for k in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return out


def test_concurrent_shipments_never_ship_twice(client, world, sessions, monkeypatch) -> None:
    rev, key = world["rev_a"], world["key_a"]
    _stock(client, key, "st-a", f"{A}-F1", [(1, "extra", 4000, 100.0)])
    o1 = _order(client, rev, min_grade="extra", quantity_g=4000).json()["id"]
    o2 = _order(client, rev, min_grade="extra", quantity_g=4000).json()["id"]

    def body(sid: uuid.UUID, oid: str, n: int = 1) -> ShipmentIn:
        lots = [{"lot_id": lot_id(n), "net_g": 4000}]
        return ShipmentIn.model_validate({"id": str(sid), "order_id": oid, "lots": lots})

    # the same shipment sent twice at once: one stored, the other finds it
    sid = uuid.uuid4()
    got = _race(sessions, monkeypatch, [body(sid, o1), body(sid, o1)])
    assert got == [(str(sid), True), (str(sid), False)]
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(Shipment)) == 1
    # two orders' shipments of the same lot at once: only one takes it
    monkeypatch.undo()
    o3 = _order(client, rev, min_grade="extra", quantity_g=4000).json()["id"]
    _stock(client, key, "st-a", f"{A}-F1", [(2, "extra", 4000, 100.0)])
    got = _race(sessions, monkeypatch, [body(uuid.uuid4(), o2, 2), body(uuid.uuid4(), o3, 2)])
    assert got[0][1] is True  # the first took lot 2 …
    assert got[1] == "Invalid"  # … so the other found it no longer in stock
    with sessions() as s:
        assert s.scalar(select(func.sum(ShipmentLot.net_g))) == 8000


def test_shipping_the_pick_list_fills_what_it_says(client, world, sessions) -> None:
    """Ship every line as picked: orders fill by the picked grams, no lot gives more than
    it weighed, and the next pick list starts from what is left."""
    rev, key = world["rev_a"], world["key_a"]
    grades = ["extra", "class_i", "class_ii", "reject"]
    lots = [
        (n, grades[n % 4], 1000 + 700 * (n % 5), float(10 + (n * 37) % 90)) for n in range(1, 31)
    ]
    _stock(client, key, "st-a", f"{A}-F1", lots)
    with session_scope(sessions) as s:
        s.get_one(Station, "st-a").allow_lot_split = True
    wanted = [("extra", 5000, False), ("class_i", 12_000, True), ("class_ii", 9000, False),
              ("reject", 4000, True), ("class_i", 30_000, False)]  # fmt: skip
    for k, (grade, qty, over) in enumerate(wanted):
        day = f"2026-12-{5 + k:02d}"
        res = _order(client, rev, min_grade=grade, quantity_g=qty, allow_overfill=over,
                     delivery_date=day)  # fmt: skip
        assert res.status_code == 201
    pl = client.get("/api/v1/orders/station/pick-list", headers=key).json()
    assert [line["delivery_date"] for line in pl["lines"]] == sorted(
        line["delivery_date"] for line in pl["lines"]
    )
    # the stock was made so that one line overfills, one ends on a split lot, one is short
    assert [x["short_g"] > 0 for x in pl["lines"]] == [False, False, False, False, True]
    for line in pl["lines"]:
        if line["picks"]:
            lots_g = [(p["lot_id"], p["grams"]) for p in line["picks"]]
            body = {"id": str(uuid.uuid4()), "order_id": line["order"],
                    "lots": [{"lot_id": i, "net_g": g} for i, g in lots_g]}  # fmt: skip
            res = client.post("/api/v1/orders/station/shipments", json=body, headers=key)
            assert res.status_code == 201, res.text
    orders = {o["id"]: o for o in client.get("/api/v1/orders", headers=rev).json()}
    for line in pl["lines"]:
        order = orders[line["order"]]
        assert order["filled_g"] == line["picked_g"]
        want = "filled" if line["short_g"] == 0 else ("partly_filled" if line["picks"] else "open")
        assert order["status"] == want
    weighed = {lot_id(n): g for n, _, g, _ in lots}
    with sessions() as s:
        given = dict(
            s.execute(
                select(ShipmentLot.lot_id, func.sum(ShipmentLot.net_g)).group_by(ShipmentLot.lot_id)
            ).all()
        )
    assert all(g <= weighed[str(i)] for i, g in given.items())
    # what is shipped is gone: the next list never offers a lot's shipped grams again
    again = client.get("/api/v1/orders/station/pick-list", headers=key).json()
    for line in again["lines"]:
        for p in line["picks"]:
            assert p["grams"] <= weighed[p["lot_id"]] - given.get(uuid.UUID(p["lot_id"]), 0)


def test_lot_split_is_an_admins_audited_setting(client, world, make_user, sessions) -> None:
    admin = make_user("root", "admin")
    url = "/api/v1/orders/stations/st-a/lot-split"
    res = client.put(url, json={"allow_lot_split": True}, headers=world["rev_a"])
    assert res.status_code == 403
    assert client.put(url, json={"allow_lot_split": 1}, headers=admin).status_code == 422
    assert client.put(url, json={}, headers=admin).status_code == 422
    no_station = "/api/v1/orders/stations/nowhere/lot-split"
    assert client.put(no_station, json={"allow_lot_split": True}, headers=admin).status_code == 404
    res = client.put(url, json={"allow_lot_split": True}, headers=admin)
    assert res.json() == {"station": "st-a", "allow_lot_split": True}
    pl = client.get("/api/v1/orders/station/pick-list", headers=world["key_a"]).json()
    assert pl["split_lots"] is True
    with sessions() as s:
        (entry,) = s.scalars(select(AuditEntry).where(AuditEntry.action == "lot_split_set"))
        assert (entry.actor, entry.entity_id, entry.detail) == ("root", "st-a", {"allowed": True})


def _climate(station: str, room: str, hours_ago: list[float], temp_c: float) -> list[dict]:
    return [
        {"station": station, "room": room,
         "minute_start": (NOW - timedelta(hours=h)).replace(second=0).isoformat(),
         "samples": 6, "temp_min_c": temp_c - 0.2, "temp_mean_c": temp_c,
         "temp_max_c": temp_c + 0.2, "rh_mean_pct": 92.0}
        for h in hours_ago
    ]  # fmt: skip


def test_lots_still_in_their_room_age_by_its_climate(client, world) -> None:
    """No closed stay yet: the room's synced minutes say how much shelf life is left. A
    lot weighed later into a warm room can expire first, and is picked first."""
    rev, key = world["rev_a"], world["key_a"]
    cool = wire_lot(11, f"{A}-F1", net_g=3000, captured_at=_when(10), grade="extra")
    warm = wire_lot(12, f"{A}-F1", net_g=3000, captured_at=_when(2), grade="extra")
    silent = wire_lot(13, f"{A}-F1", net_g=3000, captured_at=_when(1), grade="extra")
    cool["cold_room"], warm["cold_room"], silent["cold_room"] = "cold-1", "cold-2", "cold-3"
    old = wire_lot(14, f"{A}-F1", net_g=3000, captured_at=_when(32 * 24), grade="extra")
    old["cold_room"] = "cold-1"  # weighed 32 days ago: past any shelf life, not read
    climate = (
        _climate("st-a", "cold-1", [10, 7, 4, 1], 0.5)
        + _climate("st-a", "cold-2", [2, 1], 20.0)
        + _climate("st-a", "cold-3", [3], 0.5)
    )  # cold-3: nothing since lot 13 came
    res = client.post(
        "/api/v1/sync",
        json={"station": "st-a", "lots": [cool, warm, silent, old], "climate": climate},
        headers=key,
    )
    assert res.status_code == 200, res.text
    _order(client, rev, min_grade="extra", quantity_g=6000)
    pl = client.get("/api/v1/orders/station/pick-list", headers=key).json()
    assert pl["lots_without_record"] == 1  # lot 13
    assert pl["lots_in_stock"] == 3  # lot 14 is past the horizon
    (line,) = pl["lines"]
    got = [(p["lot_id"], p["cold_room"], p["remaining_shelf_life_h"]) for p in line["picks"]]
    assert [g[:2] for g in got] == [(lot_id(12), "cold-2"), (lot_id(11), "cold-1")]
    # The lots were stamped from NOW (taken when the module loaded, maybe minutes ago in a
    # long run); since the last minute each room's mean is carried on, so that time counts.
    since = (datetime.now(UTC) - NOW).total_seconds() / 3600
    assert got[0][2] == pytest.approx(168 - (2 + since) / 0.13, abs=0.2)  # 2 h at 20 °C
    assert got[1][2] == pytest.approx(168 - (10 + since) / relative_shelf_life(0.5), abs=0.2)
