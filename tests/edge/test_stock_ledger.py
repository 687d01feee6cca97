"""Stock at the station (edge/stock): each room's ledger reconciles with its lots after
random sequences of put-away, moves, shipments, write-offs and restarts (Hypothesis,
against a model), refusals below zero leave nothing written, and the lane's room."""

from __future__ import annotations

import tempfile
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from edge.errors import StockError, StockNotFoundError, StoreError
from edge.outbox.store import EdgeStore
from edge.stock.service import StockService
from gongfang import wire
from tests.edge.lot_factory import BASE, make_lot

ROOMS = ("r1", "r2", "r3")
NET_G = (1500, 2200, 900, 3100)  # lots 0 and 1 come in on a lane with room r1
SOON = wire.utc_ms(BASE) + 10 * 60_000  # ten minutes after the intake
LATE = wire.utc_ms(BASE) + 90 * 60_000  # lots 2 and 3 are late by then


def _stock(store: EdgeStore) -> StockService:
    return StockService(store=store, station="st1", rooms=ROOMS, clock=lambda: SOON)


def _seed(store: EdgeStore) -> list[str]:
    ids = []
    for i, net in enumerate(NET_G):
        lot = make_lot(i, gross_g=net + 500, tare_g=500, cold_room="r1" if i < 2 else None)
        assert store.record_lot(lot, lane="lane1" if i < 2 else "lane2")
        ids.append(str(lot.id))
    return ids


room_or_none = st.sampled_from((None, *ROOMS))
amount = st.one_of(st.integers(1, 3500), st.just(0))  # 0: all the model says is there
op = st.one_of(
    st.tuples(st.just("put"), st.integers(0, 3), st.sampled_from((*ROOMS, "nowhere"))),
    st.tuples(
        st.just("move"),
        st.integers(0, 3),
        room_or_none,
        st.sampled_from(ROOMS),
        amount,
    ),  # fmt: skip
    st.tuples(st.just("ship"), st.integers(0, 3), room_or_none, amount),
    st.tuples(st.just("off"), st.integers(0, 3), room_or_none, amount),
    st.tuples(st.just("reopen")),
)


def _source(model: dict[tuple[int, str], int], lot: int, room: str | None) -> str | None:
    """The room the model takes from (None: the service must refuse)."""
    held = [r for (i, r), g in model.items() if i == lot and g > 0]
    if room is None:
        return held[0] if len(held) == 1 else None
    return room


def _check(store: EdgeStore, ids: list[str], model: dict[tuple[int, str], int]) -> None:
    """Ledger = lots = model, per room; nothing negative; every put-away gram accounted for."""
    ledger: Counter[str] = Counter()
    per_lot: dict[str, Counter[str]] = {i: Counter() for i in ids}
    for e in store.ledger():
        ledger[e.room] += e.grams if e.kind in ("in", "moved_in") else -e.grams
        per_lot[e.lot_id][e.kind] += e.grams
    lots: Counter[str] = Counter()
    for h in store.holdings():
        assert h.grams > 0
        lots[h.room] += h.grams
    expected: Counter[str] = Counter()
    for (_, room), g in model.items():
        expected[room] += g
    assert +ledger == +lots == +expected
    lines: Counter[str] = Counter()
    for line in store.room_stock():
        assert line.grams > 0
        lines[line.room] += line.grams
    assert +lines == +expected
    for i, lot_id in enumerate(ids):
        k = per_lot[lot_id]
        held = sum(g for (j, _), g in model.items() if j == i)
        assert k["in"] in (0, NET_G[i])
        assert k["in"] == k["out"] + k["written_off"] + held
        assert k["moved_in"] == k["moved_out"]


def _take(
    stock: StockService, name: str, lot_id: str, room: str | None, to: str, grams: int
) -> None:
    if name == "move":
        stock.move(lot_id=lot_id, from_room=room, to_room=to, grams=grams, operator="李")
    elif name == "ship":
        shipment = f"SH-{uuid.uuid4()}"
        stock.ship(shipment=shipment, lot_id=lot_id, room=room, grams=grams, operator="李")
    else:
        stock.write_off(lot_id=lot_id, room=room, grams=grams, reason="腐烂", operator="李")


def _put(stock: StockService, lot_id: str, room: str, done: bool) -> bool:
    """Put away as the model expects: refused for an unknown room or a second time."""
    if room not in ROOMS:
        with pytest.raises(StockNotFoundError, match="未知的冷库"):
            stock.put_away(lot_id=lot_id, room=room, operator="王芳")
        return False
    if done:
        with pytest.raises(StockError, match="已入库"):
            stock.put_away(lot_id=lot_id, room=room, operator="王芳")
        return False
    stock.put_away(lot_id=lot_id, room=room, operator="王芳")
    return True


def _apply(
    store: EdgeStore, ids: list[str], model: dict[tuple[int, str], int], step: tuple[Any, ...]
) -> None:
    """One move, shipment or write-off on the store and the model (refused: neither)."""
    name, lot, room, *rest = step
    src = _source(model, lot, room)
    grams = rest[-1] or model.get((lot, src or ""), 0) or 1
    to = rest[0] if name == "move" else ""
    ok = src is not None and model.get((lot, src), 0) >= grams and src != to
    before = len(store.ledger())
    if not ok:
        with pytest.raises(StockError):
            _take(_stock(store), name, ids[lot], room, to, grams)
        assert len(store.ledger()) == before  # refused whole
        return
    _take(_stock(store), name, ids[lot], room, to, grams)
    assert src is not None
    model[(lot, src)] -= grams
    if name == "move":
        model[(lot, to)] = model.get((lot, to), 0) + grams


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, max_size=30))
def test_ledgers_reconcile_with_lots_after_random_sequences(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "edge.db"
        store = EdgeStore(path)
        try:
            ids = _seed(store)
            model: dict[tuple[int, str], int] = {(0, "r1"): NET_G[0], (1, "r1"): NET_G[1]}
            put = {0, 1}
            for step in ops:
                if step[0] == "reopen":  # a restart keeps every row
                    store.close()
                    store = EdgeStore(path)
                elif step[0] == "put":
                    _, lot, room = step
                    if _put(_stock(store), ids[lot], room, lot in put):
                        model[(lot, room)] = NET_G[lot]
                        put.add(lot)
                else:
                    _apply(store, ids, model, step)
                _check(store, ids, model)
        finally:
            store.close()


def test_lane_room_is_put_away_at_intake_and_refusals_say_why(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    ids = _seed(store)
    stock = _stock(store)
    doc = stock.stock()
    assert doc["rooms"] == [
        {
            "room": "r1",
            "product": "strawberry",
            "grade": "class_i",
            "grams": 3700,
            "kg": 3.7,
            "lots": 2,
        }
    ]
    assert [w["lot_id"] for w in doc["waiting"]] == ids[2:]
    with pytest.raises(StockError, match="仅有 1500 克，不能出库 1501 克"):
        stock.ship(shipment="S1", lot_id=ids[0], room=None, grams=1501, operator="王芳")
    with pytest.raises(StockError, match="不在库中"):
        stock.write_off(lot_id=ids[2], room=None, grams=1, reason="x", operator="王芳")
    with pytest.raises(StockNotFoundError, match="未知的批次"):
        stock.ship(shipment="S1", lot_id="nope", room="r1", grams=1, operator="王芳")
    stock.move(lot_id=ids[0], from_room=None, to_room="r2", grams=500, operator="王芳")
    with pytest.raises(StockError, match="多个冷库"):
        stock.ship(shipment="S1", lot_id=ids[0], room=None, grams=1, operator="王芳")
    emptied: list[str] = []
    stock = StockService(
        store=store, station="st1", rooms=ROOMS, on_emptied=emptied.append, clock=lambda: SOON
    )
    stock.ship(shipment="S1", lot_id=ids[0], room="r1", grams=1000, operator="王芳")
    assert emptied == []
    stock.write_off(lot_id=ids[0], room="r2", grams=500, reason="压伤", operator="王芳")
    assert emptied == [ids[0]]
    kinds = [(e.kind, e.room, e.grams, e.shipment, e.reason) for e in store.ledger(lot_id=ids[0])]
    assert kinds == [
        ("in", "r1", 1500, None, None),
        ("moved_out", "r1", 500, None, None),
        ("moved_in", "r2", 500, None, None),
        ("out", "r1", 1000, "S1", None),
        ("written_off", "r2", 500, None, "压伤"),
    ]
    store.close()


def test_a_shipment_leaves_whole_or_not_at_all_and_never_twice(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    ids = _seed(store)
    stock = _stock(store)
    with pytest.raises(StockError, match="仅有 2200 克"):
        stock.ship_lines(
            shipment="SH2", lines=[(ids[0], "r1", 1500), (ids[1], "r1", 2201)], operator="王芳"
        )
    assert [e.kind for e in store.ledger()] == ["in", "in"]  # the first line is not kept
    doc = stock.ship_lines(
        shipment="SH2", lines=[(ids[0], None, 1000), (ids[1], "r1", 2200)], operator="王芳"
    )
    assert doc["lines"] == [
        {"lot_id": ids[0], "room": "r1", "grams": 1000},
        {"lot_id": ids[1], "room": "r1", "grams": 2200},
    ]
    with pytest.raises(StockError, match="已随出库单 SH2 出库"):  # a second tap
        stock.ship(shipment="SH2", lot_id=ids[0], room="r1", grams=500, operator="王芳")
    stock.ship(shipment="SH3", lot_id=ids[0], room="r1", grams=500, operator="王芳")
    assert store.room_stock() == []
    store.close()


def test_a_failing_follow_up_does_not_undo_a_kept_movement(tmp_path: Path) -> None:
    """The stay's close (on the last grams) or the alarm's clearing failing after the
    movement was kept: the operator gets the movement, not an error to retry into a 409."""
    store = EdgeStore(tmp_path / "edge.db")
    ids = _seed(store)

    def full(_: object) -> None:
        raise StoreError("存储空间已满 / disk full")

    stock = StockService(
        store=store, station="st1", rooms=ROOMS, on_emptied=full, on_alarms=full, clock=lambda: LATE
    )
    doc = stock.ship(shipment="S1", lot_id=ids[0], room=None, grams=NET_G[0], operator="王芳")
    assert doc["grams"] == NET_G[0]
    assert stock.put_away(lot_id=ids[2], room="r2", operator="王芳")["grams"] == NET_G[2]
    assert [h.lot_id for h in store.holdings(room="r2")] == [ids[2]]
    store.close()
