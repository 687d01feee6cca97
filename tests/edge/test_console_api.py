"""The guards in front of the station console and the operator API (real EdgeNode, real
HTTP): sign-in beyond loopback, Origin, body size, 422 without the body, PIN lockout,
set-pin from stdin, and an alarm acknowledgement that reaches the (stand-in) server."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from edge.app import EdgeNode
from edge.console.auth import set_pin
from gongfang import wire
from gongfang.netaddr import is_loopback
from gongfang.settings import EdgeLane, EdgeSettings
from tests.e2e.helpers import wait_for
from tests.e2e.standin_server import StandinServer, StandinState

STATION = "st-con"
KEY = "k-console-0123456"


def _url(node: EdgeNode) -> str:
    assert node.http_url is not None
    return node.http_url


def _node(tmp_path: Path, host: str, **extra: Any) -> EdgeNode:
    settings = EdgeSettings.load(
        station=STATION,
        mqtt_url="embedded://",
        data_dir=tmp_path,
        http_host=host,
        http_port=0,
        receipts_enabled=False,
        lanes=[EdgeLane(id="lane1", tare_g=500, cold_room="room1")],
        rooms={"room1": "strawberry"},
        **extra,
    )
    return EdgeNode(settings).start()


def _sign_in(http: httpx.Client, name: str, pin: str) -> httpx.Response:
    http.get("/console/signin")
    token = http.cookies.get("csrftoken")
    return http.post("/console/signin", data={"name": name, "pin": pin, "csrftoken": token})


@pytest.fixture
def open_node(tmp_path: Path) -> Iterator[EdgeNode]:
    node = _node(tmp_path, "127.0.0.1")
    yield node
    node.stop()


def _can_bind_any() -> bool:
    try:
        with socket.socket() as s:
            s.bind(("0.0.0.0", 0))  # noqa: S104 - the test binds beyond loopback on purpose
        return True
    except OSError:
        return False


def test_loopback_addresses() -> None:
    assert is_loopback("127.0.0.1")
    assert is_loopback("127.3.2.1")
    assert is_loopback("::1")
    assert is_loopback("localhost")
    assert is_loopback("[::1]")
    assert not is_loopback("0.0.0.0")  # noqa: S104
    assert not is_loopback("192.168.1.20")
    assert not is_loopback("station.local")
    assert not is_loopback("::")


@pytest.mark.skipif(not _can_bind_any(), reason="cannot bind beyond loopback here")
def test_beyond_loopback_everything_but_sign_in_needs_the_operator(tmp_path: Path) -> None:
    node = _node(tmp_path, "0.0.0.0")  # noqa: S104
    try:
        port = _url(node).rsplit(":", 1)[1]
        base = f"http://127.0.0.1:{port}"
        set_pin(node.store, "王芳", "2468")
        anon = httpx.Client(base_url=base, timeout=5)
        assert anon.get("/api/status").status_code == 401
        assert anon.get("/api/lots").status_code == 401
        r = anon.post("/api/lanes/lane1/farmer", json={"farmer": "F001"})
        assert r.status_code == 401
        assert node.station.status()["lanes"]["lane1"]["farmer"] is None  # nothing changed
        page = anon.get("/console/lanes")
        assert page.status_code == 303
        assert page.headers["location"].startswith("/console/signin")
        assert anon.get("/console/signin").status_code == 200
        assert anon.get("/static/gf/gf.css").status_code == 200
        with pytest.raises(InvalidStatus):
            connect(f"ws://127.0.0.1:{port}/ws/status", open_timeout=5)
        # a forged cookie is no better than none
        anon.cookies.set("gf_op", "eyJvcCI6IueOi-iKsyJ9.forged.sig")
        assert anon.get("/api/status").status_code == 401

        http = httpx.Client(base_url=base, timeout=5)
        assert _sign_in(http, "王芳", "2468").status_code == 303
        assert http.get("/api/status").status_code == 200
        assert http.get("/console/lanes").status_code == 200
        # a cookie-bearing write needs the CSRF token too
        assert http.post("/api/lanes/lane1/farmer", json={"farmer": "F001"}).status_code == 403
        r = http.post(
            "/api/lanes/lane1/farmer",
            json={"farmer": "F001"},
            headers={"x-csrftoken": str(http.cookies.get("csrftoken") or "")},
        )
        assert r.status_code == 200, r.text
        cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        with connect(
            f"ws://127.0.0.1:{port}/ws/lanes", additional_headers={"cookie": cookie}
        ) as ws:
            assert "lane1" in ws.recv(timeout=5)
    finally:
        node.stop()


def test_loopback_api_stays_open_but_pages_ask_for_the_pin(open_node: EdgeNode) -> None:
    http = httpx.Client(base_url=_url(open_node), timeout=5)
    assert http.get("/api/status").status_code == 200
    assert http.get("/console/lanes").status_code == 303
    set_pin(open_node.store, "李四", "1357")
    assert _sign_in(http, "李四", "1357").headers["location"] == "/console/lanes"
    cookie = http.cookies.get("gf_op") or ""
    assert cookie
    assert "李四" not in cookie
    set_cookie = [
        v for k, v in http.get("/console/signin").headers.multi_items() if k == "set-cookie"
    ]
    assert all("gf_op" not in v for v in set_cookie)  # only the sign-in sets it
    assert http.get("/console/lanes").status_code == 200


def test_sign_in_cookie_is_http_only_and_wrong_pins_lock_the_name(open_node: EdgeNode) -> None:
    set_pin(open_node.store, "王芳", "2468")
    http = httpx.Client(base_url=_url(open_node), timeout=5)
    r = _sign_in(http, "王芳", "2468")
    header = r.headers["set-cookie"]
    assert "gf_op=" in header
    assert "HttpOnly" in header
    assert "SameSite=strict" in header
    other = httpx.Client(base_url=_url(open_node), timeout=5)
    for _ in range(5):
        r = _sign_in(other, "王芳", "0000")
        assert r.status_code == 422
        assert "PIN 码不对" in r.text
    assert _sign_in(other, "王芳", "2468").status_code == 429  # even the right PIN, for now


def test_origin_is_checked_on_posts_and_websockets(open_node: EdgeNode) -> None:
    base = _url(open_node)
    http = httpx.Client(base_url=base, timeout=5)
    evil = {"origin": "http://evil.example"}
    r = http.post("/api/lanes/lane1/farmer", json={"farmer": "F001"}, headers=evil)
    assert r.status_code == 403
    assert open_node.station.status()["lanes"]["lane1"]["farmer"] is None
    assert (
        http.post("/console/signin", data={"name": "x", "pin": "1"}, headers=evil).status_code
        == 403
    )
    own = {"origin": base}
    assert (
        http.post("/api/lanes/lane1/farmer", json={"farmer": "F001"}, headers=own).status_code
        == 200
    )
    ws_url = base.replace("http", "ws")
    for path in ("/ws/status", "/ws/lanes"):
        with pytest.raises(InvalidStatus):
            connect(ws_url + path, origin="http://evil.example", open_timeout=5)  # type: ignore[arg-type]
        with connect(ws_url + path, origin=base, open_timeout=5) as ws:  # type: ignore[arg-type]
            assert ws.recv(timeout=5)


def test_bodies_are_limited_and_errors_never_echo_them(open_node: EdgeNode) -> None:
    http = httpx.Client(base_url=_url(open_node), timeout=5)
    big = b'{"farmer": "' + b"x" * 70_000 + b'"}'
    r = http.post(
        "/api/lanes/lane1/farmer", content=big, headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert "x" * 100 not in r.text

    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b"y" * 8192

    r = http.post("/api/lanes/lane1/override", content=chunks())  # chunked, no length
    assert r.status_code == 413

    secret = "SECRET-" + "Z" * 80  # too long for a farmer id
    r = http.post("/api/lanes/lane1/farmer", json={"farmer": secret, "operator": "王芳"})
    assert r.status_code == 422
    assert "SECRET" not in r.text
    assert "王芳" not in r.text
    assert "farmer" in r.json()["detail"]
    r = http.post(
        "/api/lanes/lane1/override", json={"grade": "gold", "reason": "秘密原因", "operator": "x"}
    )
    assert r.status_code == 422
    assert "gold" not in r.text
    assert "秘密原因" not in r.text
    r = http.post(
        "/api/lanes/lane1/farmer",
        content=b'{"farmer": "HIDDEN',
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 422
    assert "HIDDEN" not in r.text


def test_set_pin_reads_stdin_never_argv(tmp_path: Path) -> None:
    cmd = [
        sys.executable,
        "-m",
        "gongfang.cli",
        "edge",
        "set-pin",
        "王芳",
        "--data-dir",
        str(tmp_path),
    ]
    out = subprocess.run(
        cmd, input="8642\n", capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    bad = subprocess.run(cmd, input="12\n", capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2
    assert "4–8" in bad.stderr
    from edge.console.auth import SignIn
    from edge.outbox.store import EdgeStore

    store = EdgeStore(tmp_path / "edge.db")
    try:
        stored = store.operator_pin_hash("王芳")
        assert stored is not None
        assert stored.startswith("$argon2")
        assert "8642" not in stored
        assert SignIn(store).check("王芳", "8642")
        assert not SignIn(store).check("王芳", "8643")
    finally:
        store.close()


def test_alarm_acknowledged_on_the_console_reaches_the_server(tmp_path: Path) -> None:
    state = StandinState(api_key=KEY, station=STATION, farmers={"F001"})
    server = StandinServer(state).start()
    node = _node(tmp_path, "127.0.0.1", server_url=server.url, api_key=KEY, sync_interval_s=0.1)
    try:
        alarm_id = raise_temp_alarm(node, "room1")
        wait_for(lambda: alarm_id in state.alarms, timeout_s=10)
        assert state.alarms[alarm_id]["acked_by"] is None
        set_pin(node.store, "王芳", "2468")
        http = httpx.Client(base_url=_url(node), timeout=5)
        _sign_in(http, "王芳", "2468")
        page = http.get("/console/rooms").text
        assert f'data-alarm="{alarm_id}"' in page
        token = re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        r = http.post(f"/console/alarms/{alarm_id}/ack", data={"csrftoken": token})
        assert r.status_code == 303
        assert "王芳" in http.get("/console/rooms").text
        got = wait_for(lambda: (a := state.alarms[alarm_id])["acked_by"] and a, timeout_s=10)
        assert got["acked_by"] == "王芳"
        assert got["acked_at"]
        assert http.post("/console/alarms/nope/ack", data={"csrftoken": token}).status_code == 404
    finally:
        node.stop()
        server.stop()


def raise_temp_alarm(node: EdgeNode, room: str) -> str:
    """Feed the node's cold-room monitor 30 minutes of 6 °C readings ending now (as if they
    had arrived over MQTT) and store the alarm it raises; returns the alarm id."""
    now = datetime.now(UTC)
    events = []
    monitor = node._monitor  # noqa: SLF001 - seeding the past without waiting 20 minutes
    assert monitor is not None
    for i in range(61):
        t = now - timedelta(seconds=30 * (60 - i))
        ms = int(t.timestamp() * 1000)
        reading = wire.Climate(ts_ms=ms, temp_c=6.0 + (i % 3) * 0.1, rh_pct=91.0, seq=i)
        with node._monitor_lock:  # noqa: SLF001
            events += monitor.on_climate(room, reading, ms)
    node._alarm_events(events)  # noqa: SLF001
    raised = [e.record for e in events if e.kind == "raised"]
    assert raised, "no alarm raised"
    return str(raised[0].id)


def _pending_crate(node: EdgeNode, gross_g: int = 5000) -> str:
    """A crate settles on lane1 (readings handed to the workflow as MQTT would)."""
    t0 = int(datetime.now(UTC).timestamp() * 1000)
    seq = 0
    for g in [0] * 5 + [gross_g] * 25:
        seq += 1
        node.station.on_reading(
            "lane1", wire.ScaleReading(ts_ms=t0 + seq * 100, gross_g=g, seq=seq, status="ok")
        )
    pending = node.station.status()["lanes"]["lane1"]["pending"]
    assert len(pending) == 1
    return str(pending[0]["lot_id"])


def test_console_discard_and_override_need_a_reason(tmp_path: Path) -> None:
    node = _node(tmp_path, "127.0.0.1", stable_window_ms=300)
    try:
        set_pin(node.store, "王芳", "2468")
        http = httpx.Client(base_url=_url(node), timeout=5)
        _sign_in(http, "王芳", "2468")
        node.station.select_farmer("lane1", "F001")
        lot_id = _pending_crate(node)
        page = http.get("/console/lanes").text
        assert f'data-lot="{lot_id}"' in page
        token = re.search(r'name="csrftoken" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        hx = {"hx-request": "true"}
        form = {"csrftoken": token, "lot_id": lot_id}
        r = http.post(
            "/console/lanes/lane1/discard", data=form | {"discard_reason": " "}, headers=hx
        )
        assert r.status_code == 422
        assert "请填写原因" in r.text
        r = http.post("/console/lanes/lane1/override", data=form | {"grade": "class_i"}, headers=hx)
        assert r.status_code == 422
        assert 'data-error="reason"' in r.text
        r = http.post(
            "/console/lanes/lane1/override",
            data=form | {"grade": "gold", "reason": "x"},
            headers=hx,
        )
        assert r.status_code == 422
        assert "请选择等级" in r.text
        assert node.station.status()["lanes"]["lane1"]["pending"]  # all refused: still pending
        r = http.post(
            "/console/lanes/lane1/discard", data=form | {"discard_reason": "筐放错了"}, headers=hx
        )
        assert r.status_code == 200
        assert "已作废" in r.text
        assert node.station.status()["lanes"]["lane1"]["pending"] == []
        assert node.store.lot_count() == 0
        note = node.store.get("console_discards")[-1]
        assert note["lot_id"] == lot_id
        assert note["operator"] == "王芳"
        assert note["reason"] == "筐放错了"
        # htmx asks for a partial while signed out: it is sent to the sign-in page
        anon = httpx.Client(base_url=_url(node), timeout=5)
        r = anon.get("/console/lanes/lane1/panel", headers=hx)
        assert r.status_code == 204
        assert r.headers["hx-redirect"].startswith("/console/signin")
    finally:
        node.stop()


def test_operators_from_the_server_directory_sign_in_and_local_pins_win(tmp_path: Path) -> None:
    from gongfang.pins import hash_pin

    directory = wire.StationDirectory(
        station=STATION,
        cooperative="c1",
        operators=[
            wire.OperatorHint(name="王芳", pin_hash=hash_pin("2468")),
            wire.OperatorHint(name="李明", pin_hash=hash_pin("1357")),
        ],
    )
    state = StandinState(api_key=KEY, station=STATION, farmers=set(), directory=directory)
    server = StandinServer(state).start()
    node = _node(tmp_path, "127.0.0.1", server_url=server.url, api_key=KEY, sync_interval_s=0.1)
    try:
        set_pin(node.store, "李明", "9753")  # set on the box: wins over the server's
        wait_for(lambda: node.directory.loaded and "王芳" in node.store.operator_names())
        http = httpx.Client(base_url=_url(node), timeout=5)
        assert _sign_in(http, "王芳", "2468").status_code == 303
        assert _sign_in(httpx.Client(base_url=_url(node)), "李明", "1357").status_code == 422
        assert _sign_in(httpx.Client(base_url=_url(node)), "李明", "9753").status_code == 303
        assert node.store.operator_sources() == {"王芳": "server", "李明": "local"}
    finally:
        node.stop()
        server.stop()
    # the server no longer lists 王芳: the next directory drops her, the local one stays
    from edge.console.auth import sync_operators
    from edge.outbox.store import EdgeStore

    store = EdgeStore(tmp_path / "edge.db")
    try:
        assert sync_operators(store, []) == 1
        assert store.operator_names() == ["李明"]
    finally:
        store.close()


def test_every_message_the_console_uses_is_translated() -> None:
    """Keys named in the templates and the routes, and the families built at run time
    (waiting states, kinds, results, severities, rules, labels), are in the catalogue."""
    from edge.console.mount import HERE
    from gongfang.web.i18n import Messages

    zh = Messages.load(HERE / "locale").by_lang["zh"]
    text = "".join(p.read_text(encoding="utf-8") for p in (HERE / "templates").glob("*.html"))
    text += (HERE / "pages.py").read_text(encoding="utf-8")
    used = set(re.findall(r"""t\(['"]([a-z_]+\.[a-z_.]+)['"]""", text))
    used = {k for k in used if not k.endswith(("_", "."))}  # prefixes of the families below
    used |= set(re.findall(r'"((?:lane|signin)\.err_[a-z_]+|lane\.[a-z]+ed)"', text))
    families = {
        "nav": ["lanes", "today", "rooms", "link"],
        "lot.waiting": ["farmer", "grading", "operator", "override"],
        "lot.graded": ["model", "operator"],
        "link.kind": ["lot", "alarm", "climate", "stay"],
        "link.result": [r.value for r in wire.ItemResult],
        "link.status": ["idle", "ok", "offline", "auth_error", "error", "disabled"],
        "rooms.sev": [s.value for s in wire.Severity],
        "rooms.profile": ["strawberry", "ruoye"],
        "rules": ["temp_high", "temp_critical", "temp_low", "rh_low", "sensor_silent", "door_open"],
        "item": ["unripe", "turning", "ripe", "defect", "clean", "spot", "yellow", "hole"],
        "grade": [g.value for g in wire.Grade],
        "product": [p.value for p in wire.Product],
    }
    sep = {"nav": ".", "rules": ".", "item": ".", "grade": ".", "product": "."}
    used |= {f"{f}{sep.get(f, '_')}{v}" for f, vs in families.items() for v in vs}
    assert sorted(k for k in used if k not in zh) == []
