"""The edge's one MQTT connection (the only module under ``edge/`` that imports paho).

Threads: paho's network thread only timestamps each message and puts it on a bounded
queue; one dispatcher thread (``mqtt-dispatch``) parses it with
:func:`gongfang.wire.parse_payload` and calls ``on_message`` with an :class:`Inbound`, one
message at a time, in arrival order. QoS 1 messages are acknowledged (manual PUBACK) only
after ``on_message`` returned, so a message that was queued but not handled when the
process died is delivered again by the broker: at least once, never silently dropped.
``on_message`` therefore sees an occasional duplicate after a reconnect (the cold-chain
monitor ignores repeated ``seq``). When the queue is full the network thread waits, which
pushes back on the broker instead of dropping.

Bad payloads (:class:`gongfang.wire.PayloadError`) and exceptions raised by
``on_message`` are counted and logged with their topic (rate-limited) and acknowledged:
a poison message must not come back forever.

Session: a fixed client id with a persistent session (MQTT 5: clean start off and a
session expiry; MQTT 3.1.1: clean session off), so QoS 1 messages published while the
edge is away are delivered when it reconnects. MQTT 5 is tried first; a broker that
refuses it (amqtt answers "unacceptable protocol version") gets MQTT 3.1.1 from then on.
Reconnects are paho's, with exponential backoff; :meth:`MqttLink.wait_connected` and
``connected`` mean connected *and* subscribed (set when the SUBACK arrives; a resumed
session may deliver its backlog before that). The edge's own status is retained on
``…/device/{status_device}/status``: "online" on every connect, "offline" as the last
will and on :meth:`MqttLink.stop`.
"""

from __future__ import annotations

import json
import logging
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ValidationError

from gongfang import wire
from gongfang.mqtt_setup import MqttClientSetup, MqttEndpoint

log = logging.getLogger(__name__)

SESSION_EXPIRY_S = 7 * 24 * 3600  # keep the edge's session (and its queued QoS 1) a week
RECEIVE_MAXIMUM = 100  # unacknowledged QoS 1 deliveries the broker may have out to us (MQTT 5)
_UNSUPPORTED_PROTOCOL = (1, 132)  # CONNACK codes of 3.1.1 and 5 for "protocol version"
# amqtt does not even answer an MQTT 5 CONNECT that carries a will: no CONNACK this long
# after the TCP connection means the broker does not speak MQTT 5.
CONNACK_TIMEOUT_S = 3.0
_BAD_LOG_BURST = 10  # bad payloads logged one by one before rate limiting starts
_BAD_LOG_EVERY_S = 10.0  # then one summary line at most this often
_DRAIN_PACKETS = 256  # packets taken from the read-ahead buffer per select()


class _ReadAheadSocket:
    """paho's TCP socket with a read-ahead buffer.

    paho reads each packet with several tiny ``recv`` calls (1 byte of type, the length
    byte by byte, then the body) and one ``select`` per packet; under load that syscall
    chatter, not parsing, limits how fast a backlog drains. Reading 64 KiB at a time and
    answering ``pending()`` (which paho asks of SSL sockets for the same reason) lets it
    take buffered packets without waiting in ``select``.
    """

    _CHUNK = 65536

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._data = b""
        self._pos = 0

    def recv(self, bufsize: int) -> bytes:
        if self._pos >= len(self._data):
            data = self._sock.recv(max(bufsize, self._CHUNK))
            if len(data) <= bufsize:
                return data  # also b"" at end of stream
            self._data, self._pos = data, 0
        out = self._data[self._pos : self._pos + bufsize]
        self._pos += len(out)
        return out

    def pending(self) -> int:
        return len(self._data) - self._pos

    def __getattr__(self, name: str) -> Any:  # send, fileno, close, setblocking, …
        return getattr(self._sock, name)


class _Client(mqtt.Client):
    """paho's client with two costs taken out of the network thread, for this client only.

    - reads go through :class:`_ReadAheadSocket`;
    - an MQTT 5 PUBLISH at QoS 0/1 that carries no properties (what sensors send) is
      decoded here instead of by paho's ``_packet.decode_publish``, which builds a
      ``Properties`` object (three lookup tables) for every message: about 18 µs of the
      ~50 µs a climate message costs, measured in bench/bench_edge_climate.py. Anything
      else (properties present, QoS 2, MQTT 3.1.1, an unexpected packet shape) goes to
      paho's own code. No paho module is patched: other clients in the process (the
      firmware bridge in the demo) are untouched.
    """

    _wake_sent = False  # a wake-up byte is on paho's socket pair, not yet acted on

    def _create_socket(self) -> Any:
        sock = super()._create_socket()
        return _ReadAheadSocket(sock) if type(sock) is socket.socket else sock

    def loop_read(self, max_packets: int = 1) -> mqtt.MQTTErrorCode:
        # paho reads one packet per select(); packets already in the read-ahead buffer
        # need no select each (a backlog arrives 64 KiB at a time): take them now.
        rc = super().loop_read(max_packets)
        for _ in range(_DRAIN_PACKETS):
            sock = self._sock
            if rc != mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS or not isinstance(sock, _ReadAheadSocket):
                break
            if sock.pending() <= 0:
                break
            rc = super().loop_read(1)
        return rc

    def loop_write(self) -> mqtt.MQTTErrorCode:
        self._wake_sent = False  # cleared before writing: later packets wake it again
        return super().loop_write()

    def _packet_write(self) -> mqtt.MQTTErrorCode:
        # A run of queued PUBACKs (4 bytes each, one per handled message) goes out in one
        # send instead of one send each; paho's own writer then handles partial writes
        # and errors for the merged packet as for any other. Only this (network) thread
        # takes packets off the left of the queue; others only append on the right.
        out = self._out_packet
        if len(out) > 1 and _is_fresh_puback(out[0]) and _is_fresh_puback(out[1]):
            parts = []
            while out and _is_fresh_puback(out[0]):
                parts.append(bytes(out.popleft()["packet"]))
            data = b"".join(parts)
            out.appendleft(
                {
                    "command": _PUBACK,
                    "mid": 0,
                    "qos": 1,
                    "pos": 0,
                    "to_process": len(data),
                    "packet": data,
                    "info": None,
                }
            )
        return super()._packet_write()

    def _packet_queue(
        self,
        command: int,
        packet: bytes | bytearray,
        mid: int,
        qos: int,
        info: mqtt.MQTTMessageInfo | None = None,
    ) -> mqtt.MQTTErrorCode:
        # paho writes a wake-up byte to its socket pair for every queued packet (one per
        # PUBACK: a syscall each, from the dispatcher thread). One byte until the network
        # thread writes is enough to wake it; extra bytes are harmless, a missing one is
        # not, hence the flag is cleared in loop_write *before* the queue is written.
        if self._wake_sent and self._thread is not None:
            self._out_packet.append(
                {
                    "command": command,
                    "mid": mid,
                    "qos": qos,
                    "pos": 0,
                    "to_process": len(packet),
                    "packet": packet,
                    "info": info,
                }
            )
            return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS
        self._wake_sent = True
        return super()._packet_queue(command, packet, mid, qos, info)

    def _handle_publish(self) -> mqtt.MQTTErrorCode:
        if self._protocol != mqtt.MQTTv5:
            return super()._handle_publish()
        lean = _lean_publish(self._in_packet["command"], self._in_packet["packet"])
        if lean is None:
            return super()._handle_publish()
        qos, retain, dup, topic, mid, payload = lean
        message = mqtt.MQTTMessage(mid=mid, topic=topic)
        message.dup = dup
        message.qos = qos
        message.retain = retain
        message.properties = None  # none were sent; nothing here reads them
        message.payload = payload
        message.timestamp = time.monotonic()
        self._handle_on_message(message)
        if qos == 1 and not self._manual_ack:
            return self._send_puback(mid)
        return mqtt.MQTTErrorCode.MQTT_ERR_SUCCESS


_PUBACK = 0x40


def _is_fresh_puback(packet: Any) -> bool:
    return bool(packet["command"] == _PUBACK and packet["pos"] == 0 and packet["info"] is None)


def _lean_publish(
    header: int, packet: bytes | bytearray
) -> tuple[int, bool, bool, bytes, int, bytes] | None:
    """An MQTT 5 PUBLISH's (qos, retain, dup, topic, mid, payload) when it is QoS 0/1 with a
    non-empty topic and an empty property block; ``None`` for anything else (paho decodes
    those). Layout: topic length (2 bytes), topic, packet id (2 bytes, QoS > 0), property
    length (variable byte integer, here the single byte 0), payload."""
    qos = (header & 0x06) >> 1
    if qos > 1 or len(packet) < 3:
        return None
    n = int.from_bytes(packet[:2], "big")
    pos = 2 + n
    if n == 0:
        return None  # a topic alias: paho's business
    if qos:
        if len(packet) < pos + 3:
            return None
        mid = int.from_bytes(packet[pos : pos + 2], "big")
        pos += 2
    else:
        mid = 0
    if len(packet) <= pos or packet[pos] != 0:
        return None  # properties present (or truncated): paho decodes them
    return (
        qos,
        bool(header & 0x01),
        bool(header & 0x08),
        bytes(packet[2 : 2 + n]),
        mid,
        bytes(packet[pos + 1 :]),
    )


@dataclass(frozen=True, slots=True)
class Inbound:
    """One good message, already parsed by :func:`gongfang.wire.parse_payload`."""

    topic: wire.Topic
    payload: Any  # ScaleReading | ScannerCode | Climate | Door | bytes (JPEG) | "online"/"offline"
    received_ms: int


@dataclass(frozen=True, slots=True)
class LinkStats:
    """A snapshot of the link's counters."""

    connected: bool
    protocol: str  # "5" or "3.1.1" (what the broker accepted), "" before the first connect
    received: int  # messages that arrived from the broker (good and bad)
    handled: int  # good messages on_message returned from
    bad_payloads: int
    bad_by_kind: dict[str, int] = field(default_factory=dict)  # topic kind (or "unknown")
    handler_errors: int = 0  # exceptions raised by on_message
    connects: int = 0
    reconnects: int = 0  # successful connects after the first
    last_bad: tuple[str, str] | None = None  # (topic, reason)
    queue_depth: int = 0
    publish_errors: int = 0


@dataclass(slots=True)
class _Queued:
    topic: str
    payload: bytes
    qos: int
    mid: int
    generation: int  # which connection delivered it: only that one may acknowledge it
    received_ms: int


_STOP = object()
# High-rate topics: their model reads the JSON bytes itself (one pass, ~1 µs) instead of
# json.loads + model_validate (~4 µs). A payload that fails this way goes through
# wire.parse_payload as before, which accepts exactly what it always accepted (e.g. a
# UTF-16 or NaN-bearing payload Python's json reads) and gives the usual reason.
_FAST_MODELS: dict[wire.TopicKind, type[BaseModel]] = {
    wire.TopicKind.CLIMATE: wire.Climate,
    wire.TopicKind.SCALE_READING: wire.ScaleReading,
}


def _parse(topic: str, payload: bytes) -> tuple[wire.Topic, Any]:
    """:func:`gongfang.wire.parse_payload`, with a one-pass fast path for climate and
    scale readings; raises :class:`gongfang.wire.PayloadError` like it."""
    parsed = wire.parse_topic(topic)
    model = _FAST_MODELS.get(parsed.kind) if parsed is not None else None
    if model is not None and parsed is not None:
        try:
            return parsed, model.model_validate_json(payload)
        except ValidationError:
            pass
    return wire.parse_payload(topic, payload)


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
        self._protocol = mqtt.MQTTv311 if protocol == "3.1.1" else mqtt.MQTTv5
        self._protocol_locked = protocol != "auto"
        self._queue: queue.Queue[_Queued | object] = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()  # guards client replacement (protocol fallback)
        self._client: mqtt.Client | None = None
        self._dispatcher: threading.Thread | None = None
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._generation = 0
        self._subscribe_mid: int | None = None
        self._attempt_started: float | None = None  # monotonic time of the pending CONNECT
        # Counters; each is written by one thread only (network or dispatcher), except
        # publish_errors, which any publishing thread bumps (an approximate figure).
        self._received = 0
        self._handled = 0
        self._bad = 0
        self._bad_by_kind: dict[str, int] = {}
        self._handler_errors = 0
        self._connects = 0
        self._publish_errors = 0
        self._last_bad: tuple[str, str] | None = None
        self._bad_logged = 0
        self._bad_suppressed = 0
        self._bad_log_at = 0.0

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
        if not self._connects:
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
            self._publish_errors += 1
            log.debug("link not started or stopped, not published: %s", topic)
            return
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN) or (
            info.rc == mqtt.MQTT_ERR_NO_CONN and qos == 0
        ):
            self._publish_errors += 1
            log.debug("publish to %s not sent: %s", topic, mqtt.error_string(info.rc))

    # ------------------------------------------------------------ stats

    def stats(self) -> LinkStats:
        return LinkStats(
            connected=self.connected,
            protocol=self.protocol,
            received=self._received,
            handled=self._handled,
            bad_payloads=self._bad,
            bad_by_kind=dict(self._bad_by_kind),
            handler_errors=self._handler_errors,
            connects=self._connects,
            reconnects=max(0, self._connects - 1),
            last_bad=self._last_bad,
            queue_depth=self._queue.qsize(),
            publish_errors=self._publish_errors,
        )

    # ------------------------------------------------------------ paho plumbing

    def _new_client(self) -> mqtt.Client:
        v5 = self._protocol == mqtt.MQTTv5
        client = _Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=self.client_id,
            protocol=self._protocol,
            clean_session=None if v5 else False,
            manual_ack=True,
        )
        MqttClientSetup(self.endpoint).configure(client)
        client.reconnect_delay_set(*self._backoff)  # type: ignore[arg-type]  # floats work
        client.max_inflight_messages_set(100)
        client.max_queued_messages_set(10_000)  # outgoing while disconnected, then dropped
        client.will_set(self.status_topic, "offline", qos=1, retain=True)
        client.on_pre_connect = self._handle_pre_connect
        client.on_connect_fail = self._handle_connect_fail
        client.on_connect = self._handle_connect
        client.on_disconnect = self._handle_disconnect
        client.on_message = self._handle_message
        client.on_subscribe = self._handle_subscribe
        return client

    def _connect(self, client: mqtt.Client) -> None:
        if self._protocol == mqtt.MQTTv5:
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = SESSION_EXPIRY_S
            props.ReceiveMaximum = RECEIVE_MAXIMUM
            client.connect_async(
                self.host, self.port, self._keepalive, clean_start=False, properties=props
            )
        else:
            client.connect_async(self.host, self.port, self._keepalive)
        client.loop_start()

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
        self._connects += 1
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
        self._received += 1
        item = _Queued(
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
            assert isinstance(item, _Queued)  # noqa: S101 - the queue holds nothing else
            self._dispatch(item)
            if item.qos > 0:
                self._ack(item)

    def _dispatch(self, item: _Queued) -> None:
        try:
            topic, payload = _parse(item.topic, item.payload)
        except wire.PayloadError as exc:
            self._bad_payload(item.topic, exc.reason)
            return
        try:
            self._on_message(Inbound(topic, payload, item.received_ms))
        except Exception:
            self._handler_errors += 1
            if self._handler_errors <= _BAD_LOG_BURST or self._handler_errors % 1000 == 0:
                log.exception(
                    "处理消息出错 / on_message failed for %s (%d so far)",
                    item.topic,
                    self._handler_errors,
                )
            return
        self._handled += 1

    def _ack(self, item: _Queued) -> None:
        # A message from an earlier connection is redelivered by the broker on this one;
        # acknowledging its old packet id here could acknowledge another message.
        # (Not gated on ``connected``: a resumed session's queued messages arrive before the
        # SUBACK. paho drops packets still unsent when the connection is lost.)
        client = self._client
        if client is not None and item.generation == self._generation:
            client.ack(item.mid, item.qos)

    def _bad_payload(self, topic: str, reason: str) -> None:
        self._bad += 1
        parsed = wire.parse_topic(topic)
        kind = parsed.kind.value if parsed is not None else "unknown"
        self._bad_by_kind[kind] = self._bad_by_kind.get(kind, 0) + 1
        self._last_bad = (topic, reason)
        now = time.monotonic()
        if self._bad_logged < _BAD_LOG_BURST:
            self._bad_logged += 1
            log.warning("无效消息 / bad payload on %s: %s", topic, reason)
            self._bad_log_at = now
        elif now - self._bad_log_at >= _BAD_LOG_EVERY_S:
            log.warning(
                "无效消息共 %d 条（%d 条未逐条记录）/ %d bad payloads so far "
                "(%d not logged one by one); last on %s: %s",
                self._bad,
                self._bad_suppressed + 1,
                self._bad,
                self._bad_suppressed + 1,
                topic,
                reason,
            )
            self._bad_suppressed = 0
            self._bad_log_at = now
        else:
            self._bad_suppressed += 1
