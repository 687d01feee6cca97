"""Cooperatives, stations, API keys and the edge sync endpoint."""
