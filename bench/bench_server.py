"""Server benchmark (acceptance 5 of issue 3). Prints one JSON document.

For SQLite and PostgreSQL (a throwaway cluster from tests.services.Postgres, which runs
with fsync off like the test suite):
- ingestion: lots/s through ``POST /api/v1/sync`` (batches of 500: an in-process client,
  then a real uvicorn server with 1 and 2 workers and as many concurrent clients) and
  through the service alone; baseline: a raw INSERT of equivalent rows, same batches;
- payout run over 1,000,000 lots of 10,000 farmers (bulk-loaded with SQL, then timed:
  the draft with its lines); baseline: a plain GROUP BY farmer over the same lots; the
  approval (copying the lots into paid_lots) is timed too;
- aggregate query over 90 days (stored daily aggregates); baseline: the same figures
  recounted from the raw lots.
Targets (issue 3): ingestion ≥ 5,000 lots/s on PostgreSQL, payout run ≤ 15 s, aggregate
query ≤ 50 ms.

Run: ``.venv/bin/python -m bench.bench_server [--lots 1000000|0] [--only sqlite]``
(``--lots 0``: ingestion only). Bodies are serialised before the clock starts, so the
figures measure the server. The JSON carries the load average at start and end: the
machine may be shared, and the ratios against the raw INSERT measured in the same run are
the comparable figures. The world it loads (farmers, contracts, bulk SQL, lot bodies) is
bench/server_fixtures.py; the uvicorn runs are bench/uvicorn_ingest.py.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from bench.server_fixtures import (
    BATCH,
    DAYS,
    FARMERS,
    FIELD_KEY,
    PG_BULK,
    REBUILD_AGG,
    SECRET,
    SQLITE_BULK,
    lot_bodies,
    seed,
)
from bench.uvicorn_ingest import bench_uvicorn


def bench_ingestion(url: str, factory: Any, n_batches: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from gongfang.settings import ServerSettings
    from gongfang.wire import LotRecord
    from server.core.db import session_scope
    from server.lots.models import Lot
    from server.lots.service import ingest_lots
    from server.main import create_app, freeze_startup_objects
    from server.stations.service import issue_station_key

    with session_scope(factory) as s:
        key = issue_station_key(session=s, station_id="s0")
    app = create_app(
        ServerSettings.load(
            database_url=url, secret_key=SECRET, auto_migrate=False, field_key=FIELD_KEY
        )
    )
    freeze_startup_objects()  # as a server process does (server.main.serve_app)
    out: dict[str, Any] = {}
    with TestClient(app) as client:
        bodies = [
            json.dumps({"station": "s0", "lots": b}).encode()
            for b in lot_bodies(n_batches, datetime(2026, 4, 1, 1, tzinfo=UTC), 1)
        ]
        t0 = time.perf_counter()
        for body in bodies:
            res = client.post(
                "/api/v1/sync",
                content=body,
                headers={"X-Api-Key": key, "Content-Type": "application/json"},
            )
            assert res.status_code == 200, res.text
        http_s = time.perf_counter() - t0
        # Re-sending everything: all duplicates (the idempotent path).
        t0 = time.perf_counter()
        for body in bodies[:4]:
            res = client.post(
                "/api/v1/sync",
                content=body,
                headers={"X-Api-Key": key, "Content-Type": "application/json"},
            )
            assert all(a["result"] == "duplicate" for a in res.json()["lots"])
        dup_s = time.perf_counter() - t0
    app.state.engine.dispose()
    records = [
        [LotRecord.model_validate(x) for x in b]
        for b in lot_bodies(n_batches, datetime(2026, 5, 1, 1, tzinfo=UTC), 2)
    ]
    t0 = time.perf_counter()
    for batch in records:
        with session_scope(factory) as s:
            ingest_lots(session=s, lots=batch)
    service_s = time.perf_counter() - t0
    # Baseline: the same number of rows, already priced, inserted raw in the same batches.
    raw_batches = []
    for b in lot_bodies(n_batches, datetime(2026, 6, 1, 1, tzinfo=UTC), 3):
        rows = []
        for x in b:
            rows.append(
                {
                    "id": uuid.UUID(x["id"]),
                    "station_id": "s0",
                    "farmer_id": x["farmer"],
                    "cooperative_id": "bench",
                    "product": "strawberry",
                    "grade": x["grade"],
                    "gross_g": x["gross_g"],
                    "tare_g": x["tare_g"],
                    "net_g": x["net_g"],
                    "graded_by": x["graded_by"],
                    "items": [],
                    "image_hashes": [],
                    "captured_at": datetime.fromisoformat(x["captured_at"]),
                    "intake_date": date(2026, 6, 1),
                    "content_hash": "0" * 64,
                    "received_at": datetime.now(UTC),
                    "contract_id": None,
                    "status": "unpriced",
                    "amount_fen": None,
                }
            )
        raw_batches.append(rows)
    t0 = time.perf_counter()
    for rows in raw_batches:
        with session_scope(factory) as s:
            s.execute(insert(Lot), rows)
    raw_s = time.perf_counter() - t0
    n = n_batches * BATCH
    out["lots"] = n
    out["http_lots_per_s"] = round(n / http_s)  # in-process TestClient, one request at a time
    out["service_lots_per_s"] = round(n / service_s)
    out["duplicate_resend_lots_per_s"] = round(4 * BATCH / dup_s)
    out["baseline_raw_insert_lots_per_s"] = round(n / raw_s)
    out["ratio_http_to_raw_insert"] = round(raw_s / http_s, 3)
    out["ratio_service_to_raw_insert"] = round(raw_s / service_s, 3)
    return out


def bench_payout_and_aggregates(url: str, factory: Any, engine: Any, n_lots: int) -> dict[str, Any]:
    from server.aggregates.service import query, totals
    from server.core.db import session_scope
    from server.lots.models import Lot
    from server.payouts.queries import get_run, summarize
    from server.payouts.service import approve, create_run

    out: dict[str, Any] = {}
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            text(PG_BULK if engine.dialect.name == "postgresql" else SQLITE_BULK), {"n": n_lots}
        )
        conn.execute(text("DELETE FROM daily_aggregates"))
        conn.execute(text(REBUILD_AGG))
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    out["bulk_load_s"] = round(time.perf_counter() - t0, 2)
    first, last = date(2026, 1, 1), date(2026, 3, 31)

    # Baseline: a plain GROUP BY farmer over the same lots (nothing materialised).
    t0 = time.perf_counter()
    with factory() as s:
        rows = s.execute(
            select(Lot.farmer_id, func.count(), func.sum(Lot.net_g), func.sum(Lot.amount_fen))
            .where(Lot.cooperative_id == "bench", Lot.status == "priced", Lot.intake_date <= last)
            .group_by(Lot.farmer_id)
        ).all()
    baseline_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    with session_scope(factory) as s:
        run = create_run(
            session=s, cooperative_id="bench", period_from=first, period_to=last, actor="bench"
        )
        summary = summarize(session=s, run=run)
    run_s = time.perf_counter() - t0
    assert len(summary.lines) == len(rows) == FARMERS
    assert sum(line.amount_fen for line in summary.lines) == sum(int(r[3]) for r in rows)
    t0 = time.perf_counter()
    with session_scope(factory) as s:
        # Four-eyes: another reviewer than the run's creator approves it.
        approve(session=s, run=get_run(session=s, run_id=run.id), actor="bench-approver")
    approve_s = time.perf_counter() - t0
    out["payout_run"] = {
        "lots": sum(line.lots for line in summary.lines),
        "farmers": len(summary.lines),
        "run_s": round(run_s, 2),
        "target_s": 15,
        "baseline_group_by_s": round(baseline_s, 2),
        "ratio_to_baseline": round(run_s / baseline_s, 2),
        "approve_s": round(approve_s, 2),
        "approve_note": "approval copies the 1M lots into paid_lots (no stated target)",
    }

    def timed(fn: Any, reps: int = 15) -> float:
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            with factory() as s:
                fn(s)
            times.append(time.perf_counter() - t)
        return statistics.median(times)

    station_q = timed(
        lambda s: query(session=s, first_day=first, last_day=last, station_ids=["s7"])
    )
    all_rows_q = timed(lambda s: query(session=s, first_day=first, last_day=last), reps=5)
    totals_q = timed(lambda s: totals(session=s, first_day=first, last_day=last))
    recount_s = timed(
        lambda s: s.execute(
            select(
                Lot.station_id,
                Lot.product,
                Lot.grade,
                func.count(),
                func.sum(Lot.net_g),
                func.sum(Lot.amount_fen),
            )
            .where(Lot.intake_date >= first, Lot.intake_date <= last)
            .group_by(Lot.station_id, Lot.product, Lot.grade)
        ).all(),
        reps=3,
    )
    out["aggregate_query_90d"] = {
        "one_station_daily_rows_ms": round(station_q * 1000, 2),
        "all_stations_daily_rows_ms": round(all_rows_q * 1000, 2),
        "all_stations_totals_ms": round(totals_q * 1000, 2),
        "target_ms": 50,
        "baseline_recount_from_lots_ms": round(recount_s * 1000, 1),
        "ratio_totals_to_recount": round(totals_q / recount_s, 4),
    }
    return out


def bench_db(
    name: str, url: str, n_lots: int, n_batches: int, db_pid: int | None = None
) -> dict[str, Any]:
    from server.core.db import make_engine, session_factory, upgrade

    t0 = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    factory = session_factory(engine)
    seed(factory)
    result: dict[str, Any] = {"database": name, "seed_s": round(time.perf_counter() - t0, 2)}
    if n_lots:
        result.update(bench_payout_and_aggregates(url, factory, engine, n_lots))
    result["ingestion"] = bench_ingestion(url, factory, n_batches)
    with factory() as s:
        from server.stations.service import issue_station_key

        key = issue_station_key(session=s, station_id="s0")
        s.commit()
    raw = result["ingestion"]["baseline_raw_insert_lots_per_s"]
    result["ingestion"]["uvicorn"] = [
        bench_uvicorn(url, key, n_batches, workers, raw, db_pid) for workers in (1, 2)
    ]
    if name == "postgresql":
        ing = result["ingestion"]
        ing["target_lots_per_s"] = 5000
        ing["target_met"] = {
            "http_in_process": ing["http_lots_per_s"] >= 5000,
            **{f"uvicorn_{u['workers']}_workers": u["lots_per_s"] >= 5000 for u in ing["uvicorn"]},
        }
    engine.dispose()
    print(json.dumps({name: result}), file=sys.stderr, flush=True)  # partial, as it goes
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--lots", type=int, default=1_000_000, help="lots for the payout run (0: skip it)"
    )
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    from tests.services import Postgres

    # The machine is shared: the load average says how much CPU the figures competed for.
    results: dict[str, Any] = {
        "batch_size": BATCH,
        "farmers": FARMERS,
        "days": DAYS,
        "cpus": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }
    with tempfile.TemporaryDirectory(prefix="gf-bench-") as tmp:
        if args.only in (None, "sqlite"):
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            results["sqlite"] = bench_db("sqlite", url, args.lots, args.batches)
        if args.only in (None, "postgresql"):
            pg = Postgres().start()
            try:
                postmaster = int((pg.data / "postmaster.pid").read_text().split()[0])
                results["postgresql"] = bench_db(
                    "postgresql", pg.new_database(), args.lots, args.batches, postmaster
                )
                results["postgresql"]["note"] = "test cluster: fsync=off, synchronous_commit=off"
            finally:
                pg.close()
    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
