"""MqttLink against real brokers: Mosquitto (MQTT 5 and 3.1.1) and the embedded amqtt
broker (3.1.1 only): messages, persistent session, retained status and last will,
handler errors."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as mqtt
import pytest

from edge.mqtt.client import MqttLink
from edge.mqtt.models import Inbound
from gongfang import wire
from gongfang.embedded_broker import EmbeddedBroker
from tests.services import Mosquitto


class Collector:
    """on_message target that lets a test wait for a number of messages."""

    def __init__(self, fail_on: Callable[[Inbound], bool] | None = None) -> None:
        self.items: list[Inbound] = []
        self._cond = threading.Condition()
        self._fail_on = fail_on

    def __call__(self, msg: Inbound) -> None:
        if self._fail_on is not None and self._fail_on(msg):
            raise RuntimeError("handler blew up")
        with self._cond:
            self.items.append(msg)
            self._cond.notify_all()

    def of(self, kind: wire.TopicKind) -> list[Inbound]:
        with self._cond:
            return [m for m in self.items if m.topic.kind is kind]

    def wait_for(self, kind: wire.TopicKind, n: int, timeout_s: float = 15.0) -> list[Inbound]:
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while len([m for m in self.items if m.topic.kind is kind]) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
        return self.of(kind)


def eventually(pred: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    """Poll a condition that another thread makes true (counters have no event to wait on)."""
    deadline = time.monotonic() + timeout_s
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def publisher(port: int, client_id: str | None = None, max_inflight: int = 100) -> mqtt.Client:
    pub = mqtt.Client(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id or f"pub-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
    )
    pub.max_inflight_messages_set(max_inflight)
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    return pub


def climate(seq: int, temp_c: float = 1.5) -> bytes:
    return json.dumps(
        {"ts_ms": 1_772_400_000_000 + seq * 1000, "temp_c": temp_c, "rh_pct": 92.0, "seq": seq}
    ).encode()


def retained(port: int, topic: str, timeout_s: float = 5.0) -> str | None:
    """The retained payload on a topic, read by a fresh subscriber."""
    got: list[str] = []
    done = threading.Event()
    sub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)

    def on_message(c: mqtt.Client, u: object, m: mqtt.MQTTMessage) -> None:
        got.append(m.payload.decode())
        done.set()

    sub.on_message = on_message
    sub.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, 1)
    sub.connect("127.0.0.1", port)
    sub.loop_start()
    done.wait(timeout_s)
    sub.disconnect()
    sub.loop_stop()
    return got[0] if got else None


@pytest.fixture
def station() -> str:
    return f"t{uuid.uuid4().hex[:10]}"


@pytest.fixture
def link_factory(station: str) -> Iterator[Callable[..., MqttLink]]:
    links: list[MqttLink] = []

    def make(url: str, on_message: Callable[[Inbound], None], **kw: Any) -> MqttLink:
        link = MqttLink(
            url=url, station=station, client_id=f"gf-edge-{station}", on_message=on_message, **kw
        )
        links.append(link)
        link.start()
        assert link.wait_connected(10), "MqttLink did not connect"
        return link

    yield make
    for link in links:
        link.stop()


@pytest.mark.parametrize("protocol", ["auto", "3.1.1"])
def test_mosquitto_messages_status_and_stop(
    mosquitto: Mosquitto, station: str, link_factory: Callable[..., MqttLink], protocol: str
) -> None:
    got = Collector()
    link = link_factory(mosquitto.url, got, protocol=protocol)
    assert link.protocol == ("5" if protocol == "auto" else "3.1.1")
    topics = wire.Topics(station)
    pub = publisher(mosquitto.port)
    try:
        for seq in range(20):
            pub.publish(topics.climate("room1"), climate(seq), qos=1)
        pub.publish(topics.scale_reading("lane1"), b'{"ts_ms":1,"gross_g":1200,"seq":1}', qos=0)
        pub.publish(topics.door("room1"), b'{"ts_ms":1,"open":true}', qos=1)
        pub.publish(topics.camera_frame("lane1"), b"\xff\xd8\xff\xe0fakejpeg", qos=1)
        pub.publish(topics.scanner_code("lane1"), b'{"ts_ms":1,"code":"CARD-9"}', qos=1)
        msgs = got.wait_for(wire.TopicKind.CLIMATE, 20)
        assert [m.payload.seq for m in msgs] == list(range(20))  # in order, each once
        assert msgs[0].topic == wire.Topic(wire.TopicKind.CLIMATE, station, "room1")
        assert isinstance(msgs[0].payload, wire.Climate)
        assert got.wait_for(wire.TopicKind.SCANNER_CODE, 1)[0].payload.code == "CARD-9"
        assert got.wait_for(wire.TopicKind.CAMERA_FRAME, 1)[0].payload.startswith(b"\xff\xd8")
        assert got.wait_for(wire.TopicKind.DOOR, 1)[0].payload.open is True
        assert got.wait_for(wire.TopicKind.SCALE_READING, 1)[0].payload.gross_g == 1200
        # Its own retained "online" status comes back through device/+/status too.
        status = got.wait_for(wire.TopicKind.DEVICE_STATUS, 1)
        assert [(m.topic.ident, m.payload) for m in status] == [("edge", "online")]
        assert retained(mosquitto.port, topics.device_status("edge")) == "online"
        link.publish_json(topics.edge_status, {"outbox": 3}, qos=1, retain=True)
        assert retained(mosquitto.port, topics.edge_status) == '{"outbox":3}'
        assert eventually(lambda: link.stats().handled == 25)
        st = link.stats()
        assert (st.connected, st.bad_payloads, st.handler_errors, st.connects) == (
            True,
            0,
            0,
            1,
        )
        assert st.handled == st.received == 25
        link.stop()
        assert not link.connected
        assert retained(mosquitto.port, topics.device_status("edge")) == "offline"
    finally:
        pub.disconnect()
        pub.loop_stop()


def test_embedded_amqtt_broker_falls_back_to_311(
    station: str, link_factory: Callable[..., MqttLink]
) -> None:
    broker = EmbeddedBroker().start()
    try:
        got = Collector()
        link = link_factory(broker.url, got, connack_timeout_s=1.0)
        assert link.protocol == "3.1.1"
        pub = publisher(broker.port)
        topics = wire.Topics(station)
        for seq in range(50):
            pub.publish(topics.climate("room1"), climate(seq), qos=1)
        msgs = got.wait_for(wire.TopicKind.CLIMATE, 50)
        assert sorted(m.payload.seq for m in msgs) == list(range(50))
        pub.disconnect()
        pub.loop_stop()
    finally:
        broker.stop()


@pytest.mark.parametrize("protocol", ["auto", "3.1.1"])
def test_persistent_session_delivers_what_was_published_while_away(
    mosquitto: Mosquitto, station: str, link_factory: Callable[..., MqttLink], protocol: str
) -> None:
    first = Collector()
    link = link_factory(mosquitto.url, first, protocol=protocol)
    link.stop()  # clean disconnect; the session stays on the broker
    topics = wire.Topics(station)
    pub = publisher(mosquitto.port)
    for seq in range(100):
        pub.publish(topics.climate("room1"), climate(seq), qos=1).wait_for_publish(5)
    pub.disconnect()
    pub.loop_stop()
    second = Collector()
    link2 = link_factory(mosquitto.url, second, protocol=protocol)
    msgs = second.wait_for(wire.TopicKind.CLIMATE, 100)
    assert [m.payload.seq for m in msgs] == list(range(100))
    assert link2.stats().connects == 1


def test_handler_errors_and_bad_payloads_are_counted_never_fatal(
    mosquitto: Mosquitto, station: str, link_factory: Callable[..., MqttLink]
) -> None:
    got = Collector(fail_on=lambda m: m.topic.kind is wire.TopicKind.CLIMATE and m.payload.seq == 3)
    link = link_factory(mosquitto.url, got)
    topics = wire.Topics(station)
    pub = publisher(mosquitto.port)
    for seq in range(6):
        pub.publish(topics.climate("room1"), climate(seq), qos=1)
    pub.publish(topics.climate("room1"), climate(6, temp_c=300.0), qos=1)  # out of range
    pub.publish(topics.climate("room1"), climate(7), qos=1)
    msgs = got.wait_for(wire.TopicKind.CLIMATE, 6)
    assert [m.payload.seq for m in msgs] == [0, 1, 2, 4, 5, 7]
    assert eventually(lambda: link.stats().handler_errors == 1)
    st = link.stats()
    assert st.handler_errors == 1
    assert st.bad_payloads == 1
    assert st.bad_by_kind == {"climate": 1}
    assert st.last_bad is not None
    assert st.last_bad[0] == topics.climate("room1")
    assert "temp_c" in st.last_bad[1]
    # The failed and the bad message were acknowledged: a new session does not get them.
    link.stop()
    again = Collector()
    link_factory(mosquitto.url, again)
    pub.publish(topics.climate("room1"), climate(8), qos=1)
    assert [m.payload.seq for m in again.wait_for(wire.TopicKind.CLIMATE, 1)] == [8]
    pub.disconnect()
    pub.loop_stop()


_KILLED_EDGE = """
import sys, time
from edge.mqtt.client import MqttLink
link = MqttLink(url=sys.argv[1], station=sys.argv[2], client_id="gf-edge-kill-" + sys.argv[2],
                on_message=lambda m: None)
link.start()
assert link.wait_connected(10)
print("up", flush=True)
time.sleep(60)
"""


def test_last_will_is_offline_when_the_process_dies(mosquitto: Mosquitto, station: str) -> None:
    with subprocess.Popen(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _KILLED_EDGE, mosquitto.url, station],
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        # kill in finally: leaving the block waits for the process, which would sleep 60 s
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "up"
            topic = wire.Topics(station).device_status("edge")
            assert retained(mosquitto.port, topic) == "online"
            proc.kill()
            proc.wait(5)
            deadline = time.monotonic() + 5
            while retained(mosquitto.port, topic, 1.0) != "offline" and time.monotonic() < deadline:
                pass
            assert retained(mosquitto.port, topic) == "offline"
        finally:
            proc.kill()


def _publish_packet(topic: bytes, mid: int | None, props: bytes, payload: bytes) -> bytes:
    head = len(topic).to_bytes(2, "big") + topic
    return head + (b"" if mid is None else mid.to_bytes(2, "big")) + props + payload


@pytest.mark.parametrize(
    ("header", "mid", "dup", "retain"),
    [(0x30, None, False, False), (0x32, 7, False, False), (0x3B, 65535, True, True)],
)
def test_lean_publish_decodes_plain_packets_like_paho(
    header: int, mid: int | None, dup: bool, retain: bool
) -> None:
    from paho.mqtt import _packet

    from edge.mqtt._paho_fast import _lean_publish

    body = _publish_packet("gf/v1/站/coldroom/r1/climate".encode(), mid, b"\x00", b'{"a":1}')
    ref = _packet.decode_publish(header, body, mqtt.MQTTv5)
    got = _lean_publish(header, bytearray(body))
    assert got == (ref.qos, ref.retain, ref.dup, ref.topic, ref.mid, ref.payload)
    assert (got[2], got[1]) == (dup, retain)


def test_lean_publish_leaves_everything_else_to_paho() -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    from edge.mqtt._paho_fast import _lean_publish

    props = Properties(PacketTypes.PUBLISH)
    props.ContentType = "application/json"
    assert _lean_publish(0x32, _publish_packet(b"t", 1, props.pack(), b"x")) is None
    assert _lean_publish(0x34, _publish_packet(b"t", 1, b"\x00", b"x")) is None  # QoS 2
    assert _lean_publish(0x32, _publish_packet(b"", 1, b"\x00", b"x")) is None  # alias
    assert _lean_publish(0x32, b"\x00\x05ab") is None  # truncated


def test_no_paho_module_is_patched_for_other_clients(
    mosquitto: Mosquitto, station: str, link_factory: Callable[..., MqttLink]
) -> None:
    """Another MQTT 5 client in the same process (the bridge in the demo) keeps paho's own
    decoding: its messages carry their properties as paho made them."""
    from paho.mqtt import _packet
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    got = Collector()
    link_factory(mosquitto.url, got)
    assert _packet.Properties is Properties
    topic = wire.Topics(station).climate("room9")
    seen: list[mqtt.MQTTMessage] = []
    ready = threading.Event()
    other = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    other.on_subscribe = lambda *a: ready.set()
    other.on_message = lambda c, u, m: seen.append(m)
    other.connect("127.0.0.1", mosquitto.port)
    other.subscribe(topic, qos=1)
    other.loop_start()
    try:
        assert ready.wait(10)
        props = Properties(PacketTypes.PUBLISH)
        props.ContentType = "application/json"
        props.UserProperty = [("sensor", "sht20")]
        other.publish(topic, climate(1), qos=1, properties=props).wait_for_publish(5)
        assert eventually(lambda: len(seen) == 1 and len(got.of(wire.TopicKind.CLIMATE)) == 1)
        m = seen[0]
        assert type(m.properties) is Properties
        assert m.properties.json() == {
            "ContentType": "application/json",
            "UserProperty": [("sensor", "sht20")],
        }
    finally:
        other.loop_stop()
        other.disconnect()


def test_mqtt5_publisher_with_properties_reaches_the_handler(
    mosquitto: Mosquitto, station: str, link_factory: Callable[..., MqttLink]
) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    got = Collector()
    link_factory(mosquitto.url, got)
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    pub.connect("127.0.0.1", mosquitto.port)
    pub.loop_start()
    topic = wire.Topics(station).climate("room1")
    for seq in range(30):
        props = Properties(PacketTypes.PUBLISH)
        if seq % 2:
            props.ContentType = "application/json"
            props.UserProperty = [("sensor", f"sht20-{seq}")]
        pub.publish(topic, climate(seq), qos=1, properties=props)
    msgs = got.wait_for(wire.TopicKind.CLIMATE, 30)
    assert [m.payload.seq for m in msgs] == list(range(30))
    pub.disconnect()
    pub.loop_stop()


def test_large_camera_frames_survive_the_read_ahead_buffer(
    mosquitto: Mosquitto, station: str, link_factory: Callable[..., MqttLink]
) -> None:
    got = Collector()
    link_factory(mosquitto.url, got)
    pub = publisher(mosquitto.port)
    topics = wire.Topics(station)
    frames = [b"\xff\xd8\xff" + bytes([i]) * (300_000 + 70_001 * i) for i in range(4)]
    for i, frame in enumerate(frames):
        pub.publish(topics.camera_frame("lane1"), frame, qos=1)
        pub.publish(topics.climate("room1"), climate(i), qos=1)  # small ones in between
    assert [m.payload for m in got.wait_for(wire.TopicKind.CAMERA_FRAME, 4)] == frames
    assert [m.payload.seq for m in got.wait_for(wire.TopicKind.CLIMATE, 4)] == [0, 1, 2, 3]
    pub.disconnect()
    pub.loop_stop()


def test_plain_paho_without_the_fast_path(
    mosquitto: Mosquitto, station: str, link_factory: Callable[..., MqttLink]
) -> None:
    """``fast_path=False``: plain paho's client receives in order, and each message is
    acknowledged after handling (a new session gets only what comes next)."""
    got = Collector()
    link = link_factory(mosquitto.url, got, fast_path=False)
    assert type(link._client) is mqtt.Client
    assert link.protocol == "5"
    topics = wire.Topics(station)
    pub = publisher(mosquitto.port)
    try:
        for seq in range(20):
            pub.publish(topics.climate("room1"), climate(seq), qos=1)
        msgs = got.wait_for(wire.TopicKind.CLIMATE, 20)
        assert [m.payload.seq for m in msgs] == list(range(20))
        assert eventually(lambda: link.stats().handled == 21)  # and its own "online"
        link.stop()
        again = Collector()
        link_factory(mosquitto.url, again, fast_path=False)
        pub.publish(topics.climate("room1"), climate(20), qos=1)
        assert [m.payload.seq for m in again.wait_for(wire.TopicKind.CLIMATE, 1)] == [20]
    finally:
        pub.disconnect()
        pub.loop_stop()
