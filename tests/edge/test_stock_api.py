"""The stock routes of the operator API on a real EdgeNode over HTTP: strict bodies (no
``true``, strings or floats for grams, no extra fields), refusals with Chinese-first
details, the stay closed when a lot's last grams leave, the node's tick raising the 1 h
cooling alarm, and the guard beyond loopback (the signed-in operator is the one kept)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.app import EdgeNode
from edge.console.auth import set_pin
from gongfang import wire
from gongfang.settings import EdgeLane, EdgeSettings
from tests.edge.lot_factory import BASE, make_lot
from tests.edge.test_console_api import _can_bind_any


def _node(tmp_path: Path, host: str) -> EdgeNode:
    settings = EdgeSettings.load(
        station="st-stock",
        mqtt_url="embedded://",
        data_dir=tmp_path,
        http_host=host,
        http_port=0,
        receipts_enabled=False,
        tick_interval_s=3600,  # the test runs the tick itself, at the times it needs
        lanes=[EdgeLane(id="lane1", tare_g=500, cold_room="room1"), EdgeLane(id="lane2")],
        rooms={"room1": "strawberry", "room2": "strawberry"},
    )
    return EdgeNode(settings).start()


@pytest.fixture
def node(tmp_path: Path) -> Iterator[EdgeNode]:
    n = _node(tmp_path, "127.0.0.1")
    yield n
    n.stop()


@pytest.fixture
def http(node: EdgeNode) -> Iterator[httpx.Client]:
    assert node.http_url is not None
    with httpx.Client(base_url=node.http_url, timeout=5) as client:
        yield client


def _lot(node: EdgeNode, i: int, room: str | None) -> str:
    lot = make_lot(i, gross_g=2500, tare_g=500, cold_room=room)
    assert node.store.record_lot(lot, lane="lane1" if room else "lane2")
    return str(lot.id)


@pytest.mark.parametrize(
    "change",
    [
        {"grams": True},
        {"grams": "500"},
        {"grams": 500.0},
        {"grams": 0},
        {"grams": -5},
        {"grams": wire.MAX_GROSS_G + 1},
        {"to_room": 2},
        {"to_room": "room 2"},
        {"colour": "red"},
        {"operator": ""},
    ],
)
def test_move_body_is_strict(node: EdgeNode, http: httpx.Client, change: dict[str, Any]) -> None:
    lot_id = _lot(node, 0, "room1")
    body = {"lot_id": lot_id, "to_room": "room2", "grams": 500, "operator": "王芳", **change}
    r = http.post("/api/stock/move", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["detail"].startswith("请求格式错误")
    assert all("input" not in e for e in r.json()["errors"])  # never echoing the body
    assert [e.kind for e in node.store.ledger(lot_id=lot_id)] == ["in"]


def test_put_away_move_ship_write_off_over_http(node: EdgeNode, http: httpx.Client) -> None:
    waiting, stored = _lot(node, 0, None), _lot(node, 1, "room1")
    r = http.post("/api/stock/put-away", json={"lot_id": waiting, "room": "room1"})
    assert r.status_code == 422
    assert r.json()["detail"].startswith("请填写操作员")
    r = http.post(
        "/api/stock/put-away", json={"lot_id": waiting, "room": "room9", "operator": "王"}
    )
    assert r.status_code == 404
    assert r.json()["detail"].startswith("未知的冷库")
    r = http.post(
        "/api/stock/put-away", json={"lot_id": waiting, "room": "room2", "operator": "王"}
    )
    assert r.status_code == 200, r.text
    assert r.json()["grams"] == 2000
    r = http.post("/api/stock/put-away", json={"lot_id": stored, "room": "room2", "operator": "王"})
    assert r.status_code == 409
    assert r.json()["detail"].startswith("批次")
    assert "已入库" in r.json()["detail"]

    move = {"lot_id": stored, "to_room": "room2", "grams": 500, "operator": "李四"}
    assert http.post("/api/stock/move", json=move).json()["from_room"] == "room1"
    ship = {"shipment": "SH-1", "lot_id": stored, "grams": 100, "operator": "李四"}
    r = http.post("/api/stock/ship", json=ship)
    assert r.status_code == 409
    assert "多个冷库" in r.json()["detail"]
    r = http.post("/api/stock/ship", json={**ship, "room": "room1", "grams": 1501})
    assert r.status_code == 409
    assert r.json()["detail"].startswith(f"批次 {stored} 在 room1 仅有 1500 克")

    stock = http.get("/api/stock").json()
    assert [(s["room"], s["grams"], s["kg"], s["lots"]) for s in stock["rooms"]] == [
        ("room1", 1500, 1.5, 1),
        ("room2", 2500, 2.5, 2),
    ]
    assert stock["waiting"] == []

    # the lot's last grams leave: its stay is closed and queued for the server
    assert http.post("/api/stock/ship", json={**ship, "room": "room1", "grams": 1500}).is_success
    assert (node.lot_stay(stored) or {})["open"] is True  # 500 g still in room2
    off = {"lot_id": stored, "grams": 500, "reason": "  压伤 ", "operator": "李四"}
    assert http.post("/api/stock/write-off", json={**off, "reason": "  "}).status_code == 422
    assert http.post("/api/stock/write-off", json=off).json()["room"] == "room2"
    assert (node.lot_stay(stored) or {})["open"] is False
    assert any(e.kind == "stay" and e.item_id == stored for e in node.store.next_batch(100))

    rows = http.get("/api/stock/ledger", params={"lot_id": stored}).json()
    assert [(e["kind"], e["room"], e["grams"]) for e in rows] == [
        ("in", "room1", 2000),
        ("moved_out", "room1", 500),
        ("moved_in", "room2", 500),
        ("out", "room1", 1500),
        ("written_off", "room2", 500),
    ]
    assert rows[-1]["reason"] == "压伤"
    assert rows[-1]["operator"] == "李四"
    lots = http.get("/api/stock/lots", params={"room": "room2"}).json()
    assert [(h["lot_id"], h["grams"]) for h in lots] == [(waiting, 2000)]


def test_node_tick_raises_the_cooling_alarm_after_an_hour(node: EdgeNode) -> None:
    lot_id = _lot(node, 0, None)
    intake = wire.utc_ms(BASE)
    node.tick(intake + 59 * 60_000)
    assert node.store.active_alarms() == []
    node.tick(intake + 61 * 60_000)
    [alarm] = node.store.active_alarms()
    assert (alarm.rule, alarm.room, alarm.severity) == ("cooling_late", "lane2", "major")
    assert lot_id in alarm.message
    assert any(e.kind == "alarm" for e in node.store.next_batch(100))


@pytest.mark.skipif(not _can_bind_any(), reason="cannot bind beyond loopback here")
def test_beyond_loopback_stock_writes_need_the_signed_operator(tmp_path: Path) -> None:
    node = _node(tmp_path, "0.0.0.0")  # noqa: S104
    try:
        assert node.http_url is not None
        base = f"http://127.0.0.1:{node.http_url.rsplit(':', 1)[1]}"
        lot_id = _lot(node, 0, None)
        body = {"lot_id": lot_id, "room": "room1", "operator": "冒名"}
        anon = httpx.Client(base_url=base, timeout=5)
        assert anon.post("/api/stock/put-away", json=body).status_code == 401
        assert anon.get("/api/stock").status_code == 401
        set_pin(node.store, "王芳", "2468")
        http = httpx.Client(base_url=base, timeout=5)
        http.get("/console/signin")
        token = str(http.cookies.get("csrftoken") or "")
        signin = {"name": "王芳", "pin": "2468", "csrftoken": token}
        assert http.post("/console/signin", data=signin).status_code == 303
        r = http.post("/api/stock/put-away", json=body, headers={"x-csrftoken": token})
        assert r.status_code == 200, r.text
        assert [e.operator for e in node.store.ledger(lot_id=lot_id)] == ["王芳"]
    finally:
        node.stop()
