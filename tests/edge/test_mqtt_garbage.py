"""Acceptance 5: 10,000 random and garbled payloads on every subscribed topic through a
real Mosquitto. The link stays up, counts exactly 10,000 bad payloads (per topic kind),
and every good message interleaved with them is handled."""

from __future__ import annotations

import json
import logging
import random
import time
import uuid
from typing import Any

import pytest

from edge.mqtt.client import MqttLink
from gongfang import wire
from tests.edge.test_mqtt_link import Collector, eventually, publisher
from tests.services import Mosquitto

N_BAD = 10_000
GOOD_EVERY = 20  # one good message after every 20 bad ones: 500 good messages

_GOOD_DOCS: dict[wire.TopicKind, dict[str, Any]] = {
    wire.TopicKind.SCALE_READING: {"ts_ms": 1, "gross_g": 1200, "seq": 1, "status": "ok"},
    wire.TopicKind.SCANNER_CODE: {"ts_ms": 1, "code": "CARD-1"},
    wire.TopicKind.CLIMATE: {"ts_ms": 1, "temp_c": 1.5, "rh_pct": 92.0, "seq": 1},
    wire.TopicKind.DOOR: {"ts_ms": 1, "open": False},
}
_WRONG: list[tuple[str, Any]] = [
    ("ts_ms", -5),
    ("ts_ms", "yesterday"),
    ("gross_g", 10**9),
    ("gross_g", "heavy"),
    ("seq", -1),
    ("status", "smoking"),
    ("code", ""),
    ("code", "x" * 600),
    ("temp_c", 999.0),
    ("temp_c", "cold"),
    ("rh_pct", 140.0),
    ("open", "maybe"),
    ("open", None),
]


def garbage(kind: wire.TopicKind, rng: random.Random) -> bytes:
    """A payload that ``parse_payload`` must reject for a topic of this kind."""
    pick = rng.randrange(6)
    if pick == 0 or kind not in _GOOD_DOCS:
        if kind is wire.TopicKind.DEVICE_STATUS and rng.random() < 0.3:
            return rng.choice([b"on line", b"ONLINE!", b"", b'"maybe"', b"\xff\xfe"])
        return rng.randbytes(rng.randrange(0, 300))  # may also be empty
    good = json.dumps(_GOOD_DOCS[kind]).encode()
    if pick == 1:
        return good[: rng.randrange(1, len(good) - 1)]  # truncated
    if pick == 2:
        return rng.choice([b"[1,2,3]", b"null", b"42", b'"text"', b"{}", b"NaN", b"{{"])
    if pick == 3:  # a required field missing
        doc = dict(_GOOD_DOCS[kind])
        doc.pop(rng.choice([k for k in doc if k != "status"]))
        return json.dumps(doc).encode()
    if pick == 4:  # NaN / infinity where a number is expected
        doc = dict(_GOOD_DOCS[kind])
        key = rng.choice([k for k, v in doc.items() if isinstance(v, int | float)] or ["ts_ms"])
        return json.dumps(doc).replace(json.dumps(doc[key]), "NaN", 1).encode()
    doc = dict(_GOOD_DOCS[kind])  # a field of the wrong type or out of range
    key, value = rng.choice([(k, v) for k, v in _WRONG if k in doc])
    doc[key] = value
    return json.dumps(doc).encode()


def good(kind: wire.TopicKind, seq: int) -> bytes:
    if kind is wire.TopicKind.CAMERA_FRAME:
        return b"\xff\xd8\xff\xe0" + seq.to_bytes(4, "big")
    if kind is wire.TopicKind.DEVICE_STATUS:
        return b"online"
    doc = dict(_GOOD_DOCS[kind])
    doc["ts_ms"] = seq
    if "seq" in doc:
        doc["seq"] = seq
    return json.dumps(doc).encode()


def test_ten_thousand_garbled_payloads(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    station = f"g{uuid.uuid4().hex[:10]}"
    topics = wire.Topics(station)
    concrete = {
        wire.TopicKind.SCALE_READING: topics.scale_reading("lane1"),
        wire.TopicKind.SCANNER_CODE: topics.scanner_code("lane1"),
        wire.TopicKind.CLIMATE: topics.climate("room1"),
        wire.TopicKind.DOOR: topics.door("room1"),
        wire.TopicKind.CAMERA_FRAME: topics.camera_frame("lane1"),
        wire.TopicKind.DEVICE_STATUS: topics.device_status("scale1"),
    }
    subscribed = {wire.parse_topic(f.replace("+", "x")) for f, _ in topics.subscriptions()}
    assert {t.kind for t in subscribed if t is not None} == set(concrete)  # every filter
    kinds = list(concrete)
    rng = random.Random(20261124)
    plan: list[tuple[str, bytes]] = []
    bad_by_kind: dict[str, int] = {}
    good_by_kind: dict[wire.TopicKind, int] = {}
    for i in range(N_BAD):
        kind = kinds[i % len(kinds)]
        payload = garbage(kind, rng)
        with pytest.raises(wire.PayloadError):  # the test's own garbage really is bad
            wire.parse_payload(concrete[kind], payload)
        plan.append((concrete[kind], payload))
        bad_by_kind[kind.value] = bad_by_kind.get(kind.value, 0) + 1
        if i % GOOD_EVERY == GOOD_EVERY - 1:
            gkind = kinds[(i // GOOD_EVERY) % len(kinds)]
            n = good_by_kind.get(gkind, 0)
            good_by_kind[gkind] = n + 1
            plan.append((concrete[gkind], good(gkind, n)))
    n_good = sum(good_by_kind.values())
    own_status = 1  # the link's own retained "online" comes back on device/+/status

    got = Collector()
    link = MqttLink(url=mosquitto.url, station=station, client_id=station, on_message=got)
    pub = publisher(mosquitto.port, max_inflight=1000)
    try:
        with caplog.at_level(logging.WARNING, logger="edge.mqtt.client"):
            link.start()
            assert link.wait_connected(10)
            t0 = time.perf_counter()
            for topic, payload in plan:
                pub.publish(topic, payload, qos=1)
            total = N_BAD + n_good + own_status
            assert eventually(lambda: link.stats().received >= total, 60)
            assert eventually(lambda: link.stats().queue_depth == 0, 10)
            elapsed = time.perf_counter() - t0
        st = link.stats()
    finally:
        pub.disconnect()
        pub.loop_stop()
        link.stop()

    assert st.connected
    assert st.connects == 1  # never dropped
    assert st.bad_payloads == N_BAD
    assert st.bad_by_kind == bad_by_kind
    assert st.received == N_BAD + n_good + own_status
    assert st.handled == n_good + own_status
    assert st.handler_errors == 0
    for kind, n in good_by_kind.items():
        mine = got.of(kind)
        if kind is wire.TopicKind.DEVICE_STATUS:
            mine = [m for m in mine if m.topic.ident == "scale1"]
        assert len(mine) == n, kind
    climate = [m.payload.seq for m in got.of(wire.TopicKind.CLIMATE)]
    assert climate == list(range(good_by_kind[wire.TopicKind.CLIMATE]))  # in order, none lost
    # Rate-limited logging: the first few one by one, not 10,000 lines.
    bad_lines = [r for r in caplog.records if "bad payload" in r.getMessage()]
    assert 10 <= len(bad_lines) <= 20
    print(f"{N_BAD} bad + {n_good} good through Mosquitto in {elapsed:.2f}s")  # noqa: T201
