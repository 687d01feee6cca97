"""Review page benchmark (acceptance 7 of issue 17, server side). Prints one JSON document.

For SQLite and PostgreSQL (a throwaway cluster from tests.services.Postgres, fsync off like
the test suite): a draft payout run of 10,000 lots (bulk-loaded with SQL: 10,000 farmers
with one lot each, the worst case for a page of lines, plus 50 adjustments), then a
signed-in reviewer's ``GET /coop/runs/{id}?page=N`` (100 lines a page, the totals row
over all 10,000 lines) timed in process through the whole app (routing, session cookie,
queries, Jinja2), over random pages. Baseline: the raw SQL of the same lines — one
GROUP BY farmer over the run's lots joined to the farmers, the page's 100 rows — on the
same database. Also timed, for reference: a farmer's line page, a lot page, the run list.

Target: p95 server time per review page ≤ 200 ms.

Run: ``.venv/bin/python -m bench.bench_review_page [--lots 10000] [--reps 60]
[--only sqlite|postgresql]``. The machine may be shared: the JSON carries the load
average; the ratio to the raw query measured in the same run is the comparable figure.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bench.server_fixtures import FIELD_KEY, PG_BULK, SECRET, SQLITE_BULK, seed

PER_PAGE = 100
TARGET_MS = 200
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway user of a throwaway database

RAW_LINES = """
SELECT l.farmer_id, f.name, f.household, f.low_income, count(*), sum(l.net_g),
  sum(l.amount_fen)
FROM lots l JOIN farmers f ON f.id = l.farmer_id
WHERE l.cooperative_id = 'bench' AND l.status = 'priced' AND l.intake_date <= :last
  AND l.received_at <= :created
GROUP BY l.farmer_id, f.name, f.household, f.low_income
ORDER BY l.farmer_id
LIMIT :limit OFFSET :offset
"""


def p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20, method="inclusive")[18]


def figures(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 2),
        "p95_ms": round(p95(samples) * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2),
    }


def timed(fn: Callable[[], object], reps: int) -> list[float]:
    fn()  # warm: templates compiled, pool filled, pages cached by the database
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def bench_db(name: str, url: str, n_lots: int, reps: int) -> dict[str, Any]:
    from fastapi.testclient import TestClient

    from gongfang.settings import ServerSettings
    from server.auth.models import User
    from server.auth.service import hash_password
    from server.core.db import session_scope
    from server.main import create_app
    from server.payouts.models import PayoutAdjustment
    from server.payouts.service import create_run

    app = create_app(ServerSettings.load(database_url=url, secret_key=SECRET, field_key=FIELD_KEY))
    engine = app.state.engine
    factory = app.state.sessions
    seed(factory)
    t0 = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            text(PG_BULK if engine.dialect.name == "postgresql" else SQLITE_BULK), {"n": n_lots}
        )
    first, last = date(2026, 1, 1), date(2026, 3, 31)
    with session_scope(factory) as s:
        s.add(
            User(
                name="rev",
                role="reviewer",
                cooperative_id="bench",
                password_hash=hash_password(PASSWORD),
            )
        )
        run = create_run(
            session=s, cooperative_id="bench", period_from=first, period_to=last, actor="bench"
        )
        run_id, created = run.id, run.created_at
        s.execute(
            insert(PayoutAdjustment),
            [
                {
                    "run_id": run_id,
                    "farmer_id": f"F{i * 97}",
                    "amount_fen": -100 - i,
                    "reason": "bench",
                    "created_by": "bench",
                    "created_at": created,
                }
                for i in range(50)
            ],
        )
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    load_s = time.perf_counter() - t0
    from server.lots.models import Lot

    with factory() as s:
        lot_id = s.scalar(select(Lot.id).where(Lot.farmer_id == "F4321"))
    pages = -(-n_lots // PER_PAGE) if n_lots <= 10_000 else 100
    rng = random.Random(17)

    with TestClient(app, base_url="http://127.0.0.1") as client:
        client.get("/coop/login")
        res = client.post(
            "/coop/login",
            data={"name": "rev", "password": PASSWORD, "csrftoken": client.cookies["csrftoken"]},
            follow_redirects=False,
        )
        assert res.status_code == 303, res.text

        def review() -> None:
            r = client.get(f"/coop/runs/{run_id}?page={rng.randint(1, pages)}")
            assert r.status_code == 200, r.status_code

        def line() -> None:
            r = client.get(f"/coop/runs/{run_id}/farmers/F{rng.randint(0, 9999)}")
            assert r.status_code == 200, r.status_code

        def lot() -> None:
            assert client.get(f"/coop/lots/{lot_id}?run={run_id}").status_code == 200

        def run_list() -> None:
            assert client.get("/coop/runs").status_code == 200

        check = client.get(f"/coop/runs/{run_id}").text
        review_s = timed(review, reps)
        line_s = timed(line, max(10, reps // 3))
        lot_s = timed(lot, max(10, reps // 3))
        list_s = timed(run_list, max(10, reps // 3))

    def raw() -> None:
        with engine.connect() as conn:
            rows = conn.execute(
                text(RAW_LINES),
                {
                    "last": last,
                    "created": created,
                    "limit": PER_PAGE,
                    "offset": PER_PAGE * rng.randint(0, pages - 1),
                },
            ).all()
            assert len(rows) == PER_PAGE

    raw_s = timed(raw, reps)
    page = figures(review_s)
    base = figures(raw_s)
    app.state.engine.dispose()
    result = {
        "database": name,
        "bulk_load_s": round(load_s, 2),
        "run_lots": n_lots,
        "run_lines": n_lots if n_lots <= 10_000 else 10_000,
        "lines_per_page": PER_PAGE,
        "adjustments": 50,
        "page_has_totals_row": 'data-total-fen="' in check,
        "review_page": page,
        "baseline_raw_lines_query": base,
        "ratio_p95_page_to_raw": round(page["p95_ms"] / base["p95_ms"], 2),
        "target_p95_ms": TARGET_MS,
        "target_met": page["p95_ms"] <= TARGET_MS,
        "farmer_line_page": figures(line_s),
        "lot_page": figures(lot_s),
        "run_list_page": figures(list_s),
        "reps": reps,
    }
    print(json.dumps({name: result}), file=sys.stderr, flush=True)  # partial, as it goes
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lots", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=60)
    parser.add_argument("--only", choices=["sqlite", "postgresql"])
    args = parser.parse_args()
    from tests.services import Postgres

    results: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
        "timing": "in process through the whole ASGI app (TestClient), per request",
    }
    with tempfile.TemporaryDirectory(prefix="gf-bench-review-") as tmp:
        if args.only in (None, "sqlite"):
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
            results["sqlite"] = bench_db("sqlite", url, args.lots, args.reps)
        if args.only in (None, "postgresql"):
            pg = Postgres().start()
            try:
                results["postgresql"] = bench_db(
                    "postgresql", pg.new_database(), args.lots, args.reps
                )
                results["postgresql"]["note"] = "test cluster: fsync=off, synchronous_commit=off"
            finally:
                pg.close()
    results["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(results, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
