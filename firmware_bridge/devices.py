"""Configured devices wired to their protocol, transport and MQTT topic.

Each device runs on its own thread with its own MQTT connection, whose last will is the
retained ``offline`` on ``…/device/{id}/status``. A device is ``online`` once it answers
with valid frames; it is ``offline`` when its port vanishes or cannot be opened, or when
it has sent nothing valid for ``offline_after_s``; the port is retried every
``retry_interval_s`` and the device is ``online`` again as soon as valid frames return.
A bad frame is counted and logged, never fatal.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import Counter
from typing import Literal

from pydantic import ValidationError

from firmware_bridge.config import ClimateDeviceConfig, DeviceConfig, ScaleDeviceConfig
from firmware_bridge.errors import DeviceTimeout, PortError
from firmware_bridge.protocols import mtsics, xk3190
from firmware_bridge.protocols.frames import StreamDecoder, WeightFrame
from firmware_bridge.protocols.sht20_modbus import climate_from_registers
from firmware_bridge.protocols.units import to_grams
from firmware_bridge.transports.modbus_rtu import ModbusRtuTransport
from firmware_bridge.transports.mqtt import MqttPublisher
from firmware_bridge.transports.serial_port import SerialTransport
from gongfang.mqtt_setup import device_username
from gongfang.settings import BridgeSettings
from gongfang.wire import Climate, ScaleReading, Topics

log = logging.getLogger(__name__)

Status = Literal["online", "offline"]
WireStatus = Literal["ok", "overload", "underload", "error"]
_WIRE_STATUS: dict[str, WireStatus] = {
    "overload": "overload",
    "underload": "underload",
    "error": "error",
}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _decade(n: int) -> bool:
    """1, 10, 100, 1000…: when a repeated event is worth another log line."""
    return n > 0 and str(n).strip("0") == "1" and str(n).startswith("1")


class Device:
    """Common life cycle: MQTT connection, status, counters, run loop with retries."""

    kind = "device"

    def __init__(self, config: DeviceConfig, settings: BridgeSettings) -> None:
        self.config = config
        self.settings = settings
        self.station = config.station or settings.station
        self.topics = Topics(self.station)
        self.status_topic = self.topics.device_status(config.id)
        self.status: Status | None = None
        self.counts: Counter[str] = Counter()
        # seq starts at the wall clock in ms and counts up by one per message, so it keeps
        # increasing across bridge restarts (a device sends far fewer than 1000 a second)
        # and the edge never takes a restarted bridge's readings for late duplicates.
        self.seq = now_ms()
        self._lock = threading.Lock()
        self._last_ok = time.monotonic()
        self._problem_logged = False
        self._reannounce = threading.Event()
        # Each device signs in as itself where a credentials file names it (the broker's ACL
        # then lets it publish only its own topics); else as the bridge's one user.
        user = device_username(self.station, config.id) if settings.mqtt_credentials_file else None
        self.mqtt = MqttPublisher(
            settings.mqtt_url,
            endpoint=settings.mqtt_endpoint(settings.mqtt_url, username=user),
            client_id=f"gf-bridge-{self.station}-{config.id}-{uuid.uuid4().hex[:6]}",
            will=(self.status_topic, b"offline"),
            on_connect=self._announce,
        )

    # -------------------------------------------------------------- status

    def _announce(self) -> None:
        """paho's thread, after every (re)connect: ask the device thread to restate its
        status. Only the device thread publishes statuses, so they cannot overtake each
        other."""
        self._reannounce.set()

    def service(self) -> None:
        """Device thread: restate the status (retained) after a broker reconnect."""
        if self._reannounce.is_set():
            self._reannounce.clear()
            if self.status is not None:
                self.mqtt.publish(self.status_topic, self.status.encode(), qos=1, retain=True)

    def set_status(self, status: Status, why: str = "") -> None:
        with self._lock:
            if status == self.status:
                return
            self.status = status
        if status == "online":
            log.info("设备上线 / device online: %s (%s)", self.config.id, self.config.port)
        else:
            log.warning(
                "设备离线 / device offline: %s (%s) %s", self.config.id, self.config.port, why
            )
        self.counts[status] += 1
        self.mqtt.publish(self.status_topic, status.encode(), qos=1, retain=True)

    def alive(self) -> None:
        """A valid frame arrived."""
        self._last_ok = time.monotonic()
        self._problem_logged = False
        self.set_status("online")

    def check_silence(self) -> None:
        self.service()
        silent_s = time.monotonic() - self._last_ok
        if silent_s > self.settings.offline_after_s:
            self.set_status(
                "offline", f"无有效数据 {silent_s:.1f} 秒 / silent for {silent_s:.1f} s"
            )

    def _log_problem(self, zh: str, en: str) -> None:
        """Log a port problem once per outage rather than on every retry."""
        if not self._problem_logged:
            log.warning("%s: %s / %s", self.config.id, zh, en)
            self._problem_logged = True

    # -------------------------------------------------------------- life cycle

    def run(self, stop: threading.Event) -> None:
        """Run until ``stop`` is set; never raises for device or frame trouble."""
        self.mqtt.start()
        self._last_ok = time.monotonic()
        try:
            while not stop.is_set():
                try:
                    self.session(stop)
                except PortError as exc:
                    self.counts["port_errors"] += 1
                    retry = self.settings.retry_interval_s
                    # Logged once per outage, by the status change.
                    self.set_status(
                        "offline",
                        f"{exc}; 每 {retry:g} 秒重试 / retrying every {retry:g} s",
                    )
                    stop.wait(self.settings.retry_interval_s)
                    self.service()
                except Exception:  # a bug must not take the other devices down
                    log.exception("设备循环出错 / device loop failed: %s", self.config.id)
                    self.counts["loop_errors"] += 1
                    stop.wait(self.settings.retry_interval_s)
        finally:
            self.shutdown()

    def session(self, stop: threading.Event) -> None:
        """Open the port and work until it fails (PortError) or ``stop`` is set."""
        raise NotImplementedError

    def shutdown(self) -> None:
        """Say ``offline`` (retained) and leave the broker cleanly."""
        with self._lock:
            self.status = "offline"
        info = self.mqtt.publish(self.status_topic, b"offline", qos=1, retain=True)
        if self.mqtt.connected.is_set():
            try:
                info.wait_for_publish(2.0)
            except (RuntimeError, ValueError):
                pass  # not connected after all: the last will says offline instead
        self.mqtt.stop()

    def publish_json(self, topic: str, payload: bytes, qos: int) -> None:
        self.mqtt.publish(topic, payload, qos=qos)
        self.counts["published"] += 1


class ScaleDevice(Device):
    """An XK3190 or MT-SICS indicator on a serial port → ``…/scale/{scale}/reading``."""

    kind = "scale"

    def __init__(self, config: ScaleDeviceConfig, settings: BridgeSettings) -> None:
        super().__init__(config, settings)
        self.scale_config = config
        self.topic = self.topics.scale_reading(config.scale)
        self.decoder: StreamDecoder[object] = self._new_decoder()
        self._next_drop_log = 1

    def _new_decoder(self) -> StreamDecoder[object]:
        if self.scale_config.protocol == "xk3190":
            return xk3190.decoder()  # type: ignore[return-value]
        return mtsics.decoder()  # type: ignore[return-value]

    def session(self, stop: threading.Event) -> None:
        cfg = self.scale_config
        with SerialTransport(cfg.port, cfg.baud, timeout_s=0.1) as port:
            log.info("串口已打开 / opened %s for %s (%s)", cfg.port, cfg.id, cfg.protocol)
            self.decoder.reset()  # a fresh line: no stale half-frame (counters kept)
            self._last_ok = time.monotonic()
            next_poll = 0.0
            while not stop.is_set():
                if cfg.protocol == "mtsics" and time.monotonic() >= next_poll:
                    port.write(mtsics.encode_command(cfg.command))
                    next_poll = time.monotonic() + cfg.interval_s
                frames = self.decoder.feed(port.read())
                for frame in frames:
                    self.handle(frame)
                self._log_drops()
                if frames and cfg.command == "SIR":
                    # SIR makes the scale stream by itself: ask again only if it stops.
                    next_poll = time.monotonic() + max(1.0, 5 * cfg.interval_s)
                self.check_silence()

    def _log_drops(self) -> None:
        """Bad frames are counted by the decoder; say so at 1, 10, 100… drops."""
        drops = sum(self.decoder.dropped.values())
        if drops >= self._next_drop_log:
            self._next_drop_log = max(10, self._next_drop_log * 10)
            log.warning(
                "%s: 丢弃无效数据 %d 次（%d 字节）/ dropped bad data %d times (%d bytes): %s",
                self.config.id,
                drops,
                self.decoder.dropped_bytes,
                drops,
                self.decoder.dropped_bytes,
                dict(self.decoder.dropped),
            )

    def handle(self, frame: object) -> None:
        """Turn one decoded frame into a published reading (or a counted, logged drop)."""
        if isinstance(frame, mtsics.SicsReply):
            self.alive()
            key = f"reply_{frame.command}{frame.code}"
            self.counts[key] += 1
            if _decade(self.counts[key]):  # an ES on every poll must not flood the log
                log.info(
                    "%s: 秤回复 / scale replied %s %s (%d)",
                    self.config.id,
                    frame.command,
                    frame.code,
                    self.counts[key],
                )
            return
        if not isinstance(frame, WeightFrame):
            return
        self.alive()
        if frame.weight is None:
            status = _WIRE_STATUS.get(frame.status or "error", "error")
            self.publish_reading(0, None, status)
            return
        unit = frame.unit or self.scale_config.unit
        grams = to_grams(frame.weight, unit)
        if grams is None:
            self.counts["unknown_unit"] += 1
            if _decade(self.counts["unknown_unit"]):
                log.warning(
                    "%s: 未知重量单位 %r，未发布 / unknown unit %r, not published (%d so far)",
                    self.config.id,
                    unit,
                    unit,
                    self.counts["unknown_unit"],
                )
            return
        stable = None if frame.status is None else frame.status == "stable"
        self.publish_reading(grams, stable, "ok")

    def publish_reading(self, gross_g: int, stable: bool | None, status: WireStatus) -> None:
        try:
            reading = ScaleReading(
                ts_ms=now_ms(), gross_g=gross_g, seq=self.seq, stable=stable, status=status
            )
        except ValidationError as exc:
            self.counts["invalid"] += 1
            log.warning(
                "%s: 读数超出范围，未发布 / reading out of range, not published: %s",
                self.config.id,
                exc.errors()[0]["msg"],
            )
            return
        self.seq += 1
        self.publish_json(self.topic, reading.model_dump_json(exclude_none=True).encode(), qos=0)


class ClimateDevice(Device):
    """A Modbus RTU temperature/humidity probe → ``…/coldroom/{room}/climate``."""

    kind = "climate"

    def __init__(self, config: ClimateDeviceConfig, settings: BridgeSettings) -> None:
        super().__init__(config, settings)
        self.climate_config = config
        self.regmap = config.regmap
        self.topic = self.topics.climate(config.room)

    def session(self, stop: threading.Event) -> None:
        cfg = self.climate_config
        transport = ModbusRtuTransport(cfg.port, cfg.baud, timeout_s=cfg.timeout_s).open()
        log.info("Modbus 串口已打开 / opened %s for %s", cfg.port, cfg.id)
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    regs = transport.read_registers(
                        self.regmap.function,
                        self.regmap.first_register,
                        self.regmap.count,
                        cfg.address,
                    )
                except DeviceTimeout as exc:
                    self.counts["timeouts"] += 1
                    self._log_problem("传感器无应答", f"sensor did not answer: {exc}")
                else:
                    self.handle(regs)
                self.check_silence()
                stop.wait(max(0.0, cfg.interval_s - (time.monotonic() - started)))
        finally:
            transport.close()

    def handle(self, registers: list[int]) -> None:
        sample = climate_from_registers(self.regmap, registers)
        self.alive()
        try:
            climate = Climate(
                ts_ms=now_ms(),
                temp_c=float(sample.temp_c),
                rh_pct=float(sample.rh_pct),
                seq=self.seq,
            )
        except ValidationError:
            self.counts["invalid"] += 1
            log.warning(
                "%s: 温湿度超出物理范围，未发布 / out of physical range, not published: "
                "%s °C %s %%RH",
                self.config.id,
                sample.temp_c,
                sample.rh_pct,
            )
            return
        self.seq += 1
        self.publish_json(self.topic, climate.model_dump_json().encode(), qos=1)


def make_device(config: DeviceConfig, settings: BridgeSettings) -> Device:
    if isinstance(config, ScaleDeviceConfig):
        return ScaleDevice(config, settings)
    return ClimateDevice(config, settings)


class Bridge:
    """All configured devices, each on its own thread, until :meth:`stop`."""

    def __init__(self, devices: list[DeviceConfig], settings: BridgeSettings) -> None:
        self.settings = settings
        self.devices = [make_device(d, settings) for d in devices]
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def start(self) -> Bridge:
        for dev in self.devices:
            t = threading.Thread(
                target=dev.run, args=(self._stop,), name=f"dev-{dev.config.id}", daemon=True
            )
            t.start()
            self._threads.append(t)
        return self

    def request_stop(self) -> None:
        """Ask every device to stop (safe from a signal handler)."""
        self._stop.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout_s)

    def wait(self) -> None:
        """Block until stopped (signal handlers call :meth:`stop`)."""
        while not self._stop.wait(0.5):
            pass

    def __enter__(self) -> Bridge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
