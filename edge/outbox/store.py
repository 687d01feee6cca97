"""The edge's one local SQLite database: lots, the outbox and everything else kept on disk.

A lot and its outbox entry are written in ONE transaction (WAL, ``synchronous=FULL``), so a
power cut or SIGKILL at any moment leaves either both or neither. The lot's UUID is made
before the write and is the server's idempotency key: an entry sent, stored by the server
and not yet removed here (killed in between) is simply sent again and acknowledged as a
duplicate.

Split in three: :mod:`edge.outbox.schema` (the tables, and what an older database needs),
:mod:`edge.outbox.queue` (the outbox itself, the side ``edge/sync`` talks to) and here the
connection and the record writes, each adding its outbox row in the same transaction.
Every statement runs through :meth:`EdgeStore._tx` or :meth:`EdgeStore._query`, which
turn sqlite3's errors into :class:`edge.errors.StoreError`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from edge.errors import StoreError, StoreFullError
from edge.outbox import schema
from edge.outbox.queue import OutboxQueue, enqueue
from edge.outbox.schema import now_ms
from edge.stock import ledger as stock
from edge.stock.ledger import StockLedger
from gongfang import wire


def _disk_full(exc: sqlite3.Error) -> bool:
    """SQLITE_FULL: the disk (or ``max_page_count``) has no room left; the transaction is
    rolled back whole, so the caller may simply try again once space is freed."""
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL or (
        "database or disk is full" in str(exc)
    )


@dataclass(frozen=True, slots=True)
class StoredLot:
    record: wire.LotRecord
    lane: str
    receipt_done: bool


class EdgeStore(OutboxQueue, StockLedger):
    """Thread-safe access to the edge database (one connection, one lock); the outbox
    (:class:`OutboxQueue`) and the rooms' stock (:class:`StockLedger`) are parts of it."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves, so the lot and its
            # outbox entry are one explicit transaction.
            self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._db.execute("PRAGMA busy_timeout=5000")
            schema.prepare(self._db)
        except sqlite3.Error as exc:
            raise StoreError(
                f"无法打开本地数据库 / cannot open the edge database {path}: {exc}"
            ) from exc
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self, what: str) -> Iterator[sqlite3.Connection]:
        """One write transaction, rolled back on any exception; a sqlite3 error (in the
        body or the commit) comes out as ``StoreError("{what}: {error}")``."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    if self._db.in_transaction:  # a failed COMMIT can leave it open
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as exc:
                if _disk_full(exc):
                    zh, _, en = what.partition(" / ")
                    raise StoreFullError(
                        f"存储空间已满，{zh}，请清理空间后重试 / disk full: {en or zh};"
                        f" free some space and try again ({exc})"
                    ) from exc
                raise StoreError(f"{what}: {exc}") from exc

    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read; a sqlite3 error comes out as :class:`StoreError`."""
        with self._lock:
            try:
                return list(self._db.execute(sql, args).fetchall())
            except sqlite3.Error as exc:
                raise StoreError(f"本地数据库读取失败 / edge database read failed: {exc}") from exc

    # ------------------------------------------------------------ lots

    def record_lot(self, lot: wire.LotRecord, *, lane: str) -> bool:
        """Store a lot and queue it for the server, atomically.

        Returns False (and writes nothing) if a lot with this id is already stored: the id
        is the idempotency key, so recording the same lot twice is harmless.
        """
        body = lot.model_dump_json()
        captured = wire.utc_ms(lot.captured_at)
        lot_id = str(lot.id)
        with self._tx(f"批次未能保存 / lot {lot_id} not stored") as db:
            cur = db.execute(
                "INSERT OR IGNORE INTO lots (id, lane, captured_ms, record, content_hash,"
                " created_ms) VALUES (?, ?, ?, ?, ?, ?)",
                (lot_id, lane, captured, body, lot.content_hash(), now_ms()),
            )
            # the weighing it came from is no longer pending: gone in the same commit
            db.execute("DELETE FROM pending_lots WHERE lot_id = ?", (lot_id,))
            if cur.rowcount == 0:
                return False
            enqueue(db, "lot", lot_id, body)
            if lot.cold_room:
                db.execute(
                    "INSERT INTO lot_stays (lot_id, room, from_ms) VALUES (?, ?, ?)",
                    (lot_id, lot.cold_room, captured),
                )
            stock.received(db, lot, lane=lane, at_ms=captured)
        return True

    def get_lot(self, lot_id: str) -> StoredLot | None:
        rows = self._query("SELECT record, lane, receipt_done FROM lots WHERE id = ?", (lot_id,))
        if not rows:
            return None
        record, lane, done = rows[0]
        return StoredLot(wire.LotRecord.model_validate_json(record), lane, bool(done))

    def recent_lots(self, limit: int = 50) -> list[StoredLot]:
        rows = self._query(
            "SELECT record, lane, receipt_done FROM lots ORDER BY captured_ms DESC, id LIMIT ?",
            (limit,),
        )
        return [StoredLot(wire.LotRecord.model_validate_json(r), ln, bool(d)) for r, ln, d in rows]

    def lots_since(
        self, since_ms: int, limit: int = 5000, *, farmer: str | None = None
    ) -> list[StoredLot]:
        """Lots captured at or after ``since_ms`` (one farmer's, if given), newest first."""
        mine = " AND json_extract(record, '$.farmer') = ?" if farmer is not None else ""
        rows = self._query(
            f"SELECT record, lane, receipt_done FROM lots WHERE captured_ms >= ?{mine}"  # noqa: S608
            " ORDER BY captured_ms DESC, id LIMIT ?",
            (since_ms, *([farmer] if farmer is not None else []), limit),
        )
        return [StoredLot(wire.LotRecord.model_validate_json(r), ln, bool(d)) for r, ln, d in rows]

    def totals_since(self, since_ms: int) -> list[tuple[str, str, int, int]]:
        """(product, grade, lots, net grams) of the lots captured since ``since_ms``."""
        rows = self._query(
            "SELECT json_extract(record, '$.product'), json_extract(record, '$.grade'),"
            " count(*), sum(json_extract(record, '$.net_g')) FROM lots WHERE captured_ms >= ?"
            " GROUP BY 1, 2",
            (since_ms,),
        )
        return [(str(p), str(g), int(n), int(w)) for p, g, n, w in rows]

    def all_lots(self) -> list[wire.LotRecord]:
        rows = self._query("SELECT record FROM lots ORDER BY captured_ms, id")
        return [wire.LotRecord.model_validate_json(r) for (r,) in rows]

    def lot_count(self) -> int:
        return int(self._query("SELECT count(*) FROM lots")[0][0])

    def lots_without_receipt(self) -> list[str]:
        return [r[0] for r in self._query("SELECT id FROM lots WHERE receipt_done = 0")]

    def mark_receipt_done(self, lot_id: str) -> None:
        with self._tx(f"小票状态未能保存 / receipt of lot {lot_id} not marked done") as db:
            db.execute("UPDATE lots SET receipt_done = 1 WHERE id = ?", (lot_id,))

    def mark_receipt_pending(self, lot_id: str) -> bool:
        """Make (and print) a lot's receipt again: the operator asked for a reprint."""
        with self._tx(f"小票未能重印 / receipt of lot {lot_id} not queued again") as db:
            cur = db.execute("UPDATE lots SET receipt_done = 0 WHERE id = ?", (lot_id,))
            return cur.rowcount > 0

    # ------------------------------------------------------------ pending lots

    def save_pending(self, lot_id: str, lane: str, doc: Mapping[str, Any]) -> None:
        """Keep (or update) a weighed crate that waits for confirmation."""
        body = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
        with self._tx(f"待确认批次未能保存 / pending lot {lot_id} not saved") as db:
            db.execute(
                "INSERT INTO pending_lots (lot_id, lane, body, created_ms) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (lot_id) DO UPDATE SET lane = excluded.lane,"
                " body = excluded.body",
                (lot_id, lane, body, now_ms()),
            )

    def drop_pending(self, lot_id: str) -> None:
        """Forget a pending crate (discarded by the operator)."""
        with self._tx(f"待确认批次未能删除 / pending lot {lot_id} not dropped") as db:
            db.execute("DELETE FROM pending_lots WHERE lot_id = ?", (lot_id,))

    def pending_lots(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(lot id, lane, document) of every pending crate, oldest first; a row that does
        not read as JSON is skipped here (the caller counts what it cannot restore)."""
        out = []
        for lot_id, lane, body in self._query(
            "SELECT lot_id, lane, body FROM pending_lots ORDER BY created_ms, rowid"
        ):
            try:
                doc = json.loads(body)
            except ValueError:
                doc = None
            out.append((str(lot_id), str(lane), doc if isinstance(doc, dict) else {}))
        return out

    # ------------------------------------------------------------ cold-room stays

    def open_stays(self) -> list[tuple[str, str, int]]:
        """(lot id, room, from_ms) of lots still in a cold room."""
        rows = self._query("SELECT lot_id, room, from_ms FROM lot_stays WHERE to_ms IS NULL")
        return [(str(a), str(b), int(c)) for a, b, c in rows]

    def stay(self, lot_id: str) -> tuple[str, int, int | None, Any] | None:
        rows = self._query(
            "SELECT room, from_ms, to_ms, report FROM lot_stays WHERE lot_id = ?", (lot_id,)
        )
        if not rows:
            return None
        room, from_ms, to_ms, report = rows[0]
        return room, from_ms, to_ms, (json.loads(report) if report else None)

    def close_stay(
        self,
        lot_id: str,
        to_ms: int,
        report: dict[str, Any],
        record: wire.LotStay | None = None,
    ) -> bool:
        """Close an open stay; with ``record``, queue it for the server in the same commit.

        False (and nothing queued) if the stay is unknown or already closed.
        """
        with self._tx(f"冷库停留未能保存 / stay of lot {lot_id} not closed") as db:
            cur = db.execute(
                "UPDATE lot_stays SET to_ms = ?, report = ? WHERE lot_id = ? AND to_ms IS NULL",
                (to_ms, json.dumps(report, ensure_ascii=False), lot_id),
            )
            if cur.rowcount == 0:
                return False
            if record is not None:
                enqueue(db, "stay", lot_id, record.model_dump_json())
        return True

    # ------------------------------------------------------------ alarms and climate

    def record_alarm(self, record: wire.AlarmRecord) -> None:
        """Upsert an alarm and queue its latest state (an unsent older state is replaced)."""
        body = record.model_dump_json()
        alarm_id = str(record.id)
        with self._tx(f"告警未能保存 / alarm {alarm_id} not stored") as db:
            db.execute(
                "INSERT INTO alarms (id, room, record, active, updated_ms) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id) DO UPDATE SET record = excluded.record,"
                " active = excluded.active, updated_ms = excluded.updated_ms",
                (alarm_id, record.room, body, int(record.cleared_at is None), now_ms()),
            )
            # Only the newest state of an alarm matters to the server; an entry being sent
            # right now keeps its own seq and is removed by seq, so nothing is lost.
            db.execute("DELETE FROM outbox WHERE kind = 'alarm' AND item_id = ?", (alarm_id,))
            enqueue(db, "alarm", alarm_id, body)

    def record_climate(self, summaries: Sequence[wire.ClimateSummary]) -> None:
        if not summaries:
            return
        with self._tx("温湿度摘要未能保存 / climate summaries not stored") as db:
            for s in summaries:
                body = s.model_dump_json()
                key = f"{s.room}@{wire.utc_ms(s.minute_start)}"
                cur = db.execute(
                    "INSERT OR IGNORE INTO climate (room, minute_ms, body) VALUES (?, ?, ?)",
                    (s.room, wire.utc_ms(s.minute_start), body),
                )
                if cur.rowcount:
                    enqueue(db, "climate", key, body)

    def alarm(self, alarm_id: str) -> wire.AlarmRecord | None:
        rows = self._query("SELECT record FROM alarms WHERE id = ?", (alarm_id,))
        return wire.AlarmRecord.model_validate_json(rows[0][0]) if rows else None

    def climate_since(self, room: str, since_ms: int) -> list[wire.ClimateSummary]:
        rows = self._query(
            "SELECT body FROM climate WHERE room = ? AND minute_ms >= ? ORDER BY minute_ms",
            (room, since_ms),
        )
        return [wire.ClimateSummary.model_validate_json(b) for (b,) in rows]

    def active_alarms(self) -> list[wire.AlarmRecord]:
        rows = self._query("SELECT record FROM alarms WHERE active = 1 ORDER BY updated_ms")
        return [wire.AlarmRecord.model_validate_json(r) for (r,) in rows]

    # ------------------------------------------------------------ console operators

    def set_operator(self, name: str, pin_hash: str, *, source: str = "local") -> None:
        with self._tx(f"操作员未能保存 / operator {name} not saved") as db:
            db.execute(
                "INSERT INTO operators (name, pin_hash, source, updated_ms) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (name) DO UPDATE SET pin_hash = excluded.pin_hash,"
                " source = excluded.source, updated_ms = excluded.updated_ms",
                (name, pin_hash, source, now_ms()),
            )

    def operator_pin_hash(self, name: str) -> str | None:
        rows = self._query("SELECT pin_hash FROM operators WHERE name = ?", (name,))
        return str(rows[0][0]) if rows else None

    def operator_names(self) -> list[str]:
        return [str(r[0]) for r in self._query("SELECT name FROM operators ORDER BY name")]

    def operator_sources(self) -> dict[str, str]:
        """Operator name → where its PIN came from (``local`` or ``server``)."""
        return {str(n): str(s) for n, s in self._query("SELECT name, source FROM operators")}

    def drop_operator(self, name: str) -> None:
        with self._tx(f"操作员未能删除 / operator {name} not dropped") as db:
            db.execute("DELETE FROM operators WHERE name = ?", (name,))

    # ------------------------------------------------------------ key/value

    def get(self, key: str) -> Any:
        rows = self._query("SELECT value FROM kv WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else None

    def put(self, key: str, value: Any) -> None:
        with self._tx(f"本地设置未能保存 / {key} not stored") as db:
            db.execute(
                "INSERT INTO kv (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, ensure_ascii=False)),
            )
