"""Edge-node failures, one class per kind; messages are Chinese first, then English."""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every edge-node failure."""


class StoreError(EdgeError):
    """The local SQLite store cannot be opened or written."""


class StoreFullError(StoreError):
    """The disk (or the database's size limit) is full: nothing of the write was kept."""


class WorkflowError(EdgeError):
    """An operator action does not fit the lane's state (no lot waiting, unknown lane…)."""


class UnknownLaneError(WorkflowError):
    def __init__(self, lane: str) -> None:
        super().__init__(f"未知的工位 / unknown lane: {lane!r}")
        self.lane = lane


class NoPendingLotError(WorkflowError):
    def __init__(self, lane: str) -> None:
        super().__init__(f"该工位没有待确认的批次 / no lot waiting on lane {lane!r}")
        self.lane = lane


class SyncError(EdgeError):
    """The server could not be reached or answered with a retryable failure."""


class ServerUnreachableError(SyncError):
    """Connection refused, timed out or dropped: the station is offline."""


class SyncAuthError(SyncError):
    """The server refused the station's API key (401/403)."""


class ReceiptError(EdgeError):
    """A receipt could not be rendered or printed."""


class StockError(EdgeError):
    """A stock movement that cannot be made: more than the lot holds in that room, a lot
    put away twice, a move into the room it is in…"""


class StockNotFoundError(StockError):
    """The lot, or the room, is not known at this station."""
