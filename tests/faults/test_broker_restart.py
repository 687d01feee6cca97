"""The central MQTT broker restarted while the station weighs: the station's Mosquitto
bridges ``edge/#`` out to it (as ``firmware_bridge.broker_config`` writes it, here over
plain loopback), and lots go to the server by HTTP whatever MQTT does.

What it proves: weighing and syncing go on while the central broker is down; the lot
messages the edge published meanwhile wait in the station broker's bridge queue and reach
a central dashboard once the broker is back (every lot id, at least once); the server
holds every lot once and the totals reconcile. (A restart of the station broker itself,
QoS 1 readings and the edge's own reconnect: tests/edge/test_mqtt_restart.py; the bridge
over TLS with sign-in: tests/firmware_bridge/test_broker_access.py.)
"""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from edge.app import EdgeNode
from gongfang import wire
from tests.edge.test_mqtt_restart import PersistentMosquitto
from tests.faults.support import (
    Crates,
    PricedServer,
    edge_lots,
    edge_settings,
    gross_of,
    integrity,
    reconcile,
    wait_for,
)
from tests.services import Mosquitto

pytestmark = pytest.mark.mosquitto
STATION = "st-central"
BEFORE, DURING, AFTER = 10, 15, 10


@pytest.fixture
def brokers() -> Iterator[tuple[PersistentMosquitto, Mosquitto]]:
    central = PersistentMosquitto()
    central.start()
    base = wire.Topics(STATION).base
    bridge = (
        f"connection gf-{STATION}-central\n"
        f"address 127.0.0.1:{central.port}\n"
        f"remote_clientid gf-bridge-{STATION}\n"
        "bridge_protocol_version mqttv311\n"
        "cleansession false\n"
        "restart_timeout 1 2\n"
        "max_queued_messages 100000\n"
        f"topic {base}/edge/# out 1\n"
    )
    station = Mosquitto(
        lambda port, d: (
            f"listener {port} 127.0.0.1\nallow_anonymous true\n"
            "persistence false\nlog_dest stderr\nlog_type error\n" + bridge
        )
    )
    station.start()
    try:
        yield central, station
    finally:
        station.close()
        central.close()


class Dashboard:
    """A central subscriber to the station's lot messages, in a session the broker keeps."""

    def __init__(self, port: int) -> None:
        self.ids: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self._c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"dash-{uuid.uuid4().hex[:8]}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        self._c.reconnect_delay_set(1, 2)
        topic = wire.Topics(STATION).edge_lot
        self._c.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self._c.on_message = lambda c, u, m: self.ids.put(json.loads(m.payload)["id"])
        self._c.connect("127.0.0.1", port)
        self._c.loop_start()

    def wait(self, wanted: set[str], timeout_s: float) -> set[str]:
        deadline = time.monotonic() + timeout_s
        while not wanted <= set(self.seen) and time.monotonic() < deadline:
            try:
                self.seen.append(self.ids.get(timeout=0.2))
            except queue.Empty:
                pass
        return wanted - set(self.seen)

    def close(self) -> None:
        self._c.loop_stop()
        self._c.disconnect()


def test_central_broker_restart_loses_no_lot(
    brokers: tuple[PersistentMosquitto, Mosquitto], tmp_path: Path
) -> None:
    central, station = brokers
    server = PricedServer(tmp_path, station=STATION, farmers=["F001"], in_process=True).start()
    node = EdgeNode(
        edge_settings(tmp_path / "edge", station=STATION, mqtt_url=station.url, server=server)
    ).start()
    db_path = node.store.path
    dash = Dashboard(central.port)
    t0 = time.monotonic()
    ids: list[str] = []
    k = 0

    def weigh(n: int) -> set[str]:
        nonlocal k
        made = set()
        for _ in range(n):
            made.add(str(crates.weigh(gross_of(k)).id))
            k += 1
        ids.extend(made)
        return made

    crates = Crates(node, start_ms=int(time.time() * 1000))
    try:
        assert node.wait_connected(15)
        # The bridge connects on its own schedule: weigh until a lot crosses it.
        wait_for(lambda: not dash.wait(weigh(1), 1.0), 30, "the bridge carries lots")
        assert not dash.wait(weigh(BEFORE), 30)

        central.stop()
        during = weigh(DURING)  # stored, synced by HTTP, their messages queued
        wait_for(lambda: node.store.depth()["total"] == 0, 30, "synced while central down")
        central.start()
        after = weigh(AFTER)
        missing = dash.wait(during | after, 60)
        assert not missing, f"{len(missing)} lot messages never reached the central broker"
        wait_for(lambda: node.store.depth()["total"] == 0, 30, "everything synced")
        status: dict[str, Any] = node.status()
    finally:
        dash.close()
        node.stop()
        server.stop()
    assert status["mqtt"]["connected"]
    assert integrity(db_path) == "ok"
    lots = edge_lots(db_path)
    assert set(lots) == set(ids)
    figures = reconcile(server, lots)
    print(  # noqa: T201
        f"central broker restart: {len(ids)} lots ({DURING} while it was down),"
        f" {len(dash.seen)} lot messages at the centre ({len(dash.seen) - len(set(dash.seen))}"
        f" repeats), {figures}, {time.monotonic() - t0:.1f}s"
    )
