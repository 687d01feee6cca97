"""The outbox: what still has to reach the server, in order, and what it refused.

This is the side of the store that ``edge/sync`` talks to: it takes a batch
(:meth:`OutboxQueue.next_batch`), removes what the server acknowledged, counts attempts
and parks what the server refused (kept for a person, sent again by :meth:`~OutboxQueue.unpark`,
never retried in a loop). Entries are only added by the store's record writes, through
:func:`enqueue`, in the same transaction as the record they carry.
"""

from __future__ import annotations

import json
import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal, TypedDict

from edge.outbox.schema import now_ms

Kind = Literal["lot", "alarm", "climate", "stay"]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int
    kind: Kind
    item_id: str
    body: str  # the item's JSON, exactly as it goes on the wire

    def doc(self) -> Any:
        return json.loads(self.body)


class OutboxDepth(TypedDict):
    """Entries waiting, by kind, in all, and parked."""

    lot: int
    alarm: int
    climate: int
    stay: int
    total: int
    parked: int


def enqueue(db: sqlite3.Connection, kind: Kind, item_id: str, body: str) -> None:
    """Queue an item for the server inside the caller's open transaction."""
    db.execute(
        "INSERT INTO outbox (kind, item_id, body, created_ms) VALUES (?, ?, ?, ?)",
        (kind, item_id, body, now_ms()),
    )


class OutboxQueue(ABC):
    """The outbox operations of :class:`edge.outbox.store.EdgeStore`, which gives them its
    transactions and queries (and their one translation of sqlite3 errors)."""

    @abstractmethod
    def _tx(self, what: str) -> AbstractContextManager[sqlite3.Connection]: ...

    @abstractmethod
    def _query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...

    def next_batch(self, limit: int) -> list[OutboxEntry]:
        rows = self._query(
            "SELECT seq, kind, item_id, body FROM outbox ORDER BY seq LIMIT ?", (limit,)
        )
        return [OutboxEntry(int(s), k, str(i), str(b)) for s, k, i, b in rows]

    def remove(self, seqs: Sequence[int]) -> None:
        """Drop acknowledged entries (by seq: a newer state of the same alarm stays)."""
        if not seqs:
            return
        with self._tx("已送达条目未能删除 / acknowledged outbox entries not removed") as db:
            db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])

    def bump_attempts(self, seqs: Sequence[int]) -> None:
        with self._tx("发送次数未能记录 / outbox attempts not counted") as db:
            db.executemany(
                "UPDATE outbox SET attempts = attempts + 1 WHERE seq = ?", [(s,) for s in seqs]
            )

    def park(self, entry: OutboxEntry, *, result: str, message: str) -> None:
        """Move an entry the server refused aside for a person to look at."""
        with self._tx(f"条目未能搁置 / outbox entry {entry.seq} not parked") as db:
            cur = db.execute("DELETE FROM outbox WHERE seq = ?", (entry.seq,))
            if cur.rowcount:
                db.execute(
                    "INSERT OR REPLACE INTO parked (seq, kind, item_id, body, result, message,"
                    " parked_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        entry.seq,
                        entry.kind,
                        entry.item_id,
                        entry.body,
                        result,
                        message[:500],
                        now_ms(),
                    ),
                )

    def unpark(self, seq: int) -> bool:
        """Send a parked entry again (a person fixed the cause, e.g. added the farmer)."""
        with self._tx(f"搁置条目未能重发 / parked entry {seq} not queued again") as db:
            row = db.execute(
                "SELECT kind, item_id, body FROM parked WHERE seq = ?", (seq,)
            ).fetchone()
            if row is None:
                return False
            enqueue(db, row[0], row[1], row[2])
            db.execute("DELETE FROM parked WHERE seq = ?", (seq,))
            return True

    def parked(self, limit: int = 100) -> list[dict[str, Any]]:
        rows = self._query(
            "SELECT seq, kind, item_id, result, message, parked_ms FROM parked"
            " ORDER BY seq DESC LIMIT ?",
            (limit,),
        )
        keys = ("seq", "kind", "item_id", "result", "message", "parked_ms")
        return [dict(zip(keys, r, strict=True)) for r in rows]

    def depth(self) -> OutboxDepth:
        counts = {"lot": 0, "alarm": 0, "climate": 0, "stay": 0}
        for kind, n in self._query("SELECT kind, count(*) FROM outbox GROUP BY kind"):
            counts[str(kind)] = int(n)
        return OutboxDepth(
            lot=counts["lot"],
            alarm=counts["alarm"],
            climate=counts["climate"],
            stay=counts["stay"],
            total=sum(counts.values()),
            parked=int(self._query("SELECT count(*) FROM parked")[0][0]),
        )
