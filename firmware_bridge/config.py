"""A station's bridge config file: ``[bridge]`` settings and one ``[[devices]]`` table per
device. See ``examples/bridge.toml``."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from firmware_bridge.errors import DeviceConfigError
from firmware_bridge.protocols.sht20_modbus import PRESETS, RegisterMap
from firmware_bridge.protocols.units import GRAMS_PER_UNIT
from gongfang.settings import BridgeSettings
from gongfang.wire import Ident

ScaleProtocol = Literal["xk3190", "mtsics"]
ClimateProtocol = Literal["sht20"]


class _Device(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Ident  # the device's name in …/device/{id}/status
    port: str = Field(min_length=1)  # /dev/ttyUSB0, a pty path, loop://
    baud: int = Field(default=9600, ge=300, le=921_600)
    station: Ident | None = None  # default: [bridge] station
    poll_interval_s: float | None = Field(default=None, gt=0)


class ScaleDeviceConfig(_Device):
    """A weighing indicator on a serial port."""

    protocol: ScaleProtocol
    scale: Ident
    #: The unit the indicator is set to when its frames carry none (XK3190).
    unit: str = "kg"
    #: MT-SICS: the command polled every poll_interval_s (SIR makes the scale stream).
    command: Literal["S", "SI", "SIR"] = "SI"

    @model_validator(mode="after")
    def _known_unit(self) -> ScaleDeviceConfig:
        if self.unit.lower() not in GRAMS_PER_UNIT and self.unit not in GRAMS_PER_UNIT:
            raise ValueError(f"unknown unit {self.unit!r}; known: {', '.join(GRAMS_PER_UNIT)}")
        return self

    @property
    def interval_s(self) -> float:
        return self.poll_interval_s or 0.2


class RegisterOverrides(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    function: Literal[3, 4] | None = None
    temperature_register: int | None = Field(default=None, ge=0, le=65535)
    humidity_register: int | None = Field(default=None, ge=0, le=65535)
    scale: int | None = Field(default=None, ge=1)
    temperature_signed: bool | None = None


class ClimateDeviceConfig(_Device):
    """A Modbus RTU temperature/humidity probe in a cold room."""

    protocol: ClimateProtocol = "sht20"
    room: Ident
    address: int = Field(default=1, ge=1, le=247)
    register_map: str = "sht20"  # a preset of protocols.sht20_modbus.PRESETS
    registers: RegisterOverrides = Field(default_factory=RegisterOverrides)
    timeout_s: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _known_preset(self) -> ClimateDeviceConfig:
        if self.register_map not in PRESETS:
            raise ValueError(
                f"unknown register_map {self.register_map!r}; presets: {', '.join(PRESETS)}"
            )
        return self

    @property
    def regmap(self) -> RegisterMap:
        overrides = {k: v for k, v in self.registers.model_dump().items() if v is not None}
        return PRESETS[self.register_map].with_overrides(**overrides)

    @property
    def interval_s(self) -> float:
        return self.poll_interval_s or 5.0


DeviceConfig = ScaleDeviceConfig | ClimateDeviceConfig


def parse_devices(doc: dict[str, Any]) -> list[DeviceConfig]:
    """The ``[[devices]]`` tables of a parsed config document."""
    raw = doc.get("devices", [])
    if not isinstance(raw, list):
        raise DeviceConfigError(
            "devices 必须是 [[devices]] 表数组 / devices must be [[devices]] tables"
        )
    devices: list[DeviceConfig] = []
    for i, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise DeviceConfigError(f"第 {i + 1} 个设备不是表 / device #{i + 1} is not a table")
        model: type[ScaleDeviceConfig] | type[ClimateDeviceConfig] = (
            ScaleDeviceConfig
            if entry.get("protocol") in ("xk3190", "mtsics")
            else ClimateDeviceConfig
        )
        try:
            devices.append(model.model_validate(entry))
        except ValidationError as exc:
            first = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in first["loc"]) or "device"
            raise DeviceConfigError(
                f"设备 #{i + 1} ({entry.get('id', '?')}) 配置错误 / device #{i + 1} "
                f"({entry.get('id', '?')}) is misconfigured: {where}: {first['msg']}"
            ) from None
    ids = [d.id for d in devices]
    if len(set(ids)) != len(ids):
        raise DeviceConfigError(f"设备 id 重复 / duplicate device ids: {ids}")
    return devices


def load_config(path: Path, **overrides: Any) -> tuple[BridgeSettings, list[DeviceConfig]]:
    """Read settings (file < env < overrides) and the device list from ``path``."""
    try:
        doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DeviceConfigError(f"配置文件不存在 / config file not found: {path}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise DeviceConfigError(f"配置文件格式错误 / bad TOML in {path}: {exc}") from exc
    settings = BridgeSettings.load(config_file=path, **overrides)
    return settings, parse_devices(doc)
