"""MQTT topic names under ``gf/v1/{station}`` (DESIGN.md, "Wire contracts") and their parser."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PREFIX = "gf/v1"


class TopicKind(StrEnum):
    SCALE_READING = "scale_reading"
    SCANNER_CODE = "scanner_code"
    CLIMATE = "climate"
    DOOR = "door"
    CAMERA_FRAME = "camera_frame"
    DEVICE_STATUS = "device_status"
    EDGE_STATUS = "edge_status"
    EDGE_LOT = "edge_lot"
    EDGE_ALARM = "edge_alarm"


@dataclass(frozen=True, slots=True)
class Topic:
    """A parsed topic: its kind, station and the id of the scale/room/lane/device."""

    kind: TopicKind
    station: str
    ident: str | None = None


class Topics:
    """Topic names for one station (``+`` works as a wildcard station or id)."""

    def __init__(self, station: str) -> None:
        self.station = station
        self.base = f"{PREFIX}/{station}"

    def scale_reading(self, scale: str = "+") -> str:
        return f"{self.base}/scale/{scale}/reading"

    def scanner_code(self, lane: str = "+") -> str:
        return f"{self.base}/scanner/{lane}/code"

    def climate(self, room: str = "+") -> str:
        return f"{self.base}/coldroom/{room}/climate"

    def door(self, room: str = "+") -> str:
        return f"{self.base}/coldroom/{room}/door"

    def camera_frame(self, lane: str = "+") -> str:
        return f"{self.base}/camera/{lane}/frame"

    def device_status(self, device: str = "+") -> str:
        return f"{self.base}/device/{device}/status"

    @property
    def edge_status(self) -> str:
        return f"{self.base}/edge/status"

    @property
    def edge_lot(self) -> str:
        return f"{self.base}/edge/lot"

    @property
    def edge_alarm(self) -> str:
        return f"{self.base}/edge/alarm"

    def subscriptions(self) -> list[tuple[str, int]]:
        """(filter, QoS) pairs an edge node subscribes to, QoS as in DESIGN.md."""
        return [
            (self.scale_reading(), 0),
            (self.scanner_code(), 1),
            (self.climate(), 1),
            (self.door(), 1),
            (self.camera_frame(), 1),
            (self.device_status(), 1),
        ]


_KINDS_BY_SHAPE: dict[tuple[str, str], TopicKind] = {
    ("scale", "reading"): TopicKind.SCALE_READING,
    ("scanner", "code"): TopicKind.SCANNER_CODE,
    ("coldroom", "climate"): TopicKind.CLIMATE,
    ("coldroom", "door"): TopicKind.DOOR,
    ("camera", "frame"): TopicKind.CAMERA_FRAME,
    ("device", "status"): TopicKind.DEVICE_STATUS,
}
_EDGE_KINDS = {
    "status": TopicKind.EDGE_STATUS,
    "lot": TopicKind.EDGE_LOT,
    "alarm": TopicKind.EDGE_ALARM,
}


def parse_topic(topic: str) -> Topic | None:
    """Parse a gongfang topic name; ``None`` if it is not one of ours."""
    parts = topic.split("/")
    if len(parts) < 5 or f"{parts[0]}/{parts[1]}" != PREFIX:
        return None
    station = parts[2]
    if len(parts) == 5 and parts[3] == "edge":
        edge_kind = _EDGE_KINDS.get(parts[4])
        return None if edge_kind is None else Topic(edge_kind, station)
    if len(parts) == 6:
        kind = _KINDS_BY_SHAPE.get((parts[3], parts[5]))
        return None if kind is None else Topic(kind, station, parts[4])
    return None
