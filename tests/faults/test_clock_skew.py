"""The edge's clock hours wrong: four hours behind, then three hours ahead, then right.

The box's wrong clock is what its scale stamps readings with (so the lots'
``captured_at``) and what its sync requests say the time is (the HTTP ``Date`` header);
here both come from a clock offset in the test (``edge.sync.loop``'s ``time`` and the
readings' ``ts_ms``), the rest of the process keeps the true time.

What it proves: no lot is refused or lost for a wrong clock: every lot is stored as sent
(its captured_at the station's), in the order it was weighed (the edge sends by capture
sequence, not by clock: the lots weighed while the clock ran ahead reach the server
before the later ones stamped hours earlier); the server flags the skew: audit entries
``clock_skew`` with the measured seconds (behind, then ahead), ``clock_skew_cleared`` once
the clock is right, and the gauge on /metrics; the totals reconcile.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge.app import EdgeNode
from server.stations.clock import CLOCK_SKEW_LIMIT_S, clock_skew_s, edge_clock
from tests.faults.support import (
    Crates,
    PricedServer,
    edge_lots,
    edge_settings,
    gross_of,
    integrity,
    reconcile,
    wait_for,
)

pytestmark = pytest.mark.mosquitto
STATION = "st-clock"
PHASES = [(-4 * 3600, 15), (3 * 3600, 15), (0, 10)]  # (clock offset s, crates)


class SkewedTime:
    """``time`` with a wall clock ``offset_s`` off; everything else the real module's."""

    def __init__(self) -> None:
        self.offset_s = 0

    def time(self) -> float:
        return time.time() + self.offset_s

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)


def audit(server: PricedServer) -> list[tuple[str, int]]:
    from sqlalchemy import select

    from server.audit.models import AuditEntry
    from server.core.db import make_engine, session_factory

    engine = make_engine(server.db_url)
    try:
        with session_factory(engine)() as s:
            rows = s.scalars(
                select(AuditEntry)
                .where(AuditEntry.action.like("clock_skew%"), AuditEntry.entity_id == STATION)
                .order_by(AuditEntry.id)
            ).all()
            return [(r.action, int(r.detail["skew_s"])) for r in rows]
    finally:
        engine.dispose()


def received(server: PricedServer) -> dict[str, tuple[datetime, datetime]]:
    from sqlalchemy import select

    from server.core.db import make_engine, session_factory
    from server.lots.models import Lot

    engine = make_engine(server.db_url)
    try:
        with session_factory(engine)() as s:
            rows = s.execute(select(Lot.id, Lot.received_at, Lot.captured_at)).all()
            return {str(i): (r, c) for i, r, c in rows}
    finally:
        engine.dispose()


def test_a_wrong_clock_is_flagged_and_loses_nothing(
    mosquitto, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import edge.sync.loop

    clock = SkewedTime()
    monkeypatch.setattr(edge.sync.loop, "time", clock)
    server = PricedServer(tmp_path, station=STATION, farmers=["F001"], in_process=True).start()
    node = EdgeNode(
        edge_settings(tmp_path / "edge", station=STATION, mqtt_url=mosquitto.url, server=server)
    ).start()
    db_path = node.store.path
    t0 = time.monotonic()
    weighed: list[list[str]] = []
    k = 0
    try:
        crates = Crates(node, start_ms=0, gap_ms=1000)
        for offset_s, n in PHASES:
            # The box's clock is set (wrong, then right): its scale's stamps jump with it,
            # its reading sequence goes on.
            clock.offset_s = offset_s
            crates.stream.ts_ms = int(clock.time() * 1000)
            ids = []
            for _ in range(n):
                ids.append(str(crates.weigh(gross_of(k)).id))
                k += 1
            weighed.append(ids)
            wait_for(lambda: node.store.depth()["total"] == 0, 30, f"synced at {offset_s:+d} s")
        metrics = httpx.get(f"{server.url}/metrics", timeout=10).text
        entries = audit(server)
        arrivals = received(server)
    finally:
        node.stop()
        server.stop()
    # Flagged: behind, then ahead, then cleared; each measured to within a minute.
    assert [a for a, _ in entries] == ["clock_skew", "clock_skew", "clock_skew_cleared"]
    for (_, skew), expect in zip(entries, [-4 * 3600, 3 * 3600, 0], strict=True):
        assert abs(skew - expect) <= 60
    gauge = [ln for ln in metrics.splitlines() if ln.startswith("gongfang_station_clock_skew")]
    assert any(f'station="{STATION}"' in ln for ln in gauge)
    # In the order weighed, not by clock: the lots stamped 3 h ahead arrived before the
    # later ones stamped with the true time.
    ahead, right = weighed[1], weighed[2]
    assert max(arrivals[i][0] for i in ahead) <= min(arrivals[i][0] for i in right)
    assert min(arrivals[i][1] for i in ahead) > max(arrivals[i][1] for i in right)
    assert all(  # stored as sent: captured_at is the station's clock
        abs(arrivals[i][1] - arrivals[i][0]) > timedelta(hours=3) for i in weighed[0]
    )
    assert integrity(db_path) == "ok"
    lots = edge_lots(db_path)
    figures = reconcile(server, lots)
    print(  # noqa: T201
        f"clock skew: audit {entries}, {figures}, {time.monotonic() - t0:.1f}s"
    )


def test_without_a_date_header_only_lots_from_the_future_tell() -> None:
    now = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)
    old = [now - timedelta(hours=20)]  # a backlog from a station offline all day
    assert clock_skew_s(received_at=now, edge_now=None, captured=old) is None
    ahead = [now + timedelta(hours=2)]
    assert clock_skew_s(received_at=now, edge_now=None, captured=ahead) == 7200
    near = [now + timedelta(seconds=CLOCK_SKEW_LIMIT_S - 1)]
    assert clock_skew_s(received_at=now, edge_now=None, captured=near) is None
    behind = edge_clock("Wed, 02 Dec 2026 00:00:00 GMT")
    assert clock_skew_s(received_at=now, edge_now=behind, captured=old) == -3600
    assert edge_clock("yesterday") is None
    assert edge_clock(None) is None
