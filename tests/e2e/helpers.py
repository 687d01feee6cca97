"""Helpers for whole-system edge tests: a paho test client, polling, synthetic frames."""

from __future__ import annotations

import json
import queue
import time
import uuid
from collections.abc import Callable
from typing import Any

import numpy as np
import paho.mqtt.client as mqtt

from gongfang.embedded_broker import parse_mqtt_url


def wait_for(predicate: Callable[[], Any], timeout_s: float = 10.0, poll_s: float = 0.02) -> Any:
    """Poll until ``predicate()`` is truthy; return its value or fail with a clear message."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s}s")
        time.sleep(poll_s)


class TestClient:
    """A paho client that publishes and collects messages of the topics it subscribed to."""

    __test__ = False  # not a pytest class

    def __init__(self, url: str, subscribe: list[str] | None = None) -> None:
        host, port = parse_mqtt_url(url)
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._c = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}"
        )
        subscribed = {"n": 0}

        def on_connect(c: Any, u: Any, f: Any, rc: Any, p: Any = None) -> None:
            for t in subscribe or []:
                c.subscribe(t, qos=1)

        def on_subscribe(*a: Any) -> None:
            subscribed["n"] += 1

        self._c.on_connect = on_connect
        self._c.on_subscribe = on_subscribe
        self._c.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))
        self._c.connect(host, port)
        self._c.loop_start()
        wait_for(lambda: subscribed["n"] >= len(subscribe or []) and self._c.is_connected())

    def publish(self, topic: str, payload: bytes | str | dict[str, Any], qos: int = 0) -> None:
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        info = self._c.publish(topic, payload, qos=qos)
        if qos:
            info.wait_for_publish(5)

    def take(self, n: int, timeout_s: float = 10.0) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = []
        deadline = time.monotonic() + timeout_s
        while len(out) < n:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"got {len(out)} of {n} messages")
            topic, payload = self.messages.get(timeout=left)
            out.append((topic, json.loads(payload)))
        return out

    def close(self) -> None:
        self._c.loop_stop()
        self._c.disconnect()


def synthetic_frame(seed: int = 0) -> bytes:
    """A camera frame: the project's rendered grading-table photo of strawberries (with the
    ArUco marker), as the station simulator sends it."""
    from models.render.strawberry import render_table_photo

    photo = render_table_photo(np.random.default_rng(seed), n_fruit=4, size=(1280, 960))
    return bytes(photo.jpeg(85))
