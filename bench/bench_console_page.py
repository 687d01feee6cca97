"""Station console benchmark (acceptance 7 of issue 17, edge side). Prints one JSON document.

A real :class:`edge.app.EdgeNode` (embedded MQTT broker, operator HTTP on loopback) holds a
busy day: ``--lots`` lots captured today (the 建德 centre buys about 28,000 斤 a day, some
1,400 crates of 10 kg), every one still in its cold room, and 24 hours of minute climate
summaries. A signed-in operator's ``GET`` of each console page (lanes, today, rooms, link)
is timed over HTTP through the whole app (gate, CSRF guard, session cookie, store queries,
Jinja2), and each page's first contentful paint is read from headless Chromium's
Performance API (Debian's /usr/bin/chromium; the pages load nothing from outside).
Baseline: the raw SQLite reads the today page rests on (the day's totals by product and
grade, the 30 latest lots parsed), timed in the same process.

Target: p95 server time per console page ≤ 200 ms.

Run: ``.venv/bin/python -m bench.bench_console_page [--lots 1400] [--reps 40]``. The
machine may be shared: the JSON carries the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from edge.app import EdgeNode
from edge.console.auth import set_pin
from edge.console.views import day_start_ms
from gongfang import wire
from gongfang.settings import EdgeLane, EdgeSettings

PAGES = ("lanes", "today", "rooms", "link")
TARGET_MS = 200
PIN = "2468"


def _p(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))], 2)


def _seed(node: EdgeNode, lots: int) -> None:
    start = datetime.fromtimestamp(day_start_ms() / 1000, UTC) + timedelta(minutes=1)
    now = datetime.now(UTC)
    span = max(1.0, (now - start).total_seconds() - 60)
    grades = list(wire.Grade)
    for i in range(lots):
        gross = 9_000 + (i * 37) % 3_000
        node.store.record_lot(
            wire.LotRecord(
                id=uuid.uuid4(),
                station=node.settings.station,
                farmer=f"F{i % 300:03d}",
                product=wire.Product.STRAWBERRY,
                grade=grades[i % 4],
                gross_g=gross,
                tare_g=500,
                net_g=gross - 500,
                graded_by=wire.GradedBy(kind="model", model_name="m", model_version="1"),
                captured_at=start + timedelta(seconds=span * i / max(1, lots)),
                cold_room="room1",
                operator="王芳",
            ),
            lane="lane1",
        )
    minute0 = now.replace(second=0, microsecond=0)
    node.store.record_climate(
        [
            wire.ClimateSummary(
                station=node.settings.station,
                room="room1",
                minute_start=minute0 - timedelta(minutes=m),
                samples=6,
                temp_min_c=0.8,
                temp_mean_c=1.2 + (m % 30) / 100,
                temp_max_c=1.6,
                rh_mean_pct=92.0,
            )
            for m in range(24 * 60, 0, -1)
        ]
    )


def _sign_in(http: httpx.Client) -> None:
    http.get("/console/signin")
    r = http.post(
        "/console/signin",
        data={"name": "王芳", "pin": PIN, "csrftoken": http.cookies.get("csrftoken") or ""},
    )
    assert r.status_code == 303, r.text  # noqa: S101 - a bench that cannot sign in is void


def _server_times(http: httpx.Client, reps: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in PAGES:
        http.get(f"/console/{name}")  # warm (templates compile once)
        times = []
        for _ in range(reps):
            t = time.perf_counter()
            r = http.get(f"/console/{name}")
            times.append((time.perf_counter() - t) * 1000)
            assert r.status_code == 200  # noqa: S101
        out[name] = {
            "p50_ms": _p(times, 50),
            "p95_ms": _p(times, 95),
            "bytes": len(r.content),
        }
    return out


def _paint(base: str, cookies: dict[str, str], reps: int) -> dict[str, Any]:
    chromium = os.environ.get("GONGFANG_CHROMIUM", "/usr/bin/chromium")
    if not Path(chromium).exists():
        return {"skipped": f"no Chromium at {chromium}"}
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox", "--disable-gpu"]
        )
        ctx = browser.new_context(viewport={"width": 1280, "height": 800})
        ctx.add_cookies([{"name": k, "value": v, "url": base} for k, v in cookies.items()])
        blocked: list[str] = []

        def route(r: Any) -> None:
            if r.request.url.startswith(base):
                r.continue_()
            else:
                blocked.append(r.request.url)
                r.abort()

        ctx.route("**/*", route)
        page = ctx.new_page()
        for name in PAGES:
            fcp, load = [], []
            for _ in range(reps):
                page.goto(f"{base}/console/{name}", wait_until="load")
                fcp.append(
                    page.evaluate(
                        "() => (performance.getEntriesByName('first-contentful-paint')[0]"
                        " || {startTime: NaN}).startTime"
                    )
                )
                load.append(
                    page.evaluate(
                        "() => { const n = performance.getEntriesByType('navigation')[0];"
                        " return n.loadEventEnd - n.startTime; }"
                    )
                )
            painted = [v for v in fcp if isinstance(v, int | float) and v == v]  # not NaN
            out[name] = {
                "first_contentful_paint_ms": round(statistics.median(painted), 1)
                if painted
                else None,
                "load_ms": round(statistics.median(load), 1),
            }
        out["blocked_requests"] = len(blocked)
        browser.close()
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--lots", type=int, default=1400)
    ap.add_argument("--reps", type=int, default=40)
    ap.add_argument("--paint-reps", type=int, default=5)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = EdgeSettings.load(
            station="bench-st",
            mqtt_url="embedded://",
            data_dir=Path(tmp),
            http_port=0,
            receipts_enabled=False,
            lanes=[EdgeLane(id="lane1", tare_g=500, cold_room="room1")],
            rooms={"room1": "strawberry"},
        )
        node = EdgeNode(settings).start()
        try:
            t = time.perf_counter()
            _seed(node, args.lots)
            seed_s = time.perf_counter() - t
            set_pin(node.store, "王芳", PIN)
            assert node.http_url is not None  # noqa: S101
            http = httpx.Client(base_url=node.http_url, timeout=30)
            _sign_in(http)
            raw = []
            for _ in range(args.reps):
                t = time.perf_counter()
                node.store.totals_since(day_start_ms())
                node.store.lots_since(day_start_ms(), 30)
                raw.append((time.perf_counter() - t) * 1000)
            server = _server_times(http, args.reps)
            paint = _paint(node.http_url, dict(http.cookies.items()), args.paint_reps)
        finally:
            node.stop()
    worst = max(v["p95_ms"] for v in server.values())
    print(
        json.dumps(
            {
                "bench": "console_page",
                "lots_today": args.lots,
                "seed_s": round(seed_s, 2),
                "reps": args.reps,
                "server": server,
                "baseline_raw_today_queries": {"p50_ms": _p(raw, 50), "p95_ms": _p(raw, 95)},
                "browser": paint,
                "worst_p95_ms": worst,
                "target_p95_ms": TARGET_MS,
                "meets_target": worst <= TARGET_MS,
                "load_avg": os.getloadavg(),
            },
            ensure_ascii=False,
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
