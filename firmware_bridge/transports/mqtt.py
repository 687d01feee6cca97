"""MQTT publishing through paho-mqtt 2, over MQTT 3.1.1 (the embedded amqtt broker
refuses MQTT 5; Mosquitto speaks both). One client per bridged device, so each device's
retained ``offline`` status can be its connection's last will."""

from __future__ import annotations

import logging
import threading
import uuid
from typing import Any

import paho.mqtt.client as mqtt

from firmware_bridge.errors import MqttError
from gongfang.mqtt_setup import MqttClientSetup, MqttEndpoint, MqttSetupError

log = logging.getLogger(__name__)


class MqttPublisher:
    """A paho client with its network loop on a thread; reconnects by itself.

    ``will`` is (topic, payload) published retained at QoS 1 by the broker if this client
    vanishes; ``on_connect`` runs after every (re)connection (to re-announce status).
    """

    def __init__(
        self,
        url: str,
        client_id: str | None = None,
        will: tuple[str, bytes] | None = None,
        on_connect: Any = None,
        endpoint: MqttEndpoint | None = None,
    ) -> None:
        try:
            self.endpoint = endpoint or MqttEndpoint.from_url(url)
        except MqttSetupError as exc:
            raise MqttError(str(exc)) from exc
        self.host, self.port = self.endpoint.host, self.endpoint.port
        self.url = self.endpoint.describe()
        self._client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id or f"gf-bridge-{uuid.uuid4().hex[:8]}",
            protocol=mqtt.MQTTv311,
            clean_session=True,
        )
        MqttClientSetup(self.endpoint).configure(self._client)
        self._client.max_queued_messages_set(10_000)
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        if will is not None:
            self._client.will_set(will[0], will[1], qos=1, retain=True)
        self._user_on_connect = on_connect
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self.connected = threading.Event()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        if rc.is_failure:
            log.warning("MQTT 连接被拒绝 / MQTT connect refused by %s: %s", self.url, rc)
            return
        self.connected.set()
        log.debug("MQTT 已连接 / MQTT connected to %s", self.url)
        if self._user_on_connect is not None:
            self._user_on_connect()

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any
    ) -> None:
        self.connected.clear()
        if rc.is_failure:
            log.warning(
                "MQTT 连接断开，将重连 / MQTT disconnected from %s (%s), reconnecting", self.url, rc
            )

    def start(self, wait_s: float | None = None) -> MqttPublisher:
        """Connect in the background; optionally wait until connected."""
        self._client.connect_async(self.host, self.port, keepalive=15)
        self._client.loop_start()
        if wait_s is not None and not self.connected.wait(wait_s):
            raise MqttError(f"MQTT 连接超时 / cannot reach the MQTT broker at {self.url}")
        return self

    def publish(
        self, topic: str, payload: bytes, qos: int = 0, retain: bool = False
    ) -> mqtt.MQTTMessageInfo:
        """Queue one message (QoS 1 messages wait in paho's queue while disconnected)."""
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.warning(
                "MQTT 发布失败 / publish to %s failed: %s", topic, mqtt.error_string(info.rc)
            )
        return info

    def stop(self) -> None:
        """Disconnect cleanly: the broker does not send the last will. Callers wait for
        their last QoS 1 message (``info.wait_for_publish``) first if it matters."""
        try:
            self._client.disconnect()
        finally:
            self._client.loop_stop()
