"""paho's client with two costs taken out of the network thread: the edge's fast path.

:class:`FastClient` is a ``paho.mqtt.client.Client`` for the edge's one connection only
(no paho module is patched; other clients in the process, such as the firmware bridge in
the demo, keep paho's own code). ``MqttLink(fast_path=False)`` uses plain paho instead,
with the same behaviour, only slower under a backlog.

What it changes, and why (measured in bench/bench_edge_climate.py):

- reads go through :class:`_ReadAheadSocket`: paho reads a packet with several tiny
  ``recv`` calls and one ``select`` each; reading 64 KiB at a time drains a backlog
  without that syscall chatter;
- an MQTT 5 PUBLISH at QoS 0/1 that carries no properties (what sensors send) is decoded
  by :func:`_lean_publish` instead of paho's ``_packet.decode_publish``, which builds a
  ``Properties`` object for every message (about 18 µs of the ~50 µs a climate message
  costs); anything else goes to paho's own code;
- a run of queued PUBACKs goes out in one ``send``, and one wake-up byte (not one per
  packet) is written to paho's socket pair until the network thread writes.

paho internals this module touches (paho-mqtt 2.1; pyproject pins ``<3``), all of
``paho.mqtt.client.Client``:

- overrides ``_create_socket()`` (wrap the TCP socket), ``_packet_write()`` (merge
  PUBACKs), ``_packet_queue()`` (skip redundant wake-up bytes) and ``_handle_publish()``
  (the lean decode), besides the public ``loop_read``/``loop_write``;
- calls ``_handle_on_message()`` and ``_send_puback()`` as paho's ``_handle_publish`` does;
- reads ``_sock`` (is it the read-ahead socket), ``_thread`` (is ``loop_start``'s thread
  running), ``_protocol``, ``_in_packet["command"|"packet"]`` and ``_manual_ack``;
- reads and rewrites ``_out_packet``, paho's deque of outgoing packet dicts
  (``command, mid, qos, pos, to_process, packet, info``).

A paho upgrade that renames one of these either fails loudly (a missing field) or quietly
bypasses part of the fast path (a renamed override is never called); until this module is
brought along, ``fast_path=False`` keeps the edge on plain paho.
"""

from __future__ import annotations

import socket
import time
from typing import Any

import paho.mqtt.client as mqtt

_DRAIN_PACKETS = 256  # packets taken from the read-ahead buffer per select()
_PUBACK = 0x40


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


class FastClient(mqtt.Client):
    """paho's client with the read-ahead socket, the lean PUBLISH decode and merged PUBACKs."""

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
