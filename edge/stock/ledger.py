"""Each room's stock as a ledger in the edge database, and where each lot's grams are now.

Every movement is a row of ``stock_ledger`` (never changed or removed): ``in`` (put away),
``moved_out`` + ``moved_in`` (one move, two rows), ``out`` (left in a shipment) and
``written_off`` (shrink, 损耗, with its reason). ``stock_lots`` holds each lot's grams per
room, changed in the same transaction as the ledger rows, so a room's ledger sum equals
the sum over its lots at every commit; its ``grams > 0`` check is the last guard against
going below zero (the checks here refuse first, with a message for the operator).

:class:`StockLedger` is a part of :class:`edge.outbox.store.EdgeStore` (as the outbox is),
which gives it its transactions and queries. :func:`received` is called by the store's
``record_lot`` inside the lot's own transaction (the lane's room, and the cooling clock).
"""

from __future__ import annotations

import sqlite3
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

from edge.errors import StockError, StockNotFoundError
from gongfang import wire

#: a shipment's line: lot id, the room it leaves (None: the one room it is in), grams
ShipLine = tuple[str, str | None, int]
EntryKind = Literal["in", "moved_in", "moved_out", "out", "written_off"]
#: the ledger's signed grams: what comes into a room counts up, what leaves counts down
SIGNED = "sum(CASE WHEN kind IN ('in', 'moved_in') THEN grams ELSE -grams END)"
#: stock_cooling.alarm: none raised, raised (active), cleared after the put-away
NO_ALARM, ALARM_RAISED, ALARM_CLEARED = 0, 1, 2


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger row."""

    seq: int
    entry_id: str
    lot_id: str
    room: str
    kind: EntryKind
    grams: int
    product: str
    grade: str
    shipment: str | None
    reason: str | None
    operator: str | None
    at_ms: int


@dataclass(frozen=True, slots=True)
class Holding:
    """A lot's grams in one room (a lot moved in part sits in two)."""

    lot_id: str
    room: str
    grams: int
    product: str
    grade: str
    intake_ms: int


@dataclass(frozen=True, slots=True)
class StockLine:
    """A room's stock of one product and grade, from the ledger."""

    room: str
    product: str
    grade: str
    grams: int
    lots: int


@dataclass(frozen=True, slots=True)
class Cooling:
    """A lot's cooling clock: intake, put-away (None: still waiting) and its alarm state."""

    lot_id: str
    lane: str
    intake_ms: int
    put_away_ms: int | None
    alarm: int


_ENTRY_COLUMNS = (
    "seq, entry_id, lot_id, room, kind, grams, product, grade, shipment, reason, operator, at_ms"
)


def _entry(
    db: sqlite3.Connection,
    lot: tuple[str, str, str, int],
    room: str,
    kind: EntryKind,
    grams: int,
    at_ms: int,
    operator: str | None,
    *,
    shipment: str | None = None,
    reason: str | None = None,
) -> None:
    lot_id, product, grade, intake_ms = lot
    db.execute(
        "INSERT INTO stock_ledger (entry_id, lot_id, room, kind, grams, product, grade,"
        " shipment, reason, operator, at_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            str(uuid.uuid4()),
            lot_id,
            room,
            kind,
            grams,
            product,
            grade,
            shipment,
            reason,
            operator,
            at_ms,
        ),
    )
    if kind in ("in", "moved_in"):
        db.execute(
            "INSERT INTO stock_lots (lot_id, room, grams, product, grade, intake_ms)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (lot_id, room)"
            " DO UPDATE SET grams = grams + excluded.grams",
            (lot_id, room, grams, product, grade, intake_ms),
        )
        return
    # the last grams delete the row (its check keeps every row above zero)
    if not db.execute(
        "DELETE FROM stock_lots WHERE lot_id = ? AND room = ? AND grams = ?", (lot_id, room, grams)
    ).rowcount:
        db.execute(
            "UPDATE stock_lots SET grams = grams - ? WHERE lot_id = ? AND room = ?",
            (grams, lot_id, room),
        )


def received(db: sqlite3.Connection, lot: wire.LotRecord, *, lane: str, at_ms: int) -> None:
    """A lot just stored (inside its transaction): its cooling clock starts, and a lot
    weighed on a lane with a room is put away there at once (today's assumption)."""
    lot_id = str(lot.id)
    room = lot.cold_room
    db.execute(
        "INSERT OR IGNORE INTO stock_cooling (lot_id, lane, intake_ms, put_away_ms)"
        " VALUES (?, ?, ?, ?)",
        (lot_id, lane, at_ms, at_ms if room else None),
    )
    if room:
        key = (lot_id, lot.product.value, lot.grade.value, at_ms)
        _entry(db, key, room, "in", lot.net_g, at_ms, lot.operator)


class StockLedger(ABC):
    """The stock operations of :class:`edge.outbox.store.EdgeStore`. Writes refuse, with
    :class:`StockError` and nothing written, anything that would take a lot below zero."""

    @abstractmethod
    def _tx(self, what: str) -> AbstractContextManager[sqlite3.Connection]: ...

    @abstractmethod
    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    # ------------------------------------------------------------ writes

    def put_away(self, *, lot_id: str, room: str, operator: str | None, at_ms: int) -> int:
        """The whole lot into ``room``; its cooling starts now. Returns the grams."""
        with self._tx(f"入库未能保存 / put-away of lot {lot_id} not stored") as db:
            key, net_g = _lot(db, lot_id)
            if db.execute(
                "SELECT 1 FROM stock_ledger WHERE lot_id = ? AND kind = 'in'", (lot_id,)
            ).fetchone():
                raise StockError(f"批次 {lot_id} 已入库 / lot {lot_id} is already put away")
            _entry(db, key, room, "in", net_g, at_ms, operator)
            db.execute(
                "INSERT INTO stock_cooling (lot_id, lane, intake_ms, put_away_ms)"
                " SELECT id, lane, captured_ms, ? FROM lots WHERE id = ?"
                " ON CONFLICT (lot_id) DO UPDATE SET"
                " put_away_ms = coalesce(put_away_ms, excluded.put_away_ms)",
                (at_ms, lot_id),
            )
            # the lot's stay (excursions, shelf life) starts in the room it is put in
            db.execute(
                "INSERT OR IGNORE INTO lot_stays (lot_id, room, from_ms) VALUES (?, ?, ?)",
                (lot_id, room, at_ms),
            )
        return net_g

    def move(
        self,
        *,
        lot_id: str,
        from_room: str | None,
        to_room: str,
        grams: int,
        operator: str | None,
        at_ms: int,
    ) -> str:
        """``grams`` of the lot from one room into another; returns the room it left."""
        with self._tx(f"移库未能保存 / move of lot {lot_id} not stored") as db:
            key, _ = _lot(db, lot_id)
            room = _take_from(db, lot_id, from_room, grams, "移出", "move")
            if room == to_room:
                raise StockError(f"批次 {lot_id} 已在 {room} / lot {lot_id} is in {room} already")
            _entry(db, key, room, "moved_out", grams, at_ms, operator)
            _entry(db, key, to_room, "moved_in", grams, at_ms, operator)
        return room

    def ship(
        self, *, shipment: str, lines: Sequence[ShipLine], operator: str | None, at_ms: int
    ) -> list[str]:
        """Lots leave in ``shipment``, all lines or none; returns the rooms they left. A lot
        already in this shipment is refused (a second tap, a resent form: never shipped
        twice)."""
        with self._tx(f"出库未能保存 / shipment {shipment} not stored") as db:
            rooms = []
            for lot_id, room, grams in lines:
                key, _ = _lot(db, lot_id)
                if db.execute(
                    "SELECT 1 FROM stock_ledger WHERE kind = 'out' AND shipment = ? AND lot_id = ?",
                    (shipment, lot_id),
                ).fetchone():
                    raise StockError(
                        f"批次 {lot_id} 已随出库单 {shipment} 出库 /"
                        f" lot {lot_id} is in shipment {shipment} already"
                    )
                left = _take_from(db, lot_id, room, grams, "出库", "ship")
                _entry(db, key, left, "out", grams, at_ms, operator, shipment=shipment)
                rooms.append(left)
        return rooms

    def write_off(
        self,
        *,
        lot_id: str,
        room: str | None,
        grams: int,
        reason: str,
        operator: str | None,
        at_ms: int,
    ) -> str:
        """Shrink (损耗): ``grams`` of the lot written off for ``reason``; returns the room."""
        with self._tx(f"损耗未能保存 / write-off of lot {lot_id} not stored") as db:
            key, _ = _lot(db, lot_id)
            room = _take_from(db, lot_id, room, grams, "报损", "write off")
            _entry(db, key, room, "written_off", grams, at_ms, operator, reason=reason)
        return room

    def set_cooling_alarm(self, lot_id: str, state: int) -> None:
        with self._tx(f"预冷告警状态未能保存 / cooling alarm of lot {lot_id} not marked") as db:
            db.execute("UPDATE stock_cooling SET alarm = ? WHERE lot_id = ?", (state, lot_id))

    # ------------------------------------------------------------ reads

    def room_stock(self) -> list[StockLine]:
        """Stock per room, product and grade, summed from the ledger (empty lines left out)."""
        rows = self._query(
            f"SELECT room, product, grade, {SIGNED} FROM stock_ledger"  # noqa: S608
            " GROUP BY room, product, grade ORDER BY room, product, grade"
        )
        lots = {
            (str(r), str(p), str(g)): int(n)
            for r, p, g, n in self._query(
                "SELECT room, product, grade, count(*) FROM stock_lots GROUP BY 1, 2, 3"
            )
        }
        return [
            StockLine(str(r), str(p), str(g), int(s), lots.get((str(r), str(p), str(g)), 0))
            for r, p, g, s in rows
            if int(s) != 0
        ]

    def holdings(self, *, room: str | None = None, lot_id: str | None = None) -> list[Holding]:
        """Where lots' grams are now (one room's, one lot's, or all), oldest intake first."""
        where, args = _where(room=room, lot_id=lot_id)
        rows = self._query(
            "SELECT lot_id, room, grams, product, grade, intake_ms FROM stock_lots"  # noqa: S608
            f"{where} ORDER BY intake_ms, lot_id, room",
            args,
        )
        return [
            Holding(str(a), str(b), int(c), str(d), str(e), int(f)) for a, b, c, d, e, f in rows
        ]

    def ledger(self, *, room: str | None = None, lot_id: str | None = None) -> list[Entry]:
        """The ledger rows (one room's, one lot's, or all) in the order they were written."""
        where, args = _where(room=room, lot_id=lot_id)
        rows = self._query(f"SELECT {_ENTRY_COLUMNS} FROM stock_ledger{where} ORDER BY seq", args)  # noqa: S608
        return [Entry(*r) for r in rows]

    def cooling(
        self, *, waiting_since_ms: int | None = None, alarm: int | None = None
    ) -> list[Cooling]:
        """Cooling clocks: lots still waiting that came in at or before ``waiting_since_ms``,
        and/or those whose alarm is in state ``alarm``."""
        sql, args = "SELECT lot_id, lane, intake_ms, put_away_ms, alarm FROM stock_cooling", []
        cond = []
        if waiting_since_ms is not None:
            cond.append("put_away_ms IS NULL AND intake_ms <= ?")
            args.append(waiting_since_ms)
        if alarm is not None:
            cond.append("alarm = ?")
            args.append(alarm)
        if cond:
            sql += " WHERE " + " AND ".join(cond)
        rows = self._query(sql + " ORDER BY intake_ms, lot_id", args)
        return [
            Cooling(str(a), str(b), int(c), None if d is None else int(d), int(e))
            for a, b, c, d, e in rows
        ]


def _where(**filters: str | None) -> tuple[str, list[str]]:
    cond = [(f"{k} = ?", v) for k, v in filters.items() if v is not None]
    if not cond:
        return "", []
    return " WHERE " + " AND ".join(c for c, _ in cond), [v for _, v in cond]


def _lot(db: sqlite3.Connection, lot_id: str) -> tuple[tuple[str, str, str, int], int]:
    """(lot id, product, grade, intake ms) and net grams of a stored lot."""
    row = db.execute(
        "SELECT json_extract(record, '$.product'), json_extract(record, '$.grade'),"
        " captured_ms, json_extract(record, '$.net_g') FROM lots WHERE id = ?",
        (lot_id,),
    ).fetchone()
    if row is None:
        raise StockNotFoundError(f"未知的批次 / unknown lot: {lot_id}")
    product, grade, intake_ms, net_g = row
    return (lot_id, str(product), str(grade), int(intake_ms)), int(net_g)


def _take_from(
    db: sqlite3.Connection, lot_id: str, room: str | None, grams: int, verb_zh: str, verb_en: str
) -> str:
    """The room ``grams`` of the lot can leave (``room``, or the one room it is in)."""
    rows = db.execute("SELECT room, grams FROM stock_lots WHERE lot_id = ?", (lot_id,)).fetchall()
    held = {str(r): int(g) for r, g in rows}
    if room is None:
        if not held:
            raise StockError(f"批次 {lot_id} 不在库中 / lot {lot_id} is in no room")
        if len(held) > 1:
            rooms = "、".join(sorted(held))
            raise StockError(
                f"批次 {lot_id} 分在多个冷库（{rooms}），请指定冷库 /"
                f" lot {lot_id} is in several rooms ({', '.join(sorted(held))}): name the room"
            )
        room = next(iter(held))
    have = held.get(room, 0)
    if grams > have:
        raise StockError(
            f"批次 {lot_id} 在 {room} 仅有 {have} 克，不能{verb_zh} {grams} 克 /"
            f" lot {lot_id} holds {have} g in {room}: cannot {verb_en} {grams} g"
        )
    return room
