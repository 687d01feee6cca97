"""Device config, frame handling against a real broker, the simulated scale's replies,
and ``gongfang bridge`` as a process stopped by SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from firmware_bridge.config import ClimateDeviceConfig, ScaleDeviceConfig, load_config
from firmware_bridge.devices import ClimateDevice, ScaleDevice
from firmware_bridge.errors import DeviceConfigError
from firmware_bridge.protocols import mtsics
from firmware_bridge.protocols.frames import WeightFrame
from firmware_bridge.protocols.sht20_modbus import PRESETS
from firmware_bridge.simulate.profile import Phases
from firmware_bridge.simulate.scale import SimulatedScale, grams_to_display
from firmware_bridge.transports.serial_port import SerialTransport
from gongfang.settings import BridgeSettings
from gongfang.wire import Topics
from tests.firmware_bridge.watch import Watcher
from tests.services import Mosquitto

ROOT = Path(__file__).resolve().parents[2]


def test_example_config_loads() -> None:
    settings, devices = load_config(ROOT / "examples" / "bridge.toml")
    assert settings.station == "jiande-01"
    assert [d.id for d in devices] == ["scale-1", "scale-2", "probe-cold-1", "probe-cold-2"]
    probe = devices[3]
    assert isinstance(probe, ClimateDeviceConfig)
    assert probe.regmap == PRESETS["md02"].with_overrides(scale=100)


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (
            '[[devices]]\nid = "s"\nprotocol = "xk3190"\nport = "/x"\nscale = "1"\nunit = "ozt"',
            "unit",
        ),
        (
            '[[devices]]\nid = "p"\nport = "/dev/x"\nroom = "r"\nregister_map = "nope"',
            "register_map",
        ),
        ('[[devices]]\nid = "p"\nport = "/dev/x"\nroom = "r"\nbaud = "fast"', "baud"),
        ('[[devices]]\nid = "bad id!"\nprotocol = "xk3190"\nport = "/x"\nscale = "1"', "id"),
        ("devices = [", "TOML"),
    ],
)
def test_bad_configs_say_why(tmp_path: Path, body: str, match: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(DeviceConfigError, match=match) as info:
        load_config(path)
    assert "/" in str(info.value)  # Chinese first, then English


def test_simulated_mtsics_scale_answers_commands(tmp_path: Path) -> None:
    link = tmp_path / "ttyS"
    with SimulatedScale(link, "mtsics", unit="kg", decimals=3, rate_hz=100) as scale:
        scale.set_weight(1_234, settled=False)
        dec = mtsics.decoder()
        with SerialTransport(str(link), timeout_s=0.05) as port:

            def ask(command: bytes) -> object:
                port.write(command)
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    if frames := dec.feed(port.read()):
                        return frames[0]
                raise AssertionError(f"no reply to {command!r}")

            assert ask(b"SI\r\n") == WeightFrame(Decimal("1.234"), "kg", "dynamic")
            assert ask(b"S\r\n") == WeightFrame(None, None, "error")  # S I: not stable
            assert ask(b"Z\r\n") == mtsics.SicsReply("Z", "I")
            scale.set_weight(1_234, settled=True)
            assert ask(b"S\r\n") == WeightFrame(Decimal("1.234"), "kg", "stable")
            assert ask(b"T\r\n") == mtsics.SicsReply("T", "S", Decimal("1.234"), "kg")
            assert ask(b"SI\r\n") == WeightFrame(Decimal("0.000"), "kg", "stable")
            assert ask(b"XYZ\r\n") == mtsics.SicsReply("E", "S")


def test_serial_transport_loop_and_missing_port() -> None:
    from firmware_bridge.errors import PortError
    from firmware_bridge.protocols import xk3190

    with SerialTransport("loop://", timeout_s=0.05) as port:
        port.write(xk3190.encode(Decimal("15.60")) * 2)
        dec = xk3190.decoder()
        frames = dec.feed(port.read())
        assert [f.weight for f in frames] == [Decimal("15.60")] * 2
    with pytest.raises(PortError, match="cannot open"):
        SerialTransport("/dev/ttyUSB-none").open()


def test_display_rounding() -> None:
    assert grams_to_display(12_345, "kg", 2) == Decimal("12.35")
    assert grams_to_display(-1_250, "kg", 2) == Decimal("-1.25")
    assert grams_to_display(454, "lb", 2) == Decimal("1.00")


@pytest.mark.mosquitto
def test_frame_handling_publishes_or_counts(mosquitto: Mosquitto) -> None:
    started_ms = time.time_ns() // 1_000_000
    settings = BridgeSettings.load(station="dev-h", mqtt_url=mosquitto.url)
    topics = Topics("dev-h")
    watcher = Watcher(mosquitto.url, f"{topics.base}/#")
    scale = ScaleDevice(
        ScaleDeviceConfig(id="s1", port="loop://", protocol="mtsics", scale="1", unit="kg"),
        settings,
    )
    probe = ClimateDevice(ClimateDeviceConfig(id="p1", port="loop://", room="r1"), settings)
    try:
        for dev in (scale, probe):
            dev.mqtt.start(wait_s=5)
        scale.handle(WeightFrame(Decimal("1.0"), "ozt", "stable"))  # unknown unit
        scale.handle(WeightFrame(None, None, "overload"))
        scale.handle(WeightFrame(Decimal("2.5"), "lb", "dynamic"))
        scale.handle(WeightFrame(Decimal("99999"), "kg", "stable"))  # beyond 2 t
        probe.handle([0x7FFF, 0x7FFF])  # an SHT20 read error: 3276.7 °C
        probe.handle([15, 925])
        readings = watcher.wait_until(
            lambda ms: (
                sum(m.topic.endswith("/reading") for m in ms) >= 2
                and any(m.topic.endswith("/climate") for m in ms)
            ),
            5,
        )
        bodies = [json.loads(m.payload) for m in readings if m.topic == topics.scale_reading("1")]
        assert [(b["gross_g"], b.get("stable"), b["status"]) for b in bodies] == [
            (0, None, "overload"),
            (1134, False, "ok"),  # 2.5 lb = 1133.98 g
        ]
        assert bodies[1]["seq"] == bodies[0]["seq"] + 1
        assert bodies[0]["seq"] >= started_ms  # seq keeps growing across bridge restarts
        climate = [json.loads(m.payload) for m in readings if m.topic == topics.climate("r1")]
        assert [(c["temp_c"], c["rh_pct"]) for c in climate] == [(1.5, 92.5)]
        assert scale.counts["unknown_unit"] == 1
        assert scale.counts["invalid"] == 1
        assert probe.counts["invalid"] == 1
        statuses = [m.payload for m in readings if m.topic == topics.device_status("s1")]
        assert statuses == [b"online"]
    finally:
        scale.shutdown()
        probe.shutdown()
        watcher.close()


@pytest.mark.mosquitto
def test_bridge_command_runs_until_sigterm(mosquitto: Mosquitto, tmp_path: Path) -> None:
    link = tmp_path / "ttyUSB0"
    config = tmp_path / "station.toml"
    config.write_text(
        f"""
[bridge]
station = "cli-st"
mqtt_url = "mqtt://127.0.0.1:1"  # overridden by --mqtt
offline_after_s = 1.0
retry_interval_s = 0.3

[[devices]]
id = "scale-1"
protocol = "xk3190"
port = "{link}"
scale = "1"
unit = "kg"

[[devices]]
id = "probe-gone"
protocol = "sht20"
port = "{tmp_path / "no-such-port"}"
room = "cold-1"
""",
        encoding="utf-8",
    )
    topics = Topics("cli-st")
    watcher = Watcher(mosquitto.url, f"{topics.base}/#")
    fast = Phases(lead_ms=200, ramp_ms=200, settle_ms=400, stable_ms=1200, tail_ms=200)
    try:
        with SimulatedScale(link, "xk3190", rate_hz=20, seed=1) as scale:
            proc = subprocess.Popen(
                [sys.executable, "-m", "gongfang.cli", "bridge", "--config", str(config)]
                + ["--mqtt", mosquitto.url],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=ROOT,
            )
            try:
                watcher.wait_for(
                    lambda m: m.topic == topics.device_status("scale-1") and m.payload == b"online",
                    20,
                )
                watcher.wait_for(
                    lambda m: (
                        m.topic == topics.device_status("probe-gone") and m.payload == b"offline"
                    ),
                    10,
                )
                scale.weigh(5_430, phases=fast)  # a crate: ramp, swing, rest at 5.43 kg
                watcher.wait_for(
                    lambda m: (
                        m.topic == topics.scale_reading("1")
                        and json.loads(m.payload)["gross_g"] == 5_430
                    ),
                    10,
                )
            finally:
                proc.send_signal(signal.SIGTERM)
                out, _ = proc.communicate(timeout=20)
            assert proc.returncode == 0, out.decode()
            text = out.decode()
            assert "设备上线 / device online" in text
            assert "Traceback" not in text
        final = watcher.wait_for(
            lambda m: m.topic == topics.device_status("scale-1") and m.payload == b"offline", 5
        )
        assert final.qos == 1
    finally:
        watcher.close()


@pytest.mark.mosquitto
def test_last_will_says_offline_when_bridge_is_killed(mosquitto: Mosquitto, tmp_path: Path) -> None:
    link = tmp_path / "ttyKill"
    config = tmp_path / "station.toml"
    config.write_text(
        f"""
[bridge]
station = "will-st"
mqtt_url = "{mosquitto.url}"

[[devices]]
id = "scale-k"
protocol = "xk3190"
port = "{link}"
scale = "k"
""",
        encoding="utf-8",
    )
    topic = Topics("will-st").device_status("scale-k")
    watcher = Watcher(mosquitto.url, topic)
    try:
        with SimulatedScale(link, "xk3190", rate_hz=20):
            proc = subprocess.Popen(
                [sys.executable, "-m", "gongfang.cli", "bridge", "--config", str(config)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=ROOT,
            )
            try:
                watcher.wait_for(lambda m: m.payload == b"online", 20)
                n = len(watcher.messages)
                proc.kill()  # no clean shutdown: only the broker can say offline now
                proc.wait(10)
                t0 = time.monotonic()
                will = watcher.wait_for(lambda m: m.payload == b"offline", 10, after=n)
                assert will.at - t0 < 5
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    finally:
        watcher.close()


def test_bridge_over_embedded_mqtt_311(tmp_path: Path) -> None:
    """The demo's amqtt broker speaks MQTT 3.1.1 only: the bridge must work with it."""
    from firmware_bridge.devices import Bridge
    from gongfang.embedded_broker import EmbeddedBroker

    link = tmp_path / "ttyAmqtt"
    topics = Topics("amqtt-st")
    cfg = ScaleDeviceConfig(id="scale-a", port=str(link), protocol="xk3190", scale="a")
    with EmbeddedBroker() as broker, SimulatedScale(link, "xk3190", rate_hz=20) as scale:
        scale.set_weight(7_770)
        watcher = Watcher(broker.url, f"{topics.base}/#")
        settings = BridgeSettings.load(station="amqtt-st", mqtt_url=broker.url)
        try:
            with Bridge([cfg], settings):
                watcher.wait_for(
                    lambda m: (
                        m.topic == topics.scale_reading("a")
                        and json.loads(m.payload)["gross_g"] == 7_770
                    ),
                    15,
                )
                watcher.wait_for(
                    lambda m: m.topic == topics.device_status("scale-a") and m.payload == b"online",
                    5,
                )
        finally:
            watcher.close()
