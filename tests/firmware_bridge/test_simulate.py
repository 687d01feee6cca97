"""The station simulator: repeatable, valid wire payloads, faults that show."""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import groupby, islice
from typing import Any

import cv2
import numpy as np
import pytest
from typer.testing import CliRunner

from firmware_bridge.simulate.day import Fault
from firmware_bridge.simulate.station import StationSimulator
from gongfang.cli import app
from gongfang.wire import PayloadError, TopicKind, parse_payload
from tests.firmware_bridge.watch import Watcher
from tests.services import Mosquitto


def _sim(**kw) -> StationSimulator:
    args: dict[str, Any] = {"station": "sim-a", "seed": 7, "lanes": 2, "rooms": 2, "speed": 0}
    args.update(kw)
    return StationSimulator(**args)


def test_same_seed_same_sequence_other_seed_differs() -> None:
    first = [(t, p) for t, p, _, _ in _sim().messages(n_farmers=2)]
    # Camera frames are rendered photos with the ArUco marker (DICT_4X4_50, id 0).
    frame = next(p for t, p in first if "/camera/" in t)
    assert _marker_ids(frame) == [0]
    second = [(t, p) for t, p, _, _ in _sim().messages(n_farmers=2)]
    other = [(t, p) for t, p, _, _ in islice(_sim(seed=8).messages(n_farmers=2), 100)]
    assert len(first) > 200
    assert first == second
    assert first[:100] != other


def test_messages_are_valid_wire_payloads_in_time_order() -> None:
    sim = _sim(farmers=["F101", "F102"], camera="placeholder")
    events = list(sim.events(n_farmers=4))
    ts = [e.t_ms for e in events]
    assert ts == sorted(ts)
    kinds: dict[TopicKind, int] = defaultdict(int)
    codes = []
    for ev in events:
        topic, body = parse_payload(ev.topic, ev.payload)  # raises on anything invalid
        kinds[topic.kind] += 1
        if topic.kind is TopicKind.SCANNER_CODE:
            codes.append(body.code)
        assert ev.qos == (0 if topic.kind is TopicKind.SCALE_READING else 1)
    assert codes == ["F101", "F102", "F101", "F102"]
    assert kinds[TopicKind.CAMERA_FRAME] >= 4  # one JPEG per crate, ≥ 1 crate per visit
    assert kinds[TopicKind.CLIMATE] > 0
    assert kinds[TopicKind.DOOR] > 0
    # Each crate's gross is shown, at rest, for ≥ 1.6 s: what the edge's detector needs
    # (1.5 s within 20 g). Runs of equal loaded readings per lane, in order:
    visits = sim.schedule(None, 4)[0]
    for lane in sim.lanes:
        grams = [
            json.loads(e.payload)["gross_g"]
            for e in events
            if e.topic == sim.topics.scale_reading(lane)
        ]
        runs = [(g, len(list(k))) for g, k in groupby(grams) if g > 0]
        held = [g for g, n in runs if n >= 8]
        assert held == [c.gross_g for v in visits if v.lane == lane for c in v.crates]
    assert sim.schedule(None, 4)[0][0].start_ms > 0
    # Sequence numbers per scale increase by one.
    for lane in sim.lanes:
        seqs = [
            json.loads(e.payload)["seq"]
            for e in events
            if e.topic == sim.topics.scale_reading(lane)
        ]
        assert seqs == list(range(len(seqs)))


def test_cold_room_saw_tooth_and_compressor_fault() -> None:
    def temps(sim: StationSimulator) -> list[float]:
        return [
            json.loads(p)["temp_c"]
            for t, p, _, _ in sim.messages(duration_s=3 * 3600)
            if t == sim.topics.climate("room1")
        ]

    normal = temps(_sim(lanes=1, rooms=1, mean_gap_s=1e9, camera="placeholder"))
    # Compressor cycling: a saw-tooth between about 0.5 and 1.5 °C (doors add a little).
    assert 0.0 <= min(normal) < 0.8
    assert 1.2 < max(normal) < 3.0
    cycles = sum(1 for a, b in zip(normal, normal[1:], strict=False) if a < 1.0 <= b)
    assert cycles >= 5
    broken = temps(
        _sim(lanes=1, rooms=1, mean_gap_s=1e9, faults=["compressor@600"], camera="placeholder")
    )
    assert max(broken) > 4.0  # warms past the 4 °C alarm threshold


def test_faults_silent_sensor_unsettled_scale_garbled() -> None:
    faults = ["silent-sensor@120", "unsettled-scale", "garbled"]
    sim = _sim(lanes=1, rooms=1, faults=faults, camera="placeholder")
    events = list(sim.events(duration_s=200))
    climate_ts = [e.t_ms for e in events if e.kind == "climate"]
    assert climate_ts
    assert max(climate_ts) < 120_000
    offline = [e for e in events if e.payload == b"offline" and "probe-room1" in e.topic]
    assert offline
    assert offline[0].t_ms == 125_000
    assert offline[0].retain
    bad = 0
    for ev in events:
        try:
            parse_payload(ev.topic, ev.payload)
        except PayloadError:
            bad += 1
            assert ev.garbled
    assert bad > 0
    # Unsettled: no 1.5 s window where consecutive loaded readings stay within 20 g.
    loaded = [
        json.loads(e.payload)["gross_g"]
        for e in events
        if e.kind == "scale" and not e.garbled and json.loads(e.payload)["gross_g"] > 1000
    ]
    windows = [loaded[i : i + 8] for i in range(len(loaded) - 8)]
    assert all(max(w) - min(w) > 20 for w in windows)


def _marker_ids(jpeg: bytes) -> list[int]:
    image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    detector = cv2.aruco.ArucoDetector(cv2.aruco.getPredefinedDictionary(cv2.aruco.DICT_4X4_50))
    _, ids, _ = detector.detectMarkers(image)
    return [] if ids is None else [int(i) for i in ids.ravel()]


def test_ruoye_camera_frames_are_rendered_leaves() -> None:
    sim = _sim(product="ruoye", lanes=1, rooms=1)
    frames = [e.payload for e in sim.events(n_farmers=1) if e.kind == "camera"]
    assert frames
    assert sim._camera_mode == "rendered"
    assert _marker_ids(frames[0]) == [0]


def test_ruoye_station_with_placeholder_camera() -> None:
    sim = _sim(product="ruoye", camera="placeholder", lanes=1, rooms=1)
    events = list(sim.events(n_farmers=2))
    for ev in events:
        parse_payload(ev.topic, ev.payload)
    crates = [c.gross_g for v in sim.schedule(None, 2)[0] for c in v.crates]
    assert all(5_500 <= g <= 20_500 for g in crates)  # bundles of 箬叶 on a board
    temps = [json.loads(e.payload)["temp_c"] for e in events if e.kind == "climate"]
    assert all(3.0 <= t <= 6.0 for t in temps)  # 箬叶 rooms are kept near 4 °C


@pytest.mark.mosquitto
def test_run_is_paced_by_speed(mosquitto: Mosquitto) -> None:
    sim = _sim(
        station="sim-pace",
        mqtt_url=mosquitto.url,
        speed=200,
        lanes=1,
        rooms=1,
        camera="placeholder",
    )
    watcher = Watcher(mosquitto.url, "gf/v1/sim-pace/+/+/climate")
    try:
        summary = sim.run(duration_s=60)
        assert summary.simulated_s == 60.0
        assert summary.wall_s >= 60 / 200
        assert summary.by_kind["climate"] == 6
        msgs = watcher.wait_until(lambda ms: len(ms) >= 6, 5)
        ts = [json.loads(m.payload)["ts_ms"] for m in msgs]
        assert ts == [sim.start_ms + 10_000 * i for i in range(6)]  # simulated time
    finally:
        watcher.close()


def test_fault_parse() -> None:
    assert Fault.parse("compressor@90") == Fault("compressor", 90.0)
    assert Fault.parse("garbled") == Fault("garbled", 0.0)
    with pytest.raises(ValueError, match="unknown fault"):
        Fault.parse("meteor")


@pytest.mark.mosquitto
def test_cli_simulate_twice_through_broker(mosquitto: Mosquitto) -> None:
    station = "sim-cli"
    expected = defaultdict(list)
    for topic, payload, _, _ in _sim(station=station, seed=5, lanes=1, rooms=1).messages(
        n_farmers=1
    ):
        expected[topic].append(payload)
    runs = []
    total = sum(len(v) for v in expected.values())
    for _ in range(2):
        watcher = Watcher(mosquitto.url, f"gf/v1/{station}/#")
        try:
            args = ["simulate", "--station", station, "--mqtt", mosquitto.url, "--seed", "5"]
            # The CLI's day is today's unless told: pin it to the simulator's seeded start.
            args += ["--speed", "0", "--farmers", "1", "--start", "2026-01-15T08:00+08:00"]
            result = CliRunner().invoke(app, args)
            assert result.exit_code == 0, result.output
            assert "camera" in result.output
            # Retained statuses of the previous run arrive first (retain flag set): skip them.
            msgs = watcher.wait_until(lambda ms: sum(not m.retain for m in ms) >= total, 15)
            got = defaultdict(list)
            for m in msgs:
                if not m.retain:
                    got[m.topic].append(m.payload)
            runs.append(got)
        finally:
            watcher.close()
        assert sum(len(v) for v in got.values()) == total
    assert runs[0] == runs[1] == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["simulate", "--fault", "meteor"], "unknown fault"),
        (["simulate", "--duration", "10", "--farmers", "2"], "not both"),
        (["simulate", "--station", "a/b"], "ids are letters"),
        (["simulate", "--start", "2026-01-15T08:00"], "timezone"),
        (["bridge", "--config", "/nonexistent/bridge.toml"], "config file not found"),
    ],
)
def test_cli_bad_options_exit_2_with_reason(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert message in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_simulate_defaults_to_todays_opening_in_shanghai() -> None:
    """Without --start a simulated day is today's (Asia/Shanghai): its lots meet today's
    prices on a real server, and nothing is stamped ahead of the clock."""
    from datetime import UTC, datetime

    from firmware_bridge.simulate.day import opening_today

    # 10:30 in Shanghai (02:30 UTC): the day opened at 08:00 local = 00:00 UTC.
    assert opening_today(datetime(2026, 3, 2, 2, 30, tzinfo=UTC)) == datetime(
        2026, 3, 2, 0, 0, tzinfo=UTC
    )
    # 23:30 UTC on 03-01 is 07:30 on 03-02 in Shanghai: before opening, so now.
    early = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)
    assert opening_today(early) == early
    # 16:30 UTC is 00:30 the next day in Shanghai: that day's 08:00 has not come yet.
    late = datetime(2026, 3, 1, 16, 30, tzinfo=UTC)
    assert opening_today(late) == late
    now = datetime.now(UTC)
    assert opening_today() <= now
