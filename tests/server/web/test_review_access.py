"""Cooperative review pages without a browser, on SQLite and PostgreSQL: sign-in and its
cookie, who may do what (a direct POST by a non-reviewer changes nothing), exact money
parsing, CSRF, scope between cooperatives, the XLSX total."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from gongfang.settings import ServerSettings
from server.audit.models import AuditEntry
from server.core.db import session_scope
from server.lots.models import Lot
from server.payouts import service
from server.payouts.models import PaidLot, PayoutAdjustment, PayoutRun
from server.web.session import SESSION_COOKIE
from tests.server.conftest import PASSWORD, SECRET
from tests.server.web.review_seed import COOP, F1, F9, UNPRICED_LOT, seed_cooperative


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> ServerSettings:
    return ServerSettings.load(
        database_url=db_url, secret_key=SECRET, photos_dir=tmp_path / "photos"
    )


@pytest.fixture
def seeded(sessions: sessionmaker[Session], settings: ServerSettings, password_hash: str) -> None:
    with session_scope(sessions) as s:
        seed_cooperative(s, photos_dir=settings.photos_dir, password_hash=password_hash)


@pytest.fixture
def web(app: Any, seeded: None) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as c:
        yield c


def csrf(client: TestClient) -> str:
    """The CSRF token of the client's cookie (a GET of any page sets it)."""
    token = client.cookies.get("csrftoken")
    if token is None:
        client.get("/coop/login")
        token = client.cookies.get("csrftoken")
    assert token
    return str(token)


def sign_in(client: TestClient, name: str) -> None:
    res = client.post(
        "/coop/login",
        data={"name": name, "password": PASSWORD, "csrftoken": csrf(client)},
        follow_redirects=False,
    )
    assert res.status_code == 303, res.text


def post(client: TestClient, url: str, **data: str) -> Any:
    return client.post(url, data={**data, "csrftoken": csrf(client)}, follow_redirects=False)


def make_run(sessions: sessionmaker[Session], actor: str = "reviewer1") -> int:
    from datetime import date

    with session_scope(sessions) as s:
        run = service.create_run(
            session=s,
            cooperative_id=COOP,
            period_from=date(2026, 3, 1),
            period_to=date(2026, 3, 31),
            actor=actor,
        )
        return run.id


def counts(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    with sessions() as s:
        return (
            int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0),
            int(s.scalar(select(func.count()).select_from(PaidLot)) or 0),
            int(s.scalar(select(func.count()).select_from(PayoutAdjustment)) or 0),
        )


def test_pages_redirect_to_sign_in_and_the_cookie_is_http_only(web: TestClient) -> None:
    res = web.get("/coop/runs/1?page=2", follow_redirects=False)
    assert res.status_code == 303
    assert res.headers["location"] == "/coop/login?next=/coop/runs/1%3Fpage%3D2"
    res = web.get("/coop/runs", headers={"HX-Request": "true"}, follow_redirects=False)
    assert res.headers["HX-Redirect"].startswith("/coop/login")
    # Wrong password: the message sits next to the password field, in the page's language.
    res = post(web, "/coop/login", name="reviewer1", password="wrong-password")
    assert res.status_code == 422
    assert 'id="password-error">用户名或密码错误<' in res.text
    web.cookies.set("gf_lang", "en")
    res = post(web, "/coop/login", name="", password="")
    assert 'id="name-error">Enter your user name<' in res.text
    assert 'id="password-error">Enter your password<' in res.text
    # A next that leaves the site is dropped.
    res = post(web, "/coop/login", name="reviewer1", password=PASSWORD, next="//evil.example/x")
    assert res.status_code == 303
    assert res.headers["location"] == "/coop/runs"
    cookie = res.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie
    assert web.get("/coop/runs").status_code == 200
    res = post(web, "/coop/logout")
    assert res.status_code == 303
    assert web.get("/coop/runs", follow_redirects=False).status_code == 303


def test_the_session_cookie_is_secure_over_https(app: Any, seeded: None) -> None:
    with TestClient(app, base_url="https://127.0.0.1") as c:
        res = post(c, "/coop/login", name="reviewer1", password=PASSWORD)
        assert res.status_code == 303
        assert "Secure" in res.headers["set-cookie"]


def test_a_post_without_the_csrf_token_is_refused(web: TestClient, sessions: Any) -> None:
    run_id = make_run(sessions)
    sign_in(web, "reviewer1")
    before = counts(sessions)
    res = web.post(f"/coop/runs/{run_id}/approve", data={}, follow_redirects=False)
    assert res.status_code == 403
    assert counts(sessions) == before


@pytest.mark.parametrize("who", ["clerk1", "admin1"])
def test_only_a_reviewer_approves_and_a_direct_post_changes_nothing(
    web: TestClient, sessions: Any, who: str
) -> None:
    run_id = make_run(sessions)
    sign_in(web, who)
    page = web.get(f"/coop/runs/{run_id}")
    assert page.status_code == 200
    assert 'id="approve"' not in page.text
    assert "只有审核员可以审批付款单" in page.text
    before = counts(sessions)
    res = post(web, f"/coop/runs/{run_id}/approve")
    assert res.status_code == 403
    assert "text/html" in res.headers["content-type"]
    assert "只有审核员可以审批结算" in res.text
    assert "Traceback" not in res.text
    with sessions() as s:
        assert s.get(PayoutRun, run_id).status == "draft"
    assert counts(sessions) == before
    if who == "clerk1":  # operators read; they neither adjust nor price
        assert 'id="adjust-form"' not in web.get(f"/coop/runs/{run_id}/farmers/{F1}").text
        res = post(web, f"/coop/runs/{run_id}/farmers/{F1}/adjustments", amount="1", reason="x")
        assert res.status_code == 403
        res = post(web, f"/coop/lots/{UNPRICED_LOT}/price", unit_price="9", reason="x")
        assert res.status_code == 403
        assert counts(sessions) == before


def test_the_lot_page_shows_the_photo_to_who_may_see_the_lot(web: TestClient) -> None:
    from tests.server.web.review_seed import PHOTO_LOT

    for who in ("reviewer1", "admin1"):  # admins see every cooperative's lots and photos
        sign_in(web, who)
        page = web.get(f"/coop/lots/{PHOTO_LOT}").text
        assert f'src="/coop/lots/{PHOTO_LOT}/photo.jpg"' in page
        photo = web.get(f"/coop/lots/{PHOTO_LOT}/photo.jpg")
        assert photo.status_code == 200
        assert photo.content[:2] == b"\xff\xd8"
        post(web, "/coop/logout")
    sign_in(web, "reviewer-b")
    assert web.get(f"/coop/lots/{PHOTO_LOT}/photo.jpg").status_code == 404


def test_another_cooperatives_reviewer_sees_not_found(web: TestClient, sessions: Any) -> None:
    run_id = make_run(sessions)
    sign_in(web, "reviewer-b")
    for url in (
        f"/coop/runs/{run_id}",
        f"/coop/lots/{UNPRICED_LOT}",
        f"/coop/runs/{run_id}/unpriced",
    ):
        res = web.get(url)
        assert res.status_code == 404, url
        assert "王" not in res.text
    assert f"#{run_id}" not in web.get("/coop/runs").text
    before = counts(sessions)
    assert post(web, f"/coop/runs/{run_id}/approve").status_code == 404
    assert counts(sessions) == before


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "必填"),
        ("12.345", "最多两位小数"),
        ("1e3", "最多两位小数"),
        ("true", "最多两位小数"),
        ("0", "金额不能为 0"),
        ("0.00", "金额不能为 0"),
        ("99999999999", "最多两位小数"),
    ],
)
def test_bad_adjustments_show_the_message_by_the_field_and_store_nothing(
    web: TestClient, sessions: Any, typed: str, message: str
) -> None:
    run_id = make_run(sessions)
    sign_in(web, "reviewer1")
    before = counts(sessions)
    res = post(web, f"/coop/runs/{run_id}/farmers/{F1}/adjustments", amount=typed, reason="烂果")
    assert res.status_code == 422
    assert re.search(r'id="amount-error">[^<]*' + re.escape(message), res.text), res.text[-3000:]
    assert counts(sessions) == before
    res = post(web, f"/coop/runs/{run_id}/farmers/{F1}/adjustments", amount="-1.00", reason=" ")
    assert 'id="reason-error">请填写原因<' in res.text


@pytest.mark.parametrize(("typed", "fen"), [("-12.50", -1250), ("３.5", 350), ("+7", 700)])
def test_adjustment_amounts_are_parsed_exactly_to_fen(
    web: TestClient, sessions: Any, typed: str, fen: int
) -> None:
    run_id = make_run(sessions)
    sign_in(web, "reviewer1")
    res = post(
        web, f"/coop/runs/{run_id}/farmers/{F1}/adjustments", amount=typed, reason="称重误差"
    )
    assert res.status_code == 303
    with sessions() as s:
        adj = s.scalars(select(PayoutAdjustment)).one()
        assert (adj.amount_fen, adj.reason, adj.created_by) == (fen, "称重误差", "reviewer1")


def test_price_an_unpriced_lot_then_run_again_approve_and_export(
    web: TestClient, sessions: Any
) -> None:
    run_id = make_run(sessions)
    sign_in(web, "reviewer1")
    page = web.get(f"/coop/runs/{run_id}").text
    assert "有 1 个未定价批次" in page
    assert 'data-total-fen="8350"' in page  # 52.50 + 16.00 + 15.00
    res = post(web, f"/coop/lots/{UNPRICED_LOT}/price", unit_price="12.4", reason="")
    assert res.status_code == 422
    assert 'id="reason-error"' in res.text
    res = post(
        web,
        f"/coop/lots/{UNPRICED_LOT}/price",
        unit_price="12.40",
        reason="按当日市场价",
        next=f"/coop/runs/{run_id}/unpriced",
    )
    assert res.status_code == 303
    assert res.headers["location"] == f"/coop/runs/{run_id}/unpriced?done=priced"
    with sessions() as s:
        lot = s.get(Lot, __import__("uuid").UUID(UNPRICED_LOT))
        assert lot is not None
        assert (lot.status, lot.amount_fen) == ("priced", 3720)
    # The draft changed under it: no approve button; run it again.
    page = web.get(f"/coop/runs/{run_id}").text
    assert 'id="approve"' not in page
    assert "不能审批，请重新生成" in page
    res = post(web, f"/coop/runs/{run_id}/rerun")
    assert res.status_code == 303
    new_id = int(res.headers["location"].split("/")[3].split("?")[0])
    page = web.get(f"/coop/runs/{new_id}").text
    assert 'data-total-fen="12070"' in page
    # reviewer1 made this run: four eyes, so no approve button for them, and no approving
    assert 'id="approve"' not in page
    assert 'id="four-eyes"' in page
    res = post(web, f"/coop/runs/{new_id}/farmers/{F9}/adjustments", amount="-0.70", reason="扣筐")
    assert res.status_code == 303
    assert post(web, f"/coop/runs/{new_id}/approve").status_code == 403
    sign_in(web, "reviewer2")
    assert 'id="approve"' in web.get(f"/coop/runs/{new_id}").text
    assert post(web, f"/coop/runs/{new_id}/approve").status_code == 303
    page = web.get(f"/coop/runs/{new_id}").text
    assert 'data-total-fen="12000"' in page
    assert 'id="approve"' not in page
    # Approved is final: no more adjustments.
    res = post(web, f"/coop/runs/{new_id}/farmers/{F9}/adjustments", amount="1", reason="x")
    assert res.status_code == 422
    res = post(web, f"/coop/runs/{new_id}/export", format="xlsx")
    assert res.status_code == 200
    assert (
        res.headers["content-disposition"] == f'attachment; filename="payout-{COOP}-{new_id}.xlsx"'
    )
    ws = load_workbook(io.BytesIO(res.content)).active
    assert ws is not None
    rows = list(ws.iter_rows(values_only=True))
    assert sum(int(str(r[-1])) for r in rows[1:]) == 12000
    assert post(web, f"/coop/runs/{new_id}/paid").status_code == 303
    with sessions() as s:
        assert s.get(PayoutRun, new_id).status == "paid"
    # Approving again is refused on the page, with the reason, nothing changed.
    before = counts(sessions)
    res = post(web, f"/coop/runs/{new_id}/approve")
    assert res.status_code == 409
    assert "只能审批草稿结算单" in res.text
    assert counts(sessions) == before


def test_create_run_form_validates_next_to_fields(web: TestClient, sessions: Any) -> None:
    sign_in(web, "reviewer1")
    res = post(
        web, "/coop/runs", cooperative=COOP, period_from="2026-03-31", period_to="2026-03-01"
    )
    assert res.status_code == 422
    assert 'id="period_to-error">结束日期不能早于开始日期<' in res.text
    res = post(web, "/coop/runs", cooperative="coop-b", period_from="2026-13-01", period_to="")
    assert 'id="cooperative-error"' in res.text
    assert 'id="period_from-error">请输入日期' in res.text
    assert 'id="period_to-error">必填<' in res.text
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(PayoutRun)) == 0
    res = post(
        web, "/coop/runs", cooperative=COOP, period_from="2026-03-01", period_to="2026-03-31"
    )
    assert res.status_code == 303
    assert res.headers["location"].endswith("?done=created")


def test_pages_never_show_a_traceback(web: TestClient) -> None:
    sign_in(web, "reviewer1")
    for url in ("/coop/runs/abc", "/coop/runs/0", "/coop/lots/not-a-lot", "/coop/nowhere"):
        res = web.get(url)
        assert res.status_code == 404, url
        assert "text/html" in res.headers["content-type"]
        assert "Traceback" not in res.text
        assert "未找到" in res.text
    # The JSON API keeps its JSON errors.
    res = web.get("/api/v1/payouts/runs/abc")
    assert res.headers["content-type"].startswith("application/json")
