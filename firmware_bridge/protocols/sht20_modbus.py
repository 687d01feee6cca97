"""RS485 SHT20-type temperature/humidity probes over Modbus RTU (9600 8N1, address 1).

Request (function 0x03 or 0x04, read registers)::

    +------+----+-----------+-----------+---------+
    | addr | fc | start hi lo | count hi lo | CRC lo hi |
    +------+----+-----------+-----------+---------+
     01     04   00 01        00 02        20 0B

Response::

    +------+----+-------+--------------------------+---------+
    | addr | fc | bytes | register values, big-end | CRC lo hi |
    +------+----+-------+--------------------------+---------+
     01     04   04      00 FA  02 71                 …        (25.0 °C, 62.5 %RH)

    exception: addr, fc | 0x80, exception code, CRC (5 bytes)

The register map (function, register of temperature and humidity, scale, signedness) is
configuration, not code: the standard SHT20 board uses function 0x04, input register 1 =
temperature × 10 (signed), 2 = RH × 10; the "MD02" clone uses function 0x03 with RH in
register 0 and temperature in register 1; some boards scale by 100. The bridge reads
through pymodbus; :func:`decode` is the same framing as a pure parser (for captures,
tests and tools), with the Modbus CRC-16.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Literal

from firmware_bridge.protocols.frames import StreamDecoder

MAX_REGISTERS = 125


@dataclass(frozen=True, slots=True)
class RegisterMap:
    """Where a probe keeps its readings and how to scale them."""

    function: Literal[3, 4] = 4
    temperature_register: int = 1
    humidity_register: int = 2
    scale: int = 10  # raw / scale = °C and %RH
    temperature_signed: bool = True

    @property
    def first_register(self) -> int:
        return min(self.temperature_register, self.humidity_register)

    @property
    def count(self) -> int:
        return abs(self.temperature_register - self.humidity_register) + 1

    def with_overrides(self, **overrides: Any) -> RegisterMap:
        """A copy with some fields changed (from a device's TOML)."""
        return replace(self, **overrides)


PRESETS: dict[str, RegisterMap] = {
    "sht20": RegisterMap(),
    "sht20_x100": RegisterMap(scale=100),
    "md02": RegisterMap(function=3, temperature_register=1, humidity_register=0),
    "md02_x100": RegisterMap(function=3, temperature_register=1, humidity_register=0, scale=100),
}


@dataclass(frozen=True, slots=True)
class ClimateFrame:
    """One probe sample: exact decimals as the probe scaled them."""

    temp_c: Decimal
    rh_pct: Decimal


@dataclass(frozen=True, slots=True)
class RegistersFrame:
    """A Modbus read-registers response (or an exception response: ``exception`` set)."""

    address: int
    function: int
    registers: tuple[int, ...] = ()
    exception: int | None = None


def climate_from_registers(
    regmap: RegisterMap, registers: list[int] | tuple[int, ...]
) -> ClimateFrame:
    """Scale the registers read from ``regmap.first_register`` on into °C and %RH."""
    if len(registers) < regmap.count:
        raise ValueError(f"need {regmap.count} registers, got {len(registers)}")
    raw_t = registers[regmap.temperature_register - regmap.first_register] & 0xFFFF
    raw_h = registers[regmap.humidity_register - regmap.first_register] & 0xFFFF
    if regmap.temperature_signed and raw_t >= 0x8000:
        raw_t -= 0x10000
    places = len(str(regmap.scale)) - 1 if _is_power_of_ten(regmap.scale) else 0
    if places:
        return ClimateFrame(Decimal(raw_t).scaleb(-places), Decimal(raw_h).scaleb(-places))
    return ClimateFrame(Decimal(raw_t) / regmap.scale, Decimal(raw_h) / regmap.scale)


def registers_for(regmap: RegisterMap, temp_c: Decimal, rh_pct: Decimal) -> dict[int, int]:
    """The raw register values a probe with ``regmap`` shows for a sample (simulator)."""
    raw_t = int((temp_c * regmap.scale).to_integral_value())
    raw_h = int((rh_pct * regmap.scale).to_integral_value())
    return {regmap.temperature_register: raw_t & 0xFFFF, regmap.humidity_register: raw_h & 0xFFFF}


def _is_power_of_ten(n: int) -> bool:
    return n >= 1 and str(n).strip("0") == "1" and str(n).startswith("1")


def crc16(data: bytes) -> int:
    """Modbus CRC-16 (poly 0xA001 reflected, init 0xFFFF); sent low byte first."""
    crc = 0xFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def _with_crc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "little")


def encode_request(regmap: RegisterMap, address: int = 1) -> bytes:
    """The read request for ``regmap``."""
    body = bytes([address, regmap.function]) + regmap.first_register.to_bytes(2, "big")
    return _with_crc(body + regmap.count.to_bytes(2, "big"))


def encode_response(address: int, function: int, registers: list[int] | tuple[int, ...]) -> bytes:
    """A read-registers response (for captures and tests)."""
    data = b"".join((r & 0xFFFF).to_bytes(2, "big") for r in registers)
    return _with_crc(bytes([address, function, len(data)]) + data)


def _frame_at(buf: bytes, i: int) -> tuple[int, RegistersFrame | None]:
    """At offset i: (length, frame) for a complete CRC-valid response; (-1, None) if it
    cannot be one; (0, None) if it could be one but more bytes are needed."""
    if len(buf) - i < 2:
        return 0, None
    address, function = buf[i], buf[i + 1]
    if not 1 <= address <= 247:
        return -1, None
    if function in (0x83, 0x84):
        if len(buf) - i < 5:
            return 0, None
        frame = buf[i : i + 5]
        if crc16(frame[:3]).to_bytes(2, "little") != frame[3:]:
            return -1, None
        return 5, RegistersFrame(address, function & 0x7F, exception=frame[2])
    if function not in (3, 4):
        return -1, None
    if len(buf) - i < 3:
        return 0, None
    n = buf[i + 2]
    if n == 0 or n % 2 or n > 2 * MAX_REGISTERS:
        return -1, None
    length = 3 + n + 2
    if len(buf) - i < length:
        return 0, None
    frame = buf[i : i + length]
    if crc16(frame[:-2]).to_bytes(2, "little") != frame[-2:]:
        return -1, None
    regs = tuple(int.from_bytes(frame[3 + 2 * k : 5 + 2 * k], "big") for k in range(n // 2))
    return length, RegistersFrame(address, function, regs)


def decode_detailed(buf: bytes) -> tuple[int, RegistersFrame | None, str | None]:
    """Like :func:`decode`, also saying why dropped bytes were dropped.

    RTU has no start byte, so a response is found by its shape and CRC: the first offset
    holding a complete CRC-valid response wins; bytes before it are dropped. With none
    complete, bytes before the first offset that could still grow into one are dropped.
    """
    first_partial = -1
    for i in range(len(buf)):
        length, frame = _frame_at(buf, i)
        if frame is not None:
            return (i, None, "garbage") if i > 0 else (length, frame, None)
        if length == 0 and first_partial < 0:
            first_partial = i
    if first_partial < 0:
        return len(buf), None, "garbage"
    if first_partial > 0:
        return first_partial, None, "garbage"
    return 0, None, None


def decode(buf: bytes) -> tuple[int, RegistersFrame | None]:
    """Decode one response from the start of ``buf``: (consumed, frame); 0 = need more."""
    consumed, frame, _ = decode_detailed(buf)
    return consumed, frame


def decoder() -> StreamDecoder[RegistersFrame]:
    """A buffering decoder with drop counters."""
    return StreamDecoder(decode_detailed, name="sht20_modbus")
