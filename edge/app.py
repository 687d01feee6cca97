"""``EdgeNode``: wires the MQTT link, lot workflow, cold rooms, outbox, sync, receipts and
the operator API of one station box.

Threads: paho's network thread calls :meth:`EdgeNode.handle` for every parsed message
(weights, scans, frames, climate, doors); grading, receipts, sync and the cold-room tick
each have their own thread; the operator API runs uvicorn on another. Everything that must
survive a power cut goes through :class:`edge.outbox.EdgeStore` first.

The parts are made from the settings in :mod:`edge.wiring`, the status document's pieces
in :mod:`edge.node_status`, the HTTP side in :mod:`edge.operator_http`, which sees the node
only as :class:`edge.node_view.NodeView`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge import lot_stays, wiring
from edge.coldchain import AlarmEvent, ColdChainMonitor
from edge.coldchain.alarms import acked
from edge.logonce import OnceLog
from edge.memory import tune_allocator
from edge.mqtt.client import MqttLink
from edge.mqtt.models import Inbound
from edge.node_status import (
    brief_status,
    grading_status,
    latency_status,
    plain,
    receipts_status,
    sync_state,
)
from edge.operator_http import OperatorHttp
from edge.outbox.schema import now_ms
from edge.outbox.store import EdgeStore
from edge.station.directory import Directory
from edge.station.grading_port import GradingPort
from edge.station.photos import PhotoStore
from edge.station.workflow import Station
from edge.stock.service import StockService
from edge.sync.loop import SyncLoop, cached_directory
from gongfang import wire
from gongfang.settings import EdgeSettings

if TYPE_CHECKING:
    from edge.receipts.worker import ReceiptWorker

log = logging.getLogger(__name__)

STATUS_EVERY_S = 5.0
STATE_EVERY_S = 5.0
MAX_DEVICES = 256  # device ids come from the network: keep the table bounded


class EdgeNode:
    """One station's edge node: ``start()``, ``status()``, ``stop()``."""

    def __init__(self, settings: EdgeSettings) -> None:
        self.settings = settings
        self.topics = wire.Topics(settings.station)
        self.data_dir = Path(settings.data_dir)
        self.store: EdgeStore | Any = None
        self.station: Station | Any = None
        self.stock: StockService | Any = None
        self.http_url: str | None = None
        self._broker: Any = None
        self._link: MqttLink | None = None
        self._sync: SyncLoop | None = None
        self._grading: GradingPort | None = None
        self.photos: PhotoStore | None = None
        self._receipts: ReceiptWorker | None = None
        self._monitor: ColdChainMonitor | None = None
        self._monitor_lock = threading.Lock()
        self._tick_stop = threading.Event()
        self._tick_thread: threading.Thread | None = None
        self._http: OperatorHttp | None = None
        self._started_ms: int | None = None
        self._devices: dict[str, str] = {}
        self.counters: dict[str, int] = {"handler_errors": 0, "scan_rejected": 0}
        self.directory = Directory()
        self._once = OnceLog(log)

    # ------------------------------------------------------------ life cycle

    def start(self) -> EdgeNode:
        s = self.settings
        tune_allocator()
        self._started_ms = now_ms()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.store = EdgeStore(self.data_dir / "edge.db")
        cached, _ = cached_directory(self.store)
        if cached is not None:
            self._directory_loaded(cached)
        self._monitor = wiring.restore_monitor(s, self.store)
        self.stock = StockService(
            store=self.store,
            station=s.station,
            rooms=s.rooms,
            on_emptied=self.dispatch_lot,
            on_alarms=self._publish_alarms,
        )
        self.station = Station(
            settings=s, store=self.store, directory=self.directory, on_lot_stored=self._lot_stored
        )
        self.photos = PhotoStore(self.data_dir / "photos", s.photos_max_mb * 1024 * 1024)
        self._grading = GradingPort(
            products=self.station.products, on_graded=self.station.on_graded, photos=self.photos
        )
        self._grading.start()
        self._receipts = wiring.receipt_worker(
            s, store=self.store, directory=self.directory, data_dir=self.data_dir
        )
        if self._receipts is not None:
            self._receipts.start()
        self._sync = wiring.sync_loop(
            s, store=self.store, photos=self.photos, on_directory=self._directory_loaded
        )
        if self._sync is not None:
            self._sync.start()
        self._link, self._broker, url = wiring.mqtt_link(
            s, on_message=self.handle, subscriptions=self.topics.subscriptions()
        )
        self._link.start()
        self._tick_stop.clear()
        self._tick_thread = threading.Thread(target=self._tick_loop, name="edge-tick", daemon=True)
        self._tick_thread.start()
        if s.http_enabled:
            self._http = OperatorHttp(self, host=s.http_host, port=s.http_port)
            self.http_url = self._http.start()
        log.info(
            "边缘节点已启动 / edge node %s started (mqtt %s, http %s)",
            s.station,
            url,
            self.http_url,
        )
        return self

    def stop(self) -> None:
        """Clean shutdown: stop intake first, then flush state, then close the store."""
        if self._http is not None:
            self._http.stop()
            self._http = None
        if self._link is not None:
            self._link.stop()
            self._link = None
        self._tick_stop.set()
        if self._tick_thread is not None:
            self._tick_thread.join(10)
            self._tick_thread = None
        if self._grading is not None:
            self._grading.stop()
        if self._receipts is not None:
            self._receipts.stop()
        if self._sync is not None:
            self._sync.stop()
            self._sync = None
        if self.store is not None:
            self._save_monitor()
            self.store.close()
            self.store = None
        if self._broker is not None:
            self._broker.stop()
            self._broker = None

    def __enter__(self) -> EdgeNode:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def preload_graders(self) -> dict[str, str]:
        """Load every lane's grader now rather than at the first frame (ONNX start-up);
        returns product → "model", "placeholder" or the load error."""
        return self._grading.preload() if self._grading is not None else {}

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        return self._link is not None and self._link.wait_connected(timeout_s)

    # ------------------------------------------------------------ inbound messages

    def handle(self, msg: Inbound) -> None:
        """One parsed MQTT message (paho's thread). Never raises: errors are counted."""
        try:
            self._dispatch(msg)
        except Exception:
            self.counters["handler_errors"] += 1
            log.exception("消息处理出错 / handling %s failed", msg.topic)

    def _dispatch(self, msg: Inbound) -> None:
        kind, ident, payload = msg.topic.kind, msg.topic.ident, msg.payload
        if ident is None:
            return
        if kind is wire.TopicKind.SCALE_READING:
            self.station.on_reading(ident, payload)
        elif kind is wire.TopicKind.CLIMATE:
            with self._monitor_lock:
                events = (
                    self._monitor.on_climate(ident, payload, msg.received_ms)
                    if self._monitor
                    else []
                )
            self._alarm_events(events)
        elif kind is wire.TopicKind.DOOR:
            with self._monitor_lock:
                events = (
                    self._monitor.on_door(ident, payload, msg.received_ms) if self._monitor else []
                )
            self._alarm_events(events)
        elif kind is wire.TopicKind.CAMERA_FRAME:
            sha = hashlib.sha256(payload).hexdigest()
            if self.station.on_frame_received(ident, sha, msg.received_ms) and self._grading:
                crate = self.station.frame_crate(ident, sha)
                self._grading.submit(ident, payload, msg.received_ms, crate)
        elif kind is wire.TopicKind.SCANNER_CODE:
            from edge.errors import WorkflowError

            try:
                self.station.on_scan(ident, payload.code)
            except WorkflowError as exc:
                self.counters["scan_rejected"] += 1
                log.warning("扫码被拒 / scan on %s rejected: %s", ident, exc)
        elif kind is wire.TopicKind.DEVICE_STATUS:
            if ident in self._devices or len(self._devices) < MAX_DEVICES:
                self._devices[ident] = str(payload)

    # ------------------------------------------------------------ lots

    def _lot_stored(self, lot: wire.LotRecord, lane: str) -> None:
        if self._link is not None:
            self._link.publish_json(self.topics.edge_lot, {**lot.public_doc(), "lane": lane}, qos=1)
        if self._receipts is not None:
            self._receipts.submit(str(lot.id))
        self.wake_sync()

    def wake_sync(self) -> None:
        """New outbox rows: the sync loop goes now instead of at its next interval."""
        if self._sync is not None:
            self._sync.wake()

    def _directory_loaded(self, directory: wire.StationDirectory) -> None:
        """A station directory (cached or fetched): farmers, prices, console operators."""
        from edge.console.auth import sync_operators

        self.directory.replace(directory)
        try:
            sync_operators(self.store, directory.operators)
        except Exception:  # the farmers and prices are in; the old PINs stay until next time
            log.exception("操作员名单未更新 / console operators not updated")

    def reprint_receipt(self, lot_id: str) -> bool:
        """Make and print a stored lot's receipt again (False: unknown lot, no receipts)."""
        if self._receipts is None or not self.store.mark_receipt_pending(lot_id):
            return False
        self._receipts.submit(lot_id)
        return True

    def receipt_paths(self, lot: wire.LotRecord) -> tuple[Path, Path]:
        from edge.receipts.render import receipt_paths

        return receipt_paths(self.data_dir / "receipts", lot)

    def lot_stay(self, lot_id: str) -> dict[str, Any] | None:
        """The lot's cold-room stay so far (or as closed at dispatch): excursions, shelf life."""
        return lot_stays.lot_stay(self.store, lot_id, self._stay_report)

    def dispatch_lot(self, lot_id: str) -> dict[str, Any] | None:
        """The lot leaves its cold room: its stay report is fixed, kept with the lot and
        queued (as :class:`gongfang.wire.LotStay`) for the server."""
        doc = lot_stays.close_stay(
            self.store, lot_id, self._stay_report, station=self.settings.station
        )
        if doc is not None:
            self.wake_sync()
        return doc

    def _stay_report(self, room: str, from_ms: int, to_ms: int) -> dict[str, Any]:
        return lot_stays.room_report(self._monitor, self._monitor_lock, room, from_ms, to_ms)

    # ------------------------------------------------------------ cold rooms

    def _save_monitor(self) -> None:
        with self._monitor_lock:
            if self._monitor is None:
                return
            state = self._monitor.to_state()
        self.store.put(wiring.MONITOR_STATE_KEY, state)

    def ack_alarm(self, alarm_id: str, operator: str) -> wire.AlarmRecord | None:
        """An operator acknowledged an alarm (active, or cleared since): the record with
        who and when is kept and queued for the server. None: no such alarm."""
        with self._monitor_lock:
            record = self._monitor.ack(alarm_id, operator, now_ms()) if self._monitor else None
        if record is None:
            stored = self.store.alarm(alarm_id)
            if stored is None or stored.acked_by is not None:
                return stored
            record = acked(stored, operator, now_ms())  # cleared since: acked as it is kept
        self.store.record_alarm(record)
        self.wake_sync()
        return record

    def _alarm_events(self, events: list[AlarmEvent]) -> None:
        for ev in events:
            self.store.record_alarm(ev.record)
        self._publish_alarms(events)

    def _publish_alarms(self, events: list[AlarmEvent]) -> None:
        """Alarm events already kept (and queued): on the broker, and the sync woken."""
        for ev in events:
            if self._link is not None:
                self._link.publish_json(
                    self.topics.edge_alarm,
                    {"event": ev.kind, **ev.record.model_dump(mode="json")},
                    qos=1,
                )
        if events:
            self.wake_sync()

    def tick(self, now: int | None = None) -> None:
        """Run the cold-room clocks (and the lots' 1 h cooling clock) and move finished
        minute summaries to the outbox."""
        now = now_ms() if now is None else now
        with self._monitor_lock:
            if self._monitor is None:
                return
            events = self._monitor.tick(now)
            summaries = self._monitor.pop_minute_summaries(now)
        self._alarm_events(events)
        self.stock.check_cooling(now)  # kept, queued and published by the service
        if summaries:
            self.store.record_climate(summaries)
            self.wake_sync()

    def _tick_loop(self) -> None:
        last_status = last_state = 0.0
        while not self._tick_stop.wait(self.settings.tick_interval_s):
            try:
                self.tick()
                mono = time.monotonic()
                if mono - last_state >= STATE_EVERY_S:
                    self._save_monitor()
                    last_state = mono
                if mono - last_status >= STATUS_EVERY_S and self._link is not None:
                    self._link.publish_json(
                        self.topics.edge_status,
                        brief_status(self.store, self._sync),
                        qos=1,
                        retain=True,
                    )
                    last_status = mono
                self._once.resolved("tick", "定时任务已恢复 / tick working again")
            except Exception as exc:
                if self._once.problem("tick", repr(exc), logging.DEBUG, "tick failed: %r", exc):
                    log.exception("定时任务出错 / tick failed")  # with the traceback, once

    # ------------------------------------------------------------ status

    def status(self) -> dict[str, Any]:
        """Everything the operator console shows (plain JSON types)."""
        depth = self.store.depth()
        sync = sync_state(self._sync)
        with self._monitor_lock:
            rooms = plain(self._monitor.snapshot()) if self._monitor else {}
            alarms = (
                [a.model_dump(mode="json") for a in self._monitor.active_alarms()]
                if self._monitor
                else []
            )
        link = self._link
        return {
            "station": self.settings.station,
            "started_ms": self._started_ms,
            "mqtt": {
                "connected": bool(link and link.connected),
                "stats": plain(link.stats()) if link else None,
            },
            **self.station.status(),
            "outbox": depth,
            "parked": depth["parked"],
            "sync": sync,
            "last_successful_sync_ms": sync.get("last_success_ms"),
            "directory_loaded": self.directory.loaded,
            "rooms": rooms,
            "active_alarms": alarms,
            "devices": dict(self._devices),
            "node_counters": dict(self.counters),
            "receipts": receipts_status(self._receipts),
            "grading": grading_status(self._grading),
            "photos": None if self.photos is None else self.photos.stats(),
            "lot_latency_ms": latency_status(self.station.latencies_ms),
        }
