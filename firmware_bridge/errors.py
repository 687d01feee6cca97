"""Bridge failures, one class each; library errors are translated at the transport boundary."""

from __future__ import annotations


class BridgeError(Exception):
    """Base class for firmware-bridge failures."""


class DeviceConfigError(BridgeError):
    """A station config file describes a device the bridge cannot run."""


class PortError(BridgeError):
    """A serial port could not be opened, or vanished (unplugged) while in use."""


class DeviceTimeout(BridgeError):
    """A polled device did not answer in time (or answered with a Modbus exception)."""


class MqttError(BridgeError):
    """The MQTT broker URL is unusable or a publish was refused."""
