"""Lot photos from the stations: content-addressed on disk, shown to the lot's cooperative."""
