"""Acceptance 2 of issue 17 in real headless Chromium against a real uvicorn server:
a reviewer signs in, opens a run, drills into a lot and sees its photo, adds an
adjustment, approves, downloads the XLSX and checks its total; a clerk (operator) sees no
approve button and a direct POST with a valid CSRF token is refused with nothing changed.
Every page is shot in zh and en (test-output/screenshots/coop_*), and no request leaves
the machine."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gongfang.settings import ServerSettings
from server.audit.models import AuditEntry
from server.core.db import session_scope
from server.main import create_app
from server.payouts import service
from server.payouts.models import PayoutAdjustment, PayoutRun
from tests.server.conftest import PASSWORD, SECRET
from tests.server.web.review_seed import COOP, seed_cooperative
from tests.web.live import live_server


@pytest.fixture
def server(tmp_path: Path, password_hash: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
    settings = ServerSettings.load(
        database_url=f"sqlite:///{tmp_path / 'server.db'}",
        secret_key=SECRET,
        photos_dir=tmp_path / "photos",
    )
    app = create_app(settings)
    sessions: sessionmaker[Session] = app.state.sessions
    with session_scope(sessions) as s:
        seed_cooperative(s, photos_dir=settings.photos_dir, password_hash=password_hash)
    try:
        with live_server(app) as base:
            yield base, sessions
    finally:
        app.state.engine.dispose()


class Shots:
    """Shoot the current page (a GET) in both languages, back to Chinese after."""

    def __init__(self, page: Any, base: str, shot: Callable[[Any, str], Path]) -> None:
        self.page, self.base, self.shot = page, base, shot

    def lang(self, code: str) -> None:
        self.page.context.add_cookies([{"name": "gf_lang", "value": code, "url": self.base}])

    def both(self, name: str) -> None:
        for code in ("en", "zh"):
            self.lang(code)
            self.page.reload()
            self.page.wait_for_load_state("networkidle")
            self.shot(self.page, f"coop_{name}_{code}")


def sign_in(page: Any, base: str, name: str, password: str = PASSWORD) -> None:
    page.fill("#name", name)
    page.fill("#password", password)
    page.click("button[type=submit].primary")
    page.wait_for_load_state("networkidle")


def audit_count(sessions: sessionmaker[Session]) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def test_reviewer_reviews_approves_and_exports_and_a_clerk_cannot_approve(
    server: tuple[str, sessionmaker[Session]],
    offline_page: Callable[..., Any],
    shot: Callable[[Any, str], Path],
    tmp_path: Path,
) -> None:
    base, sessions = server
    page = offline_page(width=1366, height=768)
    shots = Shots(page, base, shot)
    failed: list[str] = []  # sub-resources that answered an error

    def on_response(response: Any) -> None:
        if response.status >= 400:
            failed.append(response.url)

    page.on("response", on_response)

    # Not signed in: the sign-in page, remembering where we were going.
    page.goto(f"{base}/coop/runs")
    assert "/coop/login?next=/coop/runs" in page.url
    shots.both("login")
    for code in ("en", "zh"):
        shots.lang(code)
        page.reload()
        sign_in(page, base, "reviewer1", "not-the-password")
        assert page.locator("#password-error").is_visible()
        shot(page, f"coop_login_error_{code}")
    assert page.locator("#password-error").inner_text() == "用户名或密码错误"

    sign_in(page, base, "reviewer1")
    assert page.url == f"{base}/coop/runs"
    assert page.locator(".empty").inner_text() == "还没有付款单。"
    shots.both("runs_empty")

    # The create form validates next to its fields.
    for code in ("en", "zh"):
        shots.lang(code)
        page.goto(f"{base}/coop/runs")
        page.fill("#period_from", "2026-03-31")
        page.fill("#period_to", "2026-03-01")
        page.click("form[action='/coop/runs'] button[type=submit]")
        page.wait_for_load_state("networkidle")
        assert page.locator("#period_to-error").is_visible()
        shot(page, f"coop_runs_form_error_{code}")
    page.fill("#period_from", "2026-03-01")
    page.fill("#period_to", "2026-03-31")
    page.click("form[action='/coop/runs'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert re.search(r"/coop/runs/\d+\?done=created$", page.url)
    shots.both("run_draft")
    assert page.locator("#totals td[data-total-fen]").get_attribute("data-total-fen") == "8350"

    # One lot is unpriced: price it by hand; the draft then changed, so run it again.
    page.click("text=查看并定价")
    page.wait_for_load_state("networkidle")
    shots.both("unpriced")
    # htmx posts the row's form and swaps the list in; a refusal shows in the lot's row.
    page.fill("#unpriced input[name=unit_price]", "12.405")
    page.click("#unpriced button[type=submit]")
    page.wait_for_selector("#unpriced .field-error")
    errors = page.locator("#unpriced .field-error").all_inner_texts()
    assert errors == ["请输入单价，如 12.40（最多两位小数）", "请填写原因"]
    shot(page, "coop_unpriced_error_zh")
    page.fill("#unpriced input[name=unit_price]", "12.40")
    page.fill("#unpriced input[name=reason]", "按当日市场价")
    page.click("#unpriced button[type=submit]")
    page.wait_for_selector("#unpriced-section .empty")
    assert page.locator(".notice").first.inner_text().startswith("批次已定价。")
    assert page.locator(".empty").inner_text() == "没有未定价的批次。"
    page.click(".crumbs a >> nth=1")
    page.wait_for_load_state("networkidle")
    assert page.locator("#approve").count() == 0
    shots.both("run_changed")
    page.click("text=按同一期间重新生成")
    page.wait_for_load_state("networkidle")
    run_id = int(re.findall(r"/coop/runs/(\d+)", page.url)[0])
    assert page.locator("#totals td[data-total-fen]").get_attribute("data-total-fen") == "12070"
    assert page.locator("#lines tbody tr").count() == 2
    assert page.locator("#lines .badge.low-income").count() == 1

    # Drill down: the farmer's line, then a lot with its photo.
    page.click("#lines >> text=王")
    page.wait_for_load_state("networkidle")
    shots.both("line")
    assert page.locator("#lots tbody tr").count() == 3
    page.click("#lots a.lot-link >> nth=0")
    page.wait_for_load_state("networkidle")
    shots.both("lot")
    photo = page.locator("#lot-photo")
    assert photo.is_visible()
    assert page.evaluate("document.getElementById('lot-photo').naturalWidth") == 480
    assert page.locator("#items tbody tr").count() == 3
    assert "特级" in page.locator("#items").inner_text()
    assert "34.5 mm" in page.locator("#items").inner_text()
    assert "1.2 °C" in page.inner_text("body")  # the stay's MKT
    assert "保底价" in page.locator("#parts").inner_text()  # the pricing explanation
    # A lot without a photo says so.
    page.go_back()
    page.click("#lots a.lot-link >> nth=1")
    page.wait_for_load_state("networkidle")
    assert page.locator("#no-photo").is_visible()
    page.go_back()

    # An adjustment in 元, exact to the fen.
    page.wait_for_load_state("networkidle")
    page.fill("#amount", "-12.5")
    page.fill("#reason", "两筐烂果")
    page.click("#adjust-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#line-total").inner_text() == "71.00"  # 83.50 − 12.50
    shots.both("line_adjusted")
    with sessions() as s:
        assert s.scalars(select(PayoutAdjustment.amount_fen)).all() == [-1250]

    # Four eyes: reviewer1 made the run, so another reviewer approves it.
    page.goto(f"{base}/coop/runs/{run_id}")
    assert page.locator("#approve").count() == 0
    assert "须由另一位审核员审批" in page.locator("#four-eyes").inner_text()
    shot(page, "coop_run_four_eyes_zh")
    page.click("form[action='/coop/logout'] button")
    page.wait_for_load_state("networkidle")
    page.goto(f"{base}/coop/runs/{run_id}")
    sign_in(page, base, "reviewer2")

    # Approve, then download the bank batch and check its total against the page.
    page.goto(f"{base}/coop/runs/{run_id}")
    total_fen = int(page.locator("#totals td[data-total-fen]").get_attribute("data-total-fen"))
    assert total_fen == 12070 - 1250
    page.click("#approve-box summary")
    assert "应付合计 108.20 元" in page.locator("#approve-box").inner_text()
    shot(page, "coop_run_approve_check_zh")
    page.click("#approve")
    page.wait_for_load_state("networkidle")
    assert page.locator("#approve").count() == 0
    assert "已审批" in page.locator("h1").inner_text()
    shots.both("run_approved")
    with page.expect_download() as info:
        page.click("#export-xlsx")
    download = info.value
    assert download.suggested_filename == f"payout-{COOP}-{run_id}.xlsx"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    ws = load_workbook(saved).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][-1] == "应付(分) total_fen"
    assert sum(int(str(r[-1])) for r in rows[1:]) == total_fen
    page.reload()
    page.click("#mark-paid")
    page.wait_for_load_state("networkidle")
    assert "已付款" in page.locator("h1").inner_text()
    shots.both("run_paid")
    page.goto(f"{base}/coop/runs")
    shots.both("runs")
    page.goto(f"{base}/coop/runs/99999")
    shots.both("not_found")

    # A clerk (operator role) reads a draft but cannot approve it, not even by a direct POST.
    with session_scope(sessions) as s:
        draft = service.create_run(
            session=s,
            cooperative_id=COOP,
            period_from=date(2026, 4, 1),
            period_to=date(2026, 4, 30),
            actor="reviewer1",
        ).id
    clerk = offline_page(width=1366, height=768)
    clerk.goto(f"{base}/coop/runs/{draft}")
    sign_in(clerk, base, "clerk1")
    assert clerk.url == f"{base}/coop/runs/{draft}"
    assert clerk.locator("#approve").count() == 0
    assert clerk.locator("text=只有审核员可以审批付款单。").is_visible()
    Shots(clerk, base, shot).both("run_clerk")
    token = clerk.get_attribute("body", "data-csrf")
    assert token
    before = audit_count(sessions)
    res = clerk.request.post(
        f"{base}/coop/runs/{draft}/approve",
        form={"csrftoken": token},
        headers={"Origin": base},
        max_redirects=0,
    )
    assert res.status == 403
    assert "只有审核员可以审批结算" in res.text()
    with sessions() as s:
        run = s.get(PayoutRun, draft)
        assert run is not None
        assert (run.status, run.approved_by) == ("draft", None)
    assert audit_count(sessions) == before
    # The same token does work for what a clerk may do (it was a valid token).
    res = clerk.request.post(
        f"{base}/coop/logout", form={"csrftoken": token}, headers={"Origin": base}, max_redirects=0
    )
    assert res.status == 303

    # Offline: nothing was requested from outside 127.0.0.1, and no script failed.
    assert page.gf_blocked == []
    assert clerk.gf_blocked == []
    # (Pages answered 4xx on purpose — a refused form, not found — log "Failed to load
    # resource" for the document itself; anything else is a broken page.)
    for p in (page, clerk):
        errors = [e for e in p.gf_console_errors if not e.startswith("Failed to load resource")]
        assert errors == []
    requests = [u for u in failed if "/static/" in u]
    assert requests == []


def test_line_pages_swap_in_place_with_htmx(
    server: tuple[str, sessionmaker[Session]],
    offline_page: Callable[..., Any],
    shot: Callable[[Any, str], Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """One line a page: "next" swaps the lines section only (htmx), the URL follows, and
    the totals row is the run's on every page."""
    from server.web import runs

    base, sessions = server
    monkeypatch.setattr(runs, "LINES_PER_PAGE", 1)
    with session_scope(sessions) as s:
        run = service.create_run(
            session=s,
            cooperative_id=COOP,
            period_from=date(2026, 3, 1),
            period_to=date(2026, 3, 31),
            actor="reviewer1",
        )
        service.add_adjustment(
            session=s,
            run=run,
            farmer_id="coop-a-F9",
            amount_fen=300,
            reason="运费补贴",
            actor="reviewer1",
        )
        run_id = run.id
    page = offline_page(width=1366, height=768)
    page.goto(f"{base}/coop/runs/{run_id}")
    sign_in(page, base, "reviewer1")
    assert page.locator("#lines tbody tr").count() == 1
    assert "王" in page.locator("#lines tbody").inner_text()
    total = page.locator("#totals td[data-total-fen]").get_attribute("data-total-fen")
    assert total == str(8350 + 300)
    page.evaluate("window.gfMarker = 1")  # survives only if the page is not reloaded
    page.click("#lines-section a[rel=next]")
    page.wait_for_url(f"{base}/coop/runs/{run_id}?page=2")
    assert "陈" in page.locator("#lines tbody").inner_text()  # a line with only an adjustment
    assert page.evaluate("window.gfMarker") == 1
    assert page.locator("#totals td[data-total-fen]").get_attribute("data-total-fen") == total
    shot(page, "coop_run_page2_zh")
    assert page.gf_blocked == []
