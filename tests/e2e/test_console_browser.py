"""Acceptance (station console, real headless Chromium): an operator signs in with a PIN
and records a lot end to end from simulated MQTT devices — the weight settles on screen,
the shipped ONNX grader's grade shows with the fruit outlined, they override it with a
reason (an empty reason shows the field's message), the receipt reprints. Every console
page is shot in Chinese and English with the network cut (nothing may leave 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from edge.app import EdgeNode
from edge.console.auth import set_pin
from gongfang import wire
from gongfang.settings import EdgeLane, EdgeSettings
from tests.e2e.helpers import TestClient, synthetic_frame, wait_for
from tests.e2e.scale_stream import ScaleStream
from tests.e2e.standin_server import StandinServer, StandinState
from tests.edge.test_console_api import raise_temp_alarm

STATION = "st-console"
KEY = "k-console-browser-01"
PIN = "2468"
TODAY = datetime.now(UTC).date()
DIRECTORY = wire.StationDirectory(
    station=STATION,
    cooperative="c1",
    farmers=[
        wire.FarmerHint(
            id="F001",
            name="张三",
            card_code="CARD-1",
            contracts=[
                wire.ContractHint(
                    product=wire.Product.STRAWBERRY,
                    valid_from="2000-01-01",
                    valid_to="2099-12-31",
                    floor_fen_per_kg={g: 900 for g in wire.Grade if g is not wire.Grade.REJECT},
                    premium_pct="20",
                    reject_fen_per_kg=100,
                )
            ],
        ),
        wire.FarmerHint(id="F002", name="李四"),
    ],
    market=[
        wire.MarketHint(
            product=wire.Product.STRAWBERRY, grade=g, date=TODAY.isoformat(), fen_per_kg=p
        )
        for g, p in (
            (wire.Grade.EXTRA, 2400),
            (wire.Grade.CLASS_I, 1800),
            (wire.Grade.CLASS_II, 1200),
        )
    ],
)
PAGES = ("lanes", "today", "rooms", "link")


@pytest.fixture
def station(mosquitto: Any, tmp_path: Path) -> Iterator[tuple[EdgeNode, StandinServer]]:
    # F002 is unknown to the server: its lot is refused and parked (the link page shows it)
    state = StandinState(api_key=KEY, station=STATION, farmers={"F001"}, directory=DIRECTORY)
    server = StandinServer(state).start()
    settings = EdgeSettings.load(
        station=STATION,
        mqtt_url=mosquitto.url,
        server_url=server.url,
        api_key=KEY,
        data_dir=tmp_path,
        http_port=0,
        stable_window_ms=300,
        sync_interval_s=0.2,
        printer="dummy",
        lanes=[EdgeLane(id="lane1", tare_g=500, cold_room="room1")],
        rooms={"room1": "strawberry"},
    )
    node = EdgeNode(settings).start()
    assert node.wait_connected(10)
    node.preload_graders()
    set_pin(node.store, "王芳", PIN)
    set_pin(node.store, "李明", "1357")
    yield node, server
    node.stop()
    server.stop()


def _readings(client: TestClient, topic: str, samples: Any) -> None:
    for s in samples:
        client.publish(
            topic, {"ts_ms": s.ts_ms, "gross_g": s.gross_g, "seq": s.seq, "status": "ok"}
        )


def _loaded(page: Any) -> None:
    page.wait_for_load_state("load")
    assert page.gf_blocked == [], page.gf_blocked
    # a form answered 422 with its messages is expected; anything else is a fault
    errors = [e for e in page.gf_console_errors if "status of 422" not in e]
    assert errors == [], errors
    assert "Traceback" not in page.content()


def _small_targets(page: Any) -> list[Any]:
    """Visible buttons, links, fields and choices less than 48 px high (a touch screen)."""
    return list(
        page.evaluate(
            """() => [...document.querySelectorAll(
                 'button, a, input:not([type=hidden]):not([type=radio]), summary, .choice span')]
               .filter(e => e.offsetParent !== null)
               .map(e => [(e.textContent || e.name || '').trim().slice(0, 24),
                          Math.round(e.getBoundingClientRect().height)])
               .filter(([, h]) => h < 48)"""
        )
    )


def _seed_climate(node: EdgeNode, room: str) -> None:
    """24 hours of minute summaries (a warm spell in the afternoon) for the chart."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    rows = []
    for m in range(24 * 60, 30, -5):
        t = now - timedelta(minutes=m)
        warm = 3.0 if 600 < m < 720 else 0.0
        rows.append(
            wire.ClimateSummary(
                station=STATION,
                room=room,
                minute_start=t,
                samples=6,
                temp_min_c=0.6 + warm,
                temp_mean_c=1.1 + warm + (m % 50) / 100,
                temp_max_c=1.6 + warm,
                rh_mean_pct=92.0 - warm,
            )
        )
    node.store.record_climate(rows)


def test_operator_records_a_lot_on_the_console(station, mosquitto, offline_page, shot) -> None:
    node, server = station
    base = node.http_url
    assert base is not None
    topics = wire.Topics(STATION)
    client = TestClient(mosquitto.url)
    page = offline_page(1280, 800)
    try:
        wait_for(lambda: node.directory.loaded, timeout_s=10)
        # -- sign in with the PIN on the keypad
        page.goto(f"{base}/console/lanes")
        assert "/console/signin" in page.url
        _loaded(page)
        shot(page, "console_signin_zh")
        page.get_by_text("王芳", exact=True).click()
        page.get_by_role("button", name="1").click()  # a wrong PIN first
        for key in "111":
            page.locator(f'[data-key="{key}"]').click()
        page.get_by_role("button", name="登录").click()
        assert page.locator(".gf-field-error").inner_text() == "PIN 码不对，请重新输入。"
        shot(page, "console_signin_error_zh")
        page.get_by_text("王芳", exact=True).click()
        for key in PIN:
            page.locator(f'[data-key="{key}"]').click()
        page.get_by_role("button", name="登录").click()
        page.wait_for_url(f"{base}/console/lanes")
        _loaded(page)
        assert "王芳" in page.locator("[data-operator]").inner_text()
        lane = page.locator("#lane-lane1")
        page.locator("[data-live]").wait_for(state="visible", timeout=10_000)

        # -- the farmer, picked from the search box
        page.fill("#farmer-lane1", "张")
        page.locator(".farmer-pick").first.wait_for(timeout=5000)
        page.locator(".farmer-pick").first.click()
        lane.locator('[data-farmer="F001"]').wait_for(timeout=5000)

        # -- a crate goes on the scale; the camera photographs it; it settles
        stream = ScaleStream(start_ms=int(datetime.now(UTC).timestamp() * 1000), seed=3)
        topic = topics.scale_reading("lane1")
        _readings(client, topic, stream.empty(300))
        crate = list(stream.crate(10_500, settle_ms=1500))
        on_scale = crate[:5]  # ramp + overshoot
        settled = crate[5:-8]  # steady readings
        _readings(client, topic, on_scale)
        client.publish(topics.camera_frame("lane1"), synthetic_frame(11), qos=1)
        _readings(client, topic, settled)
        lane = page.locator("#lane-lane1")
        page.locator("#lane-lane1 [data-stable]").wait_for(state="visible", timeout=10_000)
        assert page.locator("#lane-lane1 [data-moving]").is_hidden()
        kg = page.locator("#lane-lane1 [data-w-kg]").inner_text()
        jin = page.locator("#lane-lane1 [data-w-jin]").inner_text()
        assert kg.endswith(" kg")
        assert jin.endswith(" 斤")
        assert abs(float(kg[:-3]) - 10.0) <= 0.01, kg  # 10.5 kg gross − 0.5 kg crate, ±4 g
        assert abs(float(jin[:-2]) - 20.0) <= 0.02, jin

        # -- the model's grade, with the fruit outlined on the photo and listed
        page.locator("#lane-lane1 [data-lot-grade]").wait_for(timeout=20_000)
        model_grade = page.locator("#lane-lane1 [data-lot-grade]").get_attribute("data-lot-grade")
        assert model_grade in {g.value for g in wire.Grade}
        photo = page.locator("#lane-lane1 [data-photo]")
        photo.wait_for(timeout=10_000)
        wait_for(lambda: photo.evaluate("img => img.complete && img.naturalWidth") > 0)
        assert photo.evaluate("img => img.naturalWidth") == 960  # drawn on the edge, scaled
        rows = page.locator("#lane-lane1 [data-items] tbody tr")
        assert rows.count() >= 1
        assert "mm" in rows.first.inner_text()  # the marker gave sizes
        assert page.locator("#lane-lane1 [data-estimate]").inner_text().endswith("元/kg")
        _loaded(page)
        assert _small_targets(page) == []
        shot(page, "console_lanes_zh")

        # -- override: an empty reason is refused next to the field, nothing stored
        other = "class_ii" if model_grade != "class_ii" else "class_i"
        lane.locator(f".grade-choice.{other} span").click()
        lane.locator("[data-override]").click()
        err = page.locator('#lane-lane1 [data-error="reason"]')
        err.wait_for(timeout=5000)
        assert err.inner_text() == "请填写原因。"
        assert node.store.lot_count() == 0
        # the grade picked stays picked; the reason is given now
        assert page.locator(f"#lane-lane1 .grade-choice.{other} input").is_checked()
        shot(page, "console_lanes_reason_error_zh")
        page.fill("#reason-lane1", "有压伤，降一级")
        page.locator("#lane-lane1 [data-override]").click()
        page.locator("#lane-lane1 [data-flash]").wait_for(timeout=5000)
        lot = node.store.recent_lots(1)[0].record
        assert lot.grade.value == other
        assert lot.graded_by.kind == "operator"
        assert lot.graded_by.operator == "王芳"
        assert lot.graded_by.reason == "有压伤，降一级"
        assert lot.operator == "王芳"
        assert lot.farmer == "F001"
        assert abs(lot.net_g - 10_000) <= 10

        # -- the receipt printed; reprint it
        wait_for(lambda: (node.status()["receipts"] or {}).get("printed") == 1, timeout_s=15)
        page.locator("#lane-lane1 [data-reprint]").click()
        page.locator("#lane-lane1 [data-reprinted]").wait_for(timeout=5000)
        wait_for(lambda: (node.status()["receipts"] or {}).get("printed") == 2, timeout_s=15)
        # the crate comes off: the badge goes back to "not settled"
        _readings(client, topic, crate[-8:])
        page.locator("#lane-lane1 [data-moving]").wait_for(state="visible", timeout=10_000)
        wait_for(lambda: lot.id and str(lot.id) in server.state.lots, timeout_s=10)

        # -- a second crate for 李四 (unknown to the server: refused, parked) left pending
        page.fill("#farmer-lane1", "F002")
        page.locator("#lane-lane1 .farmer-form button[type=submit]").click()
        page.locator('#lane-lane1 [data-farmer="F002"]').wait_for(timeout=5000)
        _readings(client, topic, stream.empty(300))
        crate2 = list(stream.crate(6_200, settle_ms=1500))
        _readings(client, topic, crate2[:5])
        client.publish(topics.camera_frame("lane1"), synthetic_frame(12), qos=1)
        _readings(client, topic, crate2[5:-8])
        page.locator("#lane-lane1 [data-lot-grade]").wait_for(timeout=20_000)
        page.locator("#lane-lane1 [data-confirm]").click()
        page.locator("#lane-lane1 [data-flash]").wait_for(timeout=5000)
        wait_for(lambda: node.store.depth()["parked"] == 1, timeout_s=10)
        _readings(client, topic, crate2[-8:])
        # the next farmer's card is scanned at the lane: the panel shows him, no reload
        scan = {"ts_ms": int(datetime.now(UTC).timestamp() * 1000), "code": "CARD-1"}
        client.publish(topics.scanner_code("lane1"), scan, qos=1)
        page.locator('#lane-lane1 [data-farmer="F001"]').wait_for(timeout=10_000)
        _readings(client, topic, stream.empty(300))
        crate3 = list(stream.crate(8_300, settle_ms=1500))
        _readings(client, topic, crate3[:5])
        client.publish(topics.camera_frame("lane1"), synthetic_frame(13), qos=1)
        _readings(client, topic, crate3[5:-8])
        page.locator("#lane-lane1 [data-lot-grade]").wait_for(timeout=20_000)

        # -- the cold room: a day of readings, an alarm to acknowledge
        _seed_climate(node, "room1")
        alarm_id = raise_temp_alarm(node, "room1")

        for lang in ("zh", "en"):
            if lang == "en":
                page.goto(f"{base}/lang/en?next=/console/lanes")
            for name in PAGES:
                page.goto(f"{base}/console/{name}")
                _loaded(page)
                if name == "lanes":
                    page.locator("#lane-lane1 [data-photo]").wait_for(timeout=10_000)
                    page.wait_for_timeout(300)
                if name == "rooms":
                    page.locator(".chart .uplot").first.wait_for(timeout=5000)
                assert _small_targets(page) == [], name
                if lang == "zh" and name == "lanes":
                    continue  # shot above, mid-flow
                shot(page, f"console_{name}_{lang}")
            page.goto(f"{base}/console/signin")
            _loaded(page)
            if lang == "en":
                shot(page, "console_signin_en")
        assert page.locator("html").get_attribute("lang") == "en"

        # -- acknowledge the alarm (in English now), retry the parked lot
        page.goto(f"{base}/console/rooms")
        page.locator(f'[data-alarm="{alarm_id}"] [data-ack]').click()
        page.locator(f'[data-alarm="{alarm_id}"] [data-acked]').wait_for(timeout=5000)
        assert "王芳" in page.locator(f'[data-alarm="{alarm_id}"]').inner_text()
        wait_for(lambda: server.state.alarms.get(alarm_id, {}).get("acked_by") == "王芳")
        page.goto(f"{base}/console/today?farmer=F001")
        _loaded(page)
        assert page.locator("[data-lot-row]").count() >= 1
        shot(page, "console_today_farmer_en")
        page.goto(f"{base}/console/link")
        assert page.locator("[data-parked]").count() == 1
        page.locator("[data-retry]").click()
        page.wait_for_url(f"{base}/console/link")
        _loaded(page)
        # sent again, refused again (the farmer is still unknown), parked again
        wait_for(lambda: node.store.depth()["parked"] == 1 and node.store.depth()["total"] == 0)
    finally:
        client.close()
