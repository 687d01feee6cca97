"""Edge → server sync: the outbox drained over HTTP, the station directory cached."""

from edge.sync.loop import SyncConfig, SyncLoop, SyncState, cached_directory

__all__ = ["SyncConfig", "SyncLoop", "SyncState", "cached_directory"]
