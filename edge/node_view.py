"""``NodeView``: what the operator API (:mod:`edge.station.api`) and the console
(:mod:`edge.console`) use of the edge node.

They are typed against this protocol, not :class:`edge.app.EdgeNode`, so the node can
build its HTTP app without the app's modules importing the node back (no import circle);
mypy checks that ``EdgeNode`` satisfies it where the node hands itself to the HTTP app.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from edge.outbox.store import EdgeStore
from edge.station.directory import Directory
from edge.station.photos import PhotoStore
from edge.station.workflow import Station
from edge.stock.service import StockService
from gongfang import wire
from gongfang.settings import EdgeSettings


class NodeView(Protocol):
    """The running node as its HTTP side sees it (read-only attributes, a few actions)."""

    @property
    def settings(self) -> EdgeSettings: ...

    @property
    def data_dir(self) -> Path: ...

    @property
    def store(self) -> EdgeStore: ...

    @property
    def station(self) -> Station: ...

    @property
    def directory(self) -> Directory: ...

    @property
    def photos(self) -> PhotoStore | None: ...

    @property
    def stock(self) -> StockService: ...

    def status(self) -> dict[str, Any]:
        """Everything the operator console shows (plain JSON types)."""
        ...

    def wake_sync(self) -> None: ...

    def reprint_receipt(self, lot_id: str) -> bool: ...

    def receipt_paths(self, lot: wire.LotRecord) -> tuple[Path, Path]: ...

    def lot_stay(self, lot_id: str) -> dict[str, Any] | None: ...

    def dispatch_lot(self, lot_id: str) -> dict[str, Any] | None: ...

    def ack_alarm(self, alarm_id: str, operator: str) -> wire.AlarmRecord | None: ...
