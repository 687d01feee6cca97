"""Settings → the parts of an edge node: receipts, sync, the MQTT link (and the demo's
embedded broker) and the cold-room monitor with its saved state."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edge.coldchain import PROFILES, ColdChainMonitor
from edge.mqtt.client import MqttLink
from edge.mqtt.models import Inbound
from edge.outbox.store import EdgeStore
from edge.station.directory import Directory
from edge.station.photos import PhotoStore
from edge.sync.loop import SyncConfig, SyncLoop
from gongfang import wire
from gongfang.mqtt_setup import device_username
from gongfang.settings import EMBEDDED_MQTT, EdgeSettings

if TYPE_CHECKING:
    from edge.receipts.worker import ReceiptWorker

log = logging.getLogger(__name__)

MONITOR_STATE_KEY = "coldchain_monitor"


def receipt_worker(
    s: EdgeSettings, *, store: EdgeStore, directory: Directory, data_dir: Path
) -> ReceiptWorker | None:
    """The receipt maker and printer, if receipts are on (not started)."""
    if not s.receipts_enabled:
        return None
    from edge.receipts.worker import ReceiptWorker  # its imaging libraries only when used

    return ReceiptWorker(
        store=store,
        directory=directory,
        station=s.station,
        base_dir=data_dir / "receipts",
        printer=s.printer,
        passbook_base=s.passbook_base,
    )


def sync_loop(
    s: EdgeSettings,
    *,
    store: EdgeStore,
    photos: PhotoStore,
    on_directory: Callable[[wire.StationDirectory], None],
) -> SyncLoop | None:
    """The loop that sends the outbox to the server, if one is configured (not started)."""
    if not (s.server_url and s.api_key):
        log.warning("未配置服务器，批次只保存在本地 / no server configured: lots stay local")
        return None
    return SyncLoop(
        store=store,
        config=SyncConfig(
            server_url=s.server_url,
            api_key=s.api_key,
            station=s.station,
            batch_size=s.sync_batch_size,
            interval_s=s.sync_interval_s,
            max_backoff_s=s.sync_max_backoff_s,
            timeout_s=s.sync_timeout_s,
            directory_refresh_s=s.directory_refresh_s,
        ),
        on_directory=on_directory,
        photos=photos,  # kept frames go to the server after their lots
    )


def mqtt_link(
    s: EdgeSettings,
    *,
    on_message: Callable[[Inbound], None],
    subscriptions: Sequence[tuple[str, int]],
) -> tuple[MqttLink, Any, str]:
    """The edge's MQTT link (not started), the embedded broker it talks to if the settings
    ask for one (started; else None), and the broker URL."""
    url, broker = s.mqtt_url, None
    if url == EMBEDDED_MQTT:
        from gongfang.embedded_broker import EmbeddedBroker

        # The demo's in-process broker listens on loopback only, anonymous (DESIGN).
        broker = EmbeddedBroker().start()
        url = broker.url
    try:
        link = MqttLink(
            url=url,
            endpoint=s.mqtt_endpoint(url, username=mqtt_user(s)),
            station=s.station,
            client_id=f"gf-edge-{s.station}",
            on_message=on_message,
            subscriptions=subscriptions,
            status_device="edge",
            fast_path=s.mqtt_fast_path,
        )
    except Exception:
        if broker is not None:
            broker.stop()
        raise
    return link, broker, url


def mqtt_user(s: EdgeSettings) -> str | None:
    """``{station}-edge`` when a credentials file names the station's clients."""
    if s.mqtt_username or s.mqtt_credentials_file is None:
        return None
    return device_username(s.station, "edge")


def restore_monitor(s: EdgeSettings, store: EdgeStore) -> ColdChainMonitor:
    """The cold-room monitor of the configured rooms, with the state saved at the last stop
    (or the last tick) when it can be read back."""
    rooms = {room: PROFILES[profile] for room, profile in s.rooms.items()}
    state = store.get(MONITOR_STATE_KEY)
    monitor = ColdChainMonitor(station=s.station, rooms=rooms)
    if state:
        try:
            monitor.from_state(state)
        except Exception:  # a state from an older version must not stop the station
            log.exception(
                "冷库状态未能恢复，重新开始 / cold-room state not restored; starting fresh"
            )
    return monitor
