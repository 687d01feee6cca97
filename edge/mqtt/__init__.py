"""The edge's MQTT link (the only place under ``edge/`` that imports paho)."""

from edge.mqtt.client import Inbound, LinkStats, MqttLink

__all__ = ["Inbound", "LinkStats", "MqttLink"]
