"""Intake, contract, price and cold-chain pages without a browser, on SQLite and
PostgreSQL: what they show, exact parsing with the message next to the field, CSV
figures equal to the aggregates, scope between cooperatives, who may write."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from server.aggregates.models import DailyAggregate
from server.contracts.models import Contract
from server.core.db import session_scope
from server.pricing.models import MarketPrice
from server.stations.models import Station
from tests.server.web.dashboard_seed import CENTRE, COOP, F2, TARGET_G, seed_dashboards
from tests.server.web.test_review_access import csrf, post, sign_in


@pytest.fixture
def today(sessions: sessionmaker[Session], password_hash: str) -> date:
    with session_scope(sessions) as s:
        return seed_dashboards(s, password_hash=password_hash, days=5)


@pytest.fixture
def web(app: Any, today: date) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False, base_url="http://127.0.0.1") as c:
        yield c


def test_intake_shows_target_and_csv_matches_aggregates(web, sessions, today) -> None:
    sign_in(web, "reviewer1")
    res = web.get("/coop/intake")
    assert res.status_code == 200
    html = res.text
    assert "建德莓好集市分拣中心" in html
    assert "别社收购站" not in html
    assert "28,000 斤" in html  # the centre's target, in 斤 and kg
    assert 'id="intake-data"' in html
    first = (today - timedelta(days=4)).isoformat()
    res = web.get(f"/coop/intake.csv?date_from={first}&date_to={today.isoformat()}")
    assert res.status_code == 200
    assert res.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(res.content.decode("utf-8-sig"))))
    assert rows[0][0] == "日期"
    with sessions() as s:
        expect = s.scalar(
            select(func.sum(DailyAggregate.net_g)).where(
                DailyAggregate.station_id.in_([CENTRE, "st-sd"])
            )
        )
    # kg with three decimals is the grams exactly
    assert sum(int(r[6].replace(".", "")) for r in rows[1:]) == expect
    assert all(r[1] in (CENTRE, "st-sd") for r in rows[1:])


def test_intake_range_is_validated_next_to_the_field(web) -> None:
    sign_in(web, "reviewer1")
    res = web.get("/coop/intake?date_from=2026-03-10&date_to=2026-03-01")
    assert res.status_code == 200
    assert 'id="date_to-error"' in res.text
    assert "结束日期不能早于开始日期" in res.text
    res = web.get("/coop/intake?date_from=abc&date_to=2026-03-01")
    assert 'id="date_from-error"' in res.text
    res = web.get("/coop/intake?date_from=2025-01-01&date_to=2026-03-01")
    assert "日期范围太长" in res.text
    res = web.get("/coop/intake?station=st-b")  # another cooperative's station
    assert 'id="station-error"' in res.text
    assert "别社收购站" not in res.text
    assert web.get("/coop/intake.csv?date_from=x&date_to=y").status_code == 422


def test_target_set_in_jin_kept_in_grams(web, sessions) -> None:
    sign_in(web, "reviewer1")
    res = post(web, "/coop/intake/target", station="st-sd", target="5000", unit="jin")
    assert res.status_code == 303, res.text
    res = post(web, "/coop/intake/target", station="st-sd", target="-1", unit="jin")
    assert res.status_code == 422
    assert "重量不能为负数" in res.text
    res = post(web, "/coop/intake/target", station="st-sd", target="abc", unit="kg")
    assert res.status_code == 422
    assert "请输入重量" in res.text
    res = post(web, "/coop/intake/target", station="st-b", target="10", unit="kg")
    assert res.status_code == 404  # another cooperative's station
    with sessions() as s:
        assert s.get(Station, "st-sd").daily_target_g == 2_500_000
        assert s.get(Station, CENTRE).daily_target_g == TARGET_G
        assert s.get(Station, "st-b").daily_target_g is None
    web.cookies.clear()
    sign_in(web, "clerk1")
    res = post(web, "/coop/intake/target", station="st-sd", target="1", unit="kg")
    assert res.status_code == 403


def test_contract_create_and_edit_exact_prices(web, sessions, today) -> None:
    sign_in(web, "admin1")
    form = {
        "id": "C-NEW", "farmer": F2, "product": "strawberry", "signed_on": today.isoformat(),
        "valid_from": today.isoformat(), "valid_to": (today + timedelta(days=90)).isoformat(),
        "floor_extra": "abc", "floor_class_i": "-1", "floor_class_ii": "", "premium_pct": "20",
        "quota": "", "quota_unit": "kg", "reject": "0",
    }  # fmt: skip
    res = post(web, "/coop/contracts", **form)
    assert res.status_code == 422
    assert 'id="floor_extra-error"' in res.text
    assert 'id="floor_class_i-error"' in res.text
    assert "价格不能为负数" in res.text
    with sessions() as s:
        assert s.get(Contract, "C-NEW") is None
    form.update(floor_extra="13.00", floor_class_i="10.5", quota="28000", quota_unit="jin")
    res = post(web, "/coop/contracts", **form)
    assert res.status_code == 303, res.text
    with sessions() as s:
        c = s.get(Contract, "C-NEW")
        assert (c.floor_extra_fen_per_kg, c.floor_class_i_fen_per_kg) == (1300, 1050)
        assert c.quota_g == 14_000_000
        assert c.premium_pct == "20"
    page = web.get("/coop/contracts").text
    assert "13.00 元/kg" in page
    assert "6.50 元/斤" in page
    res = post(web, "/coop/contracts", **form)  # the same id again
    assert res.status_code == 409
    assert 'id="id-error"' in res.text
    edit = {k: form[k] for k in form if k not in ("id", "farmer", "product")}
    res = post(web, "/coop/contracts/C-NEW", **{**edit, "floor_extra": "13.456"})
    assert res.status_code == 422
    assert 'id="floor_extra-error"' in res.text
    res = post(web, "/coop/contracts/C-NEW", **{**edit, "floor_extra": "14"})
    assert res.status_code == 303
    with sessions() as s:
        assert s.get(Contract, "C-NEW").floor_extra_fen_per_kg == 1400
    # the quota may not drop below what lots already counted
    res = post(web, "/coop/contracts/C-2026-001", **{**edit, "quota": "0"})
    assert res.status_code == 422
    assert 'id="quota-error"' in res.text
    # an already exceeded quota left as it is does not block the other terms
    res = post(web, "/coop/contracts/C-2026-001", **{**edit, "quota": "50000", "quota_unit": "kg"})
    assert res.status_code == 303, res.text
    res = post(web, "/coop/contracts/C-2026-001", **{**edit, "quota": "0"})
    assert res.status_code == 422
    assert 'id="quota-error"' in res.text


def test_contracts_scoped_and_admin_only(web, sessions, today) -> None:
    sign_in(web, "reviewer-b")
    page = web.get("/coop/contracts").text
    assert "C-2026-001" not in page
    assert web.get("/coop/contracts/C-2026-001").status_code == 404
    web.cookies.clear()
    sign_in(web, "reviewer1")
    assert "C-2026-001" in web.get("/coop/contracts").text
    before = _count(sessions, Contract)
    day = today.isoformat()
    form = {
        "id": "C-X", "farmer": F2, "product": "strawberry", "signed_on": day, "valid_from": day,
        "valid_to": day, "floor_extra": "10", "floor_class_i": "", "floor_class_ii": "",
        "premium_pct": "", "quota": "", "quota_unit": "kg", "reject": "0",
    }  # fmt: skip
    res = post(web, "/coop/contracts", **form)
    assert res.status_code == 403
    assert _count(sessions, Contract) == before


def _count(sessions, model) -> int:
    with sessions() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


def test_market_price_board_and_form(web, sessions, today) -> None:
    sign_in(web, "reviewer1")
    page = web.get("/coop/prices").text
    assert "12.00" in page
    assert "6.00 元/斤" in page
    day = today.isoformat()
    for bad, message in (("abc", "请输入价格"), ("-1", "价格不能为负数"), ("", "必填")):
        res = post(web, "/coop/prices", cooperative=COOP, product="strawberry",
                   grade="reject", day=day, price=bad)  # fmt: skip
        assert res.status_code == 422
        assert message in res.text
        assert 'id="price-error"' in res.text
    res = post(web, "/coop/prices", cooperative=COOP, product="ruoye", grade="class_i",
               day=day, price="4.10")  # fmt: skip
    assert res.status_code == 303
    with sessions() as s:
        m = s.scalars(select(MarketPrice).where(MarketPrice.product == "ruoye")).one()
        assert (m.fen_per_kg, m.day, m.cooperative_id) == (410, today, COOP)
    # another cooperative cannot be named
    res = post(web, "/coop/prices", cooperative="coop-b", product="ruoye", grade="extra",
               day=day, price="1")  # fmt: skip
    assert res.status_code == 404
    web.cookies.clear()
    sign_in(web, "clerk1")
    assert "只有审核员或管理员可以设置市场价" in web.get("/coop/prices").text
    res = post(web, "/coop/prices", cooperative=COOP, product="ruoye", grade="extra",
               day=day, price="1")  # fmt: skip
    assert res.status_code == 403


def test_coldchain_alarms_and_daily_mkt(web, today) -> None:
    sign_in(web, "reviewer1")
    page = web.get("/coop/coldchain").text
    assert "sensor" not in page or "传感器无数据" in page
    assert "未解除" in page  # the active alarm
    assert "op-wang" in page  # who acknowledged the cleared one on the console
    assert 'id="mkt"' in page
    yesterday = (today - timedelta(days=1)).isoformat()
    assert yesterday in page
    web.cookies.clear()
    sign_in(web, "reviewer-b")
    page = web.get("/coop/coldchain").text
    assert "传感器无数据" not in page
    assert 'id="no-mkt"' in page
    res = web.get("/coop/coldchain?date_from=2026-01-01&date_to=2026-03-01")
    assert 'id="date_to-error"' in res.text


def test_pages_need_sign_in(web) -> None:
    for url in ("/coop/intake", "/coop/contracts", "/coop/prices", "/coop/coldchain",
                "/coop/intake.csv", "/coop/contracts/new"):  # fmt: skip
        res = web.get(url, follow_redirects=False)
        assert res.status_code == 303, url
        assert res.headers["location"].startswith("/coop/login")
    assert csrf(web)


def test_change_link_prefills_the_days_price(web, today) -> None:
    sign_in(web, "reviewer1")
    page = web.get(f"/coop/prices?day={today.isoformat()}&product=strawberry&grade=class_i").text
    assert 'id="price" name="price" value="9.00"' in page
    assert "报价" in page  # rows without a price offer to set one
