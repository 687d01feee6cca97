"""Acceptance: a farmer scans the QR code of a REAL receipt (made by edge.receipts and read
back with OpenCV) and opens their passbook in headless Chromium on a 360×740 phone: the
lot with its photo outlined, grade, kg and 斤, the price and its rule; their lots and
payouts of the season. A tampered token and a revoked one show a plain "not found" with
nothing of anyone. The network is cut: every request outside 127.0.0.1 is aborted (0).
"""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import httpx
import pytest
from PIL import Image, ImageDraw

from edge.receipts.render import ReceiptData, receipt_paths, render_receipt, save_receipt
from edge.station.directory import Directory
from gongfang import wire
from gongfang.demo_bundle import COOPERATIVE, STATION, demo_bundle
from gongfang.settings import ServerSettings
from gongfang.web.fmt import today_local
from server.auth.models import User
from server.auth.service import make_token
from server.core.db import session_scope
from server.importer import import_bundle
from server.main import create_app
from server.payouts import service as payouts
from server.stations.service import issue_station_key
from tests.server.conftest import SECRET
from tests.web.live import live_server

FARMER, NAME = "F001", "王建国"
OTHER, OTHER_NAME = "F002", "李秀英"
PHONE = {"width": 360, "height": 740}
MM_PER_PX = 0.25
# (centre x, y in px, diameter mm, grade, white share) of the fruit on the photo
FRUIT = [
    (150, 150, 31.0, "extra", 0.01),
    (330, 140, 27.5, "class_i", 0.06),
    (510, 170, 26.0, "class_i", 0.04),
    (240, 330, 24.0, "class_ii", 0.15),
    (440, 340, 29.0, "extra", 0.02),
]


def tray_photo() -> bytes:
    """A 640×480 JPEG of red 'strawberries' on a light tray, where FRUIT says."""
    img = Image.new("RGB", (640, 480), (236, 236, 226))
    draw = ImageDraw.Draw(img)
    for x, y, d_mm, _g, _w in FRUIT:
        r = d_mm / 2 / MM_PER_PX * 0.92
        draw.ellipse((x - r, y - r * 1.1, x + r, y + r), fill=(196, 28, 42))
        draw.ellipse((x - 12, y - r * 1.1 - 8, x + 12, y - r * 1.1 + 8), fill=(40, 130, 50))
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=85)
    return out.getvalue()


@dataclass
class World:
    base: str
    key: str
    reviewer: dict[str, str]
    receipt_png: Path
    lot: wire.LotRecord
    other_token: str
    unpriced_token: str


def _lot(farmer: str, grade: wire.Grade, net_g: int, when: datetime, **kw: Any) -> wire.LotRecord:
    return wire.LotRecord(
        id=uuid.uuid4(),
        station=STATION,
        farmer=farmer,
        product=kw.pop("product", wire.Product.STRAWBERRY),
        grade=grade,
        gross_g=net_g + 500,
        tare_g=500,
        net_g=net_g,
        graded_by=wire.GradedBy(kind="model", model_name="strawberry", model_version="1.3.1"),
        captured_at=when,
        cold_room="room1",
        operator="op1",
        passbook_token=wire.new_passbook_token(),
        **kw,
    )


def _sync(http: httpx.Client, key: str, lots: list[wire.LotRecord]) -> None:
    body = {"station": STATION, "lots": [lot.model_dump(mode="json") for lot in lots]}
    res = http.post("/api/v1/sync", json=body, headers={"X-Api-Key": key})
    assert res.status_code == 200, res.text
    assert {a["result"] for a in res.json()["lots"]} == {"accepted"}


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = ServerSettings.load(
        database_url=f"sqlite:///{tmp_path / 'server.db'}",
        secret_key=SECRET,
        photos_dir=tmp_path / "photos",
    )
    app = create_app(settings)
    today = today_local()
    with session_scope(app.state.sessions) as s:
        import_bundle(session=s, doc=demo_bundle(today), actor="test")
        key = issue_station_key(session=s, station_id=STATION, actor="test")
        user = User(name="会计王", role="reviewer", cooperative_id=COOPERATIVE, password_hash="x")
        s.add(user)
        s.flush()
        reviewer = {
            "Authorization": f"Bearer {make_token(user=user, secret=SECRET, ttl_minutes=60)}"
        }
    now = datetime.now(UTC).replace(microsecond=0)
    photo = tray_photo()
    sha = hashlib.sha256(photo).hexdigest()
    items = [
        {
            "label": "ripe",
            "grade": g,
            "center_px": [float(x), float(y)],
            "diameter_mm": d,
            "white_fraction": w,
            "mm_per_px": MM_PER_PX,
        }
        for x, y, d, g, w in FRUIT
    ]
    lot = _lot(
        FARMER,
        wire.Grade.CLASS_I,
        12_340,
        now - timedelta(minutes=30),
        items=items,
        image_hashes=[sha],
    )
    other = _lot(OTHER, wire.Grade.EXTRA, 8_000, now - timedelta(minutes=20))
    with live_server(app) as base, httpx.Client(base_url=base, timeout=10) as http:
        _sync(http, key, [lot, other])
        res = http.put(
            f"/api/v1/photos/{sha}",
            params={"lot": str(lot.id)},
            content=photo,
            headers={"X-Api-Key": key, "Content-Type": "image/jpeg"},
        )
        assert res.status_code in (200, 201), res.text
        # An approved payout pays this lot; a later lot waits; a 箬叶 lot (no contract) is
        # not priced.
        with session_scope(app.state.sessions) as s:
            run = payouts.create_run(
                session=s,
                cooperative_id=COOPERATIVE,
                period_from=today - timedelta(days=14),
                period_to=today,
                actor="出纳李",
            )
            payouts.approve(session=s, run=run, actor="会计王")
        later = _lot(FARMER, wire.Grade.EXTRA, 6_500, now - timedelta(minutes=5))
        leaves = _lot(
            FARMER,
            wire.Grade.CLASS_I,
            3_000,
            now - timedelta(minutes=2),
            product=wire.Product.RUOYE,
        )
        _sync(http, key, [later, leaves])
        # The receipt, made as the station makes it: its estimate from the directory.
        doc = http.get("/api/v1/station/directory", headers={"X-Api-Key": key}).json()
        directory = Directory(wire.StationDirectory.model_validate(doc))
        estimate = directory.estimate(
            farmer_id=FARMER,
            product=lot.product,
            grade=lot.grade,
            net_g=lot.net_g,
            captured_at=lot.captured_at,
        )
        image = render_receipt(ReceiptData(STATION, lot, NAME, estimate, base))
        png, pdf = receipt_paths(tmp_path / "receipts", lot)
        save_receipt(image, png, pdf)
        yield World(
            base, key, reviewer, png, lot, str(other.passbook_token), str(leaves.passbook_token)
        )
    app.state.engine.dispose()


def scan(png: Path) -> str:
    """What a phone's camera reads off the receipt: OpenCV's QR detector on the PNG file."""
    gray = cv2.imread(str(png), cv2.IMREAD_GRAYSCALE)
    assert gray is not None
    text, points, _ = cv2.QRCodeDetector().detectAndDecode(gray)
    assert points is not None, "no QR code found on the receipt"
    return str(text)


def _fits_the_phone(page: Any) -> None:
    """Nothing wider than the screen (no sideways scrolling) and type a farmer can read."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    size = page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)")
    assert size >= 18


def _both_languages(page: Any, shot: Any, name: str) -> str:
    """Shoot the page in Chinese, switch to English by the page's own switch, shoot again;
    back to Chinese (the cookie sticks for the next page). Returns the English text."""
    _fits_the_phone(page)
    shot(page, f"{name}_zh")
    page.click("a.gf-lang")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "en"
    english = str(page.inner_text("body"))
    _fits_the_phone(page)
    shot(page, f"{name}_en")
    page.click("a.gf-lang")
    page.wait_for_load_state("networkidle")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    return english


def test_farmer_opens_the_passbook_from_a_real_receipt(world: World, offline_page, shot) -> None:
    url = scan(world.receipt_png)
    token = str(world.lot.passbook_token)
    assert url == f"{world.base}/p/{token}"
    page = offline_page(**PHONE)
    resp = page.goto(url)
    assert resp is not None
    assert resp.status == 200
    page.wait_for_load_state("networkidle")
    body = page.inner_text("body")
    assert NAME in body
    assert "一级" in body  # the lot's grade, in Chinese
    assert "12.34 kg" in body
    assert "24.68 斤" in body
    assert "合作社结算价" in body  # the final price, labelled
    assert "元/kg" in body
    assert "元/斤" in body
    assert "已列入第" in body  # paid by the approved run
    # The photo loaded, with one ring per fruit over it
    assert page.evaluate("document.querySelector('.pb-photo img').naturalWidth") == 640
    assert page.locator(".pb-photo circle").count() == len(FRUIT)
    r = float(page.locator(".pb-photo circle").first.get_attribute("r") or 0)
    assert r == pytest.approx(31.0 / 2 / MM_PER_PX)
    assert OTHER_NAME not in page.content()
    english = _both_languages(page, shot, "passbook_lot")
    for text in ("Class I", "Net weight", "12.34 kg", "Cooperative's final price", "market 28"):
        assert text in english, text

    page.click("nav.pb-tabs a[href$='/lots']")
    page.wait_for_load_state("networkidle")
    body = page.inner_text("body")
    assert "产季交售" in body
    assert body.count("kg") >= 3
    assert OTHER_NAME not in body
    assert page.locator(".pb-list li").count() == 3  # this farmer's three lots, no one else's
    assert "Lots, season" in _both_languages(page, shot, "passbook_lots")

    page.click("nav.pb-tabs a[href$='/payouts']")
    page.wait_for_load_state("networkidle")
    body = page.inner_text("body")
    assert "已审批，待打款" in body
    assert "待付款" in body
    assert "尚待定价" in body  # the 箬叶 lot
    assert "Approved, to be paid" in _both_languages(page, shot, "passbook_payouts")

    # An unpriced lot says so, with no price made up
    page.goto(f"{world.base}/p/{world.unpriced_token}")
    body = page.inner_text("body")
    assert "待定价" in body
    assert "暂无照片" in body  # the empty state of a lot without a photo
    shot(page, "passbook_unpriced_zh")
    assert page.gf_blocked == []
    assert page.gf_console_errors == []


def test_tampered_and_revoked_tokens_show_nothing_of_anyone(
    world: World, offline_page, shot
) -> None:
    token = str(world.lot.passbook_token)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    page = offline_page(**PHONE)
    for bad in (tampered, token[:-1], token + "x"):
        resp = page.goto(f"{world.base}/p/{bad}")
        assert resp is not None
        assert resp.status == 404
        html = page.content()
        assert "没有找到" in page.inner_text("body")
        for secret in (NAME, OTHER_NAME, str(world.lot.id), str(world.lot.id)[:8], "kg", "斤"):
            assert secret not in html, secret
    assert "Not found" in _both_languages(page, shot, "passbook_notfound")

    # Revoked by the cooperative: the printed QR code stops opening; others' links still work
    with httpx.Client(base_url=world.base, timeout=10) as http:
        res = http.post(f"/api/v1/farmers/{FARMER}/passbook/revoke", headers=world.reviewer)
        assert res.status_code == 200, res.text
        assert res.json()["revoked"] == 3
    for path in (
        f"/p/{token}",
        f"/p/{token}/lots",
        f"/p/{token}/payouts",
        f"/p/{token}/lots/{world.lot.id}/photo.jpg",
    ):
        resp = page.goto(world.base + path)
        assert resp is not None
        assert resp.status == 404, path
        assert NAME not in page.content()
    resp = page.goto(f"{world.base}/p/{world.other_token}")
    assert resp is not None
    assert resp.status == 200
    assert OTHER_NAME in page.inner_text("body")
    assert page.gf_blocked == []
