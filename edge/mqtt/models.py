"""The shapes the MQTT link hands out (:class:`Inbound`, :class:`LinkStats`), the one it
queues between paho's network thread and its dispatcher (:class:`Queued`) and its running
:class:`Counters`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gongfang import wire


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
class Queued:
    """A message as paho delivered it, waiting for the dispatcher."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    generation: int  # which connection delivered it: only that one may acknowledge it
    received_ms: int


@dataclass(slots=True)
class Counters:
    """The link's running counts. Each is written by one thread only (network or
    dispatcher), except ``publish_errors``, which any publishing thread bumps (an
    approximate figure)."""

    received: int = 0
    handled: int = 0
    bad: int = 0
    bad_by_kind: dict[str, int] = field(default_factory=dict)
    handler_errors: int = 0
    connects: int = 0
    publish_errors: int = 0
    last_bad: tuple[str, str] | None = None

    def count_bad(self, topic: str, kind: str, reason: str) -> None:
        self.bad += 1
        self.bad_by_kind[kind] = self.bad_by_kind.get(kind, 0) + 1
        self.last_bad = (topic, reason)

    def snapshot(self, *, connected: bool, protocol: str, queue_depth: int) -> LinkStats:
        return LinkStats(
            connected=connected,
            protocol=protocol,
            received=self.received,
            handled=self.handled,
            bad_payloads=self.bad,
            bad_by_kind=dict(self.bad_by_kind),
            handler_errors=self.handler_errors,
            connects=self.connects,
            reconnects=max(0, self.connects - 1),
            last_bad=self.last_bad,
            queue_depth=queue_depth,
            publish_errors=self.publish_errors,
        )
