"""The edge's MQTT link (the only place under ``edge/`` that imports paho)."""

from edge.mqtt.client import MqttLink
from edge.mqtt.models import Inbound, LinkStats

__all__ = ["Inbound", "LinkStats", "MqttLink"]
