"""The sync loop: sends the outbox to the server in order, removes only what it acknowledged.

Contract (DESIGN.md, issue 4): ``POST {server}/api/v1/sync`` with ``X-Api-Key`` and a
:class:`gongfang.wire.SyncBatch` body, answered by a :class:`gongfang.wire.SyncAck`.

- ``accepted`` / ``duplicate`` → the entry leaves the outbox;
- ``conflict`` / ``invalid`` → the entry is parked for a person, never retried in a loop;
- 401/403 → the key is refused: keep everything, back off, show it in the status;
- 422 → the batch is malformed: bisect it to isolate the bad item and park only that one;
- 5xx, timeouts, refused connections → retry with exponential backoff and jitter up to
  ``sync_max_backoff_s``.

The station directory (farmers, contracts, market prices) is fetched on the same thread
and cached in the store, so receipts can show an estimate while the server is down.
With a photo store, the photos of accepted lots are queued and uploaded while the outbox
is empty (:mod:`edge.sync.photos`): a few per cycle, so they never hold up a lot.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from email.utils import formatdate

import httpx
from pydantic import ValidationError

from edge.errors import ServerUnreachableError, SyncAuthError, SyncError
from edge.logonce import OnceLog
from edge.outbox.queue import OutboxEntry
from edge.outbox.schema import now_ms
from edge.outbox.store import EdgeStore
from edge.station.photos import PhotoStore
from edge.sync.backoff import backoff_s
from edge.sync.photos import PhotoUploader, lot_photos
from gongfang import wire

log = logging.getLogger(__name__)

SYNC_PATH = "/api/v1/sync"
DIRECTORY_PATH = "/api/v1/station/directory"
DIRECTORY_KEY = "directory"
LAST_SYNC_KEY = "last_sync_ms"


@dataclass(slots=True)
class SyncState:
    """What the operator console shows about the link to the server."""

    status: str = "idle"  # idle | ok | offline | auth_error | error | disabled
    last_success_ms: int | None = None
    last_attempt_ms: int | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    next_attempt_ms: int | None = None
    sent_total: int = 0
    parked_total: int = 0
    unacked_total: int = 0
    directory_fetched_ms: int | None = None
    directory_error: str | None = None


@dataclass(frozen=True, slots=True)
class SyncConfig:
    server_url: str
    api_key: str
    station: str
    batch_size: int = 200
    interval_s: float = 2.0
    max_backoff_s: float = 60.0
    timeout_s: float = 10.0
    directory_refresh_s: float = 300.0


class SyncLoop:
    """A daemon thread that drains the outbox to the server."""

    def __init__(
        self,
        *,
        store: EdgeStore,
        config: SyncConfig,
        on_directory: Callable[[wire.StationDirectory], None] | None = None,
        transport: httpx.BaseTransport | None = None,
        photos: PhotoStore | None = None,
    ) -> None:
        self._store = store
        self._cfg = config
        self._on_directory = on_directory
        self._once = OnceLog(log)
        self._http = httpx.Client(
            base_url=config.server_url.rstrip("/"),
            headers={"X-Api-Key": config.api_key, "Content-Type": "application/json"},
            timeout=config.timeout_s,
            transport=transport,
        )
        self._state = SyncState(last_success_ms=store.get(LAST_SYNC_KEY))
        self._state_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._directory_due_ms = 0
        self._photos: PhotoUploader | None = None
        if photos is not None:
            try:
                self._photos = PhotoUploader(
                    db_path=store.path,
                    photos=photos,
                    http=self._http,
                    base_backoff_s=min(config.interval_s, 1.0),
                    max_backoff_s=config.max_backoff_s,
                )
            except sqlite3.Error as exc:  # lots sync without photos rather than not at all
                log.error("照片上传不可用 / photo uploads disabled: %s", exc)

    # ------------------------------------------------------------ thread

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="edge-sync", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            # A request in flight finishes (or times out) before the client is closed.
            self._thread.join(self._cfg.timeout_s + 2)
            self._thread = None
        self._http.close()
        if self._photos is not None:
            self._photos.close()

    def wake(self) -> None:
        """Something new is in the outbox: try now rather than at the next interval."""
        self._wake.set()

    def state(self) -> dict[str, object]:
        with self._state_lock:
            doc = asdict(self._state)
        doc["photos"] = self.photo_stats()
        return doc

    def photo_stats(self) -> dict[str, int] | None:
        """Photo uploads: waiting, uploaded, duplicate, skipped, refused, failed (None:
        no photo store)."""
        return None if self._photos is None else self._photos.stats()

    def _run(self) -> None:
        base = min(self._cfg.interval_s, 1.0)
        while not self._stop.is_set():
            try:
                more = self.run_once()
                delay = 0.0 if more else self._cfg.interval_s
                self._once.resolved("sync", "同步已恢复 / sync working again")
            except SyncError as exc:
                with self._state_lock:
                    failures = self._state.consecutive_failures
                delay = backoff_s(failures, base_s=base, max_s=self._cfg.max_backoff_s)
                # once per cause while the server stays away (retries can go on for hours)
                self._once.problem(
                    "sync",
                    f"{type(exc).__name__}: {exc}",
                    logging.WARNING,
                    "同步失败，稍后重试 / sync failed (%s); retrying, next in %.1fs",
                    exc,
                    delay,
                )
            except Exception as exc:  # a bug must not kill the thread that carries every lot
                cause = repr(exc)
                if self._once.problem(
                    "sync-bug", cause, logging.DEBUG, "sync loop error %s", cause
                ):
                    log.exception("同步出错 / sync loop error")  # with the traceback, once
                delay = self._cfg.interval_s
            with self._state_lock:
                self._state.next_attempt_ms = now_ms() + int(delay * 1000)
            if delay > 0:
                self._wake.wait(delay)
                self._wake.clear()

    # ------------------------------------------------------------ one cycle

    def run_once(self) -> bool:
        """Fetch the directory if due, then send one batch (or, with the outbox empty, a
        few photos). True if more is waiting.

        Raises :class:`SyncError` (or :class:`SyncAuthError`) when the server could not
        take the batch; nothing is removed from the outbox then.
        """
        if now_ms() >= self._directory_due_ms:
            self.refresh_directory()
        entries = self._store.next_batch(self._cfg.batch_size)
        if not entries:
            with self._state_lock:
                if self._state.status not in ("auth_error",):
                    self._state.status = "idle" if self._state.last_success_ms is None else "ok"
            # Photos only now: a new lot goes out first at the next cycle.
            return self._photos is not None and self._photos.run_once()
        with self._state_lock:
            self._state.last_attempt_ms = now_ms()
        try:
            self._send(entries)
        except SyncAuthError as exc:
            self._fail("auth_error", str(exc))
            raise
        except ServerUnreachableError as exc:
            self._fail("offline", str(exc))
            raise
        except SyncError as exc:
            self._fail("error", str(exc))
            raise
        done = now_ms()
        self._store.put(LAST_SYNC_KEY, done)
        with self._state_lock:
            self._state.status = "ok"
            self._state.last_success_ms = done
            self._state.last_error = None
            self._state.consecutive_failures = 0
        return len(entries) >= self._cfg.batch_size

    def _fail(self, status: str, message: str) -> None:
        with self._state_lock:
            self._state.status = status
            self._state.last_error = message
            self._state.consecutive_failures += 1

    def _send(self, entries: Sequence[OutboxEntry]) -> None:
        resp = self._post(entries)
        if resp.status_code == 200:
            self._apply_ack(entries, resp)
            return
        if resp.status_code in (401, 403):
            raise SyncAuthError(
                f"服务器拒绝了本站密钥 / server refused the station key ({resp.status_code})"
            )
        if resp.status_code == 422:
            if len(entries) == 1:
                self._park(entries[0], "invalid", f"422: {resp.text[:400]}")
                return
            # Bisect: each half is its own request, so only the bad item ends up parked.
            mid = len(entries) // 2
            self._send(entries[:mid])
            self._send(entries[mid:])
            return
        raise SyncError(f"服务器错误 / server answered {resp.status_code}: {resp.text[:200]}")

    def _post(self, entries: Sequence[OutboxEntry]) -> httpx.Response:
        # The bodies are the exact JSON stored with the lot: splice them, don't re-encode.
        parts: dict[str, list[str]] = {"lot": [], "alarm": [], "climate": [], "stay": []}
        for e in entries:
            parts[e.kind].append(e.body)
        # "stays" came later: a server from before it refuses the key, so it is sent only
        # when there are stays (lots and alarms still reach such a server).
        stays = f',"stays":[{",".join(parts["stay"])}]' if parts["stay"] else ""
        body = (
            f'{{"station":{json.dumps(self._cfg.station)},'
            f'"lots":[{",".join(parts["lot"])}],'
            f'"alarms":[{",".join(parts["alarm"])}],'
            f'"climate":[{",".join(parts["climate"])}]{stays}}}'
        )
        try:
            # Date: this box's clock (RFC 9110 lets a client send one), so the server can
            # tell a wrong clock from a backlog of old lots; a server may ignore it.
            return self._http.post(
                SYNC_PATH,
                content=body.encode("utf-8"),
                headers={"Date": formatdate(time.time(), usegmt=True)},
            )
        except httpx.TransportError as exc:
            raise ServerUnreachableError(
                f"无法连接服务器 / cannot reach the server: {exc!r}"
            ) from exc

    def _apply_ack(self, entries: Sequence[OutboxEntry], resp: httpx.Response) -> None:
        try:
            ack = wire.SyncAck.model_validate_json(resp.content)
        except ValidationError as exc:
            raise SyncError(f"服务器应答无法解析 / unreadable SyncAck: {exc}") from exc
        results: dict[tuple[str, str], wire.ItemAck] = {}
        for a in ack.lots:
            results[("lot", a.id)] = a
        for a in ack.alarms:
            results[("alarm", a.id)] = a
        for a in ack.stays:
            results[("stay", a.id)] = a
        done: list[int] = []
        unacked: list[int] = []
        for e in entries:
            if e.kind == "climate":
                done.append(e.seq)  # summaries are counted, not acknowledged one by one
                continue
            item = results.get((e.kind, e.item_id))
            if item is None:
                unacked.append(e.seq)
            elif item.result in (wire.ItemResult.ACCEPTED, wire.ItemResult.DUPLICATE):
                done.append(e.seq)
            else:
                self._park(e, item.result.value, item.message)
        if self._photos is not None:
            # Queued before the entries leave the outbox: killed in between, the lot goes
            # again as a duplicate and its photos are queued again (once: same key).
            accepted = {e.seq for e in entries if e.kind == "lot"}.intersection(done)
            self._photos.enqueue(
                (e.item_id, lot_photos(e.body)) for e in entries if e.seq in accepted
            )
        self._store.remove(done)
        if unacked:
            # Kept and sent again later; counted so a person sees a server that skips items.
            self._store.bump_attempts(unacked)
            log.warning(
                "服务器未确认 %d 项 / server did not acknowledge %d item(s): kept for retry",
                len(unacked),
                len(unacked),
            )
        with self._state_lock:
            self._state.sent_total += len(done)
            self._state.unacked_total += len(unacked)

    def _park(self, entry: OutboxEntry, result: str, message: str) -> None:
        log.error(
            "服务器拒收，已搁置待人工处理 / parked %s %s: %s %s",
            entry.kind,
            entry.item_id,
            result,
            message,
        )
        self._store.park(entry, result=result, message=message)
        with self._state_lock:
            self._state.parked_total += 1

    # ------------------------------------------------------------ directory

    def refresh_directory(self) -> wire.StationDirectory | None:
        """Fetch and cache the station directory; failures only show in the status."""
        self._directory_due_ms = now_ms() + int(self._cfg.directory_refresh_s * 1000)
        try:
            resp = self._http.get(DIRECTORY_PATH)
            if resp.status_code != 200:
                raise SyncError(f"directory: HTTP {resp.status_code}")
            directory = wire.StationDirectory.model_validate_json(resp.content)
        except (httpx.TransportError, SyncError, ValidationError) as exc:
            # Retry sooner than the full refresh interval while the server is away.
            self._directory_due_ms = now_ms() + int(min(self._cfg.directory_refresh_s, 30.0) * 1000)
            with self._state_lock:
                self._state.directory_error = str(exc)[:300]
            return None
        fetched = now_ms()
        self._store.put(
            DIRECTORY_KEY, {"fetched_ms": fetched, "body": directory.model_dump(mode="json")}
        )
        with self._state_lock:
            self._state.directory_fetched_ms = fetched
            self._state.directory_error = None
        if self._on_directory is not None:
            self._on_directory(directory)
        return directory


def cached_directory(store: EdgeStore) -> tuple[wire.StationDirectory | None, int | None]:
    """The directory last fetched (and when), or (None, None)."""
    doc = store.get(DIRECTORY_KEY)
    if not doc:
        return None, None
    try:
        return wire.StationDirectory.model_validate(doc["body"]), int(doc["fetched_ms"])
    except (ValidationError, KeyError, TypeError):
        return None, None


def wait_until(predicate: Callable[[], bool], timeout_s: float, poll_s: float = 0.02) -> bool:
    """Poll ``predicate`` until true or timeout (for callers without an event to wait on)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll_s)
    return predicate()
