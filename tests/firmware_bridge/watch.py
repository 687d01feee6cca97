"""A test MQTT subscriber that records messages and waits for the one a test expects."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import paho.mqtt.client as mqtt

from gongfang.embedded_broker import parse_mqtt_url


@dataclass(frozen=True)
class Msg:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    at: float  # time.monotonic() on arrival


class Watcher:
    def __init__(self, url: str, topic_filter: str) -> None:
        self.messages: list[Msg] = []
        self._cond = threading.Condition()
        host, port = parse_mqtt_url(url)
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
        subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_connect = lambda c, *a: c.subscribe(topic_filter, qos=1)
        self.client.connect(host, port)
        self.client.loop_start()
        assert subscribed.wait(10), "subscription did not complete"

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.messages.append(
                Msg(msg.topic, bytes(msg.payload), msg.qos, bool(msg.retain), time.monotonic())
            )
            self._cond.notify_all()

    def wait_for(self, pred: Callable[[Msg], bool], timeout_s: float, after: int = 0) -> Msg:
        """The first message (index >= after) satisfying pred, waiting up to timeout_s."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while True:
                for m in self.messages[after:]:
                    if pred(m):
                        return m
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(m.topic, m.payload[:80]) for m in self.messages[-5:]]
                    raise AssertionError(f"no matching message in {timeout_s}s; last: {seen}")
                self._cond.wait(left)

    def wait_until(self, cond: Callable[[list[Msg]], bool], timeout_s: float) -> list[Msg]:
        """Wait until ``cond(all messages so far)`` holds; return a copy of them."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while not cond(self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"condition not met in {timeout_s}s ({len(self.messages)} msgs)"
                    )
                self._cond.wait(left)
            return list(self.messages)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()
