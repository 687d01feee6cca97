"""Local SQLite store and outbox: lots and their outbox entries written atomically."""

from edge.outbox.store import EdgeStore, OutboxEntry, StoredLot

__all__ = ["EdgeStore", "OutboxEntry", "StoredLot"]
