"""Issue 17's intake, contract, price and cold-chain pages in real headless Chromium
against a real uvicorn server: a reviewer sees the chart draw, downloads the CSV, sets a
station target and a market price through the forms (with the message next to the field
for "abc" and "-1"); an admin creates and edits a contract. Every page is shot in zh and
en (test-output/screenshots/coop_intake_*, …) and no request leaves the machine."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from gongfang.settings import ServerSettings
from server.contracts.models import Contract
from server.core.db import session_scope
from server.main import create_app
from server.stations.models import Station
from tests.server.conftest import SECRET
from tests.server.web.dashboard_seed import F2, seed_dashboards
from tests.server.web.test_review_browser import Shots, sign_in
from tests.web.live import live_server


@pytest.fixture
def server(tmp_path: Path, password_hash: str) -> Iterator[tuple[str, sessionmaker[Session], date]]:
    settings = ServerSettings.load(
        database_url=f"sqlite:///{tmp_path / 'server.db'}",
        secret_key=SECRET,
        photos_dir=tmp_path / "photos",
    )
    app = create_app(settings)
    sessions: sessionmaker[Session] = app.state.sessions
    with session_scope(sessions) as s:
        today = seed_dashboards(s, password_hash=password_hash)
    try:
        with live_server(app) as base:
            yield base, sessions, today
    finally:
        app.state.engine.dispose()


def _go(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def _submit(page: Any, selector: str) -> None:
    page.click(selector)
    page.wait_for_load_state("networkidle")


def test_dashboards_in_a_real_browser(
    server: tuple[str, sessionmaker[Session], date],
    offline_page: Callable[..., Any],
    shot: Callable[[Any, str], Path],
    tmp_path: Path,
) -> None:
    base, sessions, today = server
    page = offline_page(width=1366, height=768)
    shots = Shots(page, base, shot)
    failed: list[str] = []

    # Sub-resources that answered an error (a refused form answers 422 by design).
    def on_response(response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            failed.append(response.url)

    page.on("response", on_response)

    _go(page, f"{base}/coop/intake")
    assert "/coop/login?next=/coop/intake" in page.url
    sign_in(page, base, "reviewer1")
    assert page.url == f"{base}/coop/intake"

    # Intake: the chart draws (uPlot, served here), the target shows in 斤 and kg.
    page.wait_for_selector("#intake-chart canvas")
    assert page.locator("#intake-chart").get_attribute("data-rendered") == "1"
    assert page.locator("#intake-chart .u-legend").count() == 1
    card = page.locator("#target-st-jd").inner_text()
    assert "28,000 斤" in card
    assert "14,000 kg" in card
    shots.both("intake")

    # The range picker validates next to its field.
    for code in ("en", "zh"):
        shots.lang(code)
        _go(page, f"{base}/coop/intake")
        page.fill("#date_from", today.isoformat())
        page.fill("#date_to", (today - timedelta(days=3)).isoformat())
        _submit(page, "#show-range")
        assert page.locator("#date_to-error").is_visible()
        shot(page, f"coop_intake_range_error_{code}")
    assert page.locator("#date_to-error").inner_text() == "结束日期不能早于开始日期"
    page.fill("#date_from", (today - timedelta(days=6)).isoformat())
    page.fill("#date_to", today.isoformat())
    _submit(page, "#show-range")
    assert page.locator("#date_to-error").count() == 0
    assert page.locator("#intake-rows tbody tr").count() > 0

    # CSV of what the page shows: exact kg, the table's total.
    with page.expect_download() as info:
        page.click("#csv-link")
    saved = tmp_path / info.value.suggested_filename
    info.value.save_as(saved)
    rows = list(csv.reader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    assert rows[0][:2] == ["日期", "收购站编号"]
    days = {r[0] for r in rows[1:]}
    assert min(days) == (today - timedelta(days=6)).isoformat()
    assert max(days) == today.isoformat()
    csv_g = sum(int(r[6].replace(".", "")) for r in rows[1:])
    page_kg = page.locator("#total-kg").inner_text()
    assert page_kg == f"{csv_g / 1000:,.2f} kg"

    # A station's target through its form: "abc" and "-1" are refused next to the field.
    for bad, message in (("abc", "请输入重量"), ("-1", "重量不能为负数")):
        page.eval_on_selector("#target-st-sd details", "d => { d.open = true; }")
        page.fill("#target-st-sd-value", bad)
        _submit(page, "#target-st-sd button[type=submit]")
        assert message in page.locator("#target-st-sd .field-error").inner_text()
    shot(page, "coop_intake_target_error_zh")
    page.fill("#target-st-sd-value", "6000")
    _submit(page, "#target-st-sd button[type=submit]")
    assert "日收购目标已保存" in page.locator(".notice").inner_text()
    assert "6,000 斤" in page.locator("#target-st-sd").inner_text()
    with sessions() as s:
        station = s.get(Station, "st-sd")
        assert station is not None
        assert station.daily_target_g == 3_000_000

    # Market prices: the board, then a price through the form.
    _go(page, f"{base}/coop/prices")
    assert "12.00" in page.locator("#board").inner_text()
    shots.both("prices")
    for code in ("en", "zh"):
        shots.lang(code)
        for bad in ("abc", "-1"):
            _go(page, f"{base}/coop/prices")
            page.select_option("#grade", "reject")
            page.fill("#price", bad)
            _submit(page, "#save-price")
            assert page.locator("#price-error").is_visible()
        shot(page, f"coop_prices_error_{code}")
    assert page.locator("#price-error").inner_text() == "价格不能为负数"
    page.select_option("#product", "ruoye")
    page.select_option("#grade", "class_i")
    page.fill("#price", "4.10")
    _submit(page, "#save-price")
    assert "市场价已保存" in page.locator(".notice").inner_text()
    board = page.locator("#board").inner_text()
    assert "4.10" in board
    assert "2.05 元/斤" in board
    shots.both("prices_saved")

    # Cold chain: alarms with who acknowledged, each room's daily MKT.
    _go(page, f"{base}/coop/coldchain")
    alarms = page.locator("#alarms").inner_text()
    assert "传感器无数据" in alarms
    assert "未解除" in alarms
    assert page.locator("#mkt tbody tr").count() == 7
    assert "°C" in page.locator("#mkt").inner_text()
    shots.both("coldchain")

    # Contracts: a reviewer sees them but may not change them.
    _go(page, f"{base}/coop/contracts")
    assert page.locator("#contracts tbody tr").count() == 2
    assert page.locator("#new-contract").count() == 0
    shots.both("contracts_reviewer")

    # An admin creates one (with "abc" and "-1" refused next to their fields) and edits it.
    page.context.clear_cookies()
    _go(page, f"{base}/coop/contracts/new")
    sign_in(page, base, "admin1")
    assert page.url == f"{base}/coop/contracts/new"
    shots.both("contract_new")
    page.fill("#id", "C-2026-009")
    page.select_option("#farmer", F2)
    page.fill("#floor_extra", "abc")
    page.fill("#floor_class_i", "-1")
    page.fill("#premium_pct", "20")
    _submit(page, "#save-contract")
    assert page.locator("#floor_extra-error").is_visible()
    assert page.locator("#floor_class_i-error").inner_text() == "价格不能为负数"
    shots.both("contract_errors")
    page.fill("#floor_extra", "13.00")
    page.fill("#floor_class_i", "10.50")
    page.fill("#quota", "28000")
    page.select_option("#quota_unit", "jin")
    _submit(page, "#save-contract")
    assert page.url.endswith("/coop/contracts?done=created")
    row = page.locator("#contracts tr", has_text="C-2026-009").inner_text()
    assert "13.00 元/kg" in row
    assert "6.50 元/斤" in row
    assert "14,000 kg" in row
    shots.both("contracts")
    page.click("#contracts tr:has-text('C-2026-009') >> text=修改")
    page.wait_for_load_state("networkidle")
    shots.both("contract_edit")
    page.fill("#floor_extra", "13.6")
    _submit(page, "#save-contract")
    assert page.url.endswith("/coop/contracts?done=updated")
    with sessions() as s:
        c = s.get(Contract, "C-2026-009")
        assert c is not None
        assert (c.floor_extra_fen_per_kg, c.floor_class_i_fen_per_kg) == (1360, 1050)
        assert c.quota_g == 14_000_000

    assert page.gf_blocked == []
    # Chromium logs each 422 form answer as a failed load; anything else is a page bug.
    errors = [e for e in page.gf_console_errors if not e.startswith("Failed to load resource")]
    assert errors == []
    assert failed == []
