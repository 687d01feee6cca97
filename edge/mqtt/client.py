"""The edge's one MQTT connection (``edge/mqtt/`` is the only package under ``edge/`` that
imports paho).

Threads: paho's network thread only timestamps each message and puts it on a bounded
queue; one dispatcher thread (``mqtt-dispatch``) parses it (:func:`edge.mqtt.parse.parse`)
and calls ``on_message`` with an :class:`Inbound`, one message at a time, in arrival
order. QoS 1 messages are acknowledged (manual PUBACK) only
after ``on_message`` returned, so a message that was queued but not handled when the
process died is delivered again by the broker: at least once, never silently dropped.
``on_message`` therefore sees an occasional duplicate after a reconnect (the cold-chain
monitor ignores repeated ``seq``). When the queue is full the network thread waits, which
pushes back on the broker instead of dropping.

Bad payloads (:class:`gongfang.wire.PayloadError`) and exceptions raised by
``on_message`` are counted and logged with their topic (rate-limited) and acknowledged:
a poison message must not come back forever.

Session: persistent (:mod:`edge.mqtt.session`), so QoS 1 messages published while the
edge is away are delivered when it reconnects. MQTT 5 is tried first; a broker that
refuses it (amqtt answers "unacceptable protocol version") gets MQTT 3.1.1 from then on.
Reconnects are paho's, with exponential backoff; :meth:`MqttLink.wait_connected` and
``connected`` mean connected *and* subscribed (set when the SUBACK arrives; a resumed
session may deliver its backlog before that). The edge's own status is retained on
``…/device/{status_device}/status``: "online" on every connect, "offline" as the last
will and on :meth:`MqttLink.stop`.

The paho client is :class:`edge.mqtt._paho_fast.FastClient` (faster reads, decoding and
acknowledgements; the paho internals it touches are listed there), or plain paho with
``fast_path=False``.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from pydantic import BaseModel

from edge.mqtt import session
from edge.mqtt.models import Counters, Inbound, LinkStats, Queued
from edge.mqtt.parse import parse, topic_kind
from edge.mqtt.ratelog import RateLimitedLog
from gongfang import wire
from gongfang.mqtt_setup import MqttEndpoint

log = logging.getLogger(__name__)

_UNSUPPORTED_PROTOCOL = (1, 132)  # CONNACK codes of 3.1.1 and 5 for "protocol version"
# amqtt does not even answer an MQTT 5 CONNECT that carries a will: no CONNACK this long
# after the TCP connection means the broker does not speak MQTT 5.
CONNACK_TIMEOUT_S = 3.0
_STOP = object()


class MqttLink:
    """One persistent MQTT connection for a station's edge node."""

    def __init__(
        self,
        *,
        url: str,
        station: str,
        client_id: str,
        on_message: Callable[[Inbound], None],
        subscriptions: Sequence[tuple[str, int]] | None = None,
        status_device: str = "edge",
        keepalive_s: int = 30,
        queue_size: int = 10_000,
        protocol: str = "auto",  # "auto" (5, else 3.1.1), "5" or "3.1.1"
        min_backoff_s: float = 0.25,
        max_backoff_s: float = 30.0,
        connack_timeout_s: float = CONNACK_TIMEOUT_S,
        endpoint: MqttEndpoint | None = None,
        fast_path: bool = True,  # False: plain paho (edge/mqtt/_paho_fast.py not used)
    ) -> None:
        if protocol not in ("auto", "5", "3.1.1"):
            raise ValueError(f"protocol must be auto, 5 or 3.1.1, got {protocol!r}")
        # ``endpoint`` (sign-in, TLS) wins; else everything comes from the URL.
        self.endpoint = endpoint or MqttEndpoint.from_url(url)
        self.host, self.port = self.endpoint.host, self.endpoint.port
        self.url = self.endpoint.describe()
        self.station = station
        self.client_id = client_id
        self.topics = wire.Topics(station)
        self.status_topic = self.topics.device_status(status_device)
        self._on_message = on_message
        self._subscriptions = list(
            self.topics.subscriptions() if subscriptions is None else subscriptions
        )
        self._keepalive = keepalive_s
        self._connack_timeout_s = connack_timeout_s
        self._backoff = (min_backoff_s, max_backoff_s)
        self._fast_path = fast_path
        self._protocol = mqtt.MQTTv311 if protocol == "3.1.1" else mqtt.MQTTv5
        self._protocol_locked = protocol != "auto"
        self._queue: queue.Queue[Queued | object] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()  # guards client replacement (protocol fallback)
        self._client: mqtt.Client | None = None
        self._dispatcher: threading.Thread | None = None
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._generation = 0
        self._subscribe_mid: int | None = None
        self._attempt_started: float | None = None  # monotonic time of the pending CONNECT
        self._n = Counters()
        self._bad_log = RateLimitedLog(log)  # dispatcher thread only, like the next
        self._error_log = RateLimitedLog(log)

    # ------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Connect in the background; the link reconnects by itself until :meth:`stop`."""
        if self._dispatcher is not None:
            raise RuntimeError("MqttLink already started")
        self._stopping.clear()
        self._dispatcher = threading.Thread(
            target=self._dispatch_loop, name="mqtt-dispatch", daemon=True
        )
        self._dispatcher.start()
        with self._lock:
            self._client = self._new_client()
            self._connect(self._client)
        if not self._protocol_locked:
            threading.Thread(target=self._probe_loop, name="mqtt-probe", daemon=True).start()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Publish the retained "offline", disconnect cleanly, stop both threads.

        Messages still queued are not handled and not acknowledged; the broker delivers
        the QoS 1 ones again on the next session.
        """
        self._stopping.set()
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            if self._connected.is_set():
                info = client.publish(self.status_topic, "offline", qos=1, retain=True)
                try:
                    info.wait_for_publish(timeout_s)
                except (RuntimeError, ValueError):
                    log.debug("offline status not confirmed before disconnect")
            client.disconnect()
            client.loop_stop()
        self._connected.clear()
        if self._dispatcher is not None:
            try:
                self._queue.put(_STOP, timeout=timeout_s)
            except queue.Full:
                log.warning("MQTT dispatcher queue full at stop")
            self._dispatcher.join(timeout_s)
            self._dispatcher = None

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    @property
    def protocol(self) -> str:
        if not self._n.connects:
            return ""
        return "5" if self._protocol == mqtt.MQTTv5 else "3.1.1"

    # ------------------------------------------------------------ publishing

    def publish_json(
        self,
        topic: str,
        doc: Mapping[str, Any] | BaseModel,
        *,
        qos: int = 1,
        retain: bool = False,
    ) -> None:
        """Publish a JSON document. Never raises for a lost connection: QoS ≥ 1 is queued
        by paho and sent after the reconnect; a failure is counted and logged."""
        if isinstance(doc, BaseModel):
            payload = doc.model_dump_json().encode()
        else:
            payload = json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()
        client = self._client
        if client is None:
            self._n.publish_errors += 1
            log.debug("link not started or stopped, not published: %s", topic)
            return
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN) or (
            info.rc == mqtt.MQTT_ERR_NO_CONN and qos == 0
        ):
            self._n.publish_errors += 1
            log.debug("publish to %s not sent: %s", topic, mqtt.error_string(info.rc))

    # ------------------------------------------------------------ stats

    def stats(self) -> LinkStats:
        return self._n.snapshot(
            connected=self.connected, protocol=self.protocol, queue_depth=self._queue.qsize()
        )

    # ------------------------------------------------------------ paho plumbing

    def _new_client(self) -> mqtt.Client:
        client = session.new_client(
            client_id=self.client_id,
            protocol=self._protocol,
            endpoint=self.endpoint,
            backoff=self._backoff,
            status_topic=self.status_topic,
            fast_path=self._fast_path,
        )
        client.on_pre_connect = self._handle_pre_connect
        client.on_connect_fail = self._handle_connect_fail
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.on_subscribe = self._handle_subscribe
        return client

    def _connect(self, client: mqtt.Client) -> None:
        session.connect(client, self.endpoint, protocol=self._protocol, keepalive_s=self._keepalive)

    def _handle_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        self._attempt_started = time.monotonic()

    def _handle_connect_fail(self, client: mqtt.Client, userdata: Any) -> None:
        self._attempt_started = None  # nothing listens: says nothing about the protocol

    def _probe_loop(self) -> None:
        """Until the protocol is settled: fall back to 3.1.1 if an MQTT 5 CONNECT gets no
        answer at all (amqtt's behaviour when the CONNECT carries a will)."""
        while not self._stopping.wait(0.25) and not self._protocol_locked:
            started, client = self._attempt_started, self._client
            if started is not None and time.monotonic() - started > self._connack_timeout_s:
                if client is not None and self._protocol == mqtt.MQTTv5:
                    log.info("MQTT 5 连接无应答，改用 3.1.1 / no CONNACK to MQTT 5, using 3.1.1")
                    self._fall_back(client)
                return

    def _handle_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: mqtt.ReasonCode,
        props: Properties | None,
    ) -> None:
        self._attempt_started = None
        if reason.is_failure:
            if (
                reason.value in _UNSUPPORTED_PROTOCOL
                and self._protocol == mqtt.MQTTv5
                and not self._protocol_locked
            ):
                log.info("代理不支持 MQTT 5，改用 3.1.1 / broker refuses MQTT 5, using 3.1.1")
                # paho's own thread cannot stop itself: replace the client from another.
                threading.Thread(
                    target=self._fall_back, args=(client,), name="mqtt-fallback", daemon=True
                ).start()
            else:
                log.warning("MQTT 连接被拒绝 / connection refused: %s", reason)
            return
        self._protocol_locked = True
        self._generation += 1
        self._n.connects += 1
        # "connected" (wait_connected) means subscribed too: set when the SUBACK arrives.
        _, self._subscribe_mid = client.subscribe(self._subscriptions)
        client.publish(self.status_topic, "online", qos=1, retain=True)
        log.info(
            "MQTT 已连接 / connected to %s:%d (MQTT %s, session present: %s)",
            self.host,
            self.port,
            self.protocol,
            flags.session_present,
        )

    def _handle_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reasons: list[mqtt.ReasonCode],
        props: Properties | None,
    ) -> None:
        if mid != self._subscribe_mid:
            return
        refused = [
            f for (f, _), r in zip(self._subscriptions, reasons, strict=False) if r.is_failure
        ]
        if refused:
            log.error("订阅被拒绝 / subscriptions refused by the broker: %s", refused)
        self._connected.set()

    def _fall_back(self, old: mqtt.Client) -> None:
        old.disconnect()
        old.loop_stop()
        with self._lock:
            if self._stopping.is_set() or self._client is not old:
                return
            self._protocol = mqtt.MQTTv311
            self._protocol_locked = True
            self._client = self._new_client()
            self._connect(self._client)

    def _handle_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason: mqtt.ReasonCode,
        props: Properties | None,
    ) -> None:
        was = self._connected.is_set()
        self._connected.clear()
        if was and not self._stopping.is_set():
            log.warning("MQTT 连接断开，将自动重连 / disconnected (%s), reconnecting", reason)

    def _handle_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # paho's network thread: stamp and hand over, nothing else.
        self._n.received += 1
        item = Queued(
            msg.topic,
            bytes(msg.payload),
            msg.qos,
            msg.mid,
            self._generation,
            int(time.time() * 1000),
        )
        while True:
            try:
                self._queue.put(item, timeout=1.0)
                return
            except queue.Full:
                if self._stopping.is_set():
                    return  # not acknowledged: the broker sends QoS 1 again next session

    # ------------------------------------------------------------ dispatcher

    def _dispatch_loop(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP or self._stopping.is_set():
                return
            assert isinstance(item, Queued)  # noqa: S101 - the queue holds nothing else
            self._dispatch(item)
            if item.qos > 0:
                self._ack(item)

    def _dispatch(self, item: Queued) -> None:
        try:
            topic, payload = parse(item.topic, item.payload)
        except wire.PayloadError as exc:
            self._bad_payload(item.topic, exc.reason)
            return
        try:
            self._on_message(Inbound(topic, payload, item.received_ms))
        except Exception:
            self._n.handler_errors += 1
            self._error_log.log(
                logging.ERROR,
                "处理消息出错 / on_message failed for %s (%d so far)",
                item.topic,
                self._n.handler_errors,
                exc_info=True,
            )
            return
        self._n.handled += 1

    def _ack(self, item: Queued) -> None:
        # A message from an earlier connection is redelivered by the broker on this one;
        # acknowledging its old packet id here could acknowledge another message.
        # (Not gated on ``connected``: a resumed session's queued messages arrive before the
        # SUBACK. paho drops packets still unsent when the connection is lost.)
        client = self._client
        if client is not None and item.generation == self._generation:
            client.ack(item.mid, item.qos)

    def _bad_payload(self, topic: str, reason: str) -> None:
        self._n.count_bad(topic, topic_kind(topic), reason)
        self._bad_log.log(logging.WARNING, "无效消息 / bad payload on %s: %s", topic, reason)
