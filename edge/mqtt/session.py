"""The edge's paho client, made and connected for a persistent session.

A fixed client id with a persistent session (MQTT 5: clean start off and a session expiry;
MQTT 3.1.1: clean session off), so QoS 1 messages published while the edge is away are
delivered when it reconnects; manual acknowledgements (the link acknowledges after
handling); the retained "offline" status as the last will. Address, TLS and sign-in are
:class:`gongfang.mqtt_setup.MqttClientSetup`'s, as for the bridge.
"""

from __future__ import annotations

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from edge.mqtt._paho_fast import FastClient
from gongfang.mqtt_setup import MqttClientSetup, MqttEndpoint

SESSION_EXPIRY_S = 7 * 24 * 3600  # keep the edge's session (and its queued QoS 1) a week
RECEIVE_MAXIMUM = 100  # unacknowledged QoS 1 deliveries the broker may have out to us (MQTT 5)
MAX_INFLIGHT = 100  # our own unacknowledged QoS 1 publishes
MAX_QUEUED = 10_000  # outgoing while disconnected, then dropped


def new_client(
    *,
    client_id: str,
    protocol: mqtt.MQTTProtocolVersion,
    endpoint: MqttEndpoint,
    backoff: tuple[float, float],
    status_topic: str,
    fast_path: bool = True,
) -> mqtt.Client:
    """A paho client for ``protocol`` (``mqtt.MQTTv5`` or ``MQTTv311``), not yet connected:
    :class:`edge.mqtt._paho_fast.FastClient`, or plain paho without ``fast_path``."""
    v5 = protocol == mqtt.MQTTv5
    client = (FastClient if fast_path else mqtt.Client)(
        mqtt.CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=protocol,
        clean_session=None if v5 else False,
        manual_ack=True,
    )
    MqttClientSetup(endpoint).configure(client)
    client.reconnect_delay_set(*backoff)  # type: ignore[arg-type]  # floats work
    client.max_inflight_messages_set(MAX_INFLIGHT)
    client.max_queued_messages_set(MAX_QUEUED)
    client.will_set(status_topic, "offline", qos=1, retain=True)
    return client


def connect(
    client: mqtt.Client,
    endpoint: MqttEndpoint,
    *,
    protocol: mqtt.MQTTProtocolVersion,
    keepalive_s: int,
) -> None:
    """Connect in the background (paho reconnects by itself) and start paho's thread."""
    if protocol == mqtt.MQTTv5:
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S
        props.ReceiveMaximum = RECEIVE_MAXIMUM
        client.connect_async(
            endpoint.host, endpoint.port, keepalive_s, clean_start=False, properties=props
        )
    else:
        client.connect_async(endpoint.host, endpoint.port, keepalive_s)
    client.loop_start()
