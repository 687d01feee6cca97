"""The edge database's tables, and what an older database needs to match them.

Tables: ``lots`` (the lot as recorded, plus local-only columns), ``lot_stays`` (a lot's
cold-room stay; closing it queues a ``stay`` entry), ``outbox`` (what still has to reach
the server, in order), ``parked`` (what the server refused: kept for a person, never
retried in a loop), ``alarms``, ``climate`` (minute summaries), ``pending_lots`` (weighed
crates waiting for the operator's confirmation, so a restart brings them back),
``operators`` (console sign-in: name and PIN hash, set locally or from the server), ``kv``
(directory cache, monitor state, last sync…). Stock at the station (:mod:`edge.stock`):
``stock_ledger`` (every gram into or out of a room, never changed), ``stock_lots`` (where
each lot's grams are now: the ledger summed per lot and room), ``stock_cooling`` (when each
lot's cooling started, for DESIGN's 1 h rule). Times are milliseconds since the epoch
(:func:`now_ms`).
"""

from __future__ import annotations

import sqlite3
import time

# The outbox's columns, also what an older outbox is rebuilt with (see _widen_outbox_kinds).
_OUTBOX = """(
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('lot', 'alarm', 'climate', 'stay')),
    item_id TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
)"""

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS lots (
    id TEXT PRIMARY KEY,
    lane TEXT NOT NULL,
    captured_ms INTEGER NOT NULL,
    record TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    receipt_done INTEGER NOT NULL DEFAULT 0,
    stay TEXT,
    created_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS lots_captured ON lots (captured_ms);
CREATE INDEX IF NOT EXISTS lots_receipt ON lots (receipt_done);
CREATE TABLE IF NOT EXISTS outbox {_OUTBOX};
CREATE INDEX IF NOT EXISTS outbox_item ON outbox (kind, item_id);
CREATE TABLE IF NOT EXISTS parked (
    seq INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    item_id TEXT NOT NULL,
    body TEXT NOT NULL,
    result TEXT NOT NULL,
    message TEXT NOT NULL,
    parked_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alarms (
    id TEXT PRIMARY KEY,
    room TEXT NOT NULL,
    record TEXT NOT NULL,
    active INTEGER NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS climate (
    room TEXT NOT NULL,
    minute_ms INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (room, minute_ms)
);
CREATE TABLE IF NOT EXISTS lot_stays (
    lot_id TEXT PRIMARY KEY REFERENCES lots (id),
    room TEXT NOT NULL,
    from_ms INTEGER NOT NULL,
    to_ms INTEGER,
    report TEXT
);
CREATE TABLE IF NOT EXISTS pending_lots (
    lot_id TEXT PRIMARY KEY,
    lane TEXT NOT NULL,
    body TEXT NOT NULL,
    created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS operators (
    name TEXT PRIMARY KEY,
    pin_hash TEXT NOT NULL,
    source TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS stock_ledger (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id TEXT NOT NULL UNIQUE,
    lot_id TEXT NOT NULL REFERENCES lots (id),
    room TEXT NOT NULL,
    kind TEXT NOT NULL
        CHECK (kind IN ('in', 'moved_in', 'moved_out', 'out', 'written_off')),
    grams INTEGER NOT NULL CHECK (grams > 0),
    product TEXT NOT NULL,
    grade TEXT NOT NULL,
    shipment TEXT,
    reason TEXT,
    operator TEXT,
    at_ms INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS stock_ledger_lot ON stock_ledger (lot_id);
-- covers the stock query: the sums are read from the index alone
CREATE INDEX IF NOT EXISTS stock_ledger_sums ON stock_ledger (room, product, grade, kind, grams);
CREATE TABLE IF NOT EXISTS stock_lots (
    lot_id TEXT NOT NULL REFERENCES lots (id),
    room TEXT NOT NULL,
    grams INTEGER NOT NULL CHECK (grams > 0),
    product TEXT NOT NULL,
    grade TEXT NOT NULL,
    intake_ms INTEGER NOT NULL,
    PRIMARY KEY (lot_id, room)
);
CREATE TABLE IF NOT EXISTS stock_cooling (
    lot_id TEXT PRIMARY KEY REFERENCES lots (id),
    lane TEXT NOT NULL,
    intake_ms INTEGER NOT NULL,
    put_away_ms INTEGER,
    alarm INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS stock_cooling_open ON stock_cooling (put_away_ms, alarm);
CREATE TABLE IF NOT EXISTS kv (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
"""


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def prepare(db: sqlite3.Connection) -> None:
    """Create what is missing and bring an older database up to date (idempotent)."""
    db.executescript(SCHEMA)
    _widen_outbox_kinds(db)


def _widen_outbox_kinds(db: sqlite3.Connection) -> None:
    """Let an outbox made before stays were synced take the 'stay' kind.

    SQLite cannot alter a CHECK constraint, so the table is rebuilt in one transaction
    with its rows and seq numbers (parked entries keep their seq, so the sequence must
    not restart below them).
    """
    row = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'outbox'"
    ).fetchone()
    if row is None or "'stay'" in row[0]:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        top = db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").fetchone()
        db.execute("ALTER TABLE outbox RENAME TO outbox_old")
        db.execute("DROP INDEX IF EXISTS outbox_item")
        db.execute(f"CREATE TABLE outbox {_OUTBOX}")
        db.execute("CREATE INDEX outbox_item ON outbox (kind, item_id)")
        db.execute(
            "INSERT INTO outbox (seq, kind, item_id, body, created_ms, attempts)"
            " SELECT seq, kind, item_id, body, created_ms, attempts FROM outbox_old"
        )
        db.execute("DROP TABLE outbox_old")
        if top is not None:
            db.execute(
                "UPDATE sqlite_sequence SET seq = max(seq, ?) WHERE name = 'outbox'",
                (int(top[0]),),
            )
            if not db.execute("SELECT 1 FROM sqlite_sequence WHERE name = 'outbox'").fetchone():
                db.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)",
                    (int(top[0]),),
                )
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
