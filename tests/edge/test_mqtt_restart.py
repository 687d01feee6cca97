"""Acceptance 3: the broker is restarted mid-run; MqttLink reconnects by itself and no
QoS 1 climate reading is lost (sequence numbers compared).

"No loss" needs three things, all real here: the sensor side keeps publishing at QoS 1
through the outage (paho queues while disconnected and resends what was in flight), the
edge's persistent session queues what arrives while the edge is away, and the broker keeps
sessions across its restart (Mosquitto ``persistence true``; it writes its database when
stopped). The shared ``mosquitto`` fixture runs with ``persistence false``, where a restart
forgets the edge's subscription, so this test starts its own broker.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Iterator

import paho.mqtt.client as mqtt
import pytest

from edge.mqtt.client import MqttLink
from gongfang import wire
from tests.edge.test_mqtt_link import Collector, climate
from tests.services import Mosquitto

N = 600
RATE_PER_S = 200  # the simulated sensors' publish rate: 3 s of readings


class PersistentMosquitto(Mosquitto):
    """Mosquitto that keeps sessions and queued messages across a restart."""

    def __init__(self) -> None:
        super().__init__()
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.dir}/\n"
            + ("user root\n" if os.geteuid() == 0 else "")  # keep access to its own dir
            + "max_queued_messages 100000\n"
            "log_dest stderr\n"
            "log_type error\n"
        )


@pytest.fixture
def broker() -> Iterator[PersistentMosquitto]:
    b = PersistentMosquitto()
    b.start()
    try:
        yield b
    finally:
        b.close()


def _sensor(port: int, client_id: str) -> mqtt.Client:
    pub = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv311,
        clean_session=False,
    )
    pub.reconnect_delay_set(0.1, 1)  # type: ignore[arg-type]
    pub.max_inflight_messages_set(50)
    pub.connect_async("127.0.0.1", port)
    pub.loop_start()
    return pub


@pytest.mark.parametrize("protocol", ["auto", "3.1.1"])
def test_broker_restart_loses_no_qos1_climate_reading(
    broker: PersistentMosquitto, protocol: str
) -> None:
    station = f"r{uuid.uuid4().hex[:10]}"
    topic = wire.Topics(station).climate("room1")
    got = Collector()
    link = MqttLink(
        url=broker.url,
        station=station,
        client_id=f"gf-edge-{station}",
        on_message=got,
        protocol=protocol,
        min_backoff_s=0.1,
        max_backoff_s=1.0,
    )
    link.start()
    sensor = _sensor(broker.port, f"sensor-{station}")
    restarted = threading.Event()
    try:
        assert link.wait_connected(10)

        def restart() -> None:
            broker.restart(down_s=0.5)
            restarted.set()

        t0 = time.monotonic()
        for seq in range(N):
            # publish() queues QoS 1 while the broker is down; paho sends it on reconnect.
            sensor.publish(topic, climate(seq), qos=1)
            if seq == N // 3:
                threading.Thread(target=restart, daemon=True).start()
            time.sleep(max(0.0, t0 + (seq + 1) / RATE_PER_S - time.monotonic()))
        assert restarted.wait(15)
        msgs = got.wait_for(wire.TopicKind.CLIMATE, N, timeout_s=30)
        seqs = [m.payload.seq for m in msgs]
        missing = sorted(set(range(N)) - set(seqs))
        assert missing == [], f"lost {len(missing)} readings: {missing[:20]}"
        assert link.wait_connected(10)  # re-subscribed (SUBACK may trail the backlog)
        st = link.stats()
        assert st.reconnects >= 1
        print(  # noqa: T201
            f"{N} readings, broker restarted once: {len(seqs)} delivered, "
            f"{len(seqs) - len(set(seqs))} duplicates, 0 lost, reconnects {st.reconnects}, "
            f"protocol {st.protocol}"
        )
    finally:
        sensor.disconnect()
        sensor.loop_stop()
        link.stop()
