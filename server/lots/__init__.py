"""Lot ingestion, pricing on arrival, listing and review."""
