"""Daily intake aggregates."""
