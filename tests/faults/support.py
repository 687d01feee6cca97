"""What every fault test shares: the real server with a priced contract, an edge node fed
crates of known weights, and the end-of-test reconciliation (none lost, none doubled, the
money adding up everywhere it is counted)."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from edge.app import EdgeNode
from edge.mqtt.models import Inbound
from gongfang import wire
from gongfang.settings import EdgeLane, EdgeSettings
from tests.e2e.helpers import wait_for as poll
from tests.e2e.real_server import RealServer
from tests.e2e.scale_stream import ScaleStream

LANE, FARMER, TARE_G = "lane1", "F001", 500
# Floor prices only (no market price needed): every lot is priced, so the totals that are
# reconciled are real money, not zeros.
FLOOR_FEN_PER_KG = {"extra": 3400, "class_i": 2600, "class_ii": 1800}
REJECT_FEN_PER_KG = 400


def gross_of(k: int) -> int:
    """Crate ``k``'s gross grams: distinct per crate, so a doubled lot shows as a repeat."""
    return 5000 + 37 * k


class PricedServer(RealServer):
    """:class:`RealServer` whose farmers hold a contract with floor prices for all dates.

    ``in_process=True``: the same app (``server.main.create_app``) served by uvicorn on a
    thread of the test process, which starts in a fraction of the child's time; for the
    tests that need not kill the server (its /metrics are then shared by those tests).
    """

    def __init__(
        self, workdir: Path, *, station: str, farmers: list[str], in_process: bool = False
    ) -> None:
        super().__init__(workdir, station=station, farmers=farmers)
        self.in_process = in_process
        self._uvicorn: Any = None
        self._thread: threading.Thread | None = None
        self._app: Any = None

    def start(self, timeout_s: float = 30.0) -> PricedServer:
        if not self.in_process:
            super().start(timeout_s)
            return self
        import uvicorn

        from gongfang.settings import ServerSettings
        from server.main import create_app

        self._app = create_app(
            ServerSettings.load(
                database_url=self.db_url,
                dev_mode=True,
                photos_dir=Path(self.env["GONGFANG_SERVER_PHOTOS_DIR"]),
            )
        )
        config = uvicorn.Config(self._app, host="127.0.0.1", port=self.port, log_level="warning")
        self._uvicorn = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._uvicorn.run, daemon=True)
        self._thread.start()
        wait_for(lambda: self._uvicorn.started, timeout_s, "in-process server started")
        return self

    def stop(self) -> None:
        if not self.in_process:
            super().stop()
            return
        if self._uvicorn is not None and self._thread is not None:
            self._uvicorn.should_exit = True
            self._thread.join(15)
            self._app.state.engine.dispose()
        self._uvicorn = self._thread = None

    def bundle(self, station: str, farmers: list[str]) -> dict[str, Any]:
        return {
            **super().bundle(station, farmers),
            "contracts": [
                {
                    "id": f"K-{f}",
                    "farmer": f,
                    "product": "strawberry",
                    "signed_on": "2020-01-01",
                    "valid_from": "2020-01-01",
                    "valid_to": "2099-12-31",
                    "floor_fen_per_kg": FLOOR_FEN_PER_KG,
                    "premium_pct": "20",
                    "quota_g": None,
                    "reject_fen_per_kg": REJECT_FEN_PER_KG,
                }
                for f in farmers
            ],
        }


def edge_settings(
    data_dir: Path, *, station: str, mqtt_url: str, server: RealServer, **over: Any
) -> EdgeSettings:
    """A one-lane edge that syncs fast (small batches, short back-off) to ``server``."""
    args: dict[str, Any] = {
        "station": station,
        "mqtt_url": mqtt_url,
        "server_url": server.url,
        "api_key": server.api_key,
        "data_dir": data_dir,
        "http_enabled": False,
        "receipts_enabled": False,
        "lanes": [EdgeLane(id=LANE, tare_g=TARE_G, cold_room="room1")],
        "stable_window_ms": 300,
        "sync_interval_s": 0.05,
        "sync_batch_size": 50,
        "sync_max_backoff_s": 0.5,
        "sync_timeout_s": 5.0,
        **over,
    }
    return EdgeSettings.load(**args)


class Crates:
    """Feeds a node's lane crates of known weights (scale readings straight into
    :meth:`EdgeNode.handle`, as the MQTT thread would) and grades each by hand."""

    def __init__(self, node: EdgeNode, *, start_ms: int, gap_ms: int = 0) -> None:
        self.node = node
        self.topic = wire.Topic(wire.TopicKind.SCALE_READING, node.settings.station, LANE)
        self.stream = ScaleStream(start_ms=start_ms, zero_noise_g=0)
        self.gap_ms = gap_ms
        self._off: list[Any] = []
        node.station.select_farmer(LANE, FARMER, operator="tester")

    def put(self, gross_g: int) -> None:
        """Put a crate on and take it off; what settles becomes a pending lot."""
        self.load(gross_g)
        self.unload()

    def load(self, gross_g: int) -> None:
        """Put a crate on and let it settle (it stays on the scale until :meth:`unload`)."""
        samples = list(self.stream.crate(gross_g, settle_ms=500, noise_g=0))
        on, self._off = samples[:10], samples[10:]  # 5 ramp + 5 settled readings
        self._feed(on)

    def unload(self) -> None:
        self._feed(self._off)
        self.stream.ts_ms += self.gap_ms

    def _feed(self, samples: list[Any]) -> None:
        for s in samples:
            reading = wire.ScaleReading(ts_ms=s.ts_ms, gross_g=s.gross_g, seq=s.seq)
            self.node.handle(Inbound(topic=self.topic, payload=reading, received_ms=s.ts_ms))

    def grade(self) -> wire.LotRecord:
        """The operator's grade for the lane's oldest pending lot (stored, or StoreError)."""
        return self.node.station.override(
            LANE, grade=wire.Grade.CLASS_I, reason="fault test", operator="tester"
        )

    def weigh(self, gross_g: int) -> wire.LotRecord:
        self.put(gross_g)
        return self.grade()


def wait_for(predicate: Any, timeout_s: float, what: str) -> Any:
    """:func:`tests.e2e.helpers.wait_for`, its failure saying what was awaited."""
    try:
        return poll(predicate, timeout_s, poll_s=0.05)
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from None


def edge_lots(db_path: Path) -> dict[str, int]:
    """lot id → gross grams of every lot in an edge database (opened read-only)."""
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT id, json_extract(record, '$.gross_g') FROM lots").fetchall()
        return {str(i): int(g) for i, g in rows}
    finally:
        db.close()


def integrity(db_path: Path) -> str:
    db = sqlite3.connect(db_path)
    try:
        return str(db.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        db.close()


@dataclass(frozen=True)
class Reconciled:
    lots: int
    net_g: int
    amount_fen: int


def reconcile(server: RealServer, expected: dict[str, int]) -> Reconciled:
    """The server holds exactly the lots ``expected`` (id → gross g; none lost, none
    doubled, the weights the edge recorded) and its money adds up: the sum over the lots'
    amounts = the stored daily aggregates = the aggregates recounted from the raw lots."""
    from sqlalchemy import func, select

    from server.aggregates.service import recount, stored, totals
    from server.core.db import make_engine, session_factory
    from server.lots.models import Lot

    lots = server.lots()
    got = {lot_id: gross for lot_id, gross, _, _ in lots}
    assert len(got) == len(lots), "a lot id twice on the server"
    missing, extra = set(expected) - set(got), set(got) - set(expected)
    assert not missing, f"{len(missing)} lots lost"
    assert not extra, f"{len(extra)} lots the edge never recorded"
    assert got == expected, "a lot's weight differs between the edge and the server"
    grosses = sorted(expected.values())
    assert len(set(grosses)) == len(grosses), "a crate recorded as two lots"
    assert all(t == TARE_G and n == g - TARE_G for _, g, t, n in lots)

    engine = make_engine(server.db_url)
    try:
        with session_factory(engine)() as s:
            priced = s.execute(select(Lot.grade, Lot.net_g, Lot.amount_fen)).all()
            assert all(a is not None for _, _, a in priced), "every lot priced by contract"
            lots_total = sum(a or 0 for _, _, a in priced)
            # No market price: the floor of the lot's grade (等外: the reject price), and
            # round_half_up(net × unit / 1000) fen a lot.
            units = {**FLOOR_FEN_PER_KG, "reject": REJECT_FEN_PER_KG}
            assert lots_total == sum((n * units[g] + 500) // 1000 for g, n, _ in priced)
            unpriced = s.scalar(select(func.count()).where(Lot.amount_fen.is_(None)))
            assert unpriced == 0
            rows = totals(session=s, first_day=date(2000, 1, 1), last_day=date(2100, 1, 1))
            assert sum(r.lots for r in rows) == len(expected)
            assert sum(r.amount_fen for r in rows) == lots_total
            net = sum(r.net_g for r in rows)
            assert net == sum(g - TARE_G for g in expected.values())
            again = recount(session=s)
            assert stored(session=s) == again, "stored aggregates ≠ recounted from lots"
            assert sum(v.amount_fen for v in again.values()) == lots_total
    finally:
        engine.dispose()
    return Reconciled(len(expected), net, lots_total)
