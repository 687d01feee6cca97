"""Lot photos to the server: each kept frame once, after its lot was accepted.

Contract: ``PUT {server}/api/v1/photos/{sha256}?lot={lot id}`` with ``X-Api-Key`` and the
JPEG bytes; 201 (stored) or 200 (the server had it: idempotent by SHA-256).

The queue is a table of the edge database (``photo_uploads``: lot id, hash, attempts,
next try), filled when the server acknowledges a lot and emptied as photos are taken, so
a restart uploads only what is still waiting. The sync loop calls :meth:`run_once` only
when the outbox is empty and takes a few photos per cycle: photos never hold up a lot.

- 200/201 → done; a photo no longer kept locally (pruned past ``photos_max_mb``) → skipped
  and counted;
- 404/413/422 (no such lot on the server, too large, not a JPEG, hash mismatch) → refused
  and counted: sending the same bytes again cannot help;
- 401/403, 429, 5xx, timeouts, refused connections → kept and retried with exponential
  backoff and jitter (per photo), and this cycle stops: the server is away.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path

import httpx

from edge.logonce import OnceLog
from edge.outbox.schema import now_ms
from edge.station.photos import PhotoStore
from edge.sync.backoff import backoff_s

log = logging.getLogger(__name__)

PHOTO_PATH = "/api/v1/photos/{sha}"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS photo_uploads (
    lot_id TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_ms INTEGER NOT NULL,
    PRIMARY KEY (lot_id, sha256)
);
CREATE INDEX IF NOT EXISTS photo_uploads_due ON photo_uploads (next_ms);
CREATE TABLE IF NOT EXISTS photo_upload_meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""
# Lots the server took before this queue existed (an upgraded station): their photos are
# queued once. A lot still in the outbox or parked is not on the server yet.
_BACKFILL = """
INSERT OR IGNORE INTO photo_uploads (lot_id, sha256, created_ms)
SELECT l.id, j.value, ? FROM lots AS l, json_each(l.record, '$.image_hashes') AS j
WHERE l.id NOT IN (SELECT item_id FROM outbox WHERE kind = 'lot')
  AND l.id NOT IN (SELECT item_id FROM parked WHERE kind = 'lot')
"""
_COUNTERS = ("uploaded", "duplicate", "skipped", "refused", "failed", "errors")


def lot_photos(body: str) -> list[str]:
    """The image hashes of a lot's stored JSON (cheap when it names none)."""
    if '"image_hashes":[]' in body:
        return []
    hashes = json.loads(body).get("image_hashes") or []
    return [h for h in hashes if isinstance(h, str)]


class PhotoUploader:
    """Uploads queued lot photos with the sync loop's HTTP client (its key and base URL)."""

    def __init__(
        self,
        *,
        db_path: Path,
        photos: PhotoStore,
        http: httpx.Client,
        per_cycle: int = 4,
        base_backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
    ) -> None:
        self._photos = photos
        self._http = http
        self._per_cycle = per_cycle
        self._base = base_backoff_s
        self._max = max_backoff_s
        self._once = OnceLog(log)
        self._lock = threading.Lock()
        # Its own connection to the edge database (WAL: the store's writes go on meanwhile).
        self._db = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.executescript(_SCHEMA)
        self.counters = dict.fromkeys(_COUNTERS, 0)
        self._final_waiting: int | None = None
        self._backfill()

    def close(self) -> None:
        with self._lock:
            if self._final_waiting is None:
                try:
                    self._final_waiting = self._count()
                except sqlite3.Error:
                    self._final_waiting = -1
                self._db.close()

    def _backfill(self) -> None:
        with self._lock:
            done = self._db.execute(
                "SELECT 1 FROM photo_upload_meta WHERE key = 'backfilled'"
            ).fetchone()
            if done:
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                has_lots = self._db.execute(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
                    " AND name IN ('lots', 'outbox', 'parked')"
                ).fetchone()[0]
                if has_lots == 3:
                    self._db.execute(_BACKFILL, (now_ms(),))
                self._db.execute(
                    "INSERT INTO photo_upload_meta (key, value) VALUES ('backfilled', 1)"
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ------------------------------------------------------------ queue

    def enqueue(self, lots: Iterable[tuple[str, Sequence[str]]]) -> int:
        """Queue the photos of lots the server accepted; a pair already queued stays as is.

        A database problem is logged and counted, never raised: lots must go on syncing.
        """
        rows = [(lot_id, sha, now_ms()) for lot_id, hashes in lots for sha in hashes]
        if not rows:
            return 0
        try:
            return self._insert(rows)
        except sqlite3.Error as exc:
            self.counters["errors"] += 1
            log.warning("照片未能排队上传 / %d photo(s) not queued: %s", len(rows), exc)
            return 0

    def _insert(self, rows: list[tuple[str, str, int]]) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                before = self._db.total_changes
                self._db.executemany(
                    "INSERT OR IGNORE INTO photo_uploads (lot_id, sha256, created_ms)"
                    " VALUES (?, ?, ?)",
                    rows,
                )
                added = self._db.total_changes - before
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return added

    def waiting(self) -> int:
        """Photos still to upload (as of the close, once closed)."""
        with self._lock:
            return self._count() if self._final_waiting is None else self._final_waiting

    def _count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM photo_uploads").fetchone()[0])

    def _due(self, limit: int) -> list[tuple[str, str, int]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT lot_id, sha256, attempts FROM photo_uploads WHERE next_ms <= ?"
                " ORDER BY next_ms, created_ms, rowid LIMIT ?",
                (now_ms(), limit),
            ).fetchall()
        return [(str(a), str(b), int(c)) for a, b, c in rows]

    def _done(self, lot_id: str, sha: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM photo_uploads WHERE lot_id = ? AND sha256 = ?", (lot_id, sha)
            )

    def _later(self, lot_id: str, sha: str, attempts: int, error: str) -> None:
        delay = backoff_s(attempts + 1, base_s=self._base, max_s=self._max)
        with self._lock:
            self._db.execute(
                "UPDATE photo_uploads SET attempts = attempts + 1, next_ms = ?, last_error = ?"
                " WHERE lot_id = ? AND sha256 = ?",
                (now_ms() + int(delay * 1000), error[:300], lot_id, sha),
            )

    # ------------------------------------------------------------ uploads

    def run_once(self) -> bool:
        """Upload up to ``per_cycle`` due photos; True if more are due now. Never raises
        for its own database (logged and counted)."""
        try:
            return self._cycle()
        except sqlite3.Error as exc:
            self.counters["errors"] += 1
            self._once.problem(
                "photos-db", repr(exc), logging.WARNING, "照片上传队列出错 / photo queue: %s", exc
            )
            return False

    def _cycle(self) -> bool:
        due = self._due(self._per_cycle + 1)
        for lot_id, sha, attempts in due[: self._per_cycle]:
            if not self._upload(lot_id, sha, attempts):
                return False  # the server is away: the rest waits for their next try
        return len(due) > self._per_cycle

    def _upload(self, lot_id: str, sha: str, attempts: int) -> bool:
        """One photo; False when the server could not take it now (kept for later)."""
        data = self._photos.get(sha)
        if data is None:
            self.counters["skipped"] += 1
            log.info("照片已不在本地，跳过 / photo %s of lot %s no longer kept", sha[:12], lot_id)
            self._done(lot_id, sha)
            return True
        try:
            resp = self._http.put(
                PHOTO_PATH.format(sha=sha),
                params={"lot": lot_id},
                content=data,
                headers={"Content-Type": "image/jpeg"},
            )
        except httpx.TransportError as exc:
            return self._failed(lot_id, sha, attempts, f"无法连接服务器 / cannot reach: {exc!r}")
        if resp.status_code in (200, 201):
            self.counters["uploaded" if resp.status_code == 201 else "duplicate"] += 1
            self._done(lot_id, sha)
            self._once.resolved("photos", "照片上传已恢复 / photo uploads working again")
            return True
        if resp.status_code in (404, 413, 422):
            self.counters["refused"] += 1
            log.error(
                "服务器拒收照片 / server refused photo %s of lot %s: %s %s",
                sha[:12],
                lot_id,
                resp.status_code,
                resp.text[:300],
            )
            self._done(lot_id, sha)
            return True
        return self._failed(lot_id, sha, attempts, f"HTTP {resp.status_code}: {resp.text[:200]}")

    def _failed(self, lot_id: str, sha: str, attempts: int, error: str) -> bool:
        self.counters["failed"] += 1
        self._later(lot_id, sha, attempts, error)
        msg = "照片上传失败，稍后重试 / photo upload failed, retrying later: %s"
        self._once.problem("photos", error, logging.WARNING, msg, error)
        return False

    def stats(self) -> dict[str, int]:
        try:
            waiting = self.waiting()
        except sqlite3.Error:
            waiting = -1  # unknown: the queue's database did not answer
        return {"waiting": waiting, **self.counters}
