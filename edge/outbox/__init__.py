"""Local SQLite store and outbox: lots and their outbox entries written atomically."""

from edge.outbox.queue import OutboxEntry
from edge.outbox.store import EdgeStore, StoredLot

__all__ = ["EdgeStore", "OutboxEntry", "StoredLot"]
