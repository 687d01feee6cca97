"""Prometheus metrics (one registry per process, served at ``/metrics``)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

HTTP_REQUESTS = Counter(
    "gongfang_http_requests_total",
    "HTTP requests by method, route and status",
    ["method", "route", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "gongfang_http_request_seconds",
    "HTTP request duration by route",
    ["route"],
    registry=REGISTRY,
)
SYNC_LOTS = Counter(
    "gongfang_sync_lots_total", "Lots received from edges, by result", ["result"], registry=REGISTRY
)
LOTS_REFUSED = Counter(
    "gongfang_lots_refused_total", "Lots refused at ingestion, by reason", ["reason"],
    registry=REGISTRY,
)
PAYOUT_RUNS = Counter(
    "gongfang_payout_runs_total", "Payout run state changes", ["action"], registry=REGISTRY
)
CLOCK_SKEW = Gauge(
    "gongfang_station_clock_skew_seconds",
    "A station's clock minus the server's at its last sync (positive: ahead)",
    ["station"],
    registry=REGISTRY,
)
