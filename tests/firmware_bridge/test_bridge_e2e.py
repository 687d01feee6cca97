"""End to end: simulated devices on ptys → bridge → a real Mosquitto."""

from __future__ import annotations

import json
import time
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_bridge.config import ClimateDeviceConfig, ScaleDeviceConfig
from firmware_bridge.devices import Bridge, ScaleDevice
from firmware_bridge.simulate.scale import SimulatedScale
from firmware_bridge.simulate.sensor import SimulatedSensor
from gongfang.settings import BridgeSettings
from gongfang.wire import Topics
from tests.firmware_bridge.watch import Watcher
from tests.services import Mosquitto

pytestmark = pytest.mark.mosquitto


def _settings(mosquitto: Mosquitto, station: str) -> BridgeSettings:
    return BridgeSettings.load(
        station=station, mqtt_url=mosquitto.url, offline_after_s=1.0, retry_interval_s=0.3
    )


def _is_status(topic: str, status: str):
    return lambda m: m.topic == topic and m.payload == status.encode()


def test_xk3190_scale_to_mqtt_and_unplug(mosquitto: Mosquitto, tmp_path: Path) -> None:
    topics = Topics("e2e-xk")
    link = tmp_path / "ttyXK"
    watcher = Watcher(mosquitto.url, f"{topics.base}/#")
    cfg = ScaleDeviceConfig(id="scale-1", port=str(link), protocol="xk3190", scale="1", unit="kg")
    try:
        with SimulatedScale(link, "xk3190", unit="kg", decimals=2, rate_hz=20) as scale:
            scale.set_weight(12_340)
            with Bridge([cfg], _settings(mosquitto, "e2e-xk")) as bridge:
                status_topic = topics.device_status("scale-1")
                reading_topic = topics.scale_reading("1")
                watcher.wait_for(_is_status(status_topic, "online"), 10)
                msg = watcher.wait_for(lambda m: m.topic == reading_topic, 10)
                body = json.loads(msg.payload)
                assert body["gross_g"] == 12_340  # 12.34 kg → 12340 g
                assert "stable" not in body
                assert body["status"] == "ok"

                dev = bridge.devices[0]
                assert isinstance(dev, ScaleDevice)
                scale.garble_next = 3  # the bridge must resynchronise past corrupted frames
                scale.set_weight(-1_250)  # negative gross (zero drift) goes through signed
                watcher.wait_for(
                    lambda m: (
                        m.topic == reading_topic and json.loads(m.payload)["gross_g"] == -1250
                    ),
                    10,
                    after=len(watcher.messages),
                )
                watcher.wait_until(lambda _: scale.garble_next == 0, 5)
                watcher.wait_for(lambda m: m.topic == reading_topic, 5, after=len(watcher.messages))
                assert dev.decoder.dropped["garbage"] >= 3  # counted and logged, not published

                # Unplug: offline (retained) within 10 s; plug back: online again.
                n = len(watcher.messages)
                t0 = time.monotonic()
                scale.unplug()
                off = watcher.wait_for(_is_status(status_topic, "offline"), 10, after=n)
                n = len(watcher.messages)
                t1 = time.monotonic()
                scale.plug()
                on = watcher.wait_for(_is_status(status_topic, "online"), 10, after=n)
                print(f"unplug: offline after {off.at - t0:.2f}s, online after {on.at - t1:.2f}s")

                # Plugged in but silent (a hung indicator): offline after offline_after_s.
                n = len(watcher.messages)
                t0 = time.monotonic()
                scale.silent = True
                off = watcher.wait_for(_is_status(status_topic, "offline"), 10, after=n)
                n = len(watcher.messages)
                t1 = time.monotonic()
                scale.silent = False
                on = watcher.wait_for(_is_status(status_topic, "online"), 10, after=n)
                print(f"silent: offline after {off.at - t0:.2f}s, online after {on.at - t1:.2f}s")
                assert off.at - t0 >= 0.8  # not before offline_after_s (less one frame gap)
                seqs = [
                    json.loads(m.payload)["seq"]
                    for m in watcher.messages
                    if m.topic == reading_topic
                ]
                assert seqs == sorted(seqs)
                assert len(set(seqs)) == len(seqs)
                assert dev.decoder.frames > 0
                assert dev.counts["port_errors"] >= 1
    finally:
        watcher.close()
    # A retained "offline" is left behind after a clean stop.
    late = Watcher(mosquitto.url, topics.device_status("scale-1"))
    try:
        m = late.wait_for(lambda m: m.retain, 5)
        assert m.payload == b"offline"
    finally:
        late.close()


@pytest.mark.parametrize("command", ["SI", "SIR"])
def test_mtsics_scale_stable_flag(mosquitto: Mosquitto, tmp_path: Path, command: str) -> None:
    topics = Topics(f"e2e-sics-{command}")
    link = tmp_path / "ttySICS"
    watcher = Watcher(mosquitto.url, topics.scale_reading("2"))
    cfg = ScaleDeviceConfig(
        id="scale-2",
        port=str(link),
        protocol="mtsics",
        scale="2",
        unit="g",
        poll_interval_s=0.05,
        command=command,
    )
    try:
        with SimulatedScale(link, "mtsics", unit="g", decimals=1, rate_hz=50) as scale:
            scale.set_weight(2_500, settled=False)
            with Bridge([cfg], _settings(mosquitto, f"e2e-sics-{command}")):
                m = watcher.wait_for(lambda m: json.loads(m.payload)["gross_g"] == 2500, 10)
                assert json.loads(m.payload)["stable"] is False
                n = len(watcher.messages)
                scale.set_weight(2_500, settled=True)
                watcher.wait_for(lambda m: json.loads(m.payload).get("stable") is True, 10, after=n)
    finally:
        watcher.close()


@pytest.mark.parametrize(
    ("preset", "temp", "rh"),
    [("sht20", Decimal("-1.5"), Decimal("93.5")), ("md02_x100", Decimal("1.25"), Decimal("91.75"))],
)
def test_modbus_probe_to_mqtt_and_silence(
    mosquitto: Mosquitto, tmp_path: Path, preset: str, temp: Decimal, rh: Decimal
) -> None:
    station = f"e2e-{preset.replace('_', '-')}"
    topics = Topics(station)
    link = tmp_path / "ttyRS485"
    watcher = Watcher(mosquitto.url, f"{topics.base}/#")
    cfg = ClimateDeviceConfig(
        id="probe-1",
        port=str(link),
        room="cold-1",
        register_map=preset,
        poll_interval_s=0.2,
        timeout_s=0.3,
    )
    try:
        with SimulatedSensor(link, regmap=preset, temp_c=temp, rh_pct=rh) as sensor:
            with Bridge([cfg], _settings(mosquitto, station)):
                status_topic = topics.device_status("probe-1")
                m = watcher.wait_for(lambda m: m.topic == topics.climate("cold-1"), 10)
                body = json.loads(m.payload)
                assert body["temp_c"] == float(temp)
                assert body["rh_pct"] == float(rh)
                assert m.qos == 1
                watcher.wait_for(_is_status(status_topic, "online"), 5)

                n = len(watcher.messages)
                t0 = time.monotonic()
                sensor.stop_server()
                off = watcher.wait_for(_is_status(status_topic, "offline"), 10, after=n)
                n = len(watcher.messages)
                t1 = time.monotonic()
                sensor.temp_c = Decimal("4.2")
                sensor.start_server()
                on = watcher.wait_for(_is_status(status_topic, "online"), 10, after=n)
                m = watcher.wait_for(
                    lambda m: (
                        m.topic == topics.climate("cold-1")
                        and json.loads(m.payload)["temp_c"] == 4.2
                    ),
                    10,
                    after=n,
                )
                print(f"stopped: offline after {off.at - t0:.2f}s, online after {on.at - t1:.2f}s")

                # Pull the USB-RS485 adapter itself: offline at once, back when replugged.
                n = len(watcher.messages)
                t0 = time.monotonic()
                sensor.unplug()
                off = watcher.wait_for(_is_status(status_topic, "offline"), 10, after=n)
                n = len(watcher.messages)
                t1 = time.monotonic()
                sensor.plug()
                on = watcher.wait_for(_is_status(status_topic, "online"), 10, after=n)
                watcher.wait_for(lambda m: m.topic == topics.climate("cold-1"), 10, after=n)
                print(f"unplug: offline after {off.at - t0:.2f}s, online after {on.at - t1:.2f}s")
    finally:
        watcher.close()


def test_status_restated_after_broker_restart(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """Mosquitto here keeps no retained messages across a restart: the bridge restates."""
    topics = Topics("e2e-restart")
    link = tmp_path / "ttyR"
    cfg = ScaleDeviceConfig(id="scale-r", port=str(link), protocol="xk3190", scale="r")
    with SimulatedScale(link, "xk3190", rate_hz=20) as scale:
        scale.set_weight(1_000)
        with Bridge([cfg], _settings(mosquitto, "e2e-restart")):
            first = Watcher(mosquitto.url, topics.device_status("scale-r"))
            try:
                first.wait_for(lambda m: m.payload == b"online", 10)
            finally:
                first.close()
            mosquitto.restart()
            after = Watcher(mosquitto.url, topics.device_status("scale-r"))
            try:
                m = after.wait_for(lambda m: m.payload == b"online", 15)
                readings = Watcher(mosquitto.url, topics.scale_reading("r"))
                try:
                    readings.wait_for(lambda m: json.loads(m.payload)["gross_g"] == 1000, 10)
                finally:
                    readings.close()
            finally:
                after.close()
            assert m.payload == b"online"
