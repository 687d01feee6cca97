"""A simulated day's messages, and publishing them onto a broker paced in real time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Event:
    """One message in simulated time."""

    t_ms: int
    topic: str
    payload: bytes
    qos: int
    retain: bool
    kind: str  # scale, scanner, camera, climate, door, device_status
    garbled: bool = False  # a corrupted payload (the "garbled" fault)


@dataclass
class SimulationSummary:
    """What a run sent."""

    station: str
    seed: int
    messages: int = 0
    bytes: int = 0
    by_kind: Counter[str] = field(default_factory=Counter)
    farmers: int = 0
    crates: int = 0
    gross_g: int = 0
    simulated_s: float = 0.0
    wall_s: float = 0.0
    faults: list[str] = field(default_factory=list)
    camera: str = "rendered"  # or "placeholder" when models.render is unavailable
    garbled: int = 0


def publish_paced(
    events: Iterable[Event],
    *,
    mqtt_url: str,
    client_id: str,
    speed: float,
    stop_event: threading.Event,
    summary: SimulationSummary,
    on_event: Callable[[Event], None] | None = None,
) -> int:
    """Publish ``events`` ``speed`` times faster than their simulated times (0: as fast as
    possible), counted in ``summary``; stops early once ``stop_event`` is set.

    QoS 1 messages still unacknowledged at the end get up to 5 s each before the client
    disconnects. Returns the simulated time (ms) of the last event sent.
    """
    from firmware_bridge.transports.mqtt import MqttPublisher

    publisher = MqttPublisher(mqtt_url, client_id=client_id)
    publisher.start(wait_s=10)
    wall0 = time.monotonic()
    pending: list[Any] = []
    last_t = 0
    try:
        for ev in events:
            if speed > 0:
                due = wall0 + ev.t_ms / 1000 / speed
                delay = due - time.monotonic()
                if delay > 0 and stop_event.wait(delay):
                    break
            if stop_event.is_set():
                break
            info = publisher.publish(ev.topic, ev.payload, qos=ev.qos, retain=ev.retain)
            if ev.qos:
                pending.append(info)
                if len(pending) > 1000:
                    pending = [p for p in pending if not p.is_published()]
            _count(summary, ev)
            last_t = ev.t_ms
            if on_event is not None:
                on_event(ev)
        for info in pending:
            if not info.is_published():
                info.wait_for_publish(5)
    finally:
        publisher.stop()
    summary.simulated_s = last_t / 1000
    summary.wall_s = time.monotonic() - wall0
    return last_t


def _count(summary: SimulationSummary, ev: Event) -> None:
    summary.messages += 1
    summary.bytes += len(ev.payload)
    summary.by_kind[ev.kind] += 1
    summary.garbled += ev.garbled
